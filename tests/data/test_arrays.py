"""Data as a Keras user holds it: (x, y) arrays, dicts of splits, text or one-hot labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

from tunelab.config import DataConfig
from tunelab.data import as_raw, load_dataset, stage_data, store_arrays
from tunelab.errors import DataError


def _iris() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_iris(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))  # the file lists class by class
    return x[order], y[order]


def test_a_tuple_is_split_exactly_as_the_same_arrays_in_a_file(tmp_path: Path) -> None:
    x, y = _iris()
    np.savez(tmp_path / "iris.npz", x_train=x, y_train=y)
    from_file = load_dataset(str(tmp_path / "iris.npz"), seed=3)
    from_arrays = load_dataset((x, y), seed=3)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(from_arrays, f"x_{split}"),
                                      getattr(from_file, f"x_{split}"))
        np.testing.assert_array_equal(getattr(from_arrays, f"y_{split}"),
                                      getattr(from_file, f"y_{split}"))
    # 150 samples: 30 for test (test_split 0.2), then 24 of the 120 left for validation.
    assert (len(from_arrays.x_train), len(from_arrays.x_val), len(from_arrays.x_test)) == (
        96, 24, 30)


def test_a_dict_keeps_the_validation_split_it_is_given() -> None:
    x, y = _iris()
    ds = load_dataset({"train": (x[:100], y[:100]), "validation": (x[100:130], y[100:130]),
                       "test": (x[130:], y[130:])}, seed=0)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (100, 30, 20)
    np.testing.assert_array_equal(ds.y_val, y[100:130])
    # Scaling is fitted on the training split only (standardised: mean 0 there).
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0.0, atol=1e-6)
    expected = (x[100:130] - x[:100].mean(axis=0)) / x[:100].std(axis=0)
    np.testing.assert_allclose(ds.x_val, expected, rtol=1e-5, atol=1e-5)


def test_without_test_data_a_test_split_is_carved_from_train() -> None:
    x, y = _iris()
    ds = load_dataset({"train": (x[:120], y[:120]), "validation": (x[120:], y[120:])})
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (96, 30, 24)


def test_text_labels_become_sorted_classes_and_one_hot_rows_indices() -> None:
    x = np.arange(40.0).reshape(20, 2)
    words = np.array(["cat", "dog", "bird", "dog"] * 5)
    ds = load_dataset((x, words), seed=0)
    assert ds.class_names == ["bird", "cat", "dog"] and ds.num_classes == 3
    raw = as_raw((x, words))
    assert raw.y_train[:4].tolist() == [1, 2, 0, 2]
    one_hot = np.eye(3)[raw.y_train]
    np.testing.assert_array_equal(as_raw((x, one_hot)).y_train, raw.y_train)


def test_split_labels_share_the_training_classes() -> None:
    x = np.zeros((6, 2))
    raw = as_raw({"train": (x, np.array(["a", "b", "c"] * 2)),
                  "validation": (x[:2], np.array(["c", "a"]))})
    assert raw.y_val is not None and raw.y_val.tolist() == [2, 0]
    with pytest.raises(DataError, match=r"\['validation'\].*'z'.*not among the training"):
        as_raw({"train": (x, np.array(["a", "b", "c"] * 2)),
                "validation": (x[:2], np.array(["z", "a"]))})


@pytest.mark.parametrize(("data", "message"), [
    ((np.zeros((5, 2)), np.zeros(4)), r"x has 5 samples but y has 4 labels"),
    ((np.zeros(5), np.zeros(5)), r"inputs have shape \(5,\).*reshape\(-1, 1\)"),
    ({"train": (np.zeros((4, 2)), np.zeros(4))}, r"no 'validation' split"),
    ({"train": (np.zeros((4, 2)), np.zeros(4)), "valid": (np.zeros((2, 2)), np.zeros(2))},
     r"unknown split 'valid'"),
    ({"train": (np.zeros((4, 2)), np.zeros(4)), "validation": (np.zeros((2, 3)), np.zeros(2))},
     r"validation samples have shape \(3,\) but training samples have shape \(2,\)"),
    ({"train": (np.zeros((4, 2)), np.array(list("abab"))),
      "validation": (np.zeros((2, 2)), np.zeros(2))}, r"labels of 'train' are text"),
    ({"train": np.zeros((4, 2)), "validation": (np.zeros((2, 2)), np.zeros(2))},
     r"\['train'\]: expected a tuple \(x, y\)"),
])
def test_shapes_and_lengths_are_checked_with_clear_errors(data: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_dataset(data)  # type: ignore[arg-type]


def test_stored_arrays_load_back_as_the_same_dataset(tmp_path: Path) -> None:
    x, y = _iris()
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    data = {"train": (x[:110], labels[:110]), "validation": (x[110:], labels[110:])}
    path = store_arrays(as_raw(data), tmp_path)
    assert store_arrays(as_raw(data), tmp_path) == path  # named by its contents
    direct, stored = load_dataset(data, seed=1), load_dataset(str(path), seed=1)
    assert stored.class_names == direct.class_names == ["setosa", "versicolor", "virginica"]
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(stored, f"x_{split}"),
                                      getattr(direct, f"x_{split}"))
        np.testing.assert_array_equal(getattr(stored, f"y_{split}"),
                                      getattr(direct, f"y_{split}"))


def test_a_prepared_dataset_is_staged_as_its_own_arrays(tmp_path: Path) -> None:
    ds = load_dataset("digits", seed=2)
    cfg = stage_data(ds, tmp_path)
    assert cfg.scale == "none" and cfg.task == "multiclass"
    again = load_dataset(cfg, seed=99)  # the seed no longer matters: the splits are stored
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(again, f"x_{split}"), getattr(ds, f"x_{split}"))
        np.testing.assert_array_equal(getattr(again, f"y_{split}"), getattr(ds, f"y_{split}"))
    assert stage_data("iris", tmp_path, DataConfig(limit=50)).model_dump()["limit"] == 50
    with pytest.raises(DataError, match="got int"):
        stage_data(3, tmp_path)
