"""Objectives: metric names, directions, values read from a history."""

from __future__ import annotations

import pytest

from tunelab.config import StudyConfig, parse_config
from tunelab.errors import ConfigError
from tunelab.study import Objective, default_metric, metric_direction

HISTORY = {"loss": [1.0, 0.5, 0.7], "val_loss": [0.9, 0.4, 0.6],
           "val_accuracy": [0.5, 0.9, 0.8], "seconds": [0.5, 0.25, 0.25]}


def test_directions_follow_the_metric() -> None:
    assert metric_direction("val_accuracy") == "maximize"
    for name in ("val_loss", "val_mse", "val_euclidean", "seconds", "epochs", "val_hamming"):
        assert metric_direction(name) == "minimize"
    assert Objective(["val_accuracy", "seconds"]).directions == ["maximize", "minimize"]
    assert Objective(["val_accuracy"], ["minimize"]).directions == ["minimize"]


def test_values_last_or_best_epoch_and_totals() -> None:
    assert Objective(["val_accuracy"]).values(HISTORY) == [0.8]
    assert Objective(["val_accuracy"], reduce="best").values(HISTORY) == [0.9]
    assert Objective(["val_loss"], reduce="best").values(HISTORY) == [0.4]
    assert Objective(["seconds", "epochs"]).values(HISTORY) == [1.0, 3.0]
    with pytest.raises(KeyError):
        Objective(["val_mae"]).values(HISTORY)


def test_default_metric_by_task() -> None:
    assert default_metric(parse_config({}), "multiclass") == "val_accuracy"
    assert default_metric(parse_config({}), "regression") == "val_loss"
    assert default_metric(parse_config({"training": {"loss": "mse"}})) == "val_loss"


def test_from_config_resolves_auto_and_checks_names() -> None:
    base = parse_config({})
    obj = Objective.from_config(StudyConfig(objective=["auto", "seconds"]), base, "binary")
    assert obj.metrics == ["val_accuracy", "seconds"] and obj.multi
    obj.check_names(["loss", "val_loss", "val_accuracy"])
    with pytest.raises(ConfigError, match="metric 'val_f1' is not recorded in the history"):
        Objective(["val_f1"]).check_names(["loss", "val_loss"])


def test_better_never_takes_a_nan() -> None:
    obj = Objective(["val_accuracy"])
    assert obj.better(0.9, None) and obj.better(0.9, 0.8) and not obj.better(0.8, 0.8)
    assert not obj.better(float("nan"), 0.1)
    assert Objective(["val_loss"]).better(0.1, 0.2)


def test_study_config_checks_directions_per_objective() -> None:
    with pytest.raises(ValueError, match="give one direction per objective"):
        StudyConfig(objective=["val_accuracy", "seconds"], direction=["maximize"])
    with pytest.raises(ValueError, match="unknown sampler"):
        StudyConfig(sampler="anneal")
