"""A dataset ready to train on: split, scaled, flattened, labels encoded."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from tunelab.config import DataConfig
from tunelab.data._arrays import ArrayData, as_raw, is_array_data
from tunelab.data._load import load_raw
from tunelab.data._prepare import Scaling, Task, encode_targets, fit_scaling, infer_task
from tunelab.data._raw import RawData
from tunelab.data._search import Downloader, SearchRoots
from tunelab.data._split import split_indices, subsample_indices
from tunelab.errors import DataError

__all__ = ["Dataset", "load_dataset", "prepare"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training, validation and test arrays, and what they are.

    Inputs are float32, ``(N, features)`` when flattened, else ``(N, *sample_shape)``.
    Labels are int32 class indices for classification, float32 ``(N,)`` or ``(N, k)``
    for regression (use :func:`one_hot` for one-hot rows).

    Attributes:
        name: the dataset name.
        source: where it was found (a path, or ``"scikit-learn"``).
        task: ``"multiclass"``, ``"binary"`` or ``"regression"``.
        num_classes: number of classes; 1 for regression.
        class_names: a name per class (per target for regression).
        input_shape: shape of one model input.
        sample_shape: shape of one raw sample (e.g. ``(28, 28)``), before flattening.
        kind: ``"image"`` or ``"tabular"``.
        scaling: the scaling fitted on the training inputs; ``scaling.apply(x)`` prepares
            new inputs the same way.
        feature_names: names of the input columns, for tabular data.

    Example:
        >>> ds = load_dataset("iris", seed=0)
        >>> ds.task, ds.num_classes, ds.input_shape, ds.x_train.dtype.name
        ('multiclass', 3, (4,), 'float32')
    """

    name: str
    source: str
    task: Task
    num_classes: int
    class_names: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple[int, ...]
    sample_shape: tuple[int, ...]
    kind: str
    scaling: Scaling
    feature_names: list[str] | None = None

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, task={self.task!r}, classes={self.num_classes},"
            f" train={len(self.x_train)}, val={len(self.x_val)}, test={len(self.x_test)},"
            f" input_shape={self.input_shape}, source={self.source!r})"
        )


def load_dataset(
    data: DataConfig | str | os.PathLike[str] | ArrayData | Dataset,
    seed: int = 0,
    *,
    roots: SearchRoots | None = None,
    downloader: Downloader | None = None,
    config: DataConfig | None = None,
) -> Dataset:
    """Load a dataset by its configuration (or name) and prepare it for training.

    Args:
        data: a :class:`~tunelab.config.DataConfig`, a dataset name or path, arrays as a
            Keras user holds them (a tuple ``(x, y)``, or a dict with ``train``,
            ``validation`` and optionally ``test`` tuples; see :func:`as_raw`), or a
            :class:`Dataset` (returned as it is).
        seed: seeds every split and subsample: the same seed gives the same arrays.
        roots: where to search for MNIST-like data (default: from the environment).
        downloader: how to fetch a URL (tests inject one).
        config: how to prepare arrays (split fractions, scaling, ...); default the
            :class:`~tunelab.config.DataConfig` defaults.

    Raises:
        DataError: the data cannot be found, read or prepared as asked.

    Example:
        >>> ds = load_dataset("digits", seed=0)
        >>> ds.x_train.shape, ds.x_val.shape, ds.x_test.shape
        ((1150, 64), (288, 64), (359, 64))
        >>> import numpy as np
        >>> x = np.random.default_rng(0).random((100, 5)); y = np.arange(100) % 2
        >>> ds = load_dataset((x, y), seed=0)
        >>> len(ds.x_train), len(ds.x_val), len(ds.x_test), ds.task
        (64, 16, 20, 'binary')
    """
    if isinstance(data, Dataset):
        return data
    if is_array_data(data):
        return prepare(as_raw(data), config or DataConfig(name="arrays"), seed)  # type: ignore[arg-type]
    if isinstance(data, os.PathLike):
        data = os.fspath(data)
    if not isinstance(data, str | DataConfig):
        raise DataError(f"data: expected a dataset name or path, a tuple (x, y) of arrays, a"
                        f" dict of splits or a Dataset; got {type(data).__name__}")
    cfg = DataConfig.model_validate({"name": data}) if isinstance(data, str) else data
    raw = load_raw(
        cfg.name,
        cfg.path,
        label_column=cfg.label_column,
        header=cfg.header,
        roots=roots,
        downloader=downloader,
    )
    return prepare(raw, cfg, seed)


