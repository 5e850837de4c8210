"""Preprocessing: the task from the labels, class indices, scaling, one-hot labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from tunelab.errors import DataError

__all__ = ["Scaling", "Task", "encode_targets", "fit_scaling", "infer_task", "one_hot"]

Task = Literal["multiclass", "binary", "regression"]

# Integer labels with more distinct values than this (and more than 5% of the samples)
# are read as a quantity to predict, not as classes: diabetes has 214 distinct targets in
# 442 samples, CIFAR-100 has 100 classes in 50,000.
_MAX_CLASSES_SMALL = 20


def _is_one_hot(y: np.ndarray) -> bool:
    return (
        y.ndim == 2 and y.shape[1] > 1 and bool(np.isin(y, (0, 1)).all())
        and bool((y.sum(axis=1) == 1).all())
    )


def _whole(y: np.ndarray) -> bool:
    return y.dtype.kind in "biu" or bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))


def infer_task(y: np.ndarray) -> Task:
    """Guess the task from the labels.

    Non-integer values, several target columns, or many distinct integers (more than 20
    and more than 5% of the samples) mean regression; two classes mean binary;
    otherwise multiclass. One-hot rows count as class labels.

    Example:
        >>> import numpy as np
        >>> infer_task(np.array([0, 1, 1])), infer_task(np.array([0, 2, 1]))
        ('binary', 'multiclass')
        >>> infer_task(np.array([0.5, 1.25, 3.0]))
        'regression'
    """
    if _is_one_hot(y):
        return "binary" if y.shape[1] == 2 else "multiclass"
    if y.ndim == 2 and y.shape[1] > 1:
        return "regression"
    flat = y.reshape(-1)
    if not _whole(flat):
        return "regression"
    distinct = len(np.unique(flat))
    if distinct > _MAX_CLASSES_SMALL and distinct > 0.05 * len(flat):
        return "regression"
    return "binary" if distinct == 2 else "multiclass"


def encode_targets(
    y_train: np.ndarray,
    y_test: np.ndarray | None,
    task: Task,
    class_names: list[str] | None,
    source: str,
) -> tuple[np.ndarray, np.ndarray | None, int, list[str]]:
    """Labels as the engine wants them: int32 class indices, or float32 targets.

    Class labels that are not already ``0..k-1`` are mapped to indices in sorted order
    (the classes of training and test labels together).

    Returns:
        ``(y_train, y_test, num_classes, class_names)``.

    Raises:
        DataError: the labels cannot serve the task (e.g. ``binary`` with 3 classes).

    Example:
        >>> import numpy as np
        >>> encode_targets(np.array([3, 7, 7]), None, "binary", None, "toy")[0]
        array([0, 1, 1], dtype=int32)
    """
    if task == "regression":
        def as_target(y: np.ndarray) -> np.ndarray:
            return (y.reshape(len(y)) if y.ndim == 2 and y.shape[1] == 1 else y).astype(
                np.float32
            )

        if not np.isfinite(y_train).all():
            raise DataError(f"{source}: the regression targets contain NaN or infinity")
        width = 1 if y_train.ndim == 1 else y_train.shape[1]
        names = class_names or ([f"target {i}" for i in range(width)] if width > 1 else
                                ["target"])
        return as_target(y_train), None if y_test is None else as_target(y_test), 1, names
    parts = [y for y in (y_train, y_test) if y is not None]
    if _is_one_hot(y_train):
        parts = [np.argmax(y, axis=1) if y.ndim == 2 else y for y in parts]
    for y in parts:
        if y.ndim != 1:
            raise DataError(
                f"{source}: {task} labels must be one class per sample, got shape {y.shape};"
                " set task = 'regression' for several targets"
            )
        if not _whole(y):
            raise DataError(
                f"{source}: {task} labels must be whole numbers (class indices), but some"
                " are fractional; set task = 'regression' to predict a quantity"
            )
    values = np.unique(np.concatenate(parts))
    k = len(values)
    if k < 2:
        raise DataError(
            f"{source}: the labels hold a single class ({values.tolist()}); classification"
            " needs at least two"
        )
    if task == "binary" and k != 2:
        raise DataError(
            f"{source}: task 'binary' needs exactly 2 classes, the labels have {k};"
            " use task = 'multiclass' (or 'auto')"
        )
    contiguous = bool(values[0] == 0 and values[-1] == k - 1)
    if contiguous:
        encoded = [y.astype(np.int32) for y in parts]
        names = class_names if class_names and len(class_names) == k else [
            str(int(v)) for v in values
        ]
    else:
        encoded = [np.searchsorted(values, y).astype(np.int32) for y in parts]
        if class_names and len(class_names) > int(values.max()) and values.min() >= 0:
            names = [class_names[int(v)] for v in values]
        else:
            names = [_label_text(v) for v in values]
    return encoded[0], encoded[1] if y_test is not None else None, k, names


def _label_text(v: np.generic) -> str:
    f = float(v)
    return str(int(f)) if f == int(f) else str(f)


@dataclass(frozen=True, eq=False)
class Scaling:
    """A fitted input scaling: ``(x - offset) / scale``, with statistics from training data.

    Attributes:
        method: ``"minmax"``, ``"standard"`` or ``"none"``.
        offset: subtracted first (a scalar or one value per input).
        scale: divided by next (a scalar or one value per input).

    Example:
        >>> import numpy as np
        >>> s = fit_scaling(np.array([[0, 255]], dtype=np.uint8), "minmax", "image")
        >>> s.apply(np.array([[0, 51]], dtype=np.uint8)).tolist()
        [[0.0, 0.20000000298023224]]
    """

    method: str
    offset: np.ndarray
    scale: np.ndarray

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Scale ``x`` into a new float32 array."""
        out = x.astype(np.float32)  # always a copy: the raw arrays are never changed
        if self.method == "none":
            return out
        if np.any(self.offset):
            out -= self.offset
        out /= self.scale
        return out


