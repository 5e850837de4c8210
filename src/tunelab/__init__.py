"""tunelab: tune neural networks step by step, with real search and real evidence.

The public API is re-exported here; heavy dependencies (JAX, Keras, Optuna) are
imported only when a function that needs them is first used. In a notebook:

    import tunelab
    result = tunelab.fit(data=(x, y), model=my_keras_model, epochs=10)   # tunelab train
    study = tunelab.tune("space.toml", data=(x, y), trials=40)           # tunelab tune
    run = tunelab.guide(data="digits", budget="quick")                   # tunelab guide
    run.report()                                                         # tunelab report
    tunelab.minimize("beale", (4, 4))                                    # landscape minimize
    tunelab.loss_landscape(result, dims=2)                               # landscape model

Each is a thin front of the command of the same name (:mod:`tunelab.api`), with its defaults
and its errors; data may be a name or path, ``(x, y)`` arrays, a dict of ``train``,
``validation`` and ``test`` tuples or a ``Dataset``; a model a ``[model]`` table, a builder or
a ``keras.Model`` template; results show themselves in Jupyter.
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
    from tunelab.api import (
        FitResult,
        GuideResult,
        LandscapeResult,
        ReportPage,
        TuneResult,
        fit,
        loss_landscape,
        minimize,
        race,
        tune,
    )
    from tunelab.study import StudyResult

__version__ = "0.1.0"

# Loaded on first use, so that `import tunelab` does not import JAX, Keras or Optuna.
# `guide` and `report` are the packages of those names, made callable (tunelab._callable).
_LAZY = {
    "fit": "tunelab.api",
    "tune": "tunelab.api",
    "minimize": "tunelab.api",
    "race": "tunelab.api",
    "loss_landscape": "tunelab.api",
    "FitResult": "tunelab.api",
    "TuneResult": "tunelab.api",
    "GuideResult": "tunelab.api",
    "LandscapeResult": "tunelab.api",
    "ReportPage": "tunelab.api",
    "StudyResult": "tunelab.study",
}
_PACKAGES = {"guide": "tunelab.guide", "report": "tunelab.report"}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _PACKAGES:
        return importlib.import_module(_PACKAGES[name])
    raise AttributeError(f"module 'tunelab' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "DataError",
    "FitResult",
    "GuideResult",
    "LandscapeResult",
    "ReportPage",
    "RunConfig",
    "SpaceError",
    "StudyResult",
    "TrialError",
    "TuneResult",
    "TunelabError",
    "__version__",
    "dump_config",
    "fit",
    "guide",
    "load_config",
    "loss_landscape",
    "minimize",
    "parse_config",
    "race",
    "report",
    "save_config",
    "tune",
]
