"""Successive halving for a cohort's slots: Optuna's rule, with rivals read from reports."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from tunelab.study._halving import CohortHalvingPruner, CohortHyperbandPruner

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _at_once(pruner: optuna.pruners.BasePruner, values: list[float]) -> list[bool]:
    """Trials that report their first rung in one step, then are asked about, in order."""
    study = optuna.create_study(direction="maximize", pruner=pruner)
    trials = [study.ask() for _ in values]
    for trial, value in zip(trials, values, strict=True):
        trial.report(value, step=1)
    return [trial.should_prune() for trial in trials]


def test_trials_at_a_rung_together_keep_the_best_third_whatever_their_order() -> None:
    values = [0.14, 0.15, 0.62, 0.81, 0.20, 0.69, 0.30, 0.75]  # a cohort's first rung
    kept = [not p for p in _at_once(CohortHalvingPruner(min_resource=1), values)]
    assert [v for v, k in zip(values, kept, strict=True) if k] == [0.81, 0.75]
    # Hyperband's bracket with its first rung at step 1: the same rule inside it.
    shifted = CohortHalvingPruner(min_resource=1, reduction_factor=3, min_early_stopping_rate=1)
    assert shifted.rungs(10) == [3, 9]
    # Optuna's pruner, asked in slot order, promotes the first slots it meets: the premise.
    optuna_kept = [not p for p in _at_once(
        optuna.pruners.SuccessiveHalvingPruner(min_resource=1), values)]
    assert optuna_kept[0] and sum(optuna_kept) > 2


def _pair(kind: str) -> tuple[optuna.pruners.BasePruner, optuna.pruners.BasePruner]:
    if kind == "asha":
        return (optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
                CohortHalvingPruner(min_resource=1, reduction_factor=3))
    return (optuna.pruners.HyperbandPruner(min_resource=1, max_resource=10, reduction_factor=3),
            CohortHyperbandPruner(min_resource=1, max_resource=10, reduction_factor=3))


@pytest.mark.parametrize("kind", ["asha", "hyperband"])
@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("seed", range(6))
def test_trials_that_arrive_one_by_one_are_pruned_as_optuna_prunes_them(
        kind: str, direction: str, seed: int) -> None:
    """Each report asked about at once (no two trials at a rung together): the same
    decisions as Optuna's SuccessiveHalvingPruner / HyperbandPruner, over several rungs and
    interleavings."""
    rng = np.random.default_rng(seed)
    n, steps = 14, 10
    curves = rng.uniform(0, 1, size=(n, 1)) * (1 - 0.5 ** np.arange(1, steps + 1)) \
        + rng.normal(0, 0.02, size=(n, steps))
    curves[rng.integers(n), rng.integers(steps)] = np.nan
    decisions = []
    for pruner in _pair(kind):
        study = optuna.create_study(study_name="same", direction=direction, pruner=pruner)
        trials = [study.ask() for _ in range(n)]
        order = np.random.default_rng(seed + 100)
        step_of = [0] * n
        live = set(range(n))
        seen = []
        while live:
            i = int(order.choice(sorted(live)))
            trial = trials[i]
            trial.report(float(curves[i, step_of[i]]), step=step_of[i] + 1)
            step_of[i] += 1
            pruned = trial.should_prune()
            seen.append((i, step_of[i], pruned))
            if pruned or step_of[i] == steps:
                live.discard(i)
        decisions.append(seen)
    assert decisions[0] == decisions[1]
    assert any(p for _, _, p in decisions[1]), "the rule pruned something"


def _lockstep(pruner: optuna.pruners.BasePruner, curves: np.ndarray, reverse: bool) -> set[int]:
    """Trials that report each step together (a cohort), then are asked about in slot order
    (or its reverse); the trials that finish."""
    study = optuna.create_study(study_name="same", direction="maximize", pruner=pruner)
    trials = [study.ask() for _ in range(len(curves))]
    live = list(range(len(curves)))
    for step in range(curves.shape[1]):
        for i in live:
            trials[i].report(float(curves[i, step]), step=step + 1)
        order = live[::-1] if reverse else live
        pruned = {i for i in order if trials[i].should_prune()}
        live = [i for i in live if i not in pruned]
    return set(live)


@pytest.mark.parametrize("kind", ["asha", "hyperband"])
def test_a_cohort_s_survivors_do_not_depend_on_its_slot_order(kind: str) -> None:
    rng = np.random.default_rng(3)
    curves = rng.uniform(0, 1, size=(18, 1)) * (1 - 0.5 ** np.arange(1, 11)) \
        + rng.normal(0, 0.01, size=(18, 10))
    ours = [_lockstep(_pair(kind)[1], curves, reverse) for reverse in (False, True)]
    assert ours[0] == ours[1] and 0 < len(ours[0]) < 18
    optuna_s = [_lockstep(_pair(kind)[0], curves, reverse) for reverse in (False, True)]
    assert optuna_s[0] != optuna_s[1]  # Optuna's classes favour whoever is asked first
