"""Losses and metrics by name, checked against the task, as per-sample JAX functions.

The engine needs every loss and metric as a *per-sample* value it can weight (the padded
samples of a last partial batch weigh zero) and sum over batches; a few quantities (RMSE)
are a square root of such a mean. The cross-entropies and errors are Keras's own functions
(``keras.losses.*``), so values match what Keras reports for the same predictions.

Targets arrive as the data layer gives them: integer class indices for classification,
floats for regression. :func:`dense_targets` turns them into the matrix a loss compares
with the model's output (one-hot rows, a single 0/1 column, or the regression targets).

Example:
    >>> resolve_loss("auto", "multiclass"), resolve_loss("auto", "regression")
    ('categorical_crossentropy', 'mse')
    >>> resolve_metrics(["accuracy"], "binary")
    ['accuracy']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
from keras import ops

from tunelab.errors import ConfigError

__all__ = [
    "LOSSES_BY_TASK",
    "METRICS_BY_TASK",
    "TASKS",
    "Term",
    "dense_targets",
    "loss_term",
    "metric_term",
    "output_activation",
    "resolve_loss",
    "resolve_metrics",
]

TASKS = ("multiclass", "binary", "regression")

LOSSES_BY_TASK: dict[str, tuple[str, ...]] = {
    # MSE-type losses on one-hot targets are legal Keras and the tutorial compares losses.
    "multiclass": ("categorical_crossentropy", "sparse_categorical_crossentropy", "mse",
                   "rmse", "mae"),
    "binary": ("binary_crossentropy", "mse", "rmse", "mae"),
    "regression": ("mse", "rmse", "mae"),
}
_AUTO_LOSS = {"multiclass": "categorical_crossentropy", "binary": "binary_crossentropy",
              "regression": "mse"}

METRICS_BY_TASK: dict[str, tuple[str, ...]] = {
    "multiclass": ("accuracy", "euclidean", "manhattan", "hamming", "mse", "rmse", "mae"),
    "binary": ("accuracy", "euclidean", "manhattan", "hamming", "mse", "rmse", "mae"),
    "regression": ("euclidean", "manhattan", "mse", "rmse", "mae"),
}

PerSample = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class Term:
    """A loss or metric: a per-sample function and whether the mean is square-rooted.

    ``fn(labels, targets, y_pred)`` returns one value per sample; ``labels`` are the raw
    targets (class indices or floats), ``targets`` the dense matrix from
    :func:`dense_targets`. The reported value is ``mean(fn)`` or ``sqrt(mean(fn))``.
    """

    name: str
    fn: PerSample
    root: bool = False


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ConfigError(f"data.task: unknown task {task!r}; expected one of {', '.join(TASKS)}")


def resolve_loss(name: str, task: str) -> str:
    """The loss to train with: ``name``, or the task's usual loss for ``"auto"``.

    Raises:
        ConfigError: naming ``training.loss`` when the loss does not fit the task.

    Example:
        >>> resolve_loss("auto", "binary")
        'binary_crossentropy'
    """
    _check_task(task)
    if name == "auto":
        return _AUTO_LOSS[task]
    allowed = LOSSES_BY_TASK[task]
    if name not in allowed:
        raise ConfigError(
            f"training.loss: {name!r} does not fit a {task} task; use one of"
            f" {', '.join(allowed)} (or 'auto' for {_AUTO_LOSS[task]})"
        )
    return name


def resolve_metrics(names: list[str], task: str) -> list[str]:
    """The metrics to report, checked against the task (duplicates dropped).

    The default list, ``["accuracy"]``, means "the usual metric": a regression task, where
    accuracy means nothing, reports ``mae`` instead.

    Raises:
        ConfigError: naming ``training.metrics`` for a metric that does not fit the task.

    Example:
        >>> resolve_metrics(["accuracy"], "regression")
        ['mae']
    """
    _check_task(task)
    if task == "regression" and list(names) == ["accuracy"]:
        return ["mae"]
    allowed = METRICS_BY_TASK[task]
    out: list[str] = []
    for m in names:
        if m not in allowed:
            raise ConfigError(
                f"training.metrics: {m!r} does not fit a {task} task; use some of"
                f" {', '.join(allowed)}"
            )
        if m not in out:
            out.append(m)
    return out


def output_activation(task: str) -> str:
    """The output layer's activation: softmax, sigmoid or linear."""
    _check_task(task)
    return {"multiclass": "softmax", "binary": "sigmoid", "regression": "linear"}[task]


