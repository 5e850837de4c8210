"""Read a ``tunelab landscape race --out DIR`` folder: its results tables and its pictures.

The race writes ``race.json`` (settings, timing, ``table``: one row per function and optimizer,
``summary``: one row per optimizer), ``race.csv`` (the table), ``ecdf.png`` and one
``contour-<function>-d<dim>.png`` per function. The report shows the summary, the full table
folded, the ECDF and the contours.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from tunelab.errors import ConfigError
from tunelab.report._data import Image, LandscapeRace, ReportData, Summary

__all__ = ["is_race_folder", "read_races"]

_JSON = "race.json"
_CSV = "race.csv"
_PICTURES = ("ecdf*.png", "contour-*.png")  # what the race draws; other PNGs are not its own


def is_race_folder(path: Path) -> bool:
    """Whether ``path`` holds a landscape race's output (``race.json`` or ``race.csv``)."""
    return (path / _JSON).is_file() or (path / _CSV).is_file()


def _cell(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text
    if math.isfinite(value) and value.is_integer() and "." not in text and "e" not in text:
        return int(value)
    return value


def _csv_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, csv.Error) as err:
        raise ConfigError(f"{path}: cannot read the race table ({err})") from None
    if not rows:
        return [], []
    return rows[0], [[_cell(c) for c in row] for row in rows[1:] if row]


def _records(records: Any, path: Path, key: str) -> tuple[list[str], list[list[Any]]]:
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ConfigError(f"{path}: {key!r} must be a list of objects (one per row)")
    columns: list[str] = []
    for record in records:
        columns += [str(k) for k in record if str(k) not in columns]
    return columns, [[r.get(c) for c in columns] for r in records]


def _picture_order(path: Path) -> tuple[int, str]:
    # The ECDF sums the race up, so it comes first; then one contour per function.
    return (0 if "ecdf" in path.stem.lower() else 1, path.name)


def read_races(run_dir: Path) -> ReportData:
    """The race in ``run_dir`` as a report: its tables and its pictures.

    Raises:
        ConfigError: ``race.json`` or ``race.csv`` is damaged (the message names it).

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "race.csv").write_text("function,optimizer,success\\nbeale,adam,1.0\\n")
        >>> read_races(d).races[0].detail_rows
        [['beale', 'adam', 1.0]]
    """
    summary = Summary(kind="landscape race", dataset=None, task="optimisation landscapes")
    columns: list[str] = []
    rows: list[list[Any]] = []
    detail_columns: list[str] = []
    detail_rows: list[list[Any]] = []
    functions: list[str] = []
    path = run_dir / _JSON
    if path.is_file():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a JSON object with 'table' and 'summary'")
        columns, rows = _records(raw.get("summary", []), path, "summary")
        detail_columns, detail_rows = _records(raw.get("table", []), path, "table")
        settings = raw.get("settings") if isinstance(raw.get("settings"), dict) else {}
        assert isinstance(settings, dict)
        functions = [str(f) for f in settings.get("functions") or []]
        for key in ("suite", "optimizers", "starts", "budget", "seed"):
            value = settings.get(key)
            if value is not None:
                summary.details[key] = (", ".join(map(str, value)) if isinstance(value, list)
                                        else value)
        timing = raw.get("timing") if isinstance(raw.get("timing"), dict) else {}
        assert isinstance(timing, dict)
        if isinstance(timing.get("total_s"), int | float):
            summary.wall_seconds = float(timing["total_s"])
    elif (run_dir / _CSV).is_file():
        detail_columns, detail_rows = _csv_table(run_dir / _CSV)
    if not functions and "function" in detail_columns:
        at = detail_columns.index("function")
        functions = sorted({str(r[at]) for r in detail_rows if len(r) > at})
    if functions:
        summary.details["functions"] = ", ".join(functions)
    pictures = sorted((p for pattern in _PICTURES for p in run_dir.glob(pattern) if p.is_file()),
                      key=_picture_order)
    images = [Image(f"race-{p.stem}", p.stem.replace("-", " "), p.read_bytes(), source=p)
              for p in pictures]
    race = LandscapeRace(", ".join(functions) or run_dir.name, columns, rows, images,
                         detail_columns, detail_rows)
    return ReportData("landscape race", summary, races=[race])
