"""Successive halving (ASHA) and Hyperband for trials that reach a rung together.

Optuna's :class:`~optuna.pruners.SuccessiveHalvingPruner` keeps the top ``1 / reduction
factor`` of the trials at a rung, and counts as a trial's rivals there the trials that were
asked about that rung before it (it records each value as the trial is asked). That suits
trials that arrive one by one. A cohort's slots reach a rung in the same step: asked in slot
order, the first slot would meet no rival and always be promoted, the second one rival, and
so on, so a cohort of 8 at its first rung kept up to 6 trials where the rule keeps 2 (even
trials at chance accuracy went on to the last epoch).

:class:`CohortHalvingPruner` applies the same rule (the same rungs, the same promotion test
and the same direction) with the rivals read from what every trial *reported*: a trial's
value at a rung is its reported value at the first step at or past the rung, as Optuna
records it. The scheduler reports every slot of a step before it asks the pruner about any,
so trials that reach a rung together compete there together; a trial that comes later meets
every earlier one, as in ASHA. A promotion is never taken back: a trial is judged only at the
rungs it crossed with its latest report. :class:`CohortHyperbandPruner` is Optuna's Hyperband
with this successive halving in each of its brackets.

Example:
    >>> import optuna
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(direction="maximize",
    ...                             pruner=CohortHalvingPruner(min_resource=1))
    >>> trials = [study.ask() for _ in range(6)]
    >>> for i, t in enumerate(trials):
    ...     t.report(i / 10, step=1)  # six trials reach the first rung at once
    >>> [t.should_prune() for t in trials]  # 6 // 3 = 2 go on: the best two
    [True, True, True, True, False, False]
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import optuna
from optuna.study import StudyDirection

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = ["CohortHalvingPruner", "CohortHyperbandPruner"]


class CohortHalvingPruner(optuna.pruners.SuccessiveHalvingPruner):
    """Successive halving whose rivals at a rung are every trial that reported there.

    Args:
        min_resource: Steps before the first rung when ``min_early_stopping_rate`` is 0.
        reduction_factor: One in ``reduction_factor`` trials is promoted at each rung.
        min_early_stopping_rate: The first rung is at ``min_resource * reduction_factor **
            min_early_stopping_rate`` steps (Hyperband's brackets differ in it).
    """

    def __init__(self, min_resource: int = 1, reduction_factor: int = 3,
                 min_early_stopping_rate: int = 0) -> None:
        super().__init__(min_resource=min_resource, reduction_factor=reduction_factor,
                         min_early_stopping_rate=min_early_stopping_rate)
        self.factor = int(reduction_factor)
        self.first = int(min_resource) * self.factor ** int(min_early_stopping_rate)

    def rungs(self, up_to: int) -> list[int]:
        """The rung steps at or before ``up_to``."""
        out, rung = [], self.first
        while rung <= up_to:
            out.append(rung)
            rung *= self.factor
        return out

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        steps = sorted(trial.intermediate_values)
        before = steps[-2] if len(steps) > 1 else 0
        crossed = [r for r in self.rungs(step) if r > before]
        if not crossed:
            return False
        value = trial.intermediate_values[step]
        if math.isnan(value):
            return True
        trials = study.get_trials(deepcopy=False)
        for rung in crossed:
            rivals = [v for t in trials if t.number != trial.number
                      and (v := _value_at(t, rung)) is not None]
            if not _promotable(value, [*rivals, value], self.factor, study.direction):
                return True
        return False


class CohortHyperbandPruner(optuna.pruners.HyperbandPruner):
    """Optuna's Hyperband (the same brackets, budgets and bracket of each trial) with
    :class:`CohortHalvingPruner` as the successive halving inside each bracket."""

    def _try_initialization(self, study: optuna.Study) -> None:
        super()._try_initialization(study)
        self._pruners = [
            CohortHalvingPruner(p._min_resource, p._reduction_factor, p._min_early_stopping_rate)
            if p._min_resource is not None else p for p in self._pruners]


def _value_at(trial: FrozenTrial, rung: int) -> float | None:
    """A trial's value at a rung: reported at the first step at or past it (None: not there,
    or not a number)."""
    steps = [s for s in trial.intermediate_values if s >= rung]
    if not steps:
        return None
    value = trial.intermediate_values[min(steps)]
    return None if math.isnan(value) else float(value)


def _promotable(value: float, competing: list[float], factor: int,
                direction: StudyDirection) -> bool:
    """Whether ``value`` is among the top ``len(competing) // factor`` (at least the best)."""
    index = max(len(competing) // factor - 1, 0)
    if direction == StudyDirection.MAXIMIZE:
        return value >= sorted(competing, reverse=True)[index]
    return value <= sorted(competing)[index]
