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

from tunelab.train._structure import DatasetLike

__all__ = ["DeviceData", "device_data"]

_CHUNK = 2048

Chunk = tuple[Any, Any, Any]


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
    size = min(_CHUNK, -(-max(*rows.values(), 1) // 8) * 8)
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
        ...                      y_test=labels, task="multiclass")
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
