"""The run folder: trial artifacts, the best model, session figures, all written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunelab.config import load_config, parse_config
from tunelab.errors import ConfigError
from tunelab.study import RunDir


def test_trial_artifacts_are_a_history_and_a_runnable_config(tmp_path: Path) -> None:
    run = RunDir(tmp_path).make()
    cfg = parse_config({"training": {"epochs": 2}})
    run.write_trial(4, cfg, {"loss": [1.0, float("nan")], "val_accuracy": [0.5, 0.6]})
    folder = tmp_path / "trials" / "4"
    assert json.loads((folder / "history.json").read_text()) == {
        "loss": [1.0, None], "val_accuracy": [0.5, 0.6]}
    assert load_config(folder / "config.toml") == cfg
    assert run.trial_config(4) == cfg and run.trial_config(5) is None
    assert not list(folder.glob(".*.tmp")), "no temporary file is left behind"


def test_promote_copies_the_trial_model_and_records_it(tmp_path: Path) -> None:
    run = RunDir(tmp_path).make()
    assert run.read_best() is None
    run.trial_model(2).parent.mkdir(parents=True)
    run.trial_model(2).write_bytes(b"model 2")
    run.promote(2, 0.9, "val_accuracy")
    assert run.best_model.read_bytes() == b"model 2"
    assert run.read_best() == {"trial": 2, "value": 0.9, "metric": "val_accuracy"}


def test_stats_sessions_accumulate(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.append_stats({"compile_seconds": 1.0})
    run.append_stats({"compile_seconds": 2.0})
    assert [s["compile_seconds"] for s in run.read_stats()] == [1.0, 2.0]


def test_require_names_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a study's run folder"):
        RunDir(tmp_path).require()
    with pytest.raises(ConfigError, match="no such run folder"):
        RunDir(tmp_path / "missing").require()


def _keras_like(path: Path, content: str) -> None:
    """A file shaped like a .keras archive (a zip holding config.json)."""
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", content)
        archive.writestr("model.weights.h5", content * 50)


def test_a_damaged_keras_file_is_told_from_a_whole_one(tmp_path: Path) -> None:
    from tunelab.study._rundir import damaged_keras

    good = tmp_path / "good.keras"
    _keras_like(good, '{"layers": []}')
    assert damaged_keras(good) is None
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(good.read_bytes()[:-40])
    assert damaged_keras(truncated) == "not a complete zip archive (truncated or overwritten)"
    flipped = bytearray(good.read_bytes())
    flipped[150] ^= 0xFF  # inside the weights: their checksum no longer matches
    (tmp_path / "flipped.keras").write_bytes(bytes(flipped))
    assert "fails its checksum" in str(damaged_keras(tmp_path / "flipped.keras"))
    assert damaged_keras(tmp_path / "missing.keras") == "missing"


def test_a_damaged_best_model_is_rebuilt_from_the_best_trial_s_own(tmp_path: Path) -> None:
    run = RunDir(tmp_path).make()
    _keras_like(run.trial_model(3), '{"trial": 3}')
    run.promote(3, 0.9, "val_accuracy")
    assert run.repair_best((3, 0.9), "val_accuracy") is None, "a whole file is left alone"
    run.best_model.write_bytes(run.best_model.read_bytes()[:100])  # a crash, a full disk...
    note = run.repair_best((3, 0.9), "val_accuracy")
    assert note is not None and "rebuilt from" in note and str(run.trial_model(3)) in note
    assert run.best_model.read_bytes() == run.trial_model(3).read_bytes()
    assert run.read_best() == {"trial": 3, "value": 0.9, "metric": "val_accuracy"}


def test_a_damaged_best_model_without_its_source_is_a_one_line_error(tmp_path: Path) -> None:
    run = RunDir(tmp_path).make()
    _keras_like(run.trial_model(3), '{"trial": 3}')
    run.promote(3, 0.9, "val_accuracy")
    run.best_model.write_bytes(b"PK\x03\x04 not a model")
    run.trial_model(3).unlink()
    with pytest.raises(ConfigError) as err:
        run.repair_best((3, 0.9), "val_accuracy")
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{run.best_model}: damaged")
    assert f"{run.trial_model(3)}, the best trial's model to rebuild it from, is missing" in (
        message)
    assert f"tunelab best {tmp_path} --out best.toml && tunelab train best.toml" in message


def test_the_best_model_follows_the_storage_under_the_folder_lock(tmp_path: Path) -> None:
    run = RunDir(tmp_path).make()
    for n in (1, 2):
        _keras_like(run.trial_model(n), f'{{"trial": {n}}}')
    assert run.follow_best(lambda: (1, 0.8), "val_accuracy") == 1
    # Another session's trial 2 is now the study's best: the file follows it.
    assert run.follow_best(lambda: (2, 0.9), "val_accuracy") == 2
    assert run.best_model.read_bytes() == run.trial_model(2).read_bytes()
    # A best trial whose model is not written here leaves the file as it is.
    assert run.follow_best(lambda: (7, 0.95), "val_accuracy") == 2
    assert run.register_session() == 0 and run.register_session() == 1
