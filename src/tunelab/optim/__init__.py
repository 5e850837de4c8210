"""Optimizers and learning-rate schedules, named as in Keras, on optax.

Example:
    >>> from tunelab.config import OptimizerConfig
    >>> optimizer_family(OptimizerConfig(name="adam"))
    ('Adam', False)
"""

from __future__ import annotations

from tunelab.optim._optimizers import (
    KERAS_DEFAULTS,
    build_optimizer,
    get_learning_rate,
    make_optimizer,
    optimizer_family,
    optimizer_hyperparams,
    set_learning_rate,
)
from tunelab.optim._schedules import (
    EpochSchedule,
    epoch_schedule,
    load_schedule_function,
    schedule_values,
    step_decay,
    step_growth,
)

__all__ = [
    "KERAS_DEFAULTS",
    "EpochSchedule",
    "build_optimizer",
    "epoch_schedule",
    "get_learning_rate",
    "load_schedule_function",
    "make_optimizer",
    "optimizer_family",
    "optimizer_hyperparams",
    "schedule_values",
    "set_learning_rate",
    "step_decay",
    "step_growth",
]
