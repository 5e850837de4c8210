"""Task inference, label encoding, scaling and one-hot labels."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.data import encode_targets, fit_scaling, infer_task, one_hot
from tunelab.errors import DataError


def test_infer_task() -> None:
    assert infer_task(np.array([0, 1, 0, 1])) == "binary"
    assert infer_task(np.array([3.0, 7.0, 3.0])) == "binary"
    assert infer_task(np.arange(100) % 10) == "multiclass"
    assert infer_task(np.array([0.5, 1.5, 2.25])) == "regression"
    assert infer_task(np.arange(442) % 214 + 25) == "regression"  # many distinct integers
    assert infer_task(np.arange(50_000) % 100) == "multiclass"  # 100 classes, many samples
    assert infer_task(np.eye(3)[[0, 1, 2, 1]]) == "multiclass"  # one-hot rows
    assert infer_task(np.random.default_rng(0).normal(size=(10, 2))) == "regression"


def test_encode_targets_maps_labels_to_indices() -> None:
    y, y_test, k, names = encode_targets(np.array([10, 30, 20]), np.array([30]), "multiclass",
                                         None, "src")
    assert y.tolist() == [0, 2, 1] and y_test is not None and y_test.tolist() == [2]
    assert k == 3 and names == ["10", "20", "30"] and y.dtype == np.int32


def test_encode_targets_regression_and_errors() -> None:
    y, _, k, _ = encode_targets(np.array([[1.5], [2.5]]), None, "regression", None, "src")
    assert y.shape == (2,) and y.dtype == np.float32 and k == 1
    with pytest.raises(DataError, match="'binary' needs exactly 2 classes, the labels have 3"):
        encode_targets(np.array([0, 1, 2]), None, "binary", None, "src")
    with pytest.raises(DataError, match="must be whole numbers"):
        encode_targets(np.array([0.5, 1.0]), None, "multiclass", None, "src")
    with pytest.raises(DataError, match="single class"):
        encode_targets(np.array([1, 1]), None, "multiclass", None, "src")


def test_minmax_uint8_is_divide_by_255() -> None:
    x = np.array([[0, 128, 255]], dtype=np.uint8)
    out = fit_scaling(x, "minmax", "image").apply(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 128 / 255, 1.0]])


def test_minmax_generic_uses_training_range() -> None:
    x = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, 20.0]])
    s = fit_scaling(x, "minmax", "tabular")
    np.testing.assert_allclose(s.apply(x), [[0, 0], [1, 1], [0.5, 0.5]])
    # New data is scaled with the training statistics, so it may leave [0, 1].
    np.testing.assert_allclose(s.apply(np.array([[5.0, 0.0]])), [[2.0, -0.5]])
    img = np.array([[[0.0, 16.0]], [[8.0, 4.0]]])
    assert fit_scaling(img, "minmax", "image").apply(img).max() == 1.0


def test_standard_and_constant_columns() -> None:
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    out = fit_scaling(x, "standard", "tabular").apply(x)
    np.testing.assert_allclose(out, [[-1, 0], [1, 0]])
    assert fit_scaling(x, "auto", "tabular").method == "standard"
    assert fit_scaling(x, "auto", "image").method == "minmax"
    assert fit_scaling(x, "none", "tabular").apply(x).tolist() == x.tolist()


def test_one_hot() -> None:
    out = one_hot(np.array([2, 0, 1]), 4)
    assert out.dtype == np.float32 and out.shape == (3, 4)
    assert out.argmax(axis=1).tolist() == [2, 0, 1] and out.sum() == 3
    assert one_hot(np.array([1, 0])).shape == (2, 2)
    with pytest.raises(DataError, match=r"labels must lie in 0..2, got 0..5"):
        one_hot(np.array([0, 5]), 3)
    with pytest.raises(DataError, match="one class index per sample"):
        one_hot(np.zeros((2, 2)))