def fit_scaling(x: np.ndarray, method: str, kind: str) -> Scaling:
    """Fit a scaling on training inputs.

    ``minmax``: 8-bit data is divided by 255 (the tutorial's ``x / 255``); other images
    by their overall range, tabular data column by column. ``standard``: mean 0 and
    standard deviation 1 per input. ``auto``: ``minmax`` for images, ``standard`` for
    tabular data. A constant input is left at 0 instead of divided by 0.

    Example:
        >>> import numpy as np
        >>> s = fit_scaling(np.array([[1.0, 10.0], [3.0, 30.0]]), "standard", "tabular")
        >>> s.apply(np.array([[1.0, 10.0], [3.0, 30.0]])).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
    """
    if method == "auto":
        method = "minmax" if kind == "image" else "standard"
    one = np.ones((), dtype=np.float32)
    zero = np.zeros((), dtype=np.float32)
    if method == "none":
        return Scaling("none", zero, one)
    if method == "minmax":
        if x.dtype == np.uint8:
            return Scaling("minmax", zero, np.float32(255.0) * one)
        axis = None if kind == "image" else 0
        lo = np.min(x, axis=axis).astype(np.float32)
        span = (np.max(x, axis=axis) - np.min(x, axis=axis)).astype(np.float32)
        return Scaling("minmax", lo, np.where(span > 0, span, one).astype(np.float32))
    if method == "standard":
        mean = x.mean(axis=0, dtype=np.float64)
        std = x.std(axis=0, dtype=np.float64)
        return Scaling(
            "standard", mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)
        )
    raise DataError(f"unknown scaling {method!r}; expected auto, minmax, standard or none")


def one_hot(y: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Class indices as one-hot float32 rows.

    Raises:
        DataError: a label is negative, fractional or not below ``num_classes``.

    Example:
        >>> import numpy as np
        >>> one_hot(np.array([0, 2]), 3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise DataError(f"one_hot needs one class index per sample, got shape {labels.shape}")
    if labels.size and not _whole(labels):
        raise DataError("one_hot needs whole-number class indices, got fractional labels")
    idx = labels.astype(np.int64)
    k = int(idx.max()) + 1 if num_classes is None and idx.size else int(num_classes or 0)
    if idx.size and (idx.min() < 0 or idx.max() >= k):
        raise DataError(
            f"one_hot: labels must lie in 0..{k - 1}, got {int(idx.min())}..{int(idx.max())}"
        )
    out = np.zeros((idx.size, k), dtype=np.float32)
    out[np.arange(idx.size), idx] = 1.0
    return out
