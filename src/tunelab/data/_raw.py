"""Unprocessed arrays as a reader found them: the common result of every reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tunelab.errors import DataError

__all__ = ["Kind", "RawData", "encode_labels"]

Kind = Literal["image", "tabular"]


@dataclass(frozen=True, eq=False)
class RawData:
    """Arrays exactly as read: no scaling, no split, labels as stored.

    Attributes:
        name: the dataset name, or the file/folder name for a user's own data.
        source: where the data was found (a path, or ``"scikit-learn"``).
        x_train: training inputs, ``(N, *sample_shape)``.
        y_train: training labels or targets, ``(N,)`` or ``(N, k)``.
        x_test: test inputs, or ``None`` when the data has no separate test set.
        y_test: test labels, or ``None``.
        class_names: a name per class index, when the data names them.
        feature_names: a name per input column, for tabular data.
        kind: ``"image"`` (samples are 2-D or 3-D grids) or ``"tabular"``.
        task: the task the data is known to be (``"regression"`` for diabetes), or
            ``None`` to infer it from the labels.
        x_val: validation inputs given with the data (then no validation split is carved
            out of the training set), or ``None``.
        y_val: validation labels, or ``None``.

    Example:
        >>> import numpy as np
        >>> raw = RawData("toy", "memory", np.zeros((4, 2)), np.array([0, 1, 0, 1]))
        >>> raw.kind, raw.n_train, raw.n_test, raw.sample_shape
        ('tabular', 4, 0, (2,))
    """

    name: str
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    kind: Kind = field(default="tabular")
    task: str | None = None
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    def __post_init__(self) -> None:
        _check_pair(self.x_train, self.y_train, "training", self.source)
        if (self.x_test is None) != (self.y_test is None):
            raise DataError(
                f"{self.source}: has test inputs or test labels but not both;"
                " give both x_test and y_test, or neither"
            )
        if (self.x_val is None) != (self.y_val is None):
            raise DataError(
                f"{self.source}: has validation inputs or validation labels but not both;"
                " give both x_val and y_val, or neither"
            )
        for which, x, y in (("test", self.x_test, self.y_test),
                            ("validation", self.x_val, self.y_val)):
            if x is None or y is None:
                continue
            _check_pair(x, y, which, self.source)
            if x.shape[1:] != self.x_train.shape[1:]:
                raise DataError(
                    f"{self.source}: {which} samples have shape {x.shape[1:]} but"
                    f" training samples have shape {self.x_train.shape[1:]}; they must match"
                )
            if y.shape[1:] != self.y_train.shape[1:]:
                raise DataError(
                    f"{self.source}: {which} labels have shape {y.shape} but training labels"
                    f" have shape {self.y_train.shape}; give labels of the same kind"
                )
        if self.x_train.ndim >= 3 and self.kind == "tabular":
            # A grid of values per sample is an image whatever the reader assumed.
            object.__setattr__(self, "kind", "image")

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test samples (0 when there is no test set)."""
        return 0 if self.x_test is None else int(self.x_test.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one input sample, e.g. ``(28, 28)``."""
        return tuple(int(d) for d in self.x_train.shape[1:])


def _check_pair(x: np.ndarray, y: np.ndarray, which: str, source: str) -> None:
    if x.ndim < 2:
        raise DataError(
            f"{source}: {which} inputs have shape {x.shape}; expected one row per sample"
            " (at least 2 dimensions)"
        )
    if y.ndim not in (1, 2):
        raise DataError(
            f"{source}: {which} labels have shape {y.shape}; expected (N,) or (N, k)"
        )
    if x.shape[0] != y.shape[0]:
        raise DataError(
            f"{source}: {x.shape[0]} {which} images/inputs but {y.shape[0]} {which} labels;"
            " every sample needs exactly one label"
        )
    if x.shape[0] == 0:
        raise DataError(f"{source}: the {which} set is empty")
    for what, arr in (("inputs", x), ("labels", y)):
        if arr.dtype.kind not in "biuf":
            raise DataError(
                f"{source}: {which} {what} have dtype {arr.dtype}; expected numbers"
                " (integers or floats)"
            )


def encode_labels(
    values: np.ndarray, class_names: list[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Turn text labels into class indices, classes sorted by name.

    Args:
        values: one text label per sample.
        class_names: the classes to use (e.g. the training set's, for the test set); by
            default the sorted distinct values.

    Returns:
        ``(indices, class_names)`` with ``indices`` int32.

    Raises:
        DataError: a value is not one of ``class_names``, or ``values`` is not one label per
            sample.

    Example:
        >>> import numpy as np
        >>> encode_labels(np.array(["b", "a", "b"]))
        (array([1, 0, 1], dtype=int32), ['a', 'b'])
    """
    text = np.asarray(values).astype(str)
    if text.ndim == 2 and text.shape[1] == 1:
        text = text[:, 0]  # a column of labels
    if text.ndim != 1:
        raise DataError(f"text labels go one per sample, shape (N,); got shape {text.shape}")
    names = sorted(set(text.tolist())) if class_names is None else list(class_names)
    index = {n: i for i, n in enumerate(names)}
    unknown = sorted(set(text.tolist()) - index.keys())
    if unknown:
        raise DataError(
            f"labels {unknown[:5]} are not among the training classes {names[:20]}"
        )
    return np.array([index[t] for t in text.tolist()], dtype=np.int32), names
