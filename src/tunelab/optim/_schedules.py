"""Learning-rate schedules: per-epoch values computed on the host, per-step decay in the state.

A schedule has two parts. The *per-step* part is Keras 2's time-based decay,
``lr / (1 + decay * iterations)`` applied at every update, which lives inside the
optimizer state (:func:`step_decay` gives its constant). The *per-epoch* part sets the
base learning rate at the start of each epoch, like Keras's ``LearningRateScheduler``
(:func:`epoch_schedule`); the engine writes it into each slot's optimizer state between
epochs. The two compose as they did in Keras 2: the tutorial's exponential-decay run used
``SGD(decay=0.1)`` *and* a ``LearningRateScheduler``.

Epochs count from 0, as in Keras callbacks. With ``lr0`` the optimizer's learning rate,
``k = decay_rate`` and ``E`` the run's epochs:

=================  ==========================================================================
``constant``       ``lr0``
``range_test``     ``lr0 * growth ** t`` with ``t`` the update step (the range test's sweep)
``time_decay``     ``per="step"``: Keras 2 decay with ``decay = k`` (per update step);
                   ``per="epoch"``: ``lr0 / (1 + k * epoch)`` (the tutorial's reading)
``exponential``    ``lr0 * exp(-k * epoch)`` (the tutorial's ``exp_decay``)
``step``           ``lr0 * drop ** floor(epoch / epochs_drop)``
``cosine``         ``lr0 * (epoch + 1) / W`` while ``epoch < W = warmup_epochs``, then
                   ``min_lr + (lr0 - min_lr) * (1 + cos(pi * (epoch - W) / (E - W))) / 2``
``cosine_restarts`` SGDR: the cosine from ``lr0`` to ``min_lr`` over ``period`` epochs, then
                   restarts with periods multiplied by ``t_mul``
``one_cycle``      ``optax.cosine_onecycle_schedule`` over ``E`` epochs: up from ``lr0`` to
                   ``max_lr`` (default ``10 * lr0``) in the first 30 %, then down
``function``       ``f(epoch, lr) -> lr`` (or ``f(epoch)``), LearningRateScheduler semantics
=================  ==========================================================================

Example:
    >>> from tunelab.config import ScheduleConfig
    >>> sched = epoch_schedule(ScheduleConfig(name="exponential", decay_rate=0.1), 0.1, 60)
    >>> round(sched(10, 0.1), 6)
    0.036788
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable

import numpy as np
import optax

from tunelab.config import OptimizerConfig, ScheduleConfig
from tunelab.errors import ConfigError

__all__ = [
    "EpochSchedule",
    "epoch_schedule",
    "load_schedule_function",
    "schedule_values",
    "step_decay",
    "step_growth",
]

EpochSchedule = Callable[[int, float], float]


def step_growth(schedule: ScheduleConfig) -> float:
    """The per-step factor of the rate: ``schedule.growth`` for ``range_test``, else 1.

    Example:
        >>> step_growth(ScheduleConfig(name="range_test", growth=1.1))
        1.1
    """
    return float(schedule.growth) if schedule.name == "range_test" else 1.0


def step_decay(schedule: ScheduleConfig, optimizer: OptimizerConfig) -> float:
    """Keras 2's per-step ``decay`` for a run: ``optimizer.decay`` or a per-step time decay.

    Raises:
        ConfigError: when both ``optimizer.decay`` and a per-step ``time_decay`` are given.

    Example:
        >>> step_decay(ScheduleConfig(name="time_decay", decay_rate=0.01), OptimizerConfig())
        0.01
    """
    from_schedule = 0.0
    if schedule.name == "time_decay" and schedule.per == "step":
        from_schedule = float(schedule.decay_rate)
    if from_schedule and optimizer.decay:
        raise ConfigError(
            "schedule.decay_rate: a per-step time_decay and optimizer.decay are the same"
            " Keras 2 decay; give it once (set optimizer.decay = 0 or use another schedule)"
        )
    return from_schedule or float(optimizer.decay)


def load_schedule_function(ref: str | Callable[..., float]) -> EpochSchedule:
    """Resolve ``"module:function"`` to ``f(epoch, lr) -> lr`` (``f(epoch)`` is accepted too).

    Raises:
        ConfigError: naming ``schedule.function`` when it cannot be imported or called so.

    Example:
        >>> load_schedule_function(lambda epoch: 0.5 ** epoch)(2, 1.0)
        0.25
    """
    if isinstance(ref, str):
        module_name, _, attr = ref.partition(":")
        if not module_name or not attr:
            raise ConfigError(
                f"schedule.function must look like 'package.module:function', got {ref!r}"
            )
        try:
            fn = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"schedule.function: cannot load {ref!r} ({exc})") from None
    else:
        fn = ref
    if not callable(fn):
        raise ConfigError(f"schedule.function: {ref!r} is not a function")
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        takes_lr = len(params) >= 2 or any(
            p.kind is p.VAR_POSITIONAL for p in inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        takes_lr = True

    def schedule(epoch: int, lr: float) -> float:
        value = fn(epoch, lr) if takes_lr else fn(epoch)
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"schedule.function returned {value!r} at epoch {epoch}; it must return a number"
            ) from None
        if not math.isfinite(out) or out < 0:
            raise ConfigError(
                f"schedule.function returned {out} at epoch {epoch}; a learning rate must be"
                " a finite number >= 0"
            )
        return out

    return schedule


def _cosine(lr0: float, low: float, t: float, period: float) -> float:
    return low + (lr0 - low) * 0.5 * (1.0 + math.cos(math.pi * t / period))


def _restart_position(epoch: int, period: int, t_mul: float) -> tuple[float, float]:
    start, length = 0.0, float(period)
    while epoch >= start + length:
        start += length
        length *= t_mul
    return epoch - start, length


def epoch_schedule(
    schedule: ScheduleConfig,
    lr0: float,
    epochs: int,
    function: Callable[..., float] | None = None,
) -> EpochSchedule | None:
    """The per-epoch learning rate ``f(epoch, current_lr)``, or None when it never changes.

    Built-in schedules ignore ``current_lr`` (they are functions of the epoch and ``lr0``);
    ``function`` (or ``schedule.function``) receives it, as Keras's LearningRateScheduler
    does.

    Raises:
        ConfigError: naming the ``schedule.*`` key at fault.

    Example:
        >>> s = epoch_schedule(ScheduleConfig(name="step", drop=0.5, epochs_drop=2), 1.0, 6)
        >>> [s(e, 1.0) for e in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    name = schedule.name
    k = float(schedule.decay_rate)
    if schedule.function is not None and name != "function":
        raise ConfigError(
            f"schedule.function is set but schedule.name is {name!r}; set name = 'function'"
        )
    if name == "function" or function is not None:
        ref = function if function is not None else schedule.function
        assert ref is not None  # the config validator requires it for name = 'function'
        return load_schedule_function(ref)
    if name in ("constant", "range_test") or (name == "time_decay" and schedule.per == "step"):
        return None
    if name == "time_decay":
        return lambda e, lr: lr0 / (1.0 + k * e)
    if name == "exponential":
        return lambda e, lr: lr0 * math.exp(-k * e)
    if name == "step":
        drop, every = float(schedule.drop), int(schedule.epochs_drop)
        return lambda e, lr: lr0 * drop ** (e // every)
    low = float(schedule.min_lr)
    if low >= lr0 and name in ("cosine", "cosine_restarts"):
        raise ConfigError(
            f"schedule.min_lr ({low}) must be below the learning rate ({lr0}) for {name}"
        )
    if name == "cosine":
        warm = int(schedule.warmup_epochs)
        if warm >= epochs:
            raise ConfigError(
                f"schedule.warmup_epochs ({warm}) must be below training.epochs ({epochs})"
            )
        span = max(1, epochs - warm)
        return lambda e, lr: (lr0 * (e + 1) / warm if e < warm
                              else _cosine(lr0, low, min(e - warm, span), span))
    if name == "cosine_restarts":
        period, t_mul = int(schedule.period), float(schedule.t_mul)

        def restarts(e: int, lr: float) -> float:
            t, length = _restart_position(e, period, t_mul)
            return _cosine(lr0, low, t, length)

        return restarts
    if name == "one_cycle":
        peak = float(schedule.max_lr) if schedule.max_lr is not None else 10.0 * lr0
        if peak <= lr0:
            raise ConfigError(
                f"schedule.max_lr ({peak}) must be above the learning rate ({lr0}) for one_cycle"
            )
        final_div = lr0 / low if low > 0 else 1e4
        fn = optax.cosine_onecycle_schedule(transition_steps=max(epochs - 1, 1), peak_value=peak,
                                            pct_start=0.3, div_factor=peak / lr0,
                                            final_div_factor=final_div)
        return lambda e, lr: float(fn(e))
    raise ConfigError(f"schedule.name: unknown schedule {name!r}")


def schedule_values(
    schedule: ScheduleConfig, lr0: float, epochs: int, steps_per_epoch: int = 1,
    decay: float = 0.0,
) -> np.ndarray:
    """The base learning rate of every epoch (times the per-step decay at each epoch's end).

    With ``decay > 0`` the value for epoch ``e`` is the rate the epoch's last update used:
    ``base(e) / (1 + decay * ((e + 1) * steps_per_epoch - 1))``.

    Example:
        >>> from tunelab.config import ScheduleConfig
        >>> schedule_values(ScheduleConfig(), 0.1, 3, steps_per_epoch=10, decay=0.1).round(5)
        array([0.05263, 0.03448, 0.02564])
    """
    sched = epoch_schedule(schedule, lr0, epochs)
    lr = lr0
    out = np.empty(epochs)
    for e in range(epochs):
        lr = sched(e, lr) if sched is not None else lr
        out[e] = lr / (1.0 + decay * ((e + 1) * steps_per_epoch - 1))
    return out
