"""Keras Tuner's API, trained by tunelab's cohort engine: ``import tunelab.keras_tuner as kt``.

A user's Keras Tuner code runs unchanged: ``build_model(hp)`` (or a ``HyperModel`` whose
``fit`` chooses ``model.fit``'s arguments), a tuner (``RandomSearch``,
``BayesianOptimization``, ``Hyperband``, ``GridSearch``), ``tuner.search(x, y, epochs=,
validation_data=)``, then ``get_best_models()`` and ``get_best_hyperparameters()``. Trials
whose models share a structure train in one cohort; Dropout rates and what ``compile``
receives (optimizer constants, learning rate) are per-slot values. What the engine cannot
train (a subclassed model, a custom ``train_step``, a ``fit`` that does more than choose
arguments) is refused before the search starts. See ``docs/keras_tuner.md``.

Example:
    >>> import tunelab.keras_tuner as kt
    >>> hp = kt.HyperParameters()
    >>> hp.Int("units", min_value=32, max_value=512, step=32)
    32
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

from tunelab.api._hyperparameters import HyperParameters  # noqa: E402
from tunelab.api._tuners import (  # noqa: E402
    BayesianOptimization,
    GridSearch,
    Hyperband,
    HyperModel,
    Objective,
    Oracle,
    RandomSearch,
    Trial,
    Tuner,
)

__all__ = ["BayesianOptimization", "GridSearch", "HyperModel", "HyperParameters", "Hyperband",
           "Objective", "Oracle", "RandomSearch", "Trial", "Tuner"]
