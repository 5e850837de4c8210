"""Turn a :class:`ReportData` into one self-contained ``report.html`` (and PNGs under figures/).

The page needs nothing from the network: plotly.js is inlined once, every static figure is a
``data:`` URI, and the same PNGs are also written to ``figures/`` for use elsewhere.
"""

from __future__ import annotations

import base64
import io
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tunelab import _files
from tunelab.report._data import Finding, Image, ReportData
from tunelab.report._diagnose_history import diagnose_history
from tunelab.report._diagnose_study import diagnose_study, trial_states
from tunelab.report._figures import (
    batch_front,
    batch_size_png,
    curves_png,
    guide_step_png,
    landscape_png,
    landscape_rows,
)
from tunelab.report._study_figures import StudyFigures, plotly_js, study_figures
from tunelab.runs import Comparison, TestKind, ValueStats

__all__ = ["FIGURES_DIR", "diagnose", "render_report"]

#: The folder beside the page (or in the run folder) that the report writes its PNGs into.
FIGURES_DIR = "figures"

_SEVERITY_ORDER = {"problem": 0, "warning": 1, "info": 2}

# PNGs above this size are inlined as a 256-colour copy (the file on disk keeps every colour):
# a race's contour plots run to 0.2-1 MB each, and twenty of them would swell the page past 10 MB.
INLINE_PNG_LIMIT = 150_000


@dataclass
class _Picture:
    title: str
    src: str
    file: str


@dataclass
class _Page:
    base: Path  # the page's folder: pictures are named relative to it
    pictures: dict[str, _Picture] = field(default_factory=dict)


def diagnose(data: ReportData) -> list[Finding]:
    """All findings for ``data``: its own, plus those of each training curve and each study.

    Most serious first; a finding repeated (same code, subject and message) is shown once.

    Example:
        >>> from tunelab.report import Summary, TrainingCurves
        >>> h = {"loss": [1.0, 0.6, 0.5, 0.45, 0.42], "val_loss": [1.0, 0.7, 0.6, 0.55, 0.5]}
        >>> data = ReportData("x", Summary("train"), curves=[TrainingCurves("run", h)])
        >>> [f.code for f in diagnose(data)]
        ['train-longer']
    """
    found: list[Finding] = list(data.findings)
    for curves in data.curves:
        found.extend(diagnose_history(curves.history, curves.label))
    for section in data.studies:
        found.extend(diagnose_study(section.study, f"study {section.name}"))
    unique: dict[tuple[str, str, str], Finding] = {}
    for finding in found:
        unique.setdefault((finding.code, finding.subject, finding.message), finding)
    return sorted(unique.values(), key=lambda f: _SEVERITY_ORDER.get(f.severity, 3))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "figure"


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.4g}"
    return str(value)


