"""The cohort training engine: K configurations of one structure trained at once.

Example:
    >>> from tunelab.config import RunConfig
    >>> structure_key(RunConfig()) == structure_key(RunConfig(seed=3))
    True
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

from tunelab.train._arrays import DataShape  # noqa: E402
from tunelab.train._callbacks import (  # noqa: E402
    KERAS_CALLBACKS,
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    SlotHandle,
    from_keras,
    history_csv,
    keras_callbacks_section,
)
from tunelab.train._cohort import Cohort  # noqa: E402
from tunelab.train._curves import plot_history  # noqa: E402
from tunelab.train._precompile import compile_cohort  # noqa: E402
from tunelab.train._presets import list_presets, load_preset  # noqa: E402
from tunelab.train._program import compile_stats, enable_compilation_cache  # noqa: E402
from tunelab.train._result import CohortResult, Result, save_run  # noqa: E402
from tunelab.train._structure import DatasetLike, model_spec, structure_key  # noqa: E402

__all__ = [
    "KERAS_CALLBACKS",
    "CSVLogger",
    "Callback",
    "Cohort",
    "CohortResult",
    "DataShape",
    "DatasetLike",
    "EarlyStopping",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "Result",
    "SlotHandle",
    "compile_cohort",
    "compile_stats",
    "enable_compilation_cache",
    "from_keras",
    "keras_callbacks_section",
    "history_csv",
    "list_presets",
    "load_preset",
    "plot_history",
    "save_run",
    "model_spec",
    "structure_key",
]
