"""What results show in a notebook: curves, a study's progress, a guide's decisions, a page."""

from __future__ import annotations

import base64
from pathlib import Path

from tunelab.report import (
    decisions_html,
    history_html,
    landscape_png,
    landscape_rows,
    png_html,
    report_iframe,
    study_html,
    table_html,
)
from tunelab.runs import (
    Comparison,
    Decisions,
    LandscapeSplit,
    LossLandscape,
    StepDecision,
    ValueStats,
)


def test_pictures_are_inline_and_values_escaped() -> None:
    tag = png_html(b"\x89PNG-bytes", "a <plot>")
    assert base64.b64encode(b"\x89PNG-bytes").decode() in tag and "a &lt;plot&gt;" in tag
    table = table_html([["lr", 0.123456], ["<b>", float("nan")]], ["name", "value"])
    assert "0.1235" in table and "&lt;b&gt;" in table and "—" in table


def test_a_run_shows_its_curves_and_final_metrics() -> None:
    page = history_html({"loss": [1.0, 0.5], "val_accuracy": [0.5, 0.8]}, "digits",
                        {"val_accuracy": 0.8}, {"status": "done"})
    assert page.count("<img") == 1 and "val_accuracy" in page and "done" in page


def test_a_study_shows_its_trials_and_best() -> None:
    page = study_html("s", "val_accuracy", "maximize", [0.5, None, 0.7, 0.6],
                      {"trial": 2, "val_accuracy": 0.7}, {"complete": 3, "pruned": 1})
    assert "<img" in page and "best trial" in page and "pruned" in page


def test_a_guide_shows_each_decision() -> None:
    step = StepDecision(step="topology", current="units [64]", candidate="units [128]",
                        adopted=True, reason="adopted units [128]: better by more than noise",
                        values=[ValueStats(label="units [64]", scores=[0.9, 0.92]),
                                ValueStats(label="units [128]", scores=[0.95, 0.96])],
                        comparison=Comparison(test="paired", current="units [64]",
                                              candidate="units [128]", n=2, n_current=2,
                                              n_candidate=2, difference=0.045, se=0.005,
                                              threshold=0.01, better=True))
    page = decisions_html(Decisions(steps=[step], metric="val_accuracy", dataset="digits",
                                    budget="quick"))
    assert "adopted" in page and "0.955 ± 0.007071 (n=2)" in page and "paired n=2" in page


def test_a_page_goes_in_an_iframe(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text('<html><body><p class="x">"hi"</p></body></html>', encoding="utf-8")
    frame = report_iframe(page)
    assert frame.startswith("<iframe") and "&quot;hi&quot;" in frame


def test_a_loss_slice_is_drawn_with_its_numbers() -> None:
    rec = LossLandscape(model="model.keras", dims=1, span=1.0, points=3, seed=0,
                        alphas=[-1.0, 0.0, 1.0], metric="accuracy",
                        splits={"train": LandscapeSplit(loss=[3.0, 1.0, 2.0],
                                                        metric=[0.2, 0.9, 0.5], samples=10)})
    assert landscape_png(rec)[:4] == b"\x89PNG"
    (row,) = landscape_rows(rec)
    assert row == {"split": "train", "samples": 10, "centre": 1.0, "low": 1.0, "high": 3.0,
                   "rise": 1.0}
