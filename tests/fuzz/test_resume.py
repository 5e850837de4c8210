"""A study's run folder, damaged between two sessions: resuming either goes on or stops with
a TunelabError naming the damaged file, and no finished trial or saved model is lost."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tunelab.errors import TunelabError

_CONFIG: dict[str, Any] = {
    "training": {"epochs": 1, "batch_size": 64},
    "model": {"units": [8]},
    "search": {"optimizer.learning_rate": {"low": 0.01, "high": 0.3, "log": True}},
}
_STUDY = {"trials": 2, "cohort": 2, "pruner": "none", "dataset": "digits"}
# The files a session reads when it opens a study's run folder again. best.json is fuzzed
# apart (test_best_json): its reader in study/_rundir.py lets two kinds of damage through.
_READ_ON_RESUME = ["tune.toml", "stats.json", ".sessions", "trials/0/config.toml",
                   "trials/0/history.json", "best.keras"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import tunelab

    folder = tmp_path_factory.mktemp("resume") / "run"
    tunelab.tune(_CONFIG, out=folder, progress=False, **_STUDY)
    return folder


def _complete(folder: Path) -> dict[int, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{folder / 'study.db'}")
    return {t.number: t.value for t in study.trials if t.state.name == "COMPLETE"}


# UTF-8 damage; bytes that are not UTF-8 are test_bytes_that_are_not_text_below.
_damage = st.one_of(
    st.text(max_size=64).map(str.encode),
    st.just(b""),
    st.sampled_from([b"{", b"[1, 2]", b'{"trial": "x", "value": NaN}', b'{"trial": 99999}',
                     b"version = 999\n", b"[study]\ntrials = -1\n",
                     b'{"trial": 0, "value": 1e309}']),
)


@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(_READ_ON_RESUME), damage=_damage, cut=st.booleans())
def test_a_damaged_run_folder_loses_no_finished_trial(
        tried: Counter[str], finished: Path, tmp_path_factory: pytest.TempPathFactory,
        which: str, damage: bytes, cut: bool) -> None:
    _resume_after(tried, finished, tmp_path_factory, which, damage, cut)


@pytest.mark.parametrize("which", _READ_ON_RESUME)
def test_bytes_that_are_not_text(tried: Counter[str], finished: Path,
                                 tmp_path_factory: pytest.TempPathFactory, which: str) -> None:
    _resume_after(tried, finished, tmp_path_factory, which, b"\x80", False)


@pytest.mark.parametrize("damage", [b'{"trial": 0, "value": 0.5}', b"{", b"", b"[]"])
def test_best_json(tried: Counter[str], finished: Path,
                   tmp_path_factory: pytest.TempPathFactory, damage: bytes) -> None:
    _resume_after(tried, finished, tmp_path_factory, "best.json", damage, False)


@pytest.mark.parametrize("damage", [b"\x80", b'{"trial": "x", "value": 0.5}'])
def test_best_json_not_text_or_not_a_trial_number(
        tried: Counter[str], finished: Path, tmp_path_factory: pytest.TempPathFactory,
        damage: bytes) -> None:
    _resume_after(tried, finished, tmp_path_factory, "best.json", damage, False)


def _resume_after(tried: Counter[str], finished: Path, tmp_path_factory: pytest.TempPathFactory,
                  which: str, damage: bytes, cut: bool) -> None:
    import tunelab

    folder = tmp_path_factory.mktemp("copy") / "run"
    shutil.copytree(finished, folder)
    before = _complete(folder)
    model = folder / "best.keras"
    model_bytes = model.read_bytes() if model.exists() else None
    target = folder / which
    if target.exists() or not cut:
        original = target.read_bytes() if target.exists() else b""
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(original[: len(original) // 2] if cut else damage)
    tried["damaged run folder"] += 1
    try:
        tunelab.tune(_CONFIG, out=folder, progress=False, **_STUDY)
    except Exception as exc:  # noqa: BLE001 - the property is about what is raised
        assert isinstance(exc, TunelabError), f"{type(exc).__name__}: {exc}"
        assert Path(which).name in str(exc) or str(target) in str(exc), str(exc)
    after = _complete(folder)
    assert {n: after.get(n) for n in before} == before  # every finished trial is still there
    if model_bytes is not None and which != "best.keras":
        assert model.exists()
