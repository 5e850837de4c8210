"""What a Keras Tuner search trains on: ``fit`` arguments read, data made a dataset.

Keras Tuner passes ``search(*args, **kwargs)`` on to ``HyperModel.fit(hp, model, *args,
**kwargs)``, which calls ``model.fit``. tunelab runs the user's ``fit`` with a stand-in for
the model whose ``fit`` only records its arguments (:func:`recorded_fit`): a ``fit`` that
chooses arguments (batch size, epochs, shuffle, callbacks) works unchanged; one that does
more (passes other data, trains twice, returns something else) is refused in one line.

Example:
    >>> import numpy as np
    >>> x, y = np.zeros((10, 3), "float32"), np.arange(10) % 2
    >>> args = FitArgs.parse((x, y), {"epochs": 3, "validation_split": 0.2})
    >>> args.epochs, args.batch_size, len(args.x_val)
    (3, 32, 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunelab.data import Dataset, Scaling
from tunelab.errors import ConfigError, DataError

__all__ = ["FitArgs", "recorded_fit", "search_dataset"]

#: ``model.fit`` arguments a search may give, and what they mean to the engine.
_TAKEN = ("x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split",
          "validation_data", "shuffle")
_FIT_ORDER = ("x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split",
              "validation_data", "shuffle")
#: Arguments with these values only (anything else changes what training does).
_DEFAULT_ONLY: dict[str, Any] = {"class_weight": None, "sample_weight": None,
                                 "initial_epoch": 0, "steps_per_epoch": None,
                                 "validation_steps": None, "validation_batch_size": None,
                                 "validation_freq": 1}


@dataclass
class FitArgs:
    """The ``model.fit`` arguments of one trial.

    Attributes:
        x, y: Training inputs and labels (after ``validation_split`` took its share).
        x_val, y_val: Validation inputs and labels.
        epochs, batch_size, shuffle: As ``model.fit``'s (Keras's defaults: 1, 32, True).
        callbacks: ``keras.callbacks`` objects.
        given: The arguments as given (the data objects compared by identity).
    """

    x: Any
    y: Any
    x_val: Any
    y_val: Any
    epochs: int = 1
    batch_size: int = 32
    shuffle: bool = True
    callbacks: list[Any] = field(default_factory=list)
    given: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, args: Sequence[Any], kwargs: Mapping[str, Any],
              where: str = "search") -> FitArgs:
        """Read ``model.fit(*args, **kwargs)``'s arguments.

        Raises:
            ConfigError: An argument the engine does not take, or no validation data.
        """
        if len(args) > len(_FIT_ORDER):
            raise ConfigError(f"{where}: {len(args)} positional arguments; model.fit takes at"
                              f" most {len(_FIT_ORDER)}")
        given = dict(zip(_FIT_ORDER, args, strict=False))
        for key, value in kwargs.items():
            if key in given:
                raise ConfigError(f"{where}: {key} given twice")
            given[key] = value
        for key, value in given.items():
            if key in _DEFAULT_ONLY:
                if value != _DEFAULT_ONLY[key]:
                    raise ConfigError(f"{where}: model.fit({key}=...) is not supported by"
                                      " tunelab's engine; leave it out")
            elif key not in _TAKEN:
                raise ConfigError(f"{where}: unknown model.fit argument {key!r}")
        x, y = given.get("x"), given.get("y")
        if x is None or y is None:
            raise ConfigError(f"{where}: give x and y arrays (a tf.data.Dataset or a generator"
                              " is not supported)")
        x_val = y_val = None
        data = given.get("validation_data")
        split = given.get("validation_split") or 0.0
        if data is not None:
            if not isinstance(data, tuple | list) or len(data) != 2:
                raise ConfigError(f"{where}: validation_data must be a tuple (x_val, y_val)")
            x_val, y_val = data
        elif split:
            if not 0.0 < float(split) < 1.0:
                raise ConfigError(f"{where}: validation_split must be in (0, 1), got {split}")
            n = len(x)
            cut = int(n * (1.0 - float(split)))  # Keras keeps the first part for training
            x, x_val, y, y_val = x[:cut], x[cut:], y[:cut], y[cut:]
        else:
            raise ConfigError(f"{where}: give validation_data or validation_split; tunelab"
                              " scores every trial on held-out data")
        epochs = int(given.get("epochs") or 1)
        batch = given.get("batch_size")
        callbacks = given.get("callbacks") or []
        return cls(x, y, x_val, y_val, epochs, 32 if batch is None else int(batch),
                   bool(given.get("shuffle", True)), list(callbacks), given)


class _History:
    """What the stand-in's ``fit`` returns: the user's ``fit`` must return it."""


class _Recorder:
    """A stand-in for the model: ``fit`` records its arguments; the rest is the model's."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.history = _History()

    def fit(self, *args: Any, **kwargs: Any) -> _History:
        self.calls.append((args, kwargs))
        return self.history

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def recorded_fit(hypermodel: Any, hp: Any, model: Any, args: Sequence[Any],
                 kwargs: Mapping[str, Any], where: str) -> FitArgs:
    """Run ``hypermodel.fit(hp, model, *args, **kwargs)`` with a recording stand-in.

    Raises:
        ConfigError: The ``fit`` does more than choose ``model.fit``'s arguments: it does not
            call ``model.fit`` exactly once, passes other data than the search's, or returns
            something other than ``model.fit``'s result.
    """
    stand_in = _Recorder(model)
    returned = hypermodel.fit(hp, stand_in, *args, **kwargs)
    name = f"{type(hypermodel).__name__}.fit"
    if len(stand_in.calls) != 1:
        raise ConfigError(f"{where}: {name} calls model.fit {len(stand_in.calls)} times;"
                          " tunelab trains a trial once, with the arguments fit chooses"
                          " (a custom training loop cannot run on the cohort engine)")
    if returned is not stand_in.history:
        raise ConfigError(f"{where}: {name} returns {type(returned).__name__}, not what"
                          " model.fit returned; a fit that computes its own score cannot run"
                          " on the cohort engine")
    call_args, call_kwargs = stand_in.calls[0]
    fit = FitArgs.parse(call_args, call_kwargs, where=f"{where}: {name}")
    search = FitArgs.parse(args, kwargs, where=where)
    for key in ("x", "y", "validation_data", "validation_split"):
        mine, theirs = fit.given.get(key), search.given.get(key)
        if mine is not theirs and not (isinstance(mine, float | int)
                                       and isinstance(theirs, float | int) and mine == theirs):
            raise ConfigError(f"{where}: {name} passes model.fit another {key} than search()"
                              " was given; preprocess the data before the search (fit may"
                              " only choose batch_size, epochs, shuffle and callbacks)")
    return fit


