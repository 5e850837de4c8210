"""IDX reader: plain and gz files written here, every header check, truncated files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tunelab.data import find_idx_set, read_idx, read_idx_folder
from tunelab.errors import DataError


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32", "float32", "float64"])
def test_round_trip_plain_and_gz(tmp_path: Path, idx_writer, suffix: str, dtype: str) -> None:
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "uint8":
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    got = read_idx(idx_writer(tmp_path / f"a-idx3-ubyte{suffix}", arr))
    assert got.dtype == np.dtype(dtype)  # native byte order, same type
    np.testing.assert_array_equal(got, arr)


def test_truncated_file_says_expected_and_found_bytes(tmp_path: Path, idx_writer) -> None:
    p = idx_writer(tmp_path / "x-idx3-ubyte", np.zeros((10, 28, 28), dtype=np.uint8))
    p.write_bytes(p.read_bytes()[:5000])
    with pytest.raises(DataError) as err:
        read_idx(p)
    msg = str(err.value)
    assert str(p) in msg
    assert "truncated" in msg
    assert "expected 7856 bytes" in msg  # 16-byte header + 10 * 784
    assert "found 5000" in msg


def test_truncated_gz_file_reports_bytes_too(tmp_path: Path, idx_writer) -> None:
    rng = np.random.default_rng(0)
    p = idx_writer(tmp_path / "x-idx3-ubyte.gz",
                   rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    with pytest.raises(DataError, match=r"truncated IDX file: expected 39216 bytes .*found \d+"):
        read_idx(p)


def test_wrong_magic_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "bad-idx1-ubyte"
    p.write_bytes(b"\x12\x34\x08\x01\x00\x00\x00\x01\x07")
    with pytest.raises(DataError, match=r"not an IDX file: .*two zero bytes, found 0x12340801"):
        read_idx(p)


def test_unknown_type_code_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "bad-idx1-ubyte"
    p.write_bytes(b"\x00\x00\x42\x01\x00\x00\x00\x01\x07")
    with pytest.raises(DataError, match="unknown IDX type code 0x42"):
        read_idx(p)


def test_extra_bytes_are_refused(tmp_path: Path, idx_writer) -> None:
    p = idx_writer(tmp_path / "y-idx1-ubyte", np.arange(5, dtype=np.uint8))
    p.write_bytes(p.read_bytes() + b"\x00\x00")
    with pytest.raises(DataError, match="has 15 bytes but its header .* accounts for 13"):
        read_idx(p)


def test_missing_file_and_bad_gzip(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nope")
    bad = tmp_path / "x.gz"
    bad.write_bytes(b"\x1f\x8b" + b"garbage" * 5)
    with pytest.raises(DataError, match="not a valid gzip file"):
        read_idx(bad)


def test_multi_member_gzip_is_read(tmp_path: Path, idx_writer) -> None:
    arr = np.arange(100, dtype=np.uint8).reshape(4, 25)
    plain = idx_writer(tmp_path / "p-idx2-ubyte", arr).read_bytes()
    p = tmp_path / "m-idx2-ubyte.gz"
    p.write_bytes(gzip.compress(plain[:30]) + gzip.compress(plain[30:]))
    np.testing.assert_array_equal(read_idx(p), arr)


def test_folder_reads_train_and_test(idx_folder) -> None:
    raw = read_idx_folder(idx_folder(n_train=30, n_test=10))
    assert raw.x_train.shape == (30, 4, 4) and raw.y_train.shape == (30,)
    assert raw.x_test is not None and raw.x_test.shape == (10, 4, 4)
    assert raw.kind == "image"


def test_folder_prefers_plain_files_and_accepts_dotted_names(tmp_path: Path, idx_writer) -> None:
    d = tmp_path / "d"
    d.mkdir()
    idx_writer(d / "train-images.idx3-ubyte", np.zeros((2, 2, 2), dtype=np.uint8))
    idx_writer(d / "train-images-idx3-ubyte.gz", np.zeros((3, 2, 2), dtype=np.uint8))
    idx_writer(d / "train-labels.idx1-ubyte", np.array([0, 1], dtype=np.uint8))
    files = find_idx_set(d)
    assert files is not None
    assert files["train_images"].name == "train-images.idx3-ubyte"
    assert read_idx_folder(d).n_train == 2


def test_images_and_labels_of_different_counts(idx_folder, idx_writer) -> None:
    d = idx_folder(n_train=30, n_test=10)
    idx_writer(d / "t10k-labels-idx1-ubyte.gz", np.zeros(9, dtype=np.uint8))
    with pytest.raises(DataError, match="holds 10 images but t10k-labels-idx1-ubyte.gz holds 9"):
        read_idx_folder(d)


def test_folder_without_idx_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no IDX files found; expected train-images-idx3-ubyte"):
        read_idx_folder(tmp_path)
