"""tunelab: tune neural networks step by step, with real search and real evidence.

The public API is re-exported here; heavy dependencies (JAX, Keras, Optuna) are
imported only when a function that needs them is first used.
"""

from __future__ import annotations

import os

# Keras reads its backend once, at first import; tunelab's engine is JAX.
os.environ.setdefault("KERAS_BACKEND", "jax")

from typing import TYPE_CHECKING, Any  # noqa: E402

from tunelab.config import (  # noqa: E402
    RunConfig,
    dump_config,
    load_config,
    parse_config,
    save_config,
)
from tunelab.errors import ConfigError, DataError, SpaceError, TrialError, TunelabError  # noqa: E402

if TYPE_CHECKING:
    from tunelab.study import StudyResult, tune

__version__ = "0.1.0"

# Loaded on first use, so that `import tunelab` does not import JAX, Keras or Optuna.
_LAZY = {"tune": "tunelab.study", "StudyResult": "tunelab.study"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tunelab' has no attribute {name!r}")

__all__ = [
    "ConfigError",
    "DataError",
    "RunConfig",
    "SpaceError",
    "StudyResult",
    "TrialError",
    "TunelabError",
    "__version__",
    "dump_config",
    "load_config",
    "parse_config",
    "save_config",
    "tune",
]
