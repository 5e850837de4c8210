"""Reports in a real headless Chromium: no console errors, every figure drawn, a screenshot."""

from __future__ import annotations

import struct
from pathlib import Path

import optuna
import pytest

from tunelab.report import (
    ReportData,
    StudySection,
    Summary,
    TrainingCurves,
    render_report,
    write_report,
)

from ._browser import Browser, chromium_missing, wait_rendered
from ._runs import race_run, train_run
from .conftest import make_study

pytestmark = pytest.mark.skipif(chromium_missing() is not None,
                                reason=f"browser tests need Chromium: {chromium_missing()}")


def png_width(path: Path) -> int:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int(struct.unpack(">I", data[16:20])[0])


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    with Browser(tmp_path_factory.mktemp("chromium-profile")) as b:
        yield b


def open_report(browser: Browser, page: Path) -> dict[str, int]:
    browser.load(page.resolve().as_uri())
    return wait_rendered(browser)


def test_a_full_report_loads_without_errors_and_draws_every_figure(browser, tmp_path, full_page):
    _, page = full_page
    expected_plots = page.read_text().count('class="tl-plotly"')
    counts = open_report(browser, page)
    assert browser.errors() == []
    assert expected_plots == 12
    assert counts["plotly"] == counts["plotly_rendered"] == expected_plots
    # Three curve figures, two guide figures, the batch-size Pareto plot, one race image.
    assert counts["images"] == counts["images_loaded"] == 7
    assert browser.evaluate("document.querySelectorAll('.finding').length") >= 4
    # The page fits its width: no figure overflows sideways, and nothing in a two-column
    # block runs under its neighbour (a step's tables of 12 replicates beside its figure).
    assert browser.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert browser.evaluate(
        "Array.from(document.querySelectorAll('.grid > *'))"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).length") == 0
    shot = browser.screenshot(tmp_path / "report.png")
    assert png_width(shot) == 1280
    full = browser.screenshot(tmp_path / "report-full.png", full_page=True)
    assert full.stat().st_size > shot.stat().st_size


def test_a_run_with_failed_and_diverged_trials_still_renders(browser, tmp_path, diverged):
    mostly_failed = make_study(6, diverge=8, fail=3)
    nothing_complete = optuna.create_study()
    for reason in ("diverged", "diverged", "out of memory"):
        nothing_complete.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL, user_attrs={"reason": reason}))
    data = ReportData(
        "failures", Summary("tune", dataset="digits"),
        curves=[TrainingCurves("trial 4 (diverged)", diverged)],
        studies=[StudySection("mostly failed", mostly_failed),
                 StudySection("nothing complete", nothing_complete)],
    )
    page = render_report(data, tmp_path / "report.html")
    counts = open_report(browser, page)
    assert browser.errors() == []
    assert counts["plotly"] == counts["plotly_rendered"] > 0
    assert counts["images"] == counts["images_loaded"] == 1
    codes = browser.evaluate(
        "[...document.querySelectorAll('.finding')].map(f => f.dataset.code)")
    assert {"diverged", "trials-diverged", "trials-failed"} <= set(codes)
    text = browser.evaluate("document.body.innerText")
    assert "the study has no complete trial" in text
    browser.screenshot(tmp_path / "failures.png")


def test_a_broken_page_is_caught(browser, tmp_path):
    # The checks above can fail: a script error and a missing image are seen.
    page = tmp_path / "broken.html"
    page.write_text('<html><body><div class="tl-plotly"></div><img src="missing.png">'
                    "<script>undefinedFunction()</script></body></html>")
    browser.load(page.as_uri())
    counts = wait_rendered(browser, timeout=1.0)
    assert counts == {"plotly": 1, "plotly_rendered": 0, "images": 1, "images_loaded": 0}
    assert any("undefinedFunction" in e for e in browser.errors())


@pytest.mark.parametrize("kind", ["guide", "tune", "race", "train"])
def test_reports_of_run_folders_render(browser, tmp_path, kind, request):
    if kind == "guide":
        folder = request.getfixturevalue("guide_folder")
    elif kind == "tune":
        folder = request.getfixturevalue("tune_folder")[0]
    else:
        folder = (race_run if kind == "race" else train_run)(tmp_path / "run")
    page = write_report(folder, tmp_path / "report.html")
    counts = open_report(browser, page)
    assert browser.errors() == []
    assert counts["plotly"] == counts["plotly_rendered"]
    assert counts["plotly"] > 0 if kind in ("guide", "tune") else counts["plotly"] == 0
    assert counts["images"] == counts["images_loaded"] > 0
    browser.screenshot(tmp_path / "report.png")
