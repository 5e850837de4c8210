"""IDX files (the MNIST format), plain or gzip-compressed, and folders holding a set of them.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values, big-endian, row-major.
"""

from __future__ import annotations

import math
import os
import re
import zlib
from pathlib import Path

import numpy as np

from tunelab.data._raw import RawData
from tunelab.errors import DataError

__all__ = ["IDX_DTYPES", "find_idx_set", "read_idx", "read_idx_folder"]

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# More bytes than any array can hold (NumPy's limit is 2**63): a header claiming them is corrupt.
_MAX_BYTES = 2**62

# train-images-idx3-ubyte.gz, t10k-labels.idx1-ubyte, test-images-idx3-ubyte, ...
_IDX_NAME = re.compile(
    r"^(?P<split>train|t10k|test)[-_.](?P<part>images|labels)[-_.]idx\d[-_.]ubyte(?P<gz>\.gz)?$",
    re.IGNORECASE,
)


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected an IDX file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if data[:2] != b"\x1f\x8b":
        return data
    # decompressobj (unlike gzip.decompress) hands back what a cut-short stream holds, so a
    # truncated .gz still gets the "expected N bytes, found M" message below.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data)
    except zlib.error as exc:
        raise DataError(f"{path}: not a valid gzip file ({exc})") from None
    if inflater.unused_data:
        import gzip  # a multi-member gzip file: rare, so the slower reader is fine

        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: not a valid gzip file ({exc})") from None
    if not inflater.eof:
        _check_header(path, out, compressed_cut=True)
    return out


def _check_header(
    path: Path, data: bytes, *, compressed_cut: bool = False
) -> tuple[np.dtype, tuple[int, ...], int]:
    cut = " (the gzip stream also ends early: the file was cut short)" if compressed_cut else ""
    if len(data) < 4:
        raise DataError(
            f"{path}: truncated IDX file: expected at least 4 header bytes, found {len(data)}{cut}"
        )
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{path}: not an IDX file: the magic number must start with two zero bytes,"
            f" found 0x{data[:4].hex()}"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X}; expected one of {known}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header says 0 dimensions; expected at least 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{path}: truncated IDX file: expected {header} header bytes for {ndim}"
            f" dimensions, found {len(data)}{cut}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    if math.prod(d for d in dims if d) * dtype.itemsize > _MAX_BYTES:
        raise DataError(
            f"{path}: IDX header gives dimensions {'x'.join(map(str, dims))}, more than an"
            " array can hold; the file is corrupt or not IDX"
        )
    expected = header + math.prod(dims) * dtype.itemsize
    if len(data) < expected or compressed_cut:
        shape = "x".join(str(d) for d in dims)
        raise DataError(
            f"{path}: truncated IDX file: expected {expected} bytes for a {shape} array of"
            f" {dtype.name}, found {len(data)}{cut}"
        )
    if len(data) > expected:
        raise DataError(
            f"{path}: IDX file has {len(data)} bytes but its header ({'x'.join(map(str, dims))}"
            f" {dtype.name}) accounts for {expected}; the file is corrupt or not IDX"
        )
    return dtype, dims, header


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (``.gz`` or plain) into a native-endian NumPy array.

    The magic number, type code, dimensions and byte count are all checked.

    Raises:
        DataError: the file is missing, not IDX, or truncated (the message says how many
            bytes were expected and how many were found).

    Example:
        >>> import pathlib, tempfile, numpy as np
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
        >>> _ = p.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
        >>> read_idx(p)
        array([7, 8, 9], dtype=uint8)
    """
    p = Path(path)
    data = _read_bytes(p)
    dtype, dims, header = _check_header(p, data)
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    native = dtype.newbyteorder("=")
    return arr if dtype.itemsize == 1 else arr.astype(native)


def find_idx_set(folder: str | os.PathLike[str]) -> dict[str, Path] | None:
    """Find the IDX files of a dataset in ``folder``.

    Returns a dict with keys ``train_images``, ``train_labels`` and, when present,
    ``test_images``, ``test_labels``; ``None`` when the folder holds no training pair.
    Plain files win over ``.gz`` (no decompression needed).

    Example:
        >>> import tempfile
        >>> find_idx_set(tempfile.mkdtemp()) is None
        True
    """
    d = Path(folder)
    if not d.is_dir():
        return None
    found: dict[str, Path] = {}
    for entry in sorted(d.iterdir(), key=lambda e: e.name.endswith(".gz")):
        m = _IDX_NAME.match(entry.name)
        if m is None or not entry.is_file():
            continue
        split = "train" if m["split"].lower() == "train" else "test"
        found.setdefault(f"{split}_{m['part'].lower()}", entry)
    if "train_images" not in found or "train_labels" not in found:
        return None
    return found


def read_idx_folder(folder: str | os.PathLike[str], name: str | None = None) -> RawData:
    """Read a folder of IDX files (``train-images-idx3-ubyte[.gz]``, ``t10k-...``).

    Raises:
        DataError: the folder holds no training images/labels pair, a file is bad, or
            images and labels differ in count.

    Example:
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2,
        ...     0, 0, 0, 1, 0, 0, 0, 1, 5, 6]))
        >>> _ = (d / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 2, 0, 1]))
        >>> raw = read_idx_folder(d)
        >>> raw.x_train.shape, raw.y_train.tolist(), raw.x_test is None
        ((2, 1, 1), [0, 1], True)
    """
    d = Path(folder)
    files = find_idx_set(d)
    if files is None:
        raise DataError(
            f"{d}: no IDX files found; expected train-images-idx3-ubyte[.gz] and"
            " train-labels-idx1-ubyte[.gz] (t10k-... for the test set)"
        )
    arrays = {key: read_idx(path) for key, path in files.items()}
    for split in ("train", "test"):
        imgs, labels = arrays.get(f"{split}_images"), arrays.get(f"{split}_labels")
        if (imgs is None) != (labels is None):
            missing = f"{split}_labels" if labels is None else f"{split}_images"
            raise DataError(f"{d}: has {split} images or labels but no {missing} file")
        if imgs is not None and labels is not None and len(imgs) != len(labels):
            raise DataError(
                f"{d}: {files[f'{split}_images'].name} holds {len(imgs)} images but"
                f" {files[f'{split}_labels'].name} holds {len(labels)} labels; they must match"
            )
    return RawData(
        name=name or d.name,
        source=str(d),
        x_train=arrays["train_images"],
        y_train=arrays["train_labels"],
        x_test=arrays.get("test_images"),
        y_test=arrays.get("test_labels"),
        kind="image" if arrays["train_images"].ndim >= 3 else "tabular",
    )
