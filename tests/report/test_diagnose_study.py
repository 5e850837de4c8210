"""Diagnoses of studies: range edges (on the right scale) and failed or diverged trials."""

from __future__ import annotations

import math

import optuna

from tunelab.report import (
    check_failures,
    check_range_edges,
    diagnose_study,
    failure_reason,
    trial_states,
)
from tunelab.report._diagnose_study import EDGE_MIN_TRIALS

from .conftest import make_multi_study, make_study


def _random_study(objective, n: int = 40, direction: str = "maximize") -> optuna.Study:
    study = optuna.create_study(direction=direction,
                                sampler=optuna.samplers.RandomSampler(seed=3))
    study.optimize(objective, n_trials=n)
    return study


def test_trial_states_count_diverged_apart_from_failed():
    study = make_study(30, diverge=3, fail=1)
    states = trial_states(study)
    assert states["diverged"] == 3
    assert states["failed"] == 1
    assert states["complete"] + states["pruned"] == 30
    assert states["pruned"] > 0


def test_failure_reason_prefers_the_user_attribute():
    trial = optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
                                      user_attrs={"reason": "diverged"},
                                      system_attrs={"fail_reason": "ValueError"})
    assert failure_reason(trial) == "diverged"
    bare = optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL)
    assert failure_reason(bare) == "unknown"


def test_diverged_trials_name_the_smallest_learning_rate_that_diverged():
    study = make_study(30, diverge=3, fail=0)
    (finding,) = check_failures(study, "study main")
    assert finding.code == "trials-diverged"
    assert finding.severity == "info"  # 3 of 33 is under the warning share
    assert finding.evidence["diverged"] == 3
    assert finding.evidence["finished"] == 33
    assert math.isclose(finding.evidence["smallest_diverged_learning_rate"], 0.6)
    assert "0.6" in finding.message


def test_many_diverged_trials_are_a_warning():
    study = make_study(6, diverge=6, fail=0)
    (finding,) = check_failures(study)
    assert finding.severity == "warning"
    assert finding.evidence["share"] == 0.5


def test_other_failures_are_a_warning_with_their_reason():
    study = make_study(10, diverge=0, fail=2)
    (finding,) = check_failures(study)
    assert finding.code == "trials-failed"
    assert finding.evidence["failed"] == 2
    assert finding.evidence["most_common_reason"] == "out of memory"
    assert "out of memory (2)" in finding.message


def test_a_best_value_at_the_upper_edge_is_found():
    # x is best at its upper bound; z is best in the middle of its range.
    study = _random_study(lambda t: t.suggest_float("x", 0.0, 10.0)
                          - 50 * (t.suggest_float("z", 0.0, 1.0) - 0.5) ** 2)
    findings = check_range_edges(study, "study s")
    assert [f.evidence["parameter"] for f in findings] == ["x"]
    (x,) = findings
    assert x.code == "range-edge"
    assert "upper edge" in x.message
    assert x.evidence["position_in_range"] > 0.9
    assert x.subject == "study s"
    assert not any(f.evidence["parameter"] == "z" for f in findings)


def test_the_edge_is_measured_on_a_log_scale_for_log_ranges():
    # Optimum at 1e-3 inside [1e-5, 1]: on a linear scale 0.001 is at the very bottom of the
    # range, on the log scale it sits at 40%: not an edge.
    def objective(t: optuna.Trial) -> float:
        return -((math.log10(t.suggest_float("lr", 1e-5, 1.0, log=True)) + 3.0) ** 2)

    study = _random_study(objective, n=60)
    assert 1e-4 < study.best_params["lr"] < 1e-2
    assert check_range_edges(study) == []


def test_int_ranges_are_checked_and_categoricals_are_not():
    def objective(t: optuna.Trial) -> float:
        layers = t.suggest_int("layers", 1, 3)
        choice = t.suggest_categorical("act", ["relu", "tanh"])
        return layers + (1.0 if choice == "tanh" else 0.0)

    findings = check_range_edges(_random_study(objective, n=20))
    assert [f.evidence["parameter"] for f in findings] == ["layers"]
    assert findings[0].evidence["best_value"] == 3


def test_few_trials_or_several_objectives_give_no_edge_finding():
    few = _random_study(lambda t: t.suggest_float("x", 0.0, 1.0), n=EDGE_MIN_TRIALS - 1)
    assert check_range_edges(few) == []
    assert check_range_edges(make_multi_study()) == []


def test_diagnose_study_lists_failures_first():
    codes = [f.code for f in diagnose_study(make_study(30, diverge=3, fail=1))]
    assert codes[:2] == ["trials-diverged", "trials-failed"]


def test_retried_trials_are_neither_failed_nor_diagnosed():
    study = make_study(10, diverge=0, fail=0)
    study.add_trial(optuna.trial.create_trial(
        state=optuna.trial.TrialState.FAIL,
        user_attrs={"reason": "interrupted: the process running it stopped",
                    "tunelab_retried": True}))
    assert trial_states(study)["retried"] == 1
    assert trial_states(study)["failed"] == 0
    assert check_failures(study) == []


def test_a_best_value_at_zero_says_switch_it_off_rather_than_widen():
    study = _random_study(lambda t: -t.suggest_float("dropout", 0.0, 0.5))
    (finding,) = check_range_edges(study)
    assert finding.severity == "info"
    assert "best switched off" in finding.message
    assert "Widen" not in finding.message
