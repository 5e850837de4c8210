"""Where MNIST and Fashion-MNIST are found, and their checked download.

Search order: an explicit path, ``$TUNELAB_DATA``, the Keras cache
(``$KERAS_HOME/datasets`` or ``~/.keras/datasets``), ``/usr/share/datasets/<name>/``
(Debian's ``dataset-fashion-mnist``), then a download from the canonical location,
verified against its known sha256 and saved into the Keras cache.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunelab._files import write_bytes
from tunelab.data._idx import find_idx_set
from tunelab.errors import DataError

__all__ = [
    "DOWNLOADS",
    "Downloader",
    "Found",
    "SearchRoots",
    "fetch_url",
    "locate",
    "probe",
]

# Downloader(url, timeout_seconds) -> the file's bytes; raises OSError (or any Exception)
# when the file cannot be had.
Downloader = Callable[[str, float], bytes]

_KERAS_STORE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_ZALANDO_STORE = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"


@dataclass(frozen=True)
class _Download:
    subdir: str  # inside the Keras cache; "" for the cache folder itself
    files: dict[str, str]  # file name -> sha256
    mirrors: tuple[str, ...]


DOWNLOADS: dict[str, _Download] = {
    "mnist": _Download(
        "",
        {"mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"},
        (_KERAS_STORE,),
    ),
    "fashion-mnist": _Download(
        "fashion-mnist",
        {
            "train-labels-idx1-ubyte.gz":
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "train-images-idx3-ubyte.gz":
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "t10k-labels-idx1-ubyte.gz":
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            "t10k-images-idx3-ubyte.gz":
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        },
        (_KERAS_STORE, _ZALANDO_STORE),
    ),
}

_NPZ_NAMES = {"mnist": ("mnist.npz",), "fashion-mnist": ("fashion-mnist.npz", "fashion_mnist.npz")}

_HOW_TO = {
    "mnist": (
        "set TUNELAB_DATA to a folder holding mnist/ (mnist.npz, or the four IDX files),"
        " pass --path FILE_OR_FOLDER (data.path in a config), or copy mnist.npz into"
        " ~/.keras/datasets/"
    ),
    "fashion-mnist": (
        "set TUNELAB_DATA to a folder holding fashion-mnist/ (the four IDX .gz files),"
        " pass --path FOLDER (data.path in a config), or `apt-get install"
        " dataset-fashion-mnist` (Debian/Ubuntu)"
    ),
}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class SearchRoots:
    """The places searched for a dataset, in order, and whether downloading is allowed.

    Attributes:
        data_dir: ``$TUNELAB_DATA`` (``None`` when unset).
        keras_dir: the Keras dataset cache, ``$KERAS_HOME/datasets`` or
            ``~/.keras/datasets``; downloads are saved here.
        system_dir: the system data folder, ``/usr/share/datasets`` (``$TUNELAB_SYSTEM_DATA``
            overrides it).
        download: try the canonical download (``$TUNELAB_OFFLINE=1`` turns it off).
        timeout: seconds to wait for a server to answer (``$TUNELAB_DOWNLOAD_TIMEOUT``).

    Example:
        >>> roots = SearchRoots.from_env({"TUNELAB_DATA": "/data", "HOME": "/home/me"})
        >>> str(roots.data_dir), str(roots.keras_dir), str(roots.system_dir)
        ('/data', '/home/me/.keras/datasets', '/usr/share/datasets')
    """

    data_dir: Path | None
    keras_dir: Path
    system_dir: Path
    download: bool = True
    timeout: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SearchRoots:
        """Read the roots from environment variables (``os.environ`` by default)."""
        env = os.environ if env is None else env
        home = env.get("HOME") or os.path.expanduser("~")
        keras_home = env.get("KERAS_HOME") or os.path.join(home, ".keras")
        try:
            timeout = float(env.get("TUNELAB_DOWNLOAD_TIMEOUT") or 5.0)
        except ValueError:
            raise DataError(
                "TUNELAB_DOWNLOAD_TIMEOUT must be a number of seconds, got"
                f" {env.get('TUNELAB_DOWNLOAD_TIMEOUT')!r}"
            ) from None
        data = env.get("TUNELAB_DATA")
        return cls(
            data_dir=Path(data).expanduser() if data else None,
            keras_dir=Path(keras_home).expanduser() / "datasets",
            system_dir=Path(env.get("TUNELAB_SYSTEM_DATA") or "/usr/share/datasets"),
            download=not _truthy(env.get("TUNELAB_OFFLINE")),
            timeout=timeout,
        )


@dataclass(frozen=True)
class Found:
    """Where a dataset was found: an ``.npz`` file or a folder of IDX files."""

    path: Path
    where: str  # which place found it: "path", "TUNELAB_DATA", "keras cache", "system", "download"


def _in_folder(folder: Path, name: str, *, idx: bool) -> Path | None:
    for npz in _NPZ_NAMES[name]:
        if (folder / npz).is_file():
            return folder / npz
    # All four files: a half-finished copy or download must not pass for the dataset.
    files = find_idx_set(folder) if idx else None
    if files is not None and len(files) == 4:
        return folder
    return None


def _places(name: str, roots: SearchRoots) -> list[tuple[str, str, Callable[[], Path | None]]]:
    """(place, description for the not-found message, finder) in search order."""
    npzs = " or ".join(_NPZ_NAMES[name])
    places: list[tuple[str, str, Callable[[], Path | None]]] = []
    if roots.data_dir is None:
        places.append(("TUNELAB_DATA", "$TUNELAB_DATA (not set)", lambda: None))
    else:
        d = roots.data_dir
        places.append((
            "TUNELAB_DATA",
            f"$TUNELAB_DATA: {d / name}/ (IDX files or {npzs}) and {d}/ ({npzs})",
            # Loose IDX files in $TUNELAB_DATA itself could be either MNIST: take them only
            # when the folder is named for the dataset.
            lambda: _in_folder(d / name, name, idx=True)
            or _in_folder(d, name, idx=d.name.lower() == name),
        ))
    k = roots.keras_dir
    places.append((
        "keras cache",
        f"Keras cache: {k}/ ({npzs}) and {k / name}/ (IDX files)",
        lambda: _in_folder(k, name, idx=False) or _in_folder(k / name, name, idx=True),
    ))
    s = roots.system_dir / name
    places.append(("system", f"{s}/ (IDX files or {npzs})", lambda: _in_folder(s, name, idx=True)))
    return places


def _explicit(name: str, path: Path) -> Found:
    if path.is_file():
        return Found(path, "path")
    if path.is_dir():
        hit = _in_folder(path, name, idx=True) or _in_folder(path / name, name, idx=True)
        if hit is not None:
            return Found(hit, "path")
        raise DataError(
            f"{name}: the given path {path} holds neither the four IDX files"
            " (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-...,"
            f" t10k-labels-...) nor {' or '.join(_NPZ_NAMES[name])}, also not in {path / name}/"
        )
    raise DataError(f"{name}: the given path {path} does not exist")


def probe(name: str, roots: SearchRoots | None = None, path: str | os.PathLike[str] | None = None
          ) -> Found | None:
    """Find a dataset on the local disk without downloading; ``None`` when it is not here.

    Example:
        >>> import tempfile, pathlib
        >>> empty = pathlib.Path(tempfile.mkdtemp())
        >>> probe("mnist", SearchRoots(None, empty, empty, download=False)) is None
        True
    """
    if path is not None:
        return _explicit(name, Path(path))
    roots = SearchRoots.from_env() if roots is None else roots
    for place, _, finder in _places(name, roots):
        hit = finder()
        if hit is not None:
            return Found(hit, place)
    return None


def locate(
    name: str,
    path: str | os.PathLike[str] | None = None,
    roots: SearchRoots | None = None,
    downloader: Downloader | None = None,
) -> Found:
    """Find ``mnist`` or ``fashion-mnist``, downloading it when allowed and needed.

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        path: an explicit file or folder; when given it is the only place looked.
        roots: the places to search (default: from the environment).
        downloader: fetches a URL's bytes (default: :func:`fetch_url`); tests inject one.

    Raises:
        DataError: the dataset is nowhere; the message lists every place looked, why the
            download failed, and how to provide the files.

    Example:
        >>> import tempfile, pathlib
        >>> empty = pathlib.Path(tempfile.mkdtemp())
        >>> locate("mnist", roots=SearchRoots(None, empty, empty, download=False))
        Traceback (most recent call last):
        ...
        tunelab.errors.DataError: mnist not found. Looked in: ...
    """
    if path is not None:
        return _explicit(name, Path(path))
    roots = SearchRoots.from_env() if roots is None else roots
    looked = []
    for place, described, finder in _places(name, roots):
        hit = finder()
        if hit is not None:
            return Found(hit, place)
        looked.append(described)
    spec = DOWNLOADS[name]
    if roots.download:
        try:
            return Found(_download(name, roots, downloader or fetch_url), "download")
        except DataError as exc:
            looked.append(f"download: {exc}")
    else:
        looked.append("download: skipped ($TUNELAB_OFFLINE is set)")
    urls = ", ".join(spec.mirrors[0] + f for f in spec.files)
    raise DataError(
        f"{name} not found. Looked in: " + "; ".join(looked)
        + f". To provide it: {_HOW_TO[name]}; the files are {urls}"
    )


def _download(name: str, roots: SearchRoots, downloader: Downloader) -> Path:
    spec = DOWNLOADS[name]
    target = roots.keras_dir / spec.subdir if spec.subdir else roots.keras_dir
    for fname, sha in spec.files.items():
        dest = target / fname
        if dest.is_file() and _sha256(dest.read_bytes()) == sha:
            continue
        reasons = []
        for mirror in spec.mirrors:
            url = mirror + fname
            try:
                data = downloader(url, roots.timeout)
            except Exception as exc:  # any failure of a mirror means: try the next one
                reasons.append(f"{url} failed ({_reason(exc)})")
                continue
            got = _sha256(data)
            if got != sha:
                reasons.append(
                    f"{url} gave a file with sha256 {got}, expected {sha}; refused, not saved"
                )
                continue
            try:
                write_bytes(dest, data)
            except OSError as exc:
                raise DataError(
                    f"downloaded {fname} but cannot save it in {target} ({exc.strerror or exc});"
                    " set KERAS_HOME to a writable folder"
                ) from None
            break
        else:
            raise DataError("; ".join(reasons))
    return target / next(iter(spec.files)) if not spec.subdir else target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc) or type(exc).__name__


def fetch_url(url: str, timeout: float) -> bytes:
    """Download ``url``, giving up when the server has not answered within ``timeout`` s.

    Name lookup is not covered by socket timeouts, so the connection is opened in a
    helper thread and abandoned at the deadline; the transfer itself then shows a rich
    progress bar on stderr.

    Raises:
        OSError: no answer in time, or the transfer failed.

    Example:
        >>> import pathlib, tempfile
        >>> local = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
        >>> _ = local.write_bytes(b"abc")
        >>> fetch_url(local.as_uri(), 2.0)
        b'abc'
        >>> fetch_url((local.parent / "missing.bin").as_uri(), 2.0)
        Traceback (most recent call last):
        ...
        urllib.error.URLError: <urlopen error [Errno 2] No such file or directory: ...>
    """
    import urllib.request

    answers: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=1)

    def connect() -> None:
        try:
            answers.put((urllib.request.urlopen(url, timeout=timeout), None))  # noqa: S310
        except BaseException as exc:
            answers.put((None, exc))

    threading.Thread(target=connect, daemon=True).start()
    try:
        response, error = answers.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError(f"no answer within {timeout:g} s (no network?)") from None
    if error is not None:
        if isinstance(error, OSError):
            raise error
        raise OSError(str(error)) from error
    return _read_with_progress(response, url)


def _read_with_progress(response: Any, url: str) -> bytes:
    from rich.console import Console
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    total = int(response.headers.get("Content-Length") or 0) or None
    chunks = []
    with response, Progress(
        *Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task(f"downloading {url.rsplit('/', 1)[-1]}", total=total)
        while chunk := response.read(1 << 16):
            chunks.append(chunk)
            bar.advance(task, len(chunk))
    return b"".join(chunks)
