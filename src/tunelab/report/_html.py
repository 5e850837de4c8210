"""HTML for notebooks: what the results of ``fit``, ``tune`` and ``guide`` show in Jupyter.

Each helper returns a self-contained HTML fragment (pictures as inline PNG data), the form
IPython's ``_repr_html_`` protocol asks for: training curves and final metrics for a trained
run, a study's best trial and its progress, a guide's decision table, a whole report page
inside an ``<iframe>``.

Example:
    >>> page = history_html({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, "digits",
    ...                     {"val_loss": 0.7})
    >>> "<img" in page and "val_loss" in page
    True
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tunelab.report._data import TrainingCurves
from tunelab.report._figures import curves_png
from tunelab.runs import Decisions, FinalResult, ValueStats

__all__ = [
    "decisions_html",
    "history_html",
    "png_html",
    "report_iframe",
    "study_html",
    "table_html",
]

_STYLE = ("border-collapse:collapse;font-size:0.9em;margin:0.3em 0",
          "padding:2px 10px;border-bottom:1px solid #ddd;text-align:left")


def _score(v: ValueStats) -> str:
    """``mean ± std (n=N)``, or how many replicates diverged."""
    if v.diverged:
        return f"diverged in {v.diverged} of {v.n}"
    return f"{_fmt(v.mean)} ± {_fmt(v.std)} (n={v.n})"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
    return "—" if value is None else str(value)


def png_html(png: bytes, alt: str = "figure", width: int | None = None) -> str:
    """A PNG as an ``<img>`` with the picture inline (a data URL).

    Example:
        >>> png_html(b"\\x89PNG", "curves").startswith('<img alt="curves"')
        True
    """
    size = f' style="max-width:{width}px"' if width else ' style="max-width:100%"'
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}"{size} src="data:image/png;base64,{data}"/>'


def table_html(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    """Rows as a small HTML table (values formatted to 4 significant digits, escaped).

    Example:
        >>> "<th" in table_html([["a", 1.0]], ["key", "value"])
        True
    """
    table, cell = _STYLE
    head = ("<tr>" + "".join(f'<th style="{cell}">{html.escape(str(h))}</th>' for h in header)
            + "</tr>") if header else ""
    body = "".join("<tr>" + "".join(f'<td style="{cell}">{html.escape(_fmt(v))}</td>'
                                    for v in row) + "</tr>" for row in rows)
    return f'<table style="{table}">{head}{body}</table>'


def history_html(history: Mapping[str, Sequence[float]], title: str,
                 final: Mapping[str, float] | None = None,
                 details: Mapping[str, Any] | None = None) -> str:
    """A trained run: its curves (loss, metric, learning rate per epoch) and final metrics."""
    curves = TrainingCurves(title, {k: list(v) for k, v in history.items()})
    parts = [f"<div><b>{html.escape(title)}</b>"]
    if curves.epochs:
        parts.append("<br/>" + png_html(curves_png(curves), f"{title}: curves"))
    rows = [[k, v] for k, v in (final or {}).items()] + [[k, v] for k, v in
                                                          (details or {}).items()]
    if rows:
        parts.append(table_html(rows, ["", "value"]))
    return "".join(parts) + "</div>"


def study_html(name: str, metric: str, direction: str, values: Sequence[float | None],
               best: Mapping[str, Any] | None, states: Mapping[str, int],
               details: Mapping[str, Any] | None = None) -> str:
    """A study: the objective of every finished trial and the best so far, its best trial's
    value and parameters, and the trials by state."""
    from tunelab.report._figures import _figure, _png

    parts = [f"<div><b>study {html.escape(name)}</b>: {html.escape(direction)}"
             f" {html.escape(metric)}"]
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if points:
        fig, (ax,) = _figure(6.0, 3.0)
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, ".", color="#1f77b4", label="trial")
        running: list[float] = []
        best_so_far: float | None = None
        for y in ys:
            better = best_so_far is None or (y > best_so_far if direction == "maximize"
                                             else y < best_so_far)
            best_so_far = y if better or best_so_far is None else best_so_far
            running.append(best_so_far)
        ax.step(xs, running, where="post", color="#d62728", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(metric)
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
        parts.append("<br/>" + png_html(_png(fig), f"{name}: optimisation history"))
    if best is not None:
        parts.append(table_html([[k, v] for k, v in best.items()], ["best trial", ""]))
    if states:
        parts.append(table_html([[s, n] for s, n in sorted(states.items())],
                                ["trials", "count"]))
    if details:
        parts.append(table_html([[k, v] for k, v in details.items()]))
    return "".join(parts) + "</div>"


def decisions_html(decisions: Decisions, final: FinalResult | None = None) -> str:
    """A guide run's decision table: per step what it compared, kept or adopted, its score
    (mean ± std over replicates), the test that decided and the seconds; then the tuning
    check and the final model's test score."""
    rows: list[list[Any]] = []
    for s in decisions.steps:
        chosen = s.chosen()
        score = _score(chosen) if chosen else "—"
        test = s.comparison
        rows.append([s.step, f"adopted ({s.credited})" if s.adopted else "kept",
                     s.candidate if s.adopted else s.current, score,
                     test.brief() if test is not None else "—", round(float(s.seconds))])
    check = decisions.tuning or (final.tuning if final is not None else None)
    if check is not None:
        rows.append(["tuning check", "helped" if check.helped else "no gain beyond noise",
                     "adopted vs start", f"{_score(check.adopted)} vs"
                     f" {_score(check.start)}", check.comparison.brief(), ""])
    if final is not None:
        acc = final.test.get("test_accuracy")
        shown = (f"test accuracy {_fmt(acc)}" if acc is not None
                 else f"test loss {_fmt(final.test.get('test_loss'))}")
        held = "best.keras" if final.shipped == "adopted" else "best.keras (the start)"
        rows.append(["final", final.protocol.combine, held, shown, "",
                     round(float(final.seconds))])
    title = (f"tunelab guide · {decisions.dataset or '?'} · {decisions.budget or '?'} budget")
    table = table_html(rows, ["step", "decision", "value", f"{decisions.metric} (mean ± std)",
                              "test", "seconds"])
    reasons = "".join(f"<li><b>{html.escape(s.step)}</b>: {html.escape(s.reason)}</li>"
                      for s in decisions.steps)
    summary = f"<p>{html.escape(check.summary)}</p>" if check is not None else ""
    return (f"<div><b>{html.escape(title)}</b>{table}{summary}"
            f"<details><summary>why</summary><ul>{reasons}</ul></details></div>")


def report_iframe(page: str | Path, height: int = 720) -> str:
    """A report page shown inside the notebook: the whole HTML file in an ``<iframe>``
    (``srcdoc``, so it needs no server and works offline)."""
    text = Path(page).read_text(encoding="utf-8")
    return (f'<iframe style="width:100%;height:{height}px;border:1px solid #ddd"'
            f' srcdoc="{html.escape(text, quote=True)}"></iframe>')