def dense_targets(labels: Any, task: str, num_outputs: int) -> Any:
    """The target matrix a loss compares with the model output, shape ``(batch, outputs)``.

    Example:
        >>> import numpy as np
        >>> np.asarray(dense_targets(np.array([2, 0]), "multiclass", 3)).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    if task == "multiclass":
        return ops.one_hot(ops.cast(labels, "int32"), num_outputs, dtype="float32")
    y = ops.cast(labels, "float32")
    return ops.reshape(y, (-1, num_outputs))


def _sparse_ce(labels: Any, targets: Any, y_pred: Any) -> Any:
    return keras.losses.sparse_categorical_crossentropy(ops.cast(labels, "int32"), y_pred)


def _categorical_ce(labels: Any, targets: Any, y_pred: Any) -> Any:
    return keras.losses.categorical_crossentropy(targets, y_pred)


def _binary_ce(labels: Any, targets: Any, y_pred: Any) -> Any:
    return keras.losses.binary_crossentropy(targets, y_pred)


def _mse(labels: Any, targets: Any, y_pred: Any) -> Any:
    return keras.losses.mean_squared_error(targets, y_pred)


def _mae(labels: Any, targets: Any, y_pred: Any) -> Any:
    return keras.losses.mean_absolute_error(targets, y_pred)


def _euclidean(labels: Any, targets: Any, y_pred: Any) -> Any:
    return ops.sqrt(ops.sum(ops.square(targets - y_pred), axis=-1))


def _manhattan(labels: Any, targets: Any, y_pred: Any) -> Any:
    return ops.sum(ops.abs(targets - y_pred), axis=-1)


def _predicted_labels(y_pred: Any) -> Any:
    if y_pred.shape[-1] == 1:
        return ops.cast(y_pred[..., 0] > 0.5, "int32")
    return ops.cast(ops.argmax(y_pred, axis=-1), "int32")


def _accuracy(labels: Any, targets: Any, y_pred: Any) -> Any:
    return ops.cast(_predicted_labels(y_pred) == ops.cast(labels, "int32"), "float32")


def _hamming(labels: Any, targets: Any, y_pred: Any) -> Any:
    # Fraction of labels predicted wrong (scikit-learn's hamming_loss): 1 - accuracy here.
    return 1.0 - _accuracy(labels, targets, y_pred)


_LOSS_FNS: dict[str, tuple[PerSample, bool]] = {
    "categorical_crossentropy": (_categorical_ce, False),
    "sparse_categorical_crossentropy": (_sparse_ce, False),
    "binary_crossentropy": (_binary_ce, False),
    "mse": (_mse, False),
    "rmse": (_mse, True),
    "mae": (_mae, False),
}
_METRIC_FNS: dict[str, tuple[PerSample, bool]] = {
    "accuracy": (_accuracy, False),
    "euclidean": (_euclidean, False),
    "manhattan": (_manhattan, False),
    "hamming": (_hamming, False),
    "mse": (_mse, False),
    "rmse": (_mse, True),
    "mae": (_mae, False),
}


def loss_term(name: str, task: str) -> Term:
    """The per-sample form of a loss, after :func:`resolve_loss`.

    Example:
        >>> loss_term("rmse", "regression").root
        True
    """
    resolved = resolve_loss(name, task)
    fn, root = _LOSS_FNS[resolved]
    return Term(resolved, fn, root)


def metric_term(name: str, task: str) -> Term:
    """The per-sample form of a metric, after :func:`resolve_metrics`.

    Example:
        >>> metric_term("accuracy", "multiclass").name
        'accuracy'
    """
    (resolved,) = resolve_metrics([name], task)
    fn, root = _METRIC_FNS[resolved]
    return Term(resolved, fn, root)
