"""load_raw: a user's own NPZ, CSV or IDX folder works wherever a name does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tunelab.config import DataConfig
from tunelab.data import load_dataset, load_raw
from tunelab.errors import DataError


def test_own_npz_csv_and_idx_folder(tmp_path: Path, idx_folder) -> None:
    npz = tmp_path / "mine.npz"
    np.savez(npz, x=np.arange(40.0).reshape(20, 2), y=np.arange(20) % 2)
    csv = tmp_path / "mine.csv"
    csv.write_text("a,b,y\n" + "".join(f"{i},{i * 2},{i % 3}\n" for i in range(30)))
    folder = idx_folder("own", n_train=20, n_test=10)
    assert load_raw(npz).n_train == 20
    assert load_raw(str(csv)).n_train == 30
    assert load_raw(folder).n_test == 10
    # A name that is not a dataset plus a path: the path is the data, the name its label.
    raw = load_raw("my-data", csv)
    assert raw.name == "my-data" and raw.n_train == 30
    ds = load_dataset(DataConfig(name=str(csv), validation_split=0.2, test_split=0.2))
    assert ds.task == "multiclass" and ds.num_classes == 3 and ds.input_shape == (2,)


def test_csv_options_pass_through(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("label,a\n" + "".join(f"{i % 2},{i}\n" for i in range(10)))
    ds = load_dataset(DataConfig(name=str(csv), label_column="label", header=True))
    assert ds.task == "binary" and ds.feature_names == ["a"]


def test_unknown_name_says_what_to_give() -> None:
    with pytest.raises(DataError) as err:
        load_raw("cifar10")
    msg = str(err.value)
    assert "unknown dataset 'cifar10'" in msg
    assert "digits" in msg and "fashion-mnist" in msg and ".npz" in msg


def test_missing_path_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file or folder"):
        load_raw(tmp_path / "absent.csv")
    odd = tmp_path / "data.bin"
    odd.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="unknown format"):
        load_raw(odd)
    with pytest.raises(DataError, match="exactly one .npz file"):
        load_raw(tmp_path)


def test_bundled_dataset_with_a_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="digits ships with scikit-learn and takes no path"):
        load_raw("digits", tmp_path)
