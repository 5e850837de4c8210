"""CSV files: one sample per row, one column holding the label or target."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from tunelab.data._raw import RawData, encode_labels
from tunelab.errors import DataError

__all__ = ["read_csv"]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _rows(path: Path) -> tuple[list[list[str]], list[int]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a CSV file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}); is it a CSV file?") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue
            rows.append([c.strip() for c in row])
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: {exc}") from None
    if not rows:
        raise DataError(f"{path}: the file holds no rows")
    return rows, lines


def _detect_header(rows: list[list[str]]) -> bool:
    first = rows[0]
    if len(rows) == 1:
        return not any(_is_number(c) for c in first)
    second = rows[1]
    if all(not _is_number(c) for c in first):
        return True
    # A text cell above a number is a column name; text above text is a text label column.
    return any(
        not _is_number(a) and _is_number(b) for a, b in zip(first, second, strict=False)
    )


def _label_index(label_column: str | int | None, names: list[str] | None, width: int,
                 path: Path) -> int:
    if label_column is None:
        return width - 1
    if isinstance(label_column, str):
        if names is not None and label_column in names:
            return names.index(label_column)
        if label_column.lstrip("-").isdigit():
            label_column = int(label_column)
        else:
            where = f"the header has {names}" if names else "the file has no header row"
            raise DataError(
                f"{path}: label column '{label_column}' not found; {where}."
                " Give the label column by name or by index (0 is the first, -1 the last)"
            )
    if not -width <= label_column < width:
        raise DataError(
            f"{path}: label column index {label_column} is out of range for {width} columns;"
            f" use 0..{width - 1} or -1 for the last"
        )
    return label_column % width


def read_csv(
    path: str | os.PathLike[str],
    label_column: str | int | None = None,
    header: bool | None = None,
    name: str | None = None,
) -> RawData:
    """Read a CSV file of numeric inputs and one label (or target) column.

    Args:
        path: the file; the delimiter (``,``, ``;`` or tab) is detected.
        label_column: the label column's name (needs a header) or index (``-1``: last,
            the default).
        header: whether the first row names the columns; ``None`` detects it (a text cell
            above a number).
        name: the dataset name to report (default: the file name without suffix).

    Labels may be numbers or text; text labels become class indices with the sorted
    distinct values as class names.

    Raises:
        DataError: naming the line (and column) of the first bad value, a row of the
            wrong length, or an unknown label column.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
        >>> _ = p.write_text("a,b,kind\\n1,2,cat\\n3,4,dog\\n")
        >>> raw = read_csv(p, label_column="kind")
        >>> raw.x_train.tolist(), raw.y_train.tolist(), raw.class_names
        ([[1.0, 2.0], [3.0, 4.0]], [0, 1], ['cat', 'dog'])
    """
    p = Path(path)
    rows, lines = _rows(p)
    has_header = _detect_header(rows) if header is None else header
    names = rows[0] if has_header else None
    body, body_lines = (rows[1:], lines[1:]) if has_header else (rows, lines)
    width = len(rows[0])
    if width < 2:
        raise DataError(
            f"{p}: line {lines[0]} has {width} column; expected inputs and a label column"
            " (is the delimiter one of , ; or tab?)"
        )
    if not body:
        raise DataError(f"{p}: no data rows after the header")
    for row, line in zip(body, body_lines, strict=True):
        if len(row) != width:
            raise DataError(
                f"{p}, line {line}: has {len(row)} values, expected {width}"
                f" (as on line {lines[0]})"
            )
    li = _label_index(label_column, names, width, p)
    feature_cols = [j for j in range(width) if j != li]
    table = np.array(body, dtype=str)
    features = table[:, feature_cols]
    try:
        x = features.astype(np.float64)
    except ValueError:
        x = _first_bad(features, feature_cols, names, body_lines, p)
    if not np.isfinite(x).all():
        r, c = np.argwhere(~np.isfinite(x))[0]
        raise DataError(
            f"{p}, line {body_lines[r]}, column {_col(feature_cols[c], names)}:"
            f" {str(features[r, c])!r} is not a finite number"
        )
    y_text = table[:, li]
    classes: list[str] | None = None
    if all(_is_number(v) for v in y_text.tolist()):
        y = y_text.astype(np.float64)
        if np.isfinite(y).all() and np.all(y == np.round(y)):
            y = y.astype(np.int64)
    else:
        y, classes = encode_labels(y_text)
    return RawData(
        name=name or p.stem,
        source=str(p),
        x_train=x,
        y_train=y,
        class_names=classes,
        feature_names=[names[j] for j in feature_cols] if names else None,
        kind="tabular",
    )


def _col(j: int, names: list[str] | None) -> str:
    return f"{j + 1} ({names[j]!r})" if names else str(j + 1)


def _first_bad(
    features: np.ndarray, cols: list[int], names: list[str] | None, lines: list[int], p: Path
) -> np.ndarray:
    for r in range(features.shape[0]):
        for c in range(features.shape[1]):
            cell = str(features[r, c])
            if not _is_number(cell):
                what = "an empty value (missing values are not supported)" if not cell else (
                    f"{cell!r} is not a number"
                )
                raise DataError(
                    f"{p}, line {lines[r]}, column {_col(cols[c], names)}: {what};"
                    " every input column must be numeric (fill or drop that row, or choose"
                    " the label column with label_column)"
                )
    raise DataError(f"{p}: the input columns could not be read as numbers")  # pragma: no cover
