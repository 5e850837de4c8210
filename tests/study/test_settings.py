"""`tune(...)`'s keywords are StudyConfig's fields; the words a study writes on its trials."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tunelab.config import RunConfig, StudyConfig
from tunelab.errors import ConfigError
from tunelab.study import (
    RETRIED_ATTR,
    SessionStats,
    Space,
    TrialStateName,
    TrialStatus,
    shared_micro_batch,
    trial_state,
    tune,
)
from tunelab.study._tune import study_overrides

BASE = {"model": {"units": [8], "dropout": 0.0}, "training": {"epochs": 1, "batch_size": 128},
        "search": {"optimizer.learning_rate": {"low": 0.01, "high": 0.1}}}


def test_every_field_of_study_config_is_an_override() -> None:
    given = {key: f"value of {key}" for key in StudyConfig.model_fields}
    assert study_overrides(given) == {f"study.{k}": v for k, v in given.items()}
    assert study_overrides({"trials": None, "cohort": 2}) == {"study.cohort": 2}


def test_an_unknown_keyword_names_itself_and_the_nearest_key() -> None:
    with pytest.raises(TypeError, match=r"'cohrt': not a \[study\] setting \(did you mean"
                                        r" 'cohort'\?\); the settings are: name, trials"):
        study_overrides({"cohrt": 4})
    with pytest.raises(TypeError, match="'padding'"):
        tune(BASE, run_dir="unused", progress=False, padding="max")


def test_tune_routes_every_keyword_to_the_study_table(tmp_path: Path) -> None:
    # Fields that once had no keyword reach validation, which names the key: nothing ran.
    for key, bad in (("pad_widths", "widest"), ("reduce", "mean"), ("reduction_factor", 1),
                     ("percentile", 100.0), ("warmup_epochs", -1)):
        with pytest.raises(ConfigError, match=f"key 'study.{key}'"):
            tune(BASE, run_dir=tmp_path / key, progress=False, **{key: bad})
        assert not (tmp_path / key).exists()
    with pytest.raises(TypeError, match="both name= and study_name="):
        tune(BASE, run_dir=tmp_path / "x", progress=False, name="a", study_name="b")


def _failed(**attrs: object) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(state=TrialState.FAIL, user_attrs=dict(attrs))


def test_trial_states_tell_failures_apart() -> None:
    assert trial_state(_failed(reason="diverged: the loss became nan")) == "diverged"
    assert trial_state(_failed(reason="error: out of memory")) is TrialStateName.FAILED
    retried = _failed(reason="interrupted: stopped by the user", **{RETRIED_ATTR: True})
    assert trial_state(retried) is TrialStateName.RETRIED and trial_state(retried) == "retried"
    done = optuna.trial.create_trial(value=1.0)
    assert trial_state(done) is TrialStateName.COMPLETE


def test_statuses_are_strings_that_read_back_from_plain_words() -> None:
    assert TrialStatus("budget") is TrialStatus.BUDGET and TrialStatus.PRUNED == "pruned"
    assert {s.value for s in TrialStatus} >= {"done", "early_stopped", "diverged", "pruned",
                                               "budget"}
    assert json.dumps({TrialStateName.RETRIED: TrialStatus.DONE}) == '{"retried": "done"}'
    stats = SessionStats(finished={TrialStateName.COMPLETE: 2}, retried=1)
    assert stats.as_dict()["finished"] == {"complete": 2} and stats.as_dict()["retried"] == 1
    assert type(next(iter(stats.as_dict()["finished"]))) is str


def test_the_words_of_a_study_cost_no_optuna_import() -> None:
    import subprocess
    import sys

    code = ("import sys; from tunelab.study import RETRIED_ATTR, TrialStateName, TrialStatus;"
            " import tunelab.cli, tunelab.report; print('optuna' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["False"], "the study package loads its modules on first use"


def test_a_grace_period_within_one_heartbeat_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="grace_period must be longer than heartbeat_interval,"
                                          " got grace_period=5, heartbeat_interval=5"):
        tune(BASE, run_dir=tmp_path / "run", progress=False, heartbeat_interval=5,
             grace_period=5)
    assert StudyConfig(heartbeat_interval=0, grace_period=1).heartbeat_interval == 0


@pytest.mark.parametrize(("batch_sizes", "micro"), [
    ([32, 64, 128, 256], 32), ([48, 96], 48), ([24, 64], 8), ([128], 128),
    ({"low": 32, "high": 256, "step": 32}, 32), ({"low": 40, "high": 40, "step": 8}, 40),
    ({"low": 16, "high": 64, "log": True}, 1),
])
def test_the_shared_micro_batch_divides_every_searched_batch_size(batch_sizes: object,
                                                                  micro: int) -> None:
    assert shared_micro_batch(Space({"training.batch_size": batch_sizes})) == micro


def test_without_a_searched_batch_size_nothing_is_shared() -> None:
    assert shared_micro_batch(Space(BASE["search"])) is None


@pytest.mark.parametrize("share", [False, True])
def test_shared_batch_sizes_train_in_one_cohort(tmp_path: Path, share: bool) -> None:
    result = tune({**BASE, "search": {"training.batch_size": [32, 64],
                                      "optimizer.learning_rate": {"low": 0.01, "high": 0.1}}},
                  run_dir=tmp_path, progress=False, trials=4, cohort=4, sampler="random",
                  pruner="none", share_batch_sizes=share)
    assert result.trials_by_state() == {"complete": 4}
    assert {t.params["training.batch_size"] for t in result.study.trials} == {32, 64}
    stats = result.stats
    assert stats is not None
    if share:  # one structure: one full cohort
        assert (stats.cohorts, stats.mean_cohort_width) == (1, 4.0)
    else:  # a structure per batch size: a cohort each at least
        assert stats.cohorts >= 2
    cfg = result.best_config
    assert isinstance(cfg, RunConfig)
    assert cfg.training.model_dump()["micro_batch"] == (32 if share else None)
