"""Run-folder records: written atomically, read back the same, damage named when read."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tunelab.runs import RangeTestRecord, RangeTests, RecordError, read_record, write_record

RECORD = RangeTestRecord(learning_rates=[1e-4, 1e-3, 1e-2], losses=[2.3, 1.9, math.nan],
                         raw_losses=[2.3, 1.8, math.inf], suggested=1e-4, min_loss_lr=1e-3,
                         steepest_lr=5e-4, stop_reason="loss diverged", batch_size=64)


def test_a_record_reads_back_as_written_with_nan_as_null(tmp_path: Path) -> None:
    path = write_record(tmp_path / "range_tests.json", RangeTests(tests={"base": RECORD}))
    raw = json.loads(path.read_text())
    assert raw["tests"]["base"]["losses"][2] is None  # valid JSON, no NaN literal
    back = read_record(path, RangeTests, required=True)
    assert back is not None
    again = back.tests["base"]
    assert again.learning_rates == RECORD.learning_rates and math.isnan(again.losses[2])
    assert read_record(tmp_path / "missing.json", RangeTests) is None
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_a_damaged_record_names_its_file(tmp_path: Path) -> None:
    path = tmp_path / "range_tests.json"
    path.write_text('{"tests": {"base": {"suggested": ')
    with pytest.raises(RecordError, match="range_tests.json"):
        read_record(path, RangeTests)
    with pytest.raises(RecordError, match="missing.json"):
        read_record(tmp_path / "missing.json", RangeTests, required=True)


def test_the_summary_counts_steps_only_where_the_curve_is_kept() -> None:
    assert "3 steps, loss diverged" in RECORD.summary()
    brief = RECORD.brief()
    assert brief.learning_rates == [] and "steps" not in brief.summary()
    assert "suggested learning rate 0.0001" in brief.summary()
