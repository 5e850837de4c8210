"""What a dataset holds (``tunelab data info``) and which datasets are here (``data list``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tunelab.data._named import DATASETS
from tunelab.data._prepare import infer_task
from tunelab.data._raw import RawData
from tunelab.data._search import SearchRoots, probe
from tunelab.errors import DataError

__all__ = ["availability", "describe"]


def _split_summary(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    return {
        "samples": int(x.shape[0]),
        "x_shape": list(x.shape),
        "x_dtype": x.dtype.name,
        "x_min": float(np.min(x)),
        "x_max": float(np.max(x)),
        "y_shape": list(y.shape),
        "y_dtype": y.dtype.name,
    }


def describe(raw: RawData) -> dict[str, Any]:
    """A plain-data summary of raw arrays: shapes, dtypes, value ranges, classes and counts.

    Example:
        >>> from tunelab.data import load_raw
        >>> info = describe(load_raw("iris"))
        >>> info["train"]["samples"], info["task"], info["classes"][0]
        (150, 'multiclass', {'index': 0, 'name': 'setosa', 'train': 50, 'test': 0})
    """
    task = raw.task or infer_task(raw.y_train)
    info: dict[str, Any] = {
        "name": raw.name,
        "source": raw.source,
        "kind": raw.kind,
        "task": task,
        "sample_shape": list(raw.sample_shape),
        "train": _split_summary(raw.x_train, raw.y_train),
        "test": None if raw.x_test is None or raw.y_test is None
        else _split_summary(raw.x_test, raw.y_test),
        "feature_names": raw.feature_names,
    }
    if task == "regression":
        ys = [raw.y_train] + ([raw.y_test] if raw.y_test is not None else [])
        info["num_classes"] = 1
        info["target"] = {
            "min": float(min(np.min(y) for y in ys)),
            "max": float(max(np.max(y) for y in ys)),
            "mean": float(np.mean(raw.y_train)),
            "std": float(np.std(raw.y_train)),
        }
        info["classes"] = []
        return info
    y_train = raw.y_train
    y_test = raw.y_test
    if y_train.ndim == 2:  # one-hot rows
        y_train = np.argmax(y_train, axis=1)
        y_test = None if y_test is None else np.argmax(y_test, axis=1)
    values = np.unique(y_train if y_test is None else np.concatenate([y_train, y_test]))
    names = raw.class_names or []
    classes = []
    for i, v in enumerate(values.tolist()):
        idx = int(v) if float(v) == int(v) else i
        name = names[idx] if 0 <= idx < len(names) else str(v)
        classes.append({
            "index": idx,
            "name": name,
            "train": int(np.sum(y_train == v)),
            "test": 0 if y_test is None else int(np.sum(y_test == v)),
        })
    info["num_classes"] = len(classes)
    info["classes"] = classes
    return info


def availability(roots: SearchRoots | None = None) -> list[dict[str, Any]]:
    """Every named dataset, with whether (and where) it is available locally.

    Example:
        >>> rows = availability()
        >>> [r["name"] for r in rows][:2], rows[0]["available"]
        (['digits', 'iris'], 'scikit-learn')
    """
    roots = SearchRoots.from_env() if roots is None else roots
    rows = []
    for spec in DATASETS.values():
        if spec.bundled:
            where = "scikit-learn"
        else:
            try:
                found = probe(spec.name, roots)
            except DataError:  # pragma: no cover - only an explicit path raises
                found = None
            if found is not None:
                where = str(found.path)
            elif roots.download:
                where = "no (downloaded on first use)"
            else:
                where = "no"
        rows.append({
            "name": spec.name,
            "task": spec.task,
            "kind": spec.kind,
            "train": spec.n_train,
            "test": spec.n_test,
            "shape": list(spec.shape),
            "classes": spec.num_classes,
            "description": spec.description,
            "available": where,
        })
    return rows