def prepare(raw: RawData, cfg: DataConfig, seed: int = 0) -> Dataset:
    """Turn raw arrays into a :class:`Dataset` as ``cfg`` asks.

    In order: labels encoded for the task; a test split carved out when the data has
    none; ``limit`` applied to the training pool; the validation split (unless the data
    brings its own validation arrays); scaling fitted on the training part only;
    flattening. Splits and subsamples are stratified for classification.

    Example:
        >>> import numpy as np
        >>> from tunelab.config import DataConfig
        >>> from tunelab.data import RawData
        >>> raw = RawData("toy", "memory", np.arange(40.0).reshape(20, 2), np.arange(20) % 2)
        >>> ds = prepare(raw, DataConfig(validation_split=0.25, test_split=0.2))
        >>> len(ds.x_train), len(ds.x_val), len(ds.x_test)
        (12, 4, 4)
    """
    task: Task
    if cfg.task != "auto":
        task = cfg.task
    elif raw.task in ("multiclass", "binary", "regression"):
        task = raw.task  # type: ignore[assignment]
    else:
        task = infer_task(raw.y_train if raw.y_val is None
                          else np.concatenate([raw.y_train, raw.y_val]))
    given_val = raw.x_val is not None and raw.y_val is not None
    y_given = raw.y_train if not given_val else np.concatenate([raw.y_train, raw.y_val])
    y_pool, y_test_enc, num_classes, class_names = encode_targets(
        y_given, raw.y_test, task, raw.class_names, raw.source
    )
    stratify = task != "regression"
    x_pool = raw.x_train
    if given_val:
        # Validation data given with the data: no split of the training set (the labels were
        # encoded together, so both splits use the same class indices).
        y_pool, y_val_given = y_pool[:raw.n_train], y_pool[raw.n_train:]
    if raw.x_test is None or y_test_enc is None:
        keep, held = split_indices(y_pool, cfg.test_split, seed, stratify=stratify, stream="test")
        x_test, y_test = x_pool[held], y_pool[held]
        x_pool, y_pool = x_pool[keep], y_pool[keep]
    else:
        x_test, y_test = raw.x_test, y_test_enc
    if cfg.limit is not None and cfg.limit < len(y_pool):
        idx = subsample_indices(y_pool, cfg.limit, seed, stratify=stratify)
        x_pool, y_pool = x_pool[idx], y_pool[idx]
    if given_val:
        assert raw.x_val is not None
        x_train, y_train, x_val, y_val = x_pool, y_pool, raw.x_val, y_val_given
    else:
        if len(y_pool) < 2:
            raise DataError(
                f"{raw.source}: only {len(y_pool)} training sample(s) left before the"
                " validation split; raise data.limit or use more data"
            )
        keep, held = split_indices(y_pool, cfg.validation_split, seed, stratify=stratify)
        x_train, y_train = x_pool[keep], y_pool[keep]
        x_val, y_val = x_pool[held], y_pool[held]
    scaling = fit_scaling(x_train, cfg.scale, raw.kind)
    arrays = [scaling.apply(x) for x in (x_train, x_val, x_test)]
    if cfg.flatten:
        arrays = [a.reshape(len(a), -1) for a in arrays]
    return Dataset(
        name=raw.name,
        source=raw.source,
        task=task,
        num_classes=num_classes,
        class_names=class_names,
        x_train=arrays[0],
        y_train=y_train,
        x_val=arrays[1],
        y_val=y_val,
        x_test=arrays[2],
        y_test=y_test,
        input_shape=tuple(int(d) for d in arrays[0].shape[1:]),
        sample_shape=raw.sample_shape,
        kind=raw.kind,
        scaling=scaling,
        feature_names=raw.feature_names,
    )
