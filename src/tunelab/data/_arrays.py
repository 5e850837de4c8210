"""Data as a Keras user holds it: ``(x, y)`` arrays, or a dict of train/validation/test tuples.

Wherever tunelab takes a dataset name or path it also takes

* a tuple ``(x, y)`` of arrays: tunelab splits off validation and test data exactly as it
  does for a file (``data.validation_split``, ``data.test_split``, stratified, seeded);
* a dict ``{"train": (x, y), "validation": (x, y), "test": (x, y)}`` (``test`` optional):
  the splits as given (a test split is carved out of ``train`` when there is none);
* a :class:`~tunelab.data.Dataset` (already prepared: used as it is).

Labels may be integers, text (classes sorted by name, as ``encode_labels`` does) or one-hot
rows (as ``keras.utils.to_categorical`` gives them); inputs any numeric array with one row per
sample. Shapes and lengths are checked, and an error says which split and which array.

A study or a guide trains in worker processes and resumes later, so arrays given to them are
saved once in the run folder (:func:`store_arrays`, an ``.npz`` file named by a hash of its
contents) and the configuration names that file like any other dataset.

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(40, 3)); y = np.array(["a", "b"] * 20)
    >>> raw = as_raw((x, y))
    >>> raw.x_train.shape, raw.class_names, raw.y_train[:4].tolist()
    ((40, 3), ['a', 'b'], [0, 1, 0, 1])
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tunelab._files import write_bytes
from tunelab.config import DataConfig
from tunelab.data._raw import RawData, encode_labels
from tunelab.errors import DataError

__all__ = ["ArrayData", "as_raw", "data_label", "dataset_raw", "is_array_data", "stage_data",
           "store_arrays"]

#: What tunelab accepts as in-memory data: ``(x, y)``, or a dict of such tuples.
ArrayData = tuple[Any, Any] | Mapping[str, Any]

_SPLITS = ("train", "validation", "test")


def is_array_data(data: object) -> bool:
    """Whether ``data`` is in-memory data: a 2-tuple/list of arrays, or a dict of splits.

    Example:
        >>> import numpy as np
        >>> is_array_data((np.zeros((2, 2)), np.zeros(2))), is_array_data("digits")
        (True, False)
    """
    if isinstance(data, Mapping):
        return True
    return isinstance(data, tuple | list) and len(data) == 2 and not isinstance(data[0], str)


def _array(value: Any, what: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind == "O":
        raise DataError(f"{what}: an object array (mixed or ragged values); give a numeric"
                        " array, or text labels of one kind")
    return arr


def _inputs(value: Any, what: str) -> np.ndarray:
    x = _array(value, what)
    if x.dtype.kind not in "biuf":
        raise DataError(f"{what}: inputs have dtype {x.dtype}; expected numbers")
    if x.ndim < 2:
        raise DataError(
            f"{what}: inputs have shape {x.shape}; expected one row per sample, (N, features)"
            f" or (N, height, width); for one feature use x.reshape(-1, 1)"
        )
    return x


def _is_one_hot(y: np.ndarray) -> bool:
    if y.ndim != 2 or y.shape[1] < 2 or y.dtype.kind not in "biuf":
        return False
    return bool(np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all())


def _labels(value: Any, what: str) -> np.ndarray:
    y = _array(value, what)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if _is_one_hot(y):
        return y.argmax(axis=1).astype(np.int32)
    if y.ndim not in (1, 2):
        raise DataError(f"{what}: labels have shape {y.shape}; expected (N,), (N, 1),"
                        " one-hot (N, classes) or (N, targets)")
    return y


def _pair(value: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise DataError(f"{where}: expected a tuple (x, y) of inputs and labels, got"
                        f" {type(value).__name__}"
                        + (f" of length {len(value)}" if isinstance(value, tuple | list) else ""))
    x = _inputs(value[0], f"{where}: x")
    y = _labels(value[1], f"{where}: y")
    if len(x) != len(y):
        raise DataError(f"{where}: x has {len(x)} samples but y has {len(y)} labels; every"
                        " sample needs exactly one label")
    if len(x) == 0:
        raise DataError(f"{where}: no samples")
    return x, y


def as_raw(data: ArrayData, name: str = "arrays") -> RawData:
    """In-memory arrays as :class:`RawData`, checked; text labels become class indices.

    Args:
        data: ``(x, y)``, or ``{"train": (x, y), "validation": (x, y), "test": (x, y)}``
            (``test`` optional).
        name: The dataset's name in reports and messages.

    Raises:
        DataError: Not a tuple or a dict of splits, an unknown or missing split, inputs of
            mismatched shapes, or labels whose count, shape or classes do not match.

    Example:
        >>> import numpy as np
        >>> x = np.zeros((6, 2)); y = np.array([0, 1, 2, 0, 1, 2])
        >>> raw = as_raw({"train": (x, y), "validation": (x[:3], y[:3])})
        >>> raw.x_val.shape, raw.x_test is None
        ((3, 2), True)
    """
    if isinstance(data, Mapping):
        unknown = sorted(set(map(str, data)) - set(_SPLITS))
        if unknown:
            raise DataError(f"{name}: unknown split {unknown[0]!r}; a dict of data holds"
                            " 'train', 'validation' and optionally 'test', each a tuple (x, y)")
        missing = [s for s in ("train", "validation") if s not in data]
        if missing:
            raise DataError(f"{name}: the dict has no {missing[0]!r} split; give"
                            " {'train': (x, y), 'validation': (x, y)} and optionally 'test',"
                            " or a single tuple (x, y) to have tunelab split it")
        splits = {s: _pair(data[s], f"{name}['{s}']") for s in _SPLITS if s in data}
    elif is_array_data(data):
        splits = {"train": _pair(tuple(data), name)}
    else:
        raise DataError(f"{name}: expected a dataset name or path, a tuple (x, y) of arrays,"
                        f" a dict of splits or a Dataset; got {type(data).__name__}")
    text = [s for s, (_, y) in splits.items() if y.dtype.kind in "US"]
    classes: list[str] | None = None
    if text:
        if len(text) != len(splits):
            raise DataError(f"{name}: labels of {text[0]!r} are text but those of"
                            f" {[s for s in splits if s not in text][0]!r} are numbers;"
                            " give every split labels of the same kind")
        _, classes = encode_labels(splits["train"][1])
        for s, (x, y) in list(splits.items()):
            try:
                splits[s] = (x, encode_labels(y, classes)[0])
            except DataError as err:
                raise DataError(f"{name}['{s}']: {err}") from None
    x_train, y_train = splits["train"]
    val, test = splits.get("validation"), splits.get("test")
    return RawData(
        name=name, source=name, x_train=x_train, y_train=y_train,
        x_test=None if test is None else test[0], y_test=None if test is None else test[1],
        x_val=None if val is None else val[0], y_val=None if val is None else val[1],
        class_names=classes, kind="image" if x_train.ndim >= 3 else "tabular",
    )


def dataset_raw(ds: Any) -> RawData:
    """A prepared :class:`~tunelab.data.Dataset` as raw arrays with all three splits.

    Stored with ``scale = "none"`` and its task, it loads back as the same arrays.
    """
    return RawData(
        name=str(ds.name), source=str(ds.name), x_train=np.asarray(ds.x_train),
        y_train=np.asarray(ds.y_train), x_test=np.asarray(ds.x_test),
        y_test=np.asarray(ds.y_test), x_val=np.asarray(ds.x_val), y_val=np.asarray(ds.y_val),
        class_names=list(ds.class_names), kind="image" if np.ndim(ds.x_train) >= 3 else "tabular",
        task=str(ds.task),
    )


def _arrays(raw: RawData) -> dict[str, np.ndarray]:
    out = {"x_train": raw.x_train, "y_train": raw.y_train}
    for key in ("x_val", "y_val", "x_test", "y_test"):
        value = getattr(raw, key)
        if value is not None:
            out[key] = value
    if raw.class_names is not None:
        out["class_names"] = np.asarray(raw.class_names, dtype=str)
    return out


def store_arrays(raw: RawData, folder: str | os.PathLike[str]) -> Path:
    """Save ``raw`` as ``folder/<hash>/<name>.npz`` (Keras's ``mnist.npz`` layout, plus
    ``x_val``/``y_val``); return its absolute path.

    The folder is named by a hash of the arrays, so the same data is saved once and other
    data never overwrites it; the file loads with ``tunelab.data.load_dataset(path)``
    (``allow_pickle=False``). Written atomically.

    Example:
        >>> import numpy as np, tempfile
        >>> raw = as_raw((np.arange(20.0).reshape(10, 2), np.arange(10) % 2))
        >>> p = store_arrays(raw, tempfile.mkdtemp())
        >>> p.name, store_arrays(raw, p.parent.parent) == p
        ('arrays.npz', True)
    """
    arrays = _arrays(raw)
    digest = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{arr.dtype.str}:{arr.shape}".encode())
        digest.update(arr.tobytes())
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in raw.name) or "arrays"
    target = Path(folder).expanduser().resolve() / digest.hexdigest()[:12] / f"{safe}.npz"
    if target.is_file():
        return target
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    target.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(target, buffer.getvalue())
    return target


def _is_dataset(data: object) -> bool:
    return all(hasattr(data, a) for a in ("x_train", "y_train", "x_val", "y_val", "x_test",
                                           "y_test", "task"))


def data_label(data: Any) -> str:
    """A short name for data as a user gave it, for run folders and reports.

    A dataset's name or a file's stem; ``arrays`` for arrays.

    Example:
        >>> import numpy as np
        >>> data_label("digits"), data_label("data/train.csv"), data_label((np.zeros(2),) * 2)
        ('digits', 'train', 'arrays')
    """
    if isinstance(data, str | os.PathLike):
        return Path(os.fspath(data)).stem
    return "arrays" if is_array_data(data) else str(getattr(data, "name", "data"))


def stage_data(data: Any, folder: str | os.PathLike[str],
               base: DataConfig | None = None) -> DataConfig:
    """The ``[data]`` section that loads ``data`` anywhere: in worker processes, on resume.

    A name or path is set as ``data.name``; arrays (``(x, y)`` or a dict of splits) are saved
    under ``folder`` by :func:`store_arrays` and named by their path, prepared with ``base``'s
    settings (split fractions, scaling); a prepared :class:`~tunelab.data.Dataset` is saved
    with its three splits and loads back as the same arrays (``scale = "none"``, its task).

    Raises:
        DataError: ``data`` is none of these, or its arrays do not fit together.

    Example:
        >>> import numpy as np, tempfile
        >>> x = np.random.default_rng(0).random((30, 4)); y = np.arange(30) % 3
        >>> cfg = stage_data((x, y), tempfile.mkdtemp())
        >>> cfg.name.endswith("arrays.npz"), stage_data("digits", "unused").name
        (True, 'digits')
    """
    base = base or DataConfig()
    if isinstance(data, str | os.PathLike):
        return base.model_copy(update={"name": os.fspath(data), "path": None})
    if is_array_data(data):
        path = store_arrays(as_raw(data), folder)
        return base.model_copy(update={"name": str(path), "path": None})
    if _is_dataset(data):
        path = store_arrays(dataset_raw(data), folder)
        return DataConfig(name=str(path), task=str(data.task), scale="none", flatten=False)
    raise DataError(f"data: expected a dataset name or path, a tuple (x, y) of arrays, a dict"
                    f" of splits or a Dataset; got {type(data).__name__}")