def _dec(value: float | None, signed: bool = False) -> str:
    """Four decimals, as the guide prints its statistics; NaN (a diverged run) as NaN."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else str(value)
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _stats(stats: ValueStats) -> str:
    """``mean ± std (n=N)``, NaN-safe."""
    return f"{_dec(stats.mean)} ± {_dec(stats.std)} (n={stats.n})"


def _test_name(comparison: Comparison) -> str:
    return ("paired (same replicates)" if comparison.test == TestKind.PAIRED
            else "Welch (unpaired)")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def _wall_seconds(data: ReportData) -> float | None:
    starts: list[datetime] = []
    ends: list[datetime] = []
    for section in data.studies:
        for trial in section.study.get_trials(deepcopy=False):
            if trial.datetime_start is not None:
                starts.append(trial.datetime_start)
            if trial.datetime_complete is not None:
                ends.append(trial.datetime_complete)
    if not starts or not ends:
        return None
    return max((max(ends) - min(starts)).total_seconds(), 0.0)


def _states(data: ReportData) -> dict[str, int]:
    total: dict[str, int] = {}
    for section in data.studies:
        for state, n in trial_states(section.study).items():
            total[state] = total.get(state, 0) + n
    return total


def _inline_png(png: bytes) -> bytes:
    """A lighter copy of a large PNG for the page: 256 colours look the same on a plot."""
    if len(png) <= INLINE_PNG_LIMIT:
        return png
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(png)) as image:
        small = image.convert("RGB").quantize(colors=256, method=PILImage.Quantize.MEDIANCUT)
        buffer = io.BytesIO()
        small.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue() if buffer.tell() < len(png) else png


def _add(page: _Page, figures_dir: Path, name: str, title: str, png: bytes,
         source: Path | None = None) -> _Picture:
    base, i = _slug(name), 1
    stem = base
    while stem in page.pictures:
        i += 1
        stem = f"{base}-{i}"
    path = source if source is not None else _files.write_bytes(figures_dir / f"{stem}.png", png)
    src = "data:image/png;base64," + base64.b64encode(_inline_png(png)).decode("ascii")
    picture = _Picture(title, src, Path(os.path.relpath(path, page.base)).as_posix())
    page.pictures[stem] = picture
    return picture


def _images(page: _Page, figures_dir: Path, images: Iterable[Image]) -> list[_Picture]:
    return [_add(page, figures_dir, image.name, image.title, image.png, image.source)
            for image in images]


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tunelab.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    env.filters["dec"] = _dec
    env.filters["stats"] = _stats
    env.filters["test_name"] = _test_name
    env.filters["duration"] = _duration
    return env


def render_report(
    data: ReportData, out: str | Path, figures_dir: str | Path | None = None
) -> Path:
    """Write ``data`` as one self-contained HTML page, and its PNGs under ``figures_dir``.

    ``data`` can come from :func:`tunelab.report.read_run` or be filled by hand; a guide's
    parts are the records of :mod:`tunelab.runs` (``StepDecision`` in each ``GuideStep``,
    ``TuningCheck``, ``FinalResult``).

    Args:
        data: What to show; sections with no data are left out.
        out: The HTML file to write (atomically).
        figures_dir: Where the PNGs go; defaults to ``figures/`` beside ``out``.

    Returns:
        The path of the page written.

    Example:
        >>> import tempfile, pathlib
        >>> from tunelab.report import GuideStep, Summary, TrainingCurves
        >>> from tunelab.runs import StepDecision, ValueStats
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> step = StepDecision(step="width", current="units [32]", candidate="units [64]",
        ...                     adopted=False, reason="within noise",
        ...                     values=[ValueStats(label="units [32]", scores=[0.95, 0.96]),
        ...                             ValueStats(label="units [64]", scores=[0.96, 0.96])])
        >>> data = ReportData("demo", Summary("train", dataset="digits"),
        ...                   curves=[TrainingCurves("run", {"loss": [1.0, 0.5, 0.4]})],
        ...                   guide=[GuideStep(step)])
        >>> render_report(data, d / "report.html").name
        'report.html'
        >>> sorted(p.name for p in (d / "figures").iterdir())
        ['curves-run.png', 'guide-width.png']
    """
    out = Path(out)
    fig_dir = Path(figures_dir) if figures_dir is not None else out.parent / FIGURES_DIR
    summary = data.summary
    if not summary.trial_states and data.studies:
        summary.trial_states = _states(data)
    if summary.wall_seconds is None and data.studies:
        summary.wall_seconds = _wall_seconds(data)
    if summary.test_accuracy is None and data.final is not None:
        summary.test_accuracy = data.final.test_accuracy

    page = _Page(out.parent)
    curves = [
        {"curves": c, "picture": _add(page, fig_dir, f"curves-{c.label}",
                                      f"Training curves: {c.label}", curves_png(c))}
        for c in data.curves
    ]
    guide = []
    for step in data.guide:
        decision = step.decision
        rows = decision.batch_sizes
        front = batch_front(rows, decision.direction)
        guide.append({
            "step": step,
            "decision": decision,
            "details": step.details(),
            "picture": _add(page, fig_dir, f"guide-{step.name}", f"{step.name}: comparison",
                            guide_step_png(decision)) if decision.values else None,
            "batch_picture": _add(page, fig_dir, f"guide-{step.name}-batch-size",
                                  "Batch size: accuracy against time",
                                  batch_size_png(rows, front)) if rows else None,
            "pareto": front,
            "pictures": _images(page, fig_dir, step.images),
        })
    tuning = data.tuning or (data.final.tuning if data.final is not None else None)
    final = data.final
    test_rows = []
    if final is not None:
        for name in dict.fromkeys([*final.test, *final.baseline_test, *final.members_test]):
            test_rows.append({"name": name, "model": final.test.get(name),
                              "baseline": final.baseline_test.get(name),
                              "members": final.members_test.get(name, [])})
    studies: list[dict[str, Any]] = []
    for i, section in enumerate(data.studies):
        drawn: StudyFigures = study_figures(section, f"study{i}")
        studies.append({"section": section, "figures": drawn,
                        "states": trial_states(section.study),
                        "directions": [d.name.lower() for d in section.study.directions],
                        "names": section.objective_names()})
    races = [{"race": race, "pictures": _images(page, fig_dir, race.images)}
             for race in data.races]
    landscape = None
    if data.landscape is not None:
        landscape = {"record": data.landscape, "rows": landscape_rows(data.landscape),
                     "picture": _add(page, fig_dir, "landscape",
                                     f"Loss landscape: {data.landscape.model}",
                                     landscape_png(data.landscape))}
    needs_plotly = any(s["figures"].figures for s in studies)
    html = _environment().get_template("report.html.j2").render(
        data=data,
        summary=summary,
        findings=diagnose(data),
        curves=curves,
        guide=guide,
        tuning=tuning,
        final=final,
        test_rows=test_rows,
        studies=studies,
        races=races,
        landscape=landscape,
        plotly_js=plotly_js() if needs_plotly else "",
        generated=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    )
    return _files.write_text(out, html)
