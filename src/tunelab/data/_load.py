"""From a dataset name or a path to the raw arrays: the one entry point every reader sits behind."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from tunelab.data._csv import read_csv
from tunelab.data._idx import find_idx_set, read_idx_folder
from tunelab.data._named import DATASETS, canonical_name
from tunelab.data._npz import read_npz
from tunelab.data._raw import RawData
from tunelab.data._search import Downloader, SearchRoots, locate
from tunelab.errors import DataError

__all__ = ["load_raw", "read_path"]

_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}


def read_path(
    path: str | os.PathLike[str],
    name: str | None = None,
    label_column: str | int | None = None,
    header: bool | None = None,
) -> RawData:
    """Read a user's own data: an ``.npz`` file, a ``.csv`` file or a folder of IDX files.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
        >>> _ = p.write_text("1,2,0\\n3,4,1\\n")
        >>> read_path(p).x_train.shape
        (2, 2)
    """
    p = Path(path).expanduser()
    if p.is_dir():
        if find_idx_set(p) is not None:
            return read_idx_folder(p, name=name)
        npzs = sorted(p.glob("*.npz"))
        if len(npzs) == 1:
            return read_npz(npzs[0], name=name or p.name)
        raise DataError(
            f"{p}: a folder must hold IDX files (train-images-idx3-ubyte[.gz],"
            " train-labels-idx1-ubyte[.gz], optionally t10k-...) or exactly one .npz file;"
            f" found {len(npzs)} .npz files and no IDX set"
        )
    if not p.exists():
        raise DataError(f"{p}: no such file or folder")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return read_npz(p, name=name)
    if suffix in _CSV_SUFFIXES:
        return read_csv(p, label_column=label_column, header=header, name=name)
    with p.open("rb") as handle:
        magic = handle.read(4)
    if magic.startswith(b"PK"):
        return read_npz(p, name=name)
    if magic[:2] == b"\x1f\x8b" or magic[:2] == b"\x00\x00":
        raise DataError(
            f"{p}: looks like a single IDX file; give the folder that holds the images and"
            " labels files instead"
        )
    raise DataError(
        f"{p}: unknown format (suffix {suffix or 'none'}); tunelab reads .npz files,"
        " .csv files and folders of IDX files"
    )


def load_raw(
    name_or_path: str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    label_column: str | int | None = None,
    header: bool | None = None,
    roots: SearchRoots | None = None,
    downloader: Downloader | None = None,
) -> RawData:
    """The unprocessed arrays of a named dataset or of a user's file or folder.

    Args:
        name_or_path: a name from :data:`DATASETS` (``"digits"``, ``"fashion-mnist"``...)
            or a path to an ``.npz`` file, ``.csv`` file or IDX folder.
        path: for ``mnist``/``fashion-mnist``, where the files are (searched first and
            only); for any other name, the user's data file or folder.
        label_column: CSV only: the label column, by name or index.
        header: CSV only: whether the first row is a header (``None``: detect).
        roots: where to search for MNIST-like data (default: from the environment).
        downloader: how to fetch a URL (default: a real download with a short timeout).

    Raises:
        DataError: unknown name, missing or malformed file; the message says what to do.

    Example:
        >>> raw = load_raw("iris")
        >>> raw.x_train.shape, raw.x_test is None, raw.source
        ((150, 4), True, 'scikit-learn')
    """
    text = os.fspath(name_or_path)
    canonical = canonical_name(text)
    if canonical is None:
        target = path if path is not None else text
        if path is None and not Path(text).expanduser().exists() and _looks_like_name(text):
            raise DataError(
                f"unknown dataset {text!r}: not one of {', '.join(DATASETS)} and no such file"
                " or folder; give a name from `tunelab data list` or a path to an .npz file,"
                " a .csv file or a folder of IDX files"
            )
        name = text if path is not None else None
        return read_path(target, name=name, label_column=label_column, header=header)
    spec = DATASETS[canonical]
    if spec.loader is not None:
        if path is not None:
            raise DataError(
                f"{canonical} ships with scikit-learn and takes no path; remove the path or"
                " give your own data as the name"
            )
        return spec.loader()
    found = locate(canonical, path=path, roots=roots, downloader=downloader)
    if found.path.is_dir():
        raw = read_idx_folder(found.path, name=canonical)
    elif found.path.suffix.lower() in _CSV_SUFFIXES:
        raw = read_csv(found.path, label_column=label_column, header=header, name=canonical)
    else:
        raw = read_npz(found.path, name=canonical)
    if raw.class_names is None:
        raw = dataclasses.replace(raw, class_names=list(spec.class_names))
    return raw


def _looks_like_name(text: str) -> bool:
    return os.sep not in text and "/" not in text and not Path(text).suffix
