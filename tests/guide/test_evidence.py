"""The adoption rule: a change is adopted only when it beats the current value beyond noise."""

from __future__ import annotations

import math

import pytest

from tunelab.config import parse_config
from tunelab.guide import ValueStats, adopt, threshold
from tunelab.guide._evidence import score


def test_adopts_a_clear_improvement() -> None:
    current = ValueStats("a", [0.90, 0.91, 0.89])
    better = ValueStats("b", [0.95, 0.96, 0.95])
    verdict = adopt(current, better, "maximize")
    assert verdict.adopted
    assert verdict.difference == pytest.approx(better.mean - current.mean)
    assert verdict.reason.startswith("adopted b")


def test_keeps_the_current_value_within_noise() -> None:
    current = ValueStats("a", [0.90, 0.95, 0.85])
    slightly = ValueStats("b", [0.92, 0.97, 0.87])
    verdict = adopt(current, slightly, "maximize")
    assert not verdict.adopted
    se = math.sqrt(current.std ** 2 / 3 + slightly.std ** 2 / 3)
    assert verdict.threshold == pytest.approx(2 * se)
    assert verdict.difference < verdict.threshold
    assert verdict.reason.startswith("kept a")
    assert "noise threshold" in verdict.reason


def test_the_rule_is_exactly_two_standard_errors() -> None:
    current = ValueStats("a", [1.0, 2.0, 3.0])  # std 1, n 3
    limit = threshold(current, ValueStats("b", [1.0, 2.0, 3.0]))
    assert limit == pytest.approx(2 * math.sqrt(2 / 3))
    just_below = ValueStats("b", [x + limit - 1e-6 for x in (1.0, 2.0, 3.0)])
    just_above = ValueStats("b", [x + limit + 1e-6 for x in (1.0, 2.0, 3.0)])
    assert not adopt(current, just_below, "maximize").adopted
    assert adopt(current, just_above, "maximize").adopted


def test_resolution_and_direction() -> None:
    current = ValueStats("a", [0.900, 0.900])
    tiny = ValueStats("b", [0.902, 0.902])
    assert adopt(current, tiny, "maximize").adopted  # no noise at all: any gain is real
    assert not adopt(current, tiny, "maximize", resolution=0.0035).adopted
    lower_loss = ValueStats("b", [0.20, 0.21, 0.19])
    assert adopt(ValueStats("a", [0.40, 0.41, 0.39]), lower_loss, "minimize").adopted
    assert not adopt(ValueStats("a", [0.40, 0.41, 0.39]), lower_loss, "maximize").adopted


def test_diverged_runs_are_never_adopted() -> None:
    current = ValueStats("a", [0.9, 0.9])
    assert not adopt(current, ValueStats("b", [0.99, math.nan]), "maximize").adopted
    assert adopt(ValueStats("a", [math.nan, 0.9]), ValueStats("b", [0.5, 0.5]),
                 "maximize").adopted


def test_round_trip_through_json() -> None:
    stats = ValueStats("units [64]", [0.9, 0.8], trial=3, seconds_per_epoch=0.1, epochs=12)
    back = ValueStats.from_dict(stats.to_dict())
    assert (back.label, back.scores, back.trial, back.epochs) == ("units [64]", [0.9, 0.8], 3,
                                                                 12)
    assert stats.to_dict()["n"] == 2 and stats.to_dict()["train_seconds"] == pytest.approx(1.2)


def test_score_is_the_model_early_stopping_keeps() -> None:
    history = {"val_loss": [0.5, 0.3, 0.4, 0.45], "val_accuracy": [0.8, 0.85, 0.9, 0.7]}
    plain = parse_config({})
    kept = parse_config({"callbacks": {"early_stopping": {"monitor": "val_loss",
                                                          "restore_best_weights": True}}})
    assert score(history, plain, "val_accuracy") == 0.7
    assert score(history, kept, "val_accuracy") == 0.85
    assert math.isnan(score({}, plain, "val_accuracy"))
