"""Successive halving for a cohort's slots: Optuna's rule, with rivals read from reports."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from tunelab.study._halving import CohortHalvingPruner

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
    # Optuna's pruner, asked in slot order, promotes the first slots it meets: the premise.
    optuna_kept = [not p for p in _at_once(
        optuna.pruners.SuccessiveHalvingPruner(min_resource=1), values)]
    assert optuna_kept[0] and sum(optuna_kept) > 2


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("seed", range(6))
def test_trials_that_arrive_one_by_one_are_pruned_as_optuna_prunes_them(
        direction: str, seed: int) -> None:
    """Each report asked about at once (no two trials at a rung together): the same
    decisions as Optuna's SuccessiveHalvingPruner, over several rungs and interleavings."""
    rng = np.random.default_rng(seed)
    n, steps = 14, 10
    curves = rng.uniform(0, 1, size=(n, 1)) * (1 - 0.5 ** np.arange(1, steps + 1)) \
        + rng.normal(0, 0.02, size=(n, steps))
    curves[rng.integers(n), rng.integers(steps)] = np.nan
    decisions = []
    for pruner in (optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
                   CohortHalvingPruner(min_resource=1, reduction_factor=3)):
        study = optuna.create_study(direction=direction, pruner=pruner)
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
