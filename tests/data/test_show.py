"""plot_samples: the first check drawn into a real image file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tunelab.data import load_raw, plot_samples
from tunelab.errors import DataError

PNG = b"\x89PNG\r\n\x1a\n"


def test_one_sample_per_class(tmp_path: Path) -> None:
    out = tmp_path / "digits.png"
    said = plot_samples(load_raw("digits"), out)
    assert said == "drew one sample of each of the 10 classes"
    assert out.read_bytes().startswith(PNG)


def test_tabular_and_regression_say_what_they_drew(tmp_path: Path) -> None:
    said = plot_samples(load_raw("diabetes"), tmp_path / "d.png")
    assert said == "tabular data: drew a histogram of the target and the range of each feature"
    said = plot_samples(load_raw("iris"), tmp_path / "i.svg")
    assert said.startswith("tabular data: drew the samples per class")
    assert (tmp_path / "i.svg").read_text().lstrip().startswith("<?xml")


def test_bad_suffix_and_unwritable_target(tmp_path: Path) -> None:
    raw = load_raw("iris")
    with pytest.raises(DataError, match="cannot tell the image type from the suffix .txt"):
        plot_samples(raw, tmp_path / "x.txt")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DataError, match="cannot write the figure"):
        plot_samples(raw, blocker / "x.png")
    assert np.isfinite(raw.x_train).all()
