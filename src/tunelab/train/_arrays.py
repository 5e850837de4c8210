"""A dataset's arrays on the device, shared by every cohort that trains on it.

The training split is kept whole (each epoch gathers its minibatches from it); the
validation and test splits are cut into fixed-size chunks, the last one padded with rows of
weight zero, so that one compiled evaluation serves both splits whatever their sizes.
Cohorts of one study train on one dataset object: its arrays go to the device once.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from tunelab.model import ModelSpec, num_outputs
from tunelab.train._structure import DatasetLike

__all__ = ["DataShape", "DeviceData", "device_data", "evaluation_rows"]

_CHUNK = 2048
_EVAL_LIMIT = 32_768  # slots x rows of one evaluation call (see evaluation_rows)

Chunk = tuple[Any, Any, Any]


@dataclass(frozen=True)
class DataShape:
    """What compiling needs of a dataset: its splits' rows and its arrays' shapes.

    A caller that knows these before the data is read (a file's header, a named dataset's
    description) can compile a cohort's programs while the data loads.

    Example:
        >>> shape = DataShape(train=50_000, val=10_000, test=10_000, input_shape=(784,),
        ...                   task="multiclass", num_classes=10)
        >>> shape.chunk, shape.spec().num_outputs
        (2048, 10)
    """

    train: int
    val: int
    test: int
    input_shape: tuple[int, ...]
    task: str
    num_classes: int
    targets: tuple[int, ...] = ()  # the trailing shape of ``y`` (several regression targets)

    @classmethod
    def of(cls, data: DatasetLike) -> DataShape:
        """The shape of a dataset at hand."""
        return cls(train=len(data.x_train), val=len(data.x_val), test=len(data.x_test),
                   input_shape=tuple(int(d) for d in np.shape(data.x_train)[1:]),
                   task=str(data.task), num_classes=int(data.num_classes),
                   targets=tuple(int(d) for d in np.shape(data.y_train)[1:]))

    @property
    def chunk(self) -> int:
        """Rows of one evaluation chunk: validation and test sets are cut into these."""
        return min(_CHUNK, -(-max(self.val, self.test, 1) // 8) * 8)

    @property
    def y_dtype(self) -> Any:
        return np.float32 if self.task == "regression" else np.int32

    def spec(self) -> ModelSpec:
        """The input shape, task and output width the dataset asks of a model."""
        return ModelSpec(self.input_shape, self.task, num_outputs(
            self.task, self.num_classes, np.zeros((1, *self.targets))))


def evaluation_rows(width: int, chunk: int) -> int:
    """Rows per evaluation call for a cohort of ``width``: the chunk, halved while slots x
    rows exceeds 32,768.

    XLA's CPU backend returned another slot's loss for some slots of a wider evaluation
    (a width-17 cohort on 2,048 rows gave slot 16 slot 0's loss); below that size the sums
    are right.

    Example:
        >>> evaluation_rows(8, 2048), evaluation_rows(32, 2048)
        (2048, 1024)
    """
    cuts = 1
    while width * chunk // cuts > _EVAL_LIMIT and chunk % (2 * cuts) == 0 \
            and chunk // (2 * cuts) >= 8:
        cuts *= 2
    return chunk // cuts


@dataclass(frozen=True)
class DeviceData:
    """Training arrays, and validation/test chunks of ``(x, y, weight)``."""

    x: Any
    y: Any
    splits: dict[str, list[Chunk]]
    rows: dict[str, int]
    chunk: int


def _chunks(x: np.ndarray, y: np.ndarray, size: int) -> list[Chunk]:
    out = []
    for start in range(0, len(x), size):
        xc, yc = x[start:start + size], y[start:start + size]
        pad = size - len(xc)
        w = np.concatenate([np.ones(len(xc), np.float32), np.zeros(pad, np.float32)])
        xc = np.concatenate([xc, np.zeros((pad, *xc.shape[1:]), xc.dtype)])
        yc = np.concatenate([yc, np.zeros((pad, *yc.shape[1:]), yc.dtype)])
        out.append((jnp.asarray(xc), jnp.asarray(yc), jnp.asarray(w)))
    return out


def _build(data: DatasetLike, input_shape: tuple[int, ...]) -> DeviceData:
    y_dtype = np.float32 if data.task == "regression" else np.int32

    def arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(getattr(data, f"x_{split}"), np.float32).reshape((-1, *input_shape))
        return x, np.asarray(getattr(data, f"y_{split}"), y_dtype)

    x, y = arrays("train")
    rows = {s: len(getattr(data, f"x_{s}")) for s in ("val", "test")}
    size = DataShape.of(data).chunk
    splits = {s: _chunks(*arrays(s), size) for s in ("val", "test")}
    return DeviceData(jnp.asarray(x), jnp.asarray(y), splits, rows, size)


_LOCK = threading.Lock()
_CACHE: dict[tuple[int, tuple[int, ...]], tuple[Any, DeviceData]] = {}


def device_data(data: DatasetLike, input_shape: tuple[int, ...]) -> DeviceData:
    """The dataset's arrays on the device (put there once per dataset object).

    Example:
        >>> from types import SimpleNamespace
        >>> z = np.zeros((10, 3), np.float32); labels = np.zeros(10, np.int32)
        >>> ds = SimpleNamespace(x_train=z, y_train=labels, x_val=z, y_val=labels, x_test=z,
        ...                      y_test=labels, task="multiclass", num_classes=2)
        >>> arrays = device_data(ds, (3,))
        >>> arrays.x.shape, arrays.chunk, len(arrays.splits["val"])
        ((10, 3), 16, 1)
    """
    key = (id(data), input_shape)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0]() is data:
            return hit[1]
        built = _build(data, input_shape)
        try:
            ref = weakref.ref(data, lambda _: _CACHE.pop(key, None))
        except TypeError:
            return built  # an object without weak references is simply not shared
        _CACHE[key] = (ref, built)
        return built
