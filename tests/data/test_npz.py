"""NPZ reader: the Keras mnist.npz layout, object arrays refused, missing keys named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tunelab.data import read_npz
from tunelab.errors import DataError


def _mnist_like(path: Path, n: int = 20, n_test: int = 5) -> Path:
    rng = np.random.default_rng(0)
    np.savez_compressed(
        path,
        x_train=rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        y_train=(np.arange(n) % 10).astype(np.uint8),
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=(np.arange(n_test) % 10).astype(np.uint8),
    )
    return path


def test_keras_mnist_layout(tmp_path: Path) -> None:
    raw = read_npz(_mnist_like(tmp_path / "mnist.npz"))
    assert raw.name == "mnist"
    assert raw.x_train.shape == (20, 28, 28) and raw.x_train.dtype == np.uint8
    assert raw.x_test is not None and raw.x_test.shape == (5, 28, 28)
    assert raw.kind == "image"
    assert raw.source == str(tmp_path / "mnist.npz")


def test_x_y_layout_without_test_set_and_text_labels(tmp_path: Path) -> None:
    p = tmp_path / "toy.npz"
    np.savez(p, x=np.ones((4, 3)), y=np.array(["cat", "dog", "cat", "ant"]))
    raw = read_npz(p)
    assert raw.x_test is None
    assert raw.class_names == ["ant", "cat", "dog"]
    assert raw.y_train.tolist() == [1, 2, 1, 0]


def test_label_column_vector_becomes_flat(tmp_path: Path) -> None:
    p = tmp_path / "col.npz"
    np.savez(p, x_train=np.ones((3, 2)), y_train=np.array([[0], [1], [0]]))
    assert read_npz(p).y_train.shape == (3,)


def test_object_array_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "evil.npz"
    y = np.empty(3, dtype=object)
    y[:] = [0, "one", None]
    np.savez(p, x_train=np.ones((3, 2)), y_train=y)
    with pytest.raises(DataError) as err:
        read_npz(p)
    msg = str(err.value)
    assert "'y_train' is an object array" in msg
    assert str(p) in msg and "numeric dtype" in msg


def test_missing_key_is_named(tmp_path: Path) -> None:
    p = tmp_path / "partial.npz"
    np.savez(p, x_train=np.ones((3, 2)), labels=np.zeros(3))
    with pytest.raises(DataError, match=r"missing key: expected arrays 'x_train' and 'y_train'"
                       r".*found \['labels', 'x_train'\]"):
        read_npz(p)


def test_test_inputs_without_test_labels(tmp_path: Path) -> None:
    p = tmp_path / "half.npz"
    np.savez(p, x_train=np.ones((3, 2)), y_train=np.zeros(3), x_test=np.ones((2, 2)))
    with pytest.raises(DataError, match="missing key 'y_test'"):
        read_npz(p)


def test_count_mismatch(tmp_path: Path) -> None:
    p = tmp_path / "mismatch.npz"
    np.savez(p, x_train=np.ones((5, 2)), y_train=np.zeros(4))
    with pytest.raises(DataError, match="5 training images/inputs but 4 training labels"):
        read_npz(p)


def test_not_an_npz_file(tmp_path: Path) -> None:
    p = tmp_path / "text.npz"
    p.write_text("hello")
    with pytest.raises(DataError, match="not a NumPy .npz archive"):
        read_npz(p)
    single = tmp_path / "one.npy"
    np.save(single, np.ones(3))
    with pytest.raises(DataError, match="single-array .npy file"):
        read_npz(single)
    with pytest.raises(DataError, match="no such file"):
        read_npz(tmp_path / "absent.npz")
