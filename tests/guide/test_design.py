"""The balanced design: scientific values, the current value among them, learning rates."""

from __future__ import annotations

import math

from tunelab.config import RunConfig, parse_config
from tunelab.guide._design import (
    Value,
    active_value,
    config_value,
    design,
    enqueue_params,
    label,
    lr_grid,
    midpoints,
    scientific_values,
    with_current,
)
from tunelab.study import Space


def test_values_are_every_combination_with_conditions() -> None:
    space = Space({"optimizer.name": ["SGD", "Adam"],
                   "optimizer.nesterov": {"choices": [False, True],
                                          "when": {"optimizer.name": "SGD"}},
                   "training.loss": ["categorical_crossentropy", "mse"]})
    labels = [v.label for v in scientific_values(space)]
    assert len(labels) == 6
    assert "optimizer Adam · loss mse" in labels
    assert "optimizer SGD · nesterov true · loss categorical_crossentropy" in labels
    assert not any("Adam · nesterov" in x for x in labels)


def test_the_current_value_joins_the_choices() -> None:
    spec = {"model.units": [[32], [128]], "model.dropout": [0.0, 0.2]}
    space = Space(spec)
    now = config_value(parse_config({"model": {"units": [64, 64], "dropout": 0.1}}),
                       ["model.units", "model.dropout"])
    grown = with_current(spec, space, now)
    assert grown["model.units"][0] == [64, 64] and grown["model.dropout"][0] == 0.1
    values = scientific_values(Space(grown))
    assert active_value(Space(grown), now).label in [v.label for v in values]
    # Already present: unchanged.
    assert with_current(grown, Space(grown), now) == grown


def test_auto_loss_reads_as_the_tasks_loss() -> None:
    assert config_value(RunConfig(), ["training.loss"], "binary") == {
        "training.loss": "binary_crossentropy"}


def test_learning_rates_spread_evenly_around_the_centre() -> None:
    rates = lr_grid(0.1, 4.0, 4)
    ratios = [b / a for a, b in zip(rates, rates[1:], strict=False)]
    assert all(math.isclose(r, ratios[0], rel_tol=1e-3) for r in ratios)
    assert math.isclose(math.sqrt(rates[0] * rates[-1]), 0.1, rel_tol=1e-3)
    assert rates[0] > 0.1 / 4 and rates[-1] < 0.1 * 4
    assert lr_grid(0.1, 4.0, 3, low=0.08, high=0.12) == [0.08, 0.1, 0.12]
    assert lr_grid(0.1, 4.0, 1) == [0.1]


def test_design_gives_each_value_the_same_trials() -> None:
    values = [Value({"model.units": [16]}), Value({"model.units": [32]})]
    queued = design(values, 3, {values[0].label: [0.1, 0.2, 0.3],
                                values[1].label: [1.0, 2.0, 3.0]})
    assert [v.label for v, _ in queued].count("units [16]") == 3
    assert queued[4][1] == {"optimizer.learning_rate": 2.0}
    space = Space({"model.units": [[16], [32]], "optimizer.learning_rate":
                   {"low": 0.01, "high": 5.0, "log": True}})
    assert enqueue_params(space, *queued[0]) == {"model.units": "[16]",
                                                 "optimizer.learning_rate": 0.1}


def test_labels_and_midpoints() -> None:
    assert label({"model.units": [64, 64], "model.dropout": 0.1}) == \
        "units [64, 64] · dropout 0.1"
    assert label({"model.kernel_initializer": "he_normal"}) == "initializer he_normal"
    space = Space({"optimizer.name": ["SGD", "Adam"],
                   "optimizer.momentum": {"low": 0.5, "high": 0.9,
                                          "when": {"optimizer.name": "SGD"}},
                   "optimizer.learning_rate": {"low": 0.001, "high": 0.1, "log": True}})
    assert midpoints(space, {"optimizer.name": "SGD"}) == {
        "optimizer.momentum": 0.7, "optimizer.learning_rate": 0.01}
    assert midpoints(space, {"optimizer.name": "Adam"}, skip=("optimizer.learning_rate",)) == {}
