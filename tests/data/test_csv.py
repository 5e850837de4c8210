"""CSV reader: header detected or set, label by name or index, bad values by line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tunelab.data import read_csv
from tunelab.errors import DataError


def _write(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_header_detected_label_last_by_default(tmp_path: Path) -> None:
    raw = read_csv(_write(tmp_path, "a,b,label\n1,2,0\n3,4,1\n5,6,0\n"))
    assert raw.feature_names == ["a", "b"]
    np.testing.assert_array_equal(raw.x_train, [[1, 2], [3, 4], [5, 6]])
    assert raw.y_train.tolist() == [0, 1, 0]
    assert raw.x_test is None and raw.kind == "tabular"


def test_no_header_detected(tmp_path: Path) -> None:
    raw = read_csv(_write(tmp_path, "1,2,0\n3,4,1\n"))
    assert raw.feature_names is None
    assert raw.x_train.shape == (2, 2)


def test_no_header_with_text_labels_is_not_mistaken_for_a_header(tmp_path: Path) -> None:
    raw = read_csv(_write(tmp_path, "5.1,3.5,setosa\n6.2,2.9,virginica\n"))
    assert raw.n_train == 2
    assert raw.class_names == ["setosa", "virginica"]


def test_header_forced_off_and_on(tmp_path: Path) -> None:
    p = _write(tmp_path, "1,2,0\n3,4,1\n")
    assert read_csv(p, header=True).n_train == 1  # the first row taken as names
    with pytest.raises(DataError, match=r"line 1, column 1: 'x' is not a number"):
        read_csv(_write(tmp_path, "x,y,z\n1,2,0\n", "h.csv"), header=False)


def test_label_by_name_and_by_index(tmp_path: Path) -> None:
    p = _write(tmp_path, "kind,a,b\ncat,1,2\ndog,3,4\n")
    by_name = read_csv(p, label_column="kind")
    by_index = read_csv(p, label_column=0)
    by_text_index = read_csv(p, label_column="0")
    for raw in (by_name, by_index, by_text_index):
        assert raw.class_names == ["cat", "dog"]
        assert raw.feature_names == ["a", "b"]
        np.testing.assert_array_equal(raw.x_train, [[1, 2], [3, 4]])
    last = read_csv(_write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n", "n.csv"), label_column=-1)
    assert last.y_train.tolist() == [3, 6]
    with pytest.raises(DataError, match=r"line 2, column 1 \('kind'\): 'cat' is not a number"):
        read_csv(p, label_column=-1)


def test_unknown_label_column(tmp_path: Path) -> None:
    p = _write(tmp_path, "a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match=r"label column 'target' not found; the header has"
                       r" \['a', 'b', 'c'\]"):
        read_csv(p, label_column="target")
    with pytest.raises(DataError, match="label column index 7 is out of range for 3 columns"):
        read_csv(p, label_column=7)


def test_bad_value_names_line_and_column(tmp_path: Path) -> None:
    p = _write(tmp_path, "a,b,y\n1,2,0\n3,4,1\n5,oops,0\n7,n/a,1\n")
    with pytest.raises(DataError) as err:
        read_csv(p)
    msg = str(err.value)
    assert f"{p}, line 4, column 2 ('b'): 'oops' is not a number" in msg


def test_empty_value_and_short_row(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="line 3, column 1: an empty value"):
        read_csv(_write(tmp_path, "1,2,0\n3,4,1\n,4,1\n"))
    with pytest.raises(DataError, match="line 2: has 2 values, expected 3"):
        read_csv(_write(tmp_path, "1,2,0\n3,4\n", "short.csv"))


def test_semicolon_and_float_targets(tmp_path: Path) -> None:
    raw = read_csv(_write(tmp_path, "a;b;price\n1;2;10.5\n3;4;11.25\n"))
    assert raw.y_train.dtype == np.float64
    assert raw.y_train.tolist() == [10.5, 11.25]


def test_single_column_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="expected inputs and a label column"):
        read_csv(_write(tmp_path, "1\n2\n"))
