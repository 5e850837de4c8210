"""Each named dataset that is available here loads with the expected shape and task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tunelab.data import DATASETS, SearchRoots, canonical_name, load_dataset, load_raw

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.parametrize(
    ("name", "shape", "n", "task", "classes"),
    [
        ("digits", (8, 8), 1797, "multiclass", 10),
        ("iris", (4,), 150, "multiclass", 3),
        ("wine", (13,), 178, "multiclass", 3),
        ("breast-cancer", (30,), 569, "binary", 2),
        ("diabetes", (10,), 442, "regression", 1),
    ],
)
def test_bundled_datasets(name: str, shape: tuple[int, ...], n: int, task: str,
                          classes: int) -> None:
    raw = load_raw(name)
    assert raw.source == "scikit-learn"
    assert raw.sample_shape == shape and raw.n_train == n and raw.x_test is None
    ds = load_dataset(name, seed=0)
    assert ds.task == task and ds.num_classes == classes
    assert len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == n
    assert ds.input_shape == (int(np.prod(shape)),)
    spec = DATASETS[name]
    assert (spec.task, spec.n_train, spec.shape, spec.num_classes) == (task, n, shape, classes)


def test_bundled_class_names() -> None:
    assert load_dataset("iris").class_names == ["setosa", "versicolor", "virginica"]
    assert load_dataset("breast-cancer").class_names == ["malignant", "benign"]
    assert load_dataset("wine").class_names == ["class_0", "class_1", "class_2"]
    assert load_dataset("digits").class_names == [str(i) for i in range(10)]


@pytest.mark.skipif(not FASHION.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_system_folder(tmp_path: Path) -> None:
    roots = SearchRoots(None, tmp_path / "keras", FASHION.parent, download=False)
    raw = load_raw("fashion-mnist", roots=roots)
    assert raw.source == str(FASHION)
    assert raw.x_train.shape == (60000, 28, 28) and raw.x_train.dtype == np.uint8
    assert raw.x_test is not None and raw.x_test.shape == (10000, 28, 28)
    assert np.bincount(raw.y_train).tolist() == [6000] * 10
    assert raw.class_names is not None and raw.class_names[9] == "Ankle boot"


def test_names_are_forgiving_about_case_and_separators() -> None:
    assert canonical_name("Breast_Cancer") == "breast-cancer"
    assert canonical_name("FashionMNIST") == "fashion-mnist"
    assert canonical_name("cifar10") is None
