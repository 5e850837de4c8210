"""Sizing a study session: which parameters make structures, and what an epoch budget buys.

A structural parameter changes the engine's structure key (so a cohort must fix it); the
number of trials an epoch budget pays for depends on how many epochs a trial trains on
average under the pruner.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable

import optuna

from tunelab.config import RunConfig
from tunelab.errors import SpaceError, TunelabError
from tunelab.study._params import Categorical, Fixed, Float, Int
from tunelab.study._samplers import PRUNER_KINDS, halving
from tunelab.study._space import Space
from tunelab.study._status import counts, epochs_of

__all__ = ["KeyFn", "epochs_trained", "expected_epochs", "expected_trials", "shared_micro_batch",
           "structural_names"]

KeyFn = Callable[[RunConfig], Hashable]


def expected_epochs(max_epochs: int, pruner: str, reduction_factor: int = 3,
                    min_resource: float = 1.0) -> float:
    """The epochs a trial trains on average under ``pruner`` (for sizing by an epoch budget).

    Successive halving keeps 1 in ``reduction_factor`` trials at each rung (``min_resource``
    epochs, then that times the factor, ...); other pruners are counted as training every
    trial to the end.

    Example:
        >>> round(expected_epochs(9, "asha"), 2)  # 1 + 2/3 + 6/9
        2.33
        >>> expected_epochs(9, "none")
        9.0
    """
    if pruner not in PRUNER_KINDS or not halving(pruner):
        return float(max_epochs)
    total, done, keep, rung = 0.0, 0.0, 1.0, float(min_resource)
    while done < max_epochs:
        stop = min(rung, max_epochs)
        total += keep * (stop - done)
        done, keep, rung = stop, keep / reduction_factor, rung * reduction_factor
    return total


def expected_trials(trials: int, epoch_budget: int | None, epochs_before: int,
                    per_trial: float) -> int:
    """The trials a session can expect to start: ``trials``, or fewer when the epochs left of
    ``epoch_budget`` pay for fewer at ``per_trial`` epochs each.

    Example:
        >>> expected_trials(100, 90, 0, 2.33), expected_trials(100, None, 0, 9.0)
        (39, 100)
    """
    if epoch_budget is None:
        return trials
    left = max(0, epoch_budget - epochs_before)
    return min(trials, math.ceil(left / max(1.0, per_trial)))


def epochs_trained(study: optuna.Study) -> int:
    """Epochs the study's trials trained (:func:`epochs_of`), those retried left out (their
    copies count: :func:`counts`)."""
    return sum(epochs_of(t) for t in study.get_trials(deepcopy=False) if counts(t))


def structural_names(space: Space, base: RunConfig, key_fn: KeyFn) -> list[str]:
    """Parameters whose values change the structure key (so a cohort must fix them).

    Example:
        >>> from tunelab.train import structure_key
        >>> space = Space({"training.batch_size": [16, 32],
        ...                "optimizer.learning_rate": {"low": 0.01, "high": 0.1}})
        >>> structural_names(space, RunConfig(), structure_key)
        ['training.batch_size']
    """
    out = []
    for name, p in space.params.items():
        if isinstance(p, Fixed):
            continue
        context = {parent: values[0] for parent, values in p.when.items()}
        probes = p.probe_values()
        if isinstance(p, Float | Int):
            probes.append((p.low + p.high) / 2 if isinstance(p, Float) else (p.low + p.high) // 2)
        keys = set()
        for v in probes:
            try:
                keys.add(key_fn(space.apply(base, {**context, name: v})))
            except (TunelabError, ValueError, TypeError):
                continue
        if len(keys) > 1:
            out.append(name)
    return out


def shared_micro_batch(space: Space) -> int | None:
    """The micro-batch every searched batch size is a multiple of: their greatest common
    divisor (None when ``training.batch_size`` is not searched).

    With ``training.micro_batch`` set to it, the engine trains a batch of B samples as B / m
    micro-batches whose gradients are summed before one update, so every searched batch size
    shares one compiled program and one cohort (study setting ``share_batch_sizes``).

    Example:
        >>> shared_micro_batch(Space({"training.batch_size": [32, 64, 128, 256]}))
        32
        >>> shared_micro_batch(Space({"training.batch_size": {"low": 48, "high": 96,
        ...                                                   "step": 16}}))
        16
        >>> shared_micro_batch(Space({"optimizer.learning_rate": {"low": 0.01, "high": 0.1}}))
    """
    param = space.params.get("training.batch_size")
    if param is None:
        return None
    if isinstance(param, Int):
        # low, low + step, ...: their divisor is gcd(low, step) once there are two of them.
        return param.low if param.high < param.low + param.step else math.gcd(param.low,
                                                                              param.step)
    if isinstance(param, Categorical | Fixed):
        return math.gcd(*(int(v) for v in param.probe_values()))
    raise SpaceError(f"search parameter 'training.batch_size': batch sizes are integers, got"
                     f" {param!r}; give a list or an int range")
