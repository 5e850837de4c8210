"""Seeded stratified splits and subsamples."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.data import split_indices, subsample_indices
from tunelab.errors import DataError


def test_stratified_split_keeps_class_proportions() -> None:
    y = np.repeat(np.arange(3), [600, 300, 100])
    kept, held = split_indices(y, 0.2, seed=3)
    assert len(held) == 200 and len(kept) == 800
    assert np.bincount(y[held]).tolist() == [120, 60, 20]
    assert np.intersect1d(kept, held).size == 0
    assert np.union1d(kept, held).size == len(y)


def test_same_seed_same_split_other_seed_other_split() -> None:
    y = np.arange(500) % 7
    a = split_indices(y, 0.3, seed=1)[1]
    b = split_indices(y, 0.3, seed=1)[1]
    c = split_indices(y, 0.3, seed=2)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_streams_differ() -> None:
    y = np.arange(500) % 5
    val = split_indices(y, 0.2, seed=0, stream="val")[1]
    test = split_indices(y, 0.2, seed=0, stream="test")[1]
    assert not np.array_equal(val, test)


def test_plain_split_for_regression() -> None:
    y = np.linspace(0, 1, 101)
    kept, held = split_indices(y, 0.1, seed=0, stratify=False)
    assert len(held) == 10 and len(kept) == 91


def test_rounding_keeps_total_exact_with_uneven_classes() -> None:
    y = np.repeat(np.arange(7), [13, 5, 9, 1, 22, 3, 7])
    for frac in (0.1, 0.25, 0.33, 0.5):
        assert len(split_indices(y, frac, seed=0)[1]) == round(len(y) * frac)


def test_subsample_is_stratified_and_bounded() -> None:
    y = np.repeat(np.arange(4), [400, 300, 200, 100])
    idx = subsample_indices(y, 100, seed=0)
    assert np.bincount(y[idx]).tolist() == [40, 30, 20, 10]
    assert len(subsample_indices(y, 5000, seed=0)) == len(y)


def test_bad_fractions_and_sizes() -> None:
    with pytest.raises(DataError, match="0 < fraction < 1"):
        split_indices(np.zeros(10), 1.0, seed=0)
    with pytest.raises(DataError, match="too small"):
        split_indices(np.zeros(1), 0.5, seed=0)
    with pytest.raises(DataError, match="positive number"):
        subsample_indices(np.zeros(10), 0, seed=0)
