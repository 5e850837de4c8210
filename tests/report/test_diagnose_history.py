"""Diagnoses of training histories: each rule fires on the curve it names, and only there."""

from __future__ import annotations

import json
import math

from tunelab.report import (
    check_noisy,
    check_overfitting,
    check_still_improving,
    check_training_loss_rising,
    diagnose_history,
)
from tunelab.report._diagnose_history import OVERFIT_RISE


def codes(h: dict[str, list[float]]) -> list[str]:
    return [f.code for f in diagnose_history(h, "run")]


def test_a_healthy_converged_run_has_no_finding(healthy):
    assert codes(healthy) == []


def test_overfitting_is_found_with_its_evidence(overfit):
    finding = check_overfitting(overfit, "trial 3")
    assert finding is not None
    assert finding.severity == "warning"
    assert finding.subject == "trial 3"
    assert finding.evidence["best_epoch"] == 6
    assert finding.evidence["val_loss_min"] == 0.45
    assert finding.evidence["val_loss_last"] == 0.84
    assert finding.evidence["loss_last"] < finding.evidence["loss_at_best_epoch"]
    assert "Regularise" in finding.message
    assert codes(overfit) == ["overfitting"]


def test_a_small_rise_in_validation_loss_is_not_overfitting(overfit):
    low = min(overfit["val_loss"])
    # End just under the threshold above the minimum: a wobble, not overfitting.
    overfit["val_loss"] = overfit["val_loss"][:8] + [low * (1 + OVERFIT_RISE * 0.9)] * 12
    assert check_overfitting(overfit) is None


def test_validation_rising_with_training_rising_too_is_not_overfitting(rising):
    assert check_overfitting(rising) is None


def test_still_improving_says_train_longer(improving):
    finding = check_still_improving(improving)
    assert finding is not None
    assert finding.code == "train-longer"
    assert finding.evidence["epochs"] == 10
    assert finding.evidence["val_loss_last"] < finding.evidence["val_loss_window_start"]
    assert codes(improving) == ["train-longer"]


def test_a_run_that_stopped_after_its_best_epoch_is_not_still_improving(overfit, healthy):
    assert check_still_improving(overfit) is None
    assert check_still_improving(healthy) is None


def test_noisy_late_curves_are_found(noisy):
    finding = check_noisy(noisy)
    assert finding is not None
    assert finding.evidence["curve"] == "val_loss"
    assert finding.evidence["relative_noise"] > 0.05
    assert "larger batch" in finding.message
    assert "noisy" in codes(noisy)


def test_noise_falls_back_to_training_loss_without_validation(noisy):
    h = {"loss": noisy["val_loss"]}
    finding = check_noisy(h)
    assert finding is not None and finding.evidence["curve"] == "loss"


def test_a_smooth_decline_of_any_shape_is_not_noise():
    assert check_noisy({"val_loss": [2.0 - 0.09 * i for i in range(20)]}) is None
    # A real digits run: steep, then bending to a plateau; a straight-line fit would call
    # that bend noise.
    bending = [2.3, 2.293, 2.252, 1.922, 1.273, 0.813, 0.674, 0.489, 0.419, 0.336, 0.295, 0.283]
    assert check_noisy({"val_loss": bending}) is None


def test_rising_training_loss_is_a_problem(rising):
    finding = check_training_loss_rising(rising)
    assert finding is not None
    assert finding.code == "training-loss-rising"
    assert finding.severity == "problem"
    assert finding.evidence["best_epoch"] == 3
    assert finding.evidence["loss_last"] == 3.0
    assert finding.evidence["learning_rate_first"] == 3.0
    assert codes(rising)[0] == "training-loss-rising"


def test_a_nan_loss_is_reported_as_diverged(diverged):
    finding = check_training_loss_rising(diverged)
    assert finding is not None
    assert finding.code == "diverged"
    assert finding.evidence["epoch_diverged"] == 4
    # The other rules stay quiet on a curve with NaNs instead of failing.
    assert codes(diverged) == ["diverged"]


def test_json_nulls_other_metric_names_and_missing_keys_are_handled(overfit):
    from_json = json.loads(json.dumps({k: [None if math.isnan(v) else v for v in vs]
                                       for k, vs in overfit.items()}))
    from_json["mae"] = from_json.pop("accuracy")
    from_json["val_mae"] = from_json.pop("val_accuracy")
    del from_json["lr"], from_json["epoch"]
    assert codes(from_json) == ["overfitting"]
    # JSON stores a NaN loss as null: that epoch diverged.
    assert codes({"loss": [1.0, None, None]}) == ["diverged"]
    assert diagnose_history({}) == []


def test_too_short_a_history_says_nothing():
    assert diagnose_history({"loss": [1.0, 1.5, 2.0], "val_loss": [1.0, 1.6, 2.2]}) == []


def test_findings_are_ordered_most_serious_first(rising):
    severities = [f.severity for f in diagnose_history(rising)]
    order = {"problem": 0, "warning": 1, "info": 2}
    assert severities == sorted(severities, key=order.__getitem__)
