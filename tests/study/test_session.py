"""Every session setting reaches the scheduler from ``tune()``: one row per field of
:class:`SessionSettings`, so a new setting is one field and one row here."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tunelab.study import CohortScheduler, SessionSettings, tune

BASE = {"model": {"units": [8], "dropout": 0.0}, "training": {"epochs": 1, "batch_size": 128},
        "search": {"optimizer.learning_rate": {"low": 0.01, "high": 0.1}}}
#: Trials the storage counts already (as on a resume): ``trials`` is the budget left.
COUNTED = 2


class Built(Exception):  # noqa: N818 - not an error: carries the scheduler out of tune()
    def __init__(self, scheduler: CohortScheduler) -> None:
        super().__init__("built")
        self.scheduler = scheduler


class Caught(CohortScheduler):
    """The real scheduler, handed back as soon as it is built (nothing trains)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        raise Built(self)


# (field, tune()'s keywords, the field's value the scheduler gets): each value differs from
# the record's default, so a setting tune() drops fails its row.
ROWS: list[tuple[str, dict[str, Any], Any]] = [
    ("trials", {"trials": 7}, 7 - COUNTED),
    ("width", {"cohort": 3}, 3),
    ("total", {"trials": 7}, 7),
    ("timeout", {"timeout": 12.5}, 12.5),
    ("max_epochs", {"space": {"training.epochs": [2, 6]}}, 6),
    ("epoch_budget", {"epoch_budget": 20}, 20),
    ("expected_epochs", {"pruner": "none", "space": {"training.epochs": [2, 4]}}, 4.0),
    # ASHA at 1/3 epoch, factor 3, epochs of 3 pieces: rungs 1, 3, 9, 27; mid-epoch only 1.
    ("parts", {"report_every": 1 / 3}, 3),
    ("report_at", {"pruner": "asha", "report_every": 1 / 3, "min_resource": 1 / 3,
                   "reduction_factor": 3, "space": {"training.epochs": [3, 9]}}, (1,)),
    ("shared", {}, True),
    ("fix_structure", {"sampler": "grid", "space": {"optimizer.learning_rate": [0.01, 0.1]},
                       "trials": 4}, False),
    ("depth_first", {"depth_first": 3}, 3),
]


def test_every_setting_has_a_row() -> None:
    assert sorted(r[0] for r in ROWS) == sorted(
        f.name for f in dataclasses.fields(SessionSettings))


@pytest.mark.parametrize(("field", "keys", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_a_setting_reaches_the_scheduler_from_tune(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, keys: dict[str, Any],
        expected: Any) -> None:
    monkeypatch.setattr("tunelab.study._tune.CohortScheduler", Caught)
    monkeypatch.setattr("tunelab.study._tune.counted_trials", lambda study: COUNTED)
    with pytest.raises(Built) as built:
        tune(BASE, run_dir=tmp_path, progress=False, **keys)
    settings = built.value.scheduler.settings
    assert getattr(settings, field) == expected
