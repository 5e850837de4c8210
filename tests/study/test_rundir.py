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
