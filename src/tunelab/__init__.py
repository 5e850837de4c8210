"""tunelab: tune neural networks step by step, with real search and real evidence.

The public API is re-exported here; heavy dependencies (JAX, Keras, Optuna) are
imported only when a function that needs them is first used.
"""

from __future__ import annotations

import os

# Keras reads its backend once, at first import; tunelab's engine is JAX.
os.environ.setdefault("KERAS_BACKEND", "jax")

from tunelab.config import (  # noqa: E402
    RunConfig,
    dump_config,
    load_config,
    parse_config,
    save_config,
)
from tunelab.errors import ConfigError, DataError, SpaceError, TrialError, TunelabError  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "RunConfig",
    "SpaceError",
    "TrialError",
    "TunelabError",
    "__version__",
    "dump_config",
    "load_config",
    "parse_config",
    "save_config",
]
