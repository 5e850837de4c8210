"""NPZ files: the Keras ``mnist.npz`` layout, read without ever unpickling."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from tunelab.data._raw import RawData, encode_labels
from tunelab.errors import DataError

__all__ = ["read_npz"]

_LAYOUTS: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("x_train", "y_train", "x_test", "y_test"),
    ("x", "y", None, None),
)


def _get(npz: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        arr = npz[key]
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise DataError(
                f"{path}: array '{key}' is an object array, which could run code when loaded;"
                " tunelab reads only numeric or text arrays. Save it with a numeric dtype,"
                f" e.g. np.savez(path, {key}=np.asarray(values, dtype='float32'))"
            ) from None
        raise DataError(f"{path}: array '{key}' cannot be read ({exc})") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{path}: array '{key}' is damaged ({exc})") from None
    if arr.dtype.kind == "O":  # pragma: no cover - np.load refuses these already
        raise DataError(f"{path}: array '{key}' is an object array; tunelab refuses those")
    return arr


def _labels(
    arr: np.ndarray, classes: list[str] | None, path: Path, key: str
) -> tuple[np.ndarray, list[str] | None]:
    if arr.dtype.kind in "US":
        try:
            return encode_labels(arr, classes)
        except DataError as exc:
            raise DataError(f"{path}: '{key}': {exc}") from None
    return arr, classes


def _column(y: np.ndarray) -> np.ndarray:
    # Labels saved as (N, 1) columns are the usual (N,) labels.
    return y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y


def read_npz(path: str | os.PathLike[str], name: str | None = None) -> RawData:
    """Read an ``.npz`` file laid out like Keras's ``mnist.npz``.

    Keys ``x_train``, ``y_train`` and optionally ``x_test``, ``y_test`` (or just ``x`` and
    ``y``), optionally ``x_val``, ``y_val`` (a validation split of its own: none is carved
    out of the training data), and optionally ``class_names``. Loaded with
    ``allow_pickle=False``: an object array is refused, never unpickled. Text labels become
    class indices.

    Raises:
        DataError: the file is missing, not an NPZ archive, lacks a key, holds an object
            array, or has inputs and labels of different counts.

    Example:
        >>> import pathlib, tempfile, numpy as np
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "toy.npz"
        >>> np.savez(p, x_train=np.zeros((4, 3)), y_train=np.array([0, 1, 0, 1]))
        >>> read_npz(p).x_train.shape
        (4, 3)
    """
    p = Path(path)
    try:
        npz = np.load(p, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{p}: is a folder, expected an .npz file") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{p}: not a NumPy .npz archive ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(
            f"{p}: is a single-array .npy file; tunelab needs an .npz archive with"
            " x_train and y_train (np.savez(path, x_train=..., y_train=...))"
        )
    with npz:
        keys = set(npz.files)
        layout = next((lay for lay in _LAYOUTS if lay[0] in keys and lay[1] in keys), None)
        if layout is None:
            raise DataError(
                f"{p}: missing key: expected arrays 'x_train' and 'y_train' (optionally"
                f" 'x_test', 'y_test'), or 'x' and 'y'; found {sorted(keys) or 'no arrays'}"
            )
        xk, yk, xt, yt = layout
        classes: list[str] | None = None
        if "class_names" in keys:
            names = _get(npz, "class_names", p)
            if names.ndim != 1:
                raise DataError(f"{p}: 'class_names' must be a 1-D array, one name per class;"
                                f" got shape {names.shape}")
            classes = [str(c) for c in names.tolist()]
        x_train = _get(npz, xk, p)
        y_train, classes = _labels(_get(npz, yk, p), classes, p, yk)
        x_test = y_test = None
        if xt is not None and yt is not None and (xt in keys or yt in keys):
            if not (xt in keys and yt in keys):
                missing = yt if xt in keys else xt
                raise DataError(f"{p}: missing key '{missing}': x_test and y_test go together")
            x_test = _get(npz, xt, p)
            y_test, classes = _labels(_get(npz, yt, p), classes, p, yt)
        x_val = y_val = None
        if "x_val" in keys or "y_val" in keys:
            if not ("x_val" in keys and "y_val" in keys):
                missing = "y_val" if "x_val" in keys else "x_val"
                raise DataError(f"{p}: missing key '{missing}': x_val and y_val go together")
            x_val = _get(npz, "x_val", p)
            y_val, classes = _labels(_get(npz, "y_val", p), classes, p, "y_val")
    return RawData(
        name=name or p.stem,
        source=str(p),
        x_train=x_train,
        y_train=_column(y_train),
        x_test=x_test,
        y_test=None if y_test is None else _column(y_test),
        class_names=classes,
        kind="image" if x_train.ndim >= 3 else "tabular",
        x_val=x_val,
        y_val=None if y_val is None else _column(y_val),
    )