def _labels(y: Any, task: str, where: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if task == "regression":
        return arr.astype(np.float32)
    if arr.ndim == 2:
        return arr.argmax(axis=1).astype(np.int32)
    if arr.ndim != 1:
        raise DataError(f"{where}: labels of shape {arr.shape}")
    return arr.astype(np.int32)


def search_dataset(fit: FitArgs, task: str, outputs: int, where: str = "search") -> Dataset:
    """The search's arrays as a :class:`~tunelab.data.Dataset` for ``task``; inputs as given
    (no scaling, no flattening: the user's model takes them as they are).

    Raises:
        DataError: Arrays of mismatched lengths, or labels that do not fit the task.
    """
    x = np.asarray(fit.x, dtype=np.float32)
    x_val = np.asarray(fit.x_val, dtype=np.float32)
    y, y_val = _labels(fit.y, task, where), _labels(fit.y_val, task, where)
    if len(x) != len(y) or len(x_val) != len(y_val):
        raise DataError(f"{where}: x has {len(x)} rows and y {len(y)}; x_val {len(x_val)} and"
                        f" y_val {len(y_val)}")
    classes = outputs if task == "multiclass" else (2 if task == "binary" else 1)
    if task != "regression":
        top = int(max(y.max(initial=0), y_val.max(initial=0)))
        if top >= classes:
            raise DataError(f"{where}: label {top} does not fit a model with {outputs}"
                            " outputs")
    sample = tuple(int(d) for d in x.shape[1:])
    return Dataset(name="search", source="arrays", task=task,  # type: ignore[arg-type]
                   num_classes=classes, class_names=[str(i) for i in range(classes)],
                   x_train=x, y_train=y, x_val=x_val, y_val=y_val, x_test=x_val,
                   y_test=y_val, input_shape=sample, sample_shape=sample, kind="tabular",
                   scaling=Scaling("none", np.zeros(()), np.ones(())))
