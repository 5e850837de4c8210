"""Configuration: pydantic models for every section, loaded from and written to TOML.

A run is described by one :class:`RunConfig`. Every section forbids unknown keys, so a
typo is an error naming the key and the keys that are allowed, never a silently ignored
setting. Errors name the file and the dotted key (``optimizer.learning_rate``).

Example:
    >>> cfg = parse_config({"optimizer": {"name": "sgd", "learning_rate": 0.1}})
    >>> cfg.optimizer.name, cfg.optimizer.learning_rate, cfg.model.units
    ('SGD', 0.1, [64, 64])
"""

from __future__ import annotations

from tunelab.config._names import (
    ACTIVATIONS,
    DIRECTIONS,
    EXECUTORS,
    INITIALIZERS,
    LOSSES,
    METRICS,
    OPTIMIZERS,
    PRUNERS,
    SAMPLERS,
    SCHEDULES,
    OneOf,
    same_value,
)
from tunelab.config._optimizers import OPTIMIZER_KEYS, OPTIMIZER_SPECS, OptimizerSpec
from tunelab.config._run import (
    CallbacksConfig,
    CSVLoggerConfig,
    DataConfig,
    EarlyStoppingConfig,
    ModelCheckpointConfig,
    ModelConfig,
    OptimizerConfig,
    ReduceLROnPlateauConfig,
    RunConfig,
    ScheduleConfig,
    TrainingConfig,
)
from tunelab.config._study import StudyConfig, TuneConfig
from tunelab.config._toml import (
    config_error,
    dump_config,
    load_config,
    parse_config,
    read_toml,
    save_config,
    with_overrides,
)
from tunelab.config._tracking import TrackingConfig

__all__ = [
    "ACTIVATIONS",
    "DIRECTIONS",
    "EXECUTORS",
    "INITIALIZERS",
    "LOSSES",
    "METRICS",
    "OPTIMIZERS",
    "OPTIMIZER_KEYS",
    "OPTIMIZER_SPECS",
    "PRUNERS",
    "SAMPLERS",
    "SCHEDULES",
    "CSVLoggerConfig",
    "CallbacksConfig",
    "DataConfig",
    "EarlyStoppingConfig",
    "ModelCheckpointConfig",
    "ModelConfig",
    "OneOf",
    "OptimizerConfig",
    "OptimizerSpec",
    "ReduceLROnPlateauConfig",
    "RunConfig",
    "ScheduleConfig",
    "StudyConfig",
    "TrainingConfig",
    "TrackingConfig",
    "TuneConfig",
    "config_error",
    "dump_config",
    "load_config",
    "read_toml",
    "parse_config",
    "same_value",
    "save_config",
    "with_overrides",
]
