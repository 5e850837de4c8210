"""Where MNIST-like data is found: search order, not-found message, checked downloads."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import time
from pathlib import Path

import numpy as np
import pytest

from tunelab.data import DOWNLOADS, SearchRoots, fetch_url, load_raw, locate, probe
from tunelab.errors import DataError


def _roots(tmp_path: Path, *, data: bool = True, download: bool = False) -> SearchRoots:
    return SearchRoots(
        data_dir=tmp_path / "tunelab_data" if data else None,
        keras_dir=tmp_path / "keras" / "datasets",
        system_dir=tmp_path / "system",
        download=download,
    )


def _npz_bytes(n: int) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, x_train=np.zeros((n, 28, 28), np.uint8), y_train=np.arange(n) % 10,
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.array([0, 1]))
    return buf.getvalue()


def test_search_order_explicit_then_env_then_keras_then_system(tmp_path: Path, idx_folder) -> None:
    roots = _roots(tmp_path)
    # Each place holds a set of a different size, so the size says which one was read.
    explicit = idx_folder("explicit/fashion-mnist", n_train=11)
    idx_folder("tunelab_data/fashion-mnist", n_train=12)
    idx_folder("keras/datasets/fashion-mnist", n_train=13)
    idx_folder("system/fashion-mnist", n_train=14)

    def n_train(path: Path | None = None) -> int:
        return load_raw("fashion-mnist", path, roots=roots).n_train

    assert n_train(explicit) == 11
    assert n_train() == 12
    assert locate("fashion-mnist", roots=roots).where == "TUNELAB_DATA"
    roots = dataclasses.replace(roots, data_dir=None)
    assert n_train() == 13
    assert locate("fashion-mnist", roots=roots).where == "keras cache"
    roots = dataclasses.replace(roots, keras_dir=tmp_path / "nothing")
    assert n_train() == 14
    assert locate("fashion-mnist", roots=roots).where == "system"


def test_keras_cache_mnist_npz(tmp_path: Path) -> None:
    roots = _roots(tmp_path, data=False)
    roots.keras_dir.mkdir(parents=True)
    (roots.keras_dir / "mnist.npz").write_bytes(_npz_bytes(7))
    raw = load_raw("mnist", roots=roots)
    assert raw.n_train == 7 and raw.source == str(roots.keras_dir / "mnist.npz")
    assert raw.class_names == [str(i) for i in range(10)]


def test_tunelab_data_folder_itself(tmp_path: Path, idx_folder) -> None:
    roots = _roots(tmp_path)
    roots.data_dir.mkdir(parents=True)  # type: ignore[union-attr]
    (roots.data_dir / "mnist.npz").write_bytes(_npz_bytes(5))  # type: ignore[operator]
    assert load_raw("mnist", roots=roots).n_train == 5
    # Loose IDX files could be either MNIST: used only from a folder named for the dataset.
    idx_folder("tunelab_data", n_train=9)
    assert probe("fashion-mnist", roots) is None
    named = idx_folder("fashion-mnist", n_train=8)
    assert load_raw("fashion-mnist", roots=dataclasses.replace(roots, data_dir=named)).n_train == 8


def test_not_found_lists_every_place_and_how_to_fix(tmp_path: Path) -> None:
    roots = _roots(tmp_path, download=True)
    calls: list[str] = []

    def no_network(url: str, timeout: float) -> bytes:
        calls.append(url)
        raise OSError("Name or service not known")

    with pytest.raises(DataError) as err:
        locate("fashion-mnist", roots=roots, downloader=no_network)
    msg = str(err.value)
    assert msg.startswith("fashion-mnist not found. Looked in: ")
    for place in (roots.data_dir / "fashion-mnist", roots.keras_dir / "fashion-mnist",  # type: ignore[operator]
                  roots.system_dir / "fashion-mnist"):
        assert str(place) in msg
    assert "Name or service not known" in msg
    assert "set TUNELAB_DATA" in msg and "--path" in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert len(calls) == 2  # both mirrors of the first file were tried, then it stopped
    assert "\n" not in msg  # one line for the CLI


def test_offline_and_unset_env_are_reported(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        locate("mnist", roots=_roots(tmp_path, data=False))
    msg = str(err.value)
    assert "$TUNELAB_DATA (not set)" in msg
    assert "download: skipped ($TUNELAB_OFFLINE is set)" in msg
    assert "mnist.npz" in msg


def test_explicit_path_is_the_only_place_looked(tmp_path: Path, idx_folder) -> None:
    roots = _roots(tmp_path)
    idx_folder("system/fashion-mnist")
    with pytest.raises(DataError, match="the given path .* does not exist"):
        locate("fashion-mnist", path=tmp_path / "missing", roots=roots)
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(DataError, match="holds neither the four IDX files"):
        locate("fashion-mnist", path=tmp_path / "emptydir", roots=roots)


def test_download_checks_sha256_and_saves_into_keras_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = _npz_bytes(6)
    sha = hashlib.sha256(payload).hexdigest()
    monkeypatch.setitem(
        DOWNLOADS, "mnist", dataclasses.replace(DOWNLOADS["mnist"], files={"mnist.npz": sha})
    )
    roots = _roots(tmp_path, data=False, download=True)
    urls: list[str] = []

    def fake(url: str, timeout: float) -> bytes:
        urls.append(url)
        assert timeout == roots.timeout
        return payload

    raw = load_raw("mnist", roots=roots, downloader=fake)
    assert raw.n_train == 6
    assert urls == ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"]
    assert (roots.keras_dir / "mnist.npz").read_bytes() == payload
    # Next time the Keras cache has it: no download.
    assert locate("mnist", roots=roots, downloader=fake).where == "keras cache"
    assert len(urls) == 1


def test_download_with_wrong_checksum_is_refused(tmp_path: Path) -> None:
    roots = _roots(tmp_path, data=False, download=True)
    with pytest.raises(DataError) as err:
        locate("mnist", roots=roots, downloader=lambda url, t: b"not the real file")
    msg = str(err.value)
    assert "expected 731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1" in msg
    assert "refused, not saved" in msg
    assert not (roots.keras_dir / "mnist.npz").exists()


def test_fashion_download_falls_back_to_second_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, idx_folder
) -> None:
    src = idx_folder("src", n_train=10, n_test=5)
    payloads = {p.name: p.read_bytes() for p in src.iterdir()}
    spec = DOWNLOADS["fashion-mnist"]
    monkeypatch.setitem(DOWNLOADS, "fashion-mnist", dataclasses.replace(
        spec, files={n: hashlib.sha256(b).hexdigest() for n, b in payloads.items()}))

    def second_only(url: str, timeout: float) -> bytes:
        if url.startswith(spec.mirrors[0]):
            raise TimeoutError("no answer within 5 s")
        return payloads[url.rsplit("/", 1)[-1]]

    roots = _roots(tmp_path, data=False, download=True)
    raw = load_raw("fashion-mnist", roots=roots, downloader=second_only)
    assert raw.n_train == 10 and raw.n_test == 5
    assert raw.source == str(roots.keras_dir / "fashion-mnist")
    assert raw.class_names is not None and raw.class_names[0] == "T-shirt/top"


def test_fetch_url_gives_up_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    def hang(url: str, timeout: float) -> None:
        time.sleep(3)

    monkeypatch.setattr(urllib.request, "urlopen", hang)
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError, match="no answer within 0.2 s"):
        fetch_url("https://example.invalid/x", 0.2)
    assert time.perf_counter() - t0 < 2


def test_roots_from_environment() -> None:
    roots = SearchRoots.from_env({
        "TUNELAB_DATA": "/d", "KERAS_HOME": "/k", "TUNELAB_SYSTEM_DATA": "/s",
        "TUNELAB_OFFLINE": "1", "TUNELAB_DOWNLOAD_TIMEOUT": "2.5",
    })
    assert roots == SearchRoots(Path("/d"), Path("/k/datasets"), Path("/s"), False, 2.5)
    default = SearchRoots.from_env({"HOME": "/home/u"})
    assert default.data_dir is None and default.download
    assert default.keras_dir == Path("/home/u/.keras/datasets")
    assert default.system_dir == Path("/usr/share/datasets")
    with pytest.raises(DataError, match="TUNELAB_DOWNLOAD_TIMEOUT must be a number"):
        SearchRoots.from_env({"TUNELAB_DOWNLOAD_TIMEOUT": "soon"})


def test_incomplete_copy_is_not_taken_for_the_dataset(tmp_path: Path, idx_folder) -> None:
    roots = _roots(tmp_path, data=False)
    idx_folder("keras/datasets/fashion-mnist", n_train=13, n_test=0)  # no t10k files
    idx_folder("system/fashion-mnist", n_train=14)
    assert load_raw("fashion-mnist", roots=roots).n_train == 14
