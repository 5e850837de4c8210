"""RawData: the checks every reader relies on."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.data import RawData, encode_labels
from tunelab.errors import DataError


def test_count_mismatch_is_an_error() -> None:
    with pytest.raises(DataError, match="src: 10 training images/inputs but 9 training labels"):
        RawData("x", "src", np.zeros((10, 4, 4)), np.zeros(9))


def test_test_set_shape_must_match() -> None:
    with pytest.raises(DataError, match=r"test samples have shape \(3,\) but training"):
        RawData("x", "src", np.zeros((4, 2)), np.zeros(4), np.zeros((2, 3)), np.zeros(2))


def test_only_half_a_test_set() -> None:
    with pytest.raises(DataError, match="not both"):
        RawData("x", "src", np.zeros((4, 2)), np.zeros(4), x_test=np.zeros((2, 2)))


def test_grids_are_images_and_text_inputs_refused() -> None:
    assert RawData("x", "src", np.zeros((4, 3, 3)), np.zeros(4)).kind == "image"
    with pytest.raises(DataError, match="expected numbers"):
        RawData("x", "src", np.array([["a"], ["b"]]), np.zeros(2))


def test_encode_labels_with_given_classes() -> None:
    idx, names = encode_labels(np.array(["b", "a"]), ["a", "b", "c"])
    assert idx.tolist() == [1, 0] and names == ["a", "b", "c"]
    with pytest.raises(DataError, match=r"labels \['z'\] are not among"):
        encode_labels(np.array(["z"]), ["a"])
