"""Helpers for the data tests: IDX files written by the tests themselves, no network ever."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tunelab.data import SearchRoots

_CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D,
          "float64": 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding of ``arr``: magic number, big-endian dimensions, big-endian values."""
    header = bytes([0, 0, _CODES[arr.dtype.name], arr.ndim])
    dims = np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + dims + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, arr: np.ndarray) -> Path:
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def make_idx_folder(folder: Path, n_train: int = 30, n_test: int = 10, gz: bool = True,
                    seed: int = 0, shape: tuple[int, int] = (4, 4)) -> Path:
    """A tiny MNIST-like IDX set: images (N, *shape) uint8, labels 0..9."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        if n == 0:
            continue
        write_idx(folder / f"{split}-images-idx3-ubyte{ext}",
                  rng.integers(0, 256, size=(n, *shape), dtype=np.uint8))
        write_idx(folder / f"{split}-labels-idx1-ubyte{ext}", (np.arange(n) % 10).astype(np.uint8))
    return folder


@pytest.fixture
def idx_folder(tmp_path: Path) -> Callable[..., Path]:
    return lambda name="idx", **kw: make_idx_folder(tmp_path / name, **kw)


@pytest.fixture
def offline_roots(tmp_path: Path) -> SearchRoots:
    """Search roots that hold nothing and never download."""
    empty = tmp_path / "empty"
    empty.mkdir()
    return SearchRoots(data_dir=None, keras_dir=empty / "keras", system_dir=empty / "system",
                       download=False)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    # Any search that falls through to the real downloader fails fast and offline.
    monkeypatch.setenv("TUNELAB_OFFLINE", "1")


@pytest.fixture
def idx_writer() -> Callable[[Path, np.ndarray], Path]:
    """Write an array as an IDX file (gzip-compressed when the name ends in .gz)."""
    return write_idx
