"""load_dataset: the arrays training receives, as the configuration asks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tunelab.config import DataConfig
from tunelab.data import Dataset, RawData, load_dataset, prepare
from tunelab.errors import DataError


def _cfg(**kw: object) -> DataConfig:
    return DataConfig.model_validate(kw)


def test_contract_on_an_idx_folder(idx_folder) -> None:
    folder = idx_folder(n_train=100, n_test=20)
    ds = load_dataset(_cfg(name="own", path=str(folder), validation_split=0.2), seed=0)
    assert isinstance(ds, Dataset)
    assert ds.x_train.shape == (80, 16) and ds.x_val.shape == (20, 16)
    assert ds.x_test.shape == (20, 16)  # the file's own test set, untouched
    for x in (ds.x_train, ds.x_val, ds.x_test):
        assert x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert y.dtype == np.int32
    assert ds.task == "multiclass" and ds.num_classes == 10 and ds.input_shape == (16,)
    assert ds.sample_shape == (4, 4) and ds.kind == "image"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.task = "binary"  # type: ignore[misc]


def test_no_flatten_keeps_image_shape(idx_folder) -> None:
    ds = load_dataset(_cfg(name="x", path=str(idx_folder()), flatten=False))
    assert ds.x_train.shape[1:] == (4, 4) and ds.input_shape == (4, 4)


def test_seed_repeatability() -> None:
    a, b = load_dataset("digits", seed=7), load_dataset("digits", seed=7)
    c = load_dataset("digits", seed=8)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.y_train, c.y_train)


def test_splits_are_stratified() -> None:
    ds = load_dataset(_cfg(name="breast-cancer", validation_split=0.25, test_split=0.2))
    share = [np.mean(y == 1) for y in (ds.y_train, ds.y_val, ds.y_test)]
    assert max(share) - min(share) < 0.02  # 357 / 569 benign everywhere


def test_limit_subsamples_training_pool_stratified() -> None:
    ds = load_dataset(_cfg(name="digits", limit=200, validation_split=0.25), seed=0)
    assert len(ds.x_train) == 150 and len(ds.x_val) == 50
    assert len(ds.x_test) == 359  # the test split is carved out before the limit
    counts = np.bincount(np.concatenate([ds.y_train, ds.y_val]), minlength=10)
    assert counts.min() >= 19 and counts.max() <= 21


def test_scaling_ranges() -> None:
    digits = load_dataset("digits")  # image, 0..16: min-max on the training range
    assert digits.scaling.method == "minmax"
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0
    iris = load_dataset("iris")  # tabular: standardised on the training part
    assert iris.scaling.method == "standard"
    np.testing.assert_allclose(iris.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(iris.x_train.std(axis=0), 1, atol=1e-5)
    raw = load_dataset(_cfg(name="iris", scale="none"))
    assert raw.x_train.max() > 5  # centimetres, untouched


def test_task_override_and_regression_targets() -> None:
    reg = load_dataset("diabetes")
    assert reg.task == "regression" and reg.num_classes == 1
    assert reg.y_train.dtype == np.float32 and reg.y_train.ndim == 1
    as_reg = load_dataset(_cfg(name="digits", task="regression"))
    assert as_reg.y_train.dtype == np.float32
    with pytest.raises(DataError, match="'binary' needs exactly 2 classes, the labels have 10"):
        load_dataset(_cfg(name="digits", task="binary"))


def test_prepare_on_tiny_data_and_too_small_limit() -> None:
    raw = RawData("toy", "memory", np.arange(40.0).reshape(20, 2), np.arange(20) % 2)
    ds = prepare(raw, _cfg(validation_split=0.25, test_split=0.2))
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (12, 4, 4)
    with pytest.raises(DataError, match="only 1 training sample"):
        prepare(raw, _cfg(limit=1))


def test_scaling_applies_to_new_inputs() -> None:
    from tunelab.data import load_raw

    ds = load_dataset("iris")
    again = ds.scaling.apply(load_raw("iris").x_train)
    # Every prepared training row is some raw row scaled with the fitted statistics.
    dist = np.abs(again[None, :, :] - ds.x_train[:, None, :]).max(axis=2).min(axis=1)
    assert dist.max() < 1e-6
