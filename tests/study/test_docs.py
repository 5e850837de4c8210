"""docs/studies.md's table of `[study]` keys lists exactly StudyConfig's fields and defaults."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tunelab.config import StudyConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "studies.md"


def _table(text: str) -> dict[str, str]:
    """Key -> the default cell as written, from the table under "The `[study]` table"."""
    section = text.split("### The `[study]` table", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    out: dict[str, str] = {}
    for row in rows:
        keys_cell, default_cell = (c.strip() for c in row.strip("|").split("|")[:2])
        keys = re.findall(r"`([a-z_]+)`", keys_cell)
        defaults = [d.strip() for d in default_cell.split(",")]
        if len(keys) > 1:
            assert len(defaults) == len(keys), f"one default per key in the row: {row}"
        for i, key in enumerate(keys):
            assert key not in out, f"{key} is listed twice"
            out[key] = defaults[i] if len(keys) > 1 else default_cell
    return out


def _matches(cell: str, default: Any) -> bool:
    plain = cell.strip("`")
    if isinstance(default, bool):
        return plain == str(default).lower()
    if isinstance(default, int | float):
        try:
            return float(plain) == float(default)
        except ValueError:
            return False
    return plain == str(default)


def test_the_study_table_lists_every_field_of_study_config() -> None:
    documented = _table(DOC.read_text(encoding="utf-8"))
    fields = StudyConfig.model_fields
    assert sorted(documented) == sorted(fields), (
        f"docs/studies.md lacks {sorted(set(fields) - set(documented))}, or lists keys that"
        f" are not fields: {sorted(set(documented) - set(fields))}"
    )


@pytest.mark.parametrize("key", list(StudyConfig.model_fields))
def test_the_study_table_shows_each_default(key: str) -> None:
    cell = _table(DOC.read_text(encoding="utf-8")).get(key)
    default = StudyConfig.model_fields[key].get_default()
    if default is None:  # None means "see the meaning" (the run's seed, RUN_DIR/study.db...)
        assert cell, f"{key}: no default shown"
    else:
        assert cell is not None and _matches(cell, default), (
            f"docs/studies.md shows {cell!r} as the default of {key}; StudyConfig has"
            f" {default!r}")


def test_the_table_reader_notices_a_missing_key() -> None:
    text = DOC.read_text(encoding="utf-8")
    without = "\n".join(line for line in text.splitlines() if not line.startswith("| `cohort`"))
    assert "cohort" in _table(text) and "cohort" not in _table(without)
