"""The HTML page: one self-contained file, its sections, figures inlined and also on disk."""

from __future__ import annotations

import base64
import re

from tunelab.report import (
    ReportData,
    Summary,
    TrainingCurves,
    diagnose,
    plotly_js,
    render_report,
    write_report,
)
from tunelab.runs import FinalProtocol, FinalResult

from .conftest import make_study

MB = 1024 * 1024


def test_full_report_is_self_contained_with_every_section(full_page):
    _, out = full_page
    html = out.read_text()
    for section in ("summary", "diagnoses", "tuning", "final", "curves", "guide", "studies",
                    "races"):
        assert f'<section id="{section}">' in html
    # plotly.js inline exactly once, nothing fetched from the network.
    assert html.count(plotly_js()[:200]) == 1
    page = html.replace(plotly_js(), "")  # plotly.js' own map attributions hold links
    assert not re.search(r'<script[^>]+src=', page)
    assert not re.search(r'(src|href)="https?://', page)
    assert html.count('class="tl-plotly"') == 12
    assert out.stat().st_size < 10 * MB
    assert "digits" in html and "maximize val_accuracy" in html


def test_pngs_are_written_under_figures_and_inlined_identically(full_page):
    _, out = full_page
    html = out.read_text()
    figures = out.parent / "figures"
    files = sorted(p.name for p in figures.iterdir())
    assert files == ["curves-trial-0.png", "curves-trial-1.png", "curves-trial-2.png",
                     "guide-batch-size-batch-size.png", "guide-batch-size.png",
                     "guide-topology.png", "race-beale-ecdf.png"]
    for name in files:
        encoded = base64.b64encode((figures / name).read_bytes()).decode()
        assert f'src="data:image/png;base64,{encoded}"' in html
    assert not [p for p in out.parent.rglob("*.tmp")]


def test_every_finding_appears_with_its_evidence(full_page):
    data, out = full_page
    html = out.read_text()
    findings = diagnose(data)
    codes = {f.code for f in findings}
    assert {"overfitting", "training-loss-rising", "train-longer", "trials-diverged",
            "trials-failed", "custom"} <= codes
    for finding in findings:
        assert f'data-code="{finding.code}"' in html
    assert html.count('class="finding ') == len(findings)
    assert "A note from the caller." in html
    assert "val loss rise" in html  # evidence keys are shown in words


def test_summary_counts_trials_and_decisions_are_shown(full_page):
    data, out = full_page
    html = out.read_text()
    states = data.summary.trial_states
    assert states["diverged"] == 3 and states["failed"] == 1
    assert re.search(r"<th>diverged</th><td class=\"num\">3</td>", html)
    assert "128-128, 0.1 beats 64-64, 0.1" in html
    assert ">adopted<" in html and ">kept current<" in html
    assert "0.9750 ± 0.0030" in html  # batch-size table with its replicates' spread
    assert "optuna" in data.summary.versions and data.summary.versions["optuna"] in html


def test_a_report_without_studies_is_small_and_has_no_plotly(tmp_path, healthy):
    data = ReportData("train run", Summary("train", dataset="digits"),
                      curves=[TrainingCurves("run", healthy)])
    out = render_report(data, tmp_path / "report.html")
    html = out.read_text()
    assert "Plotly" not in html
    assert out.stat().st_size < 0.5 * MB
    assert "Nothing to report" in html
    assert '<section id="studies">' not in html and '<section id="guide">' not in html


def test_text_from_the_run_is_escaped(tmp_path, healthy):
    data = ReportData("<b>x</b>", Summary("train", dataset="<script>alert(1)</script>"),
                      curves=[TrainingCurves("run <i>", healthy)])
    html = render_report(data, tmp_path / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_figures_dir_can_be_chosen_and_names_never_collide(tmp_path, healthy):
    data = ReportData("x", Summary("train"), curves=[TrainingCurves("run", healthy),
                                                     TrainingCurves("run", healthy)],
                      studies=[])
    render_report(data, tmp_path / "r.html", figures_dir=tmp_path / "pics")
    assert sorted(p.name for p in (tmp_path / "pics").iterdir()) == [
        "curves-run-2.png", "curves-run.png"]


def test_wall_time_is_taken_from_the_studies(tmp_path):
    from tunelab.report import StudySection

    study = make_study(10)
    data = ReportData("x", Summary("tune"), studies=[StudySection("s", study)])
    render_report(data, tmp_path / "r.html")
    assert data.summary.wall_seconds is not None and data.summary.wall_seconds >= 0


def _section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}">')
    return html[start:html.index("</section>", start)]


