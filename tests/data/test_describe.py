"""describe and availability: what `tunelab data info` and `data list` print."""

from __future__ import annotations

from pathlib import Path

from tunelab.data import SearchRoots, availability, describe, load_raw


def test_describe_classification(idx_folder) -> None:
    info = describe(load_raw(idx_folder(n_train=30, n_test=10)))
    assert info["train"]["samples"] == 30 and info["test"]["samples"] == 10
    assert info["sample_shape"] == [4, 4] and info["train"]["x_dtype"] == "uint8"
    assert info["num_classes"] == 10
    assert info["classes"][0] == {"index": 0, "name": "0", "train": 3, "test": 1}
    assert 0 <= info["train"]["x_min"] <= info["train"]["x_max"] <= 255


def test_describe_regression() -> None:
    info = describe(load_raw("diabetes"))
    assert info["task"] == "regression" and info["classes"] == []
    assert info["target"]["min"] == 25.0 and info["target"]["max"] == 346.0
    assert info["test"] is None


def test_availability_reports_where(tmp_path: Path, idx_folder) -> None:
    folder = idx_folder("sys/fashion-mnist")
    roots = SearchRoots(None, tmp_path / "k", folder.parent, download=False)
    rows = {r["name"]: r for r in availability(roots)}
    assert rows["digits"]["available"] == "scikit-learn"
    assert rows["fashion-mnist"]["available"] == str(folder)
    assert rows["mnist"]["available"] == "no"
    online = SearchRoots(None, tmp_path / "k", tmp_path / "none", download=True)
    online_rows = {r["name"]: r for r in availability(online)}
    assert online_rows["mnist"]["available"] == "no (downloaded on first use)"