def _step(html: str, name: str) -> str:
    start = html.index(f'<div class="step" data-step="{name}">')
    return html[start:html.index('<div class="step"', start + 1) if html.count(
        '<div class="step"', start + 1) else html.index("</section>", start)]


def test_each_guide_step_shows_its_values_test_n_difference_and_threshold(tmp_path,
                                                                         guide_folder):
    html = write_report(guide_folder, tmp_path / "report.html").read_text()
    topology = _step(html, "topology")
    assert "0.9680 ± 0.0040 (n=3)" in topology and "0.9770 ± 0.0030 (n=3)" in topology
    assert 'data-test="paired"' in topology and "paired (same replicates)" in topology
    assert re.search(r"<th>n</th><td class=\"num\">3 pairs</td>", topology)
    assert re.search(r"<th>difference</th><td class=\"num\">\+0\.0090</td>", topology)
    assert re.search(r"<th>threshold</th><td class=\"num\">0\.0028</td>", topology)
    assert "yes: p below alpha, the difference above one validation sample" in topology
    assert re.search(r"<th>alpha \(one-sided\)</th><td class=\"num\">0.05</td>", topology)
    assert re.search(r"<th>p</th><td class=\"num\">0\.00221</td>", topology)
    assert 'data-credited="scientific"' in topology and "credited: scientific" in topology
    # The confirmation arms on fresh replicates, and the test against the ablation arm.
    assert "[64, 64], 0.1 · nuisance of [128, 128], 0.1" in topology
    assert "(the value, same nuisance values)" in topology
    assert re.search(r"<th>p</th><td class=\"num\">0\.0028</td>", topology)
    assert "[128, 128], 0.1 beats [64, 64], 0.1 by 0.0090" in topology  # the reason
    batch = _step(html, "batch size")
    assert 'data-test="welch"' in batch and "Welch (unpaired)" in batch
    assert "3 (3 and 3 scores)" in batch
    assert re.search(r"<th>difference</th><td class=\"num\">-0\.0020</td>", batch)
    assert "NaN ± NaN (n=1)" in batch  # a diverged value
    assert batch.count('<tr class="pareto">') == 2  # the guide's own marks
    assert "<td class=\"num\">18</td>" in batch  # seconds per training run
    cross = _step(html, "cross-validation")
    assert "No test: this step had nothing to compare." in cross
    assert "data-test=" not in cross


def test_did_tuning_help_and_the_final_model_are_shown(tmp_path, guide_folder):
    html = write_report(guide_folder, tmp_path / "report.html").read_text()
    tuning = _section(html, "tuning")
    assert "Did tuning help?" in tuning and ">helped<" in tuning
    assert "Tuning helped: the adopted configuration beats the start by 0.0170" in tuning
    assert "0.9600 ± 0.0050 (n=3)" in tuning and "0.9770 ± 0.0020 (n=3)" in tuning
    assert re.search(r"<th>difference</th><td class=\"num\">\+0\.0170</td>", tuning)
    assert re.search(r"<th>threshold</th><td class=\"num\">0\.0030</td>", tuning)
    final = _section(html, "final")
    assert "trained on training + validation data for 20 epochs" in final
    assert "an ensemble of 3 members" in final and "seeds 0, 1, 2" in final
    assert re.search(r"<th>test accuracy</th><td class=\"num\">0\.9733</td>\s*"
                     r"<td class=\"num\">0\.9611</td>\s*<td class=\"num\">0\.97, 0\.968,"
                     r" 0\.971</td>", final)
    summary = _section(html, "summary")
    assert "<th>Test accuracy</th><td>0.9733</td>" in summary


def test_a_report_filled_by_hand_takes_its_test_accuracy_from_the_final_result(tmp_path):
    final = FinalResult(protocol=FinalProtocol(refit=True, epochs=5, members=1,
                                               combine="single", seeds=[0]),
                        test={"test_accuracy": 0.91})
    data = ReportData("x", Summary("guide"), final=final)
    html = render_report(data, tmp_path / "r.html").read_text()
    assert data.summary.test_accuracy == 0.91
    assert '<section id="final">' in html and '<section id="tuning">' not in html
    assert "a single model (the first of 1 replicates)" in html
