"""The guide's live display: the current step and its phase with a progress bar, and every
decision printed as it is made, with its numbers and reason.

Example:
    >>> from io import StringIO
    >>> from rich.console import Console
    >>> out = StringIO()
    >>> with GuideDisplay(Console(file=out, width=100), live=False) as d:
    ...     d.note("hello")
    >>> "hello" in out.getvalue()
    True
"""

from __future__ import annotations

import math
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from tunelab.runs import Decisions, FinalResult, StepDecision, ValueStats

__all__ = ["GuideDisplay", "decision_line", "summary_table"]


def decision_line(record: StepDecision) -> str:
    """A decision in one rich-markup line: the step, what it credited, then its reason (which
    starts with "adopted ..." or "kept ...") with the numbers of its tests (alpha, n, df, t,
    p)."""
    reason = record.reason
    for word, style in (("adopted", "bold green"), ("kept", "bold")):
        if reason.startswith(word):
            reason = f"[{style}]{word}[/]{reason[len(word):]}"
            break
    return f"[bold]{record.step}[/] (credited: {record.credited}): {reason}"


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return "—" if not math.isfinite(x) else f"{x:.4f}"
    return "—" if x is None else str(x)


def _score(v: ValueStats) -> str:
    """``mean ± std``, or how many replicates diverged."""
    return f"diverged {v.diverged}/{v.n}" if v.diverged else f"{_fmt(v.mean)} ± {_fmt(v.std)}"


def summary_table(decisions: Decisions, final: FinalResult | None) -> Table:
    """The run in one table: per step what was chosen, its score, and the time it took;
    then the tuning check and the final model."""
    metric = decisions.metric
    table = Table(title=f"tunelab guide · {decisions.dataset or '?'} ·"
                  f" {decisions.budget or '?'} budget", title_justify="left")
    table.add_column("step")
    table.add_column("decision")
    table.add_column("value")
    table.add_column(f"{metric} (mean ± std)", justify="right")
    table.add_column("test", justify="right")
    table.add_column("seconds", justify="right")
    for s in decisions.steps:
        chosen = s.chosen()
        score = _score(chosen) if chosen else "—"
        test = s.comparison
        shown = test.brief() if test is not None else "—"
        table.add_row(s.step, f"adopted ({s.credited})" if s.adopted else "kept",
                      s.candidate if s.adopted else s.current, score, shown, f"{s.seconds:.0f}")
    check = decisions.tuning or (final.tuning if final else None)
    if check is not None:
        table.add_row("tuning check", "helped" if check.helped else "no gain beyond noise",
                      "adopted vs start", f"{_score(check.adopted)} vs {_score(check.start)}",
                      check.comparison.brief(), "")
    if final is not None:
        acc = final.test.get("test_accuracy")
        loss = final.test.get("test_loss")
        shown = f"test loss {_fmt(loss)}" if acc is None else f"test accuracy {_fmt(acc)}"
        base = final.baseline_test.get("test_accuracy")
        held = "best.keras" if final.shipped == "adopted" else "best.keras (the start)"
        table.add_row("final", final.protocol.combine, held, shown,
                      "" if base is None or final.shipped == "start"
                      else f"start: {_fmt(base)}", f"{final.seconds:.0f}")
    return table


class GuideDisplay:
    """Two bars: the steps done, and the current phase (range test, study, evidence, final).

    Args:
        console: Where to draw (standard error by default, so standard output stays clean).
        live: Draw the bars (False: only print notes and decisions).
    """

    def __init__(self, console: Console | None = None, live: bool = True) -> None:
        self.console = console or Console(stderr=True)
        self.live = live
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=self.console,
            disable=not live,
            transient=False,
        )
        self._steps: TaskID | None = None
        self._phase: TaskID | None = None

    def __enter__(self) -> GuideDisplay:
        self._bar.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._bar.stop()

    def begin(self, total: int, title: str) -> None:
        """Start the steps bar."""
        self.note(f"[bold]{title}[/]")
        self._steps = self._bar.add_task("steps", total=total, info="")

    def step(self, done: int, total: int, name: str, title: str) -> None:
        """Show which step runs (``done`` steps finished before it)."""
        if self._steps is not None:
            self._bar.update(self._steps, completed=done, total=total,
                             info=f"step {done + 1}/{total}: {title}")
        self.note(f"[bold]step {done + 1}/{total} · {name}[/] — {title}")

    def phase(self, description: str, total: float | None, info: str = "") -> None:
        """Start a phase bar (replacing the previous one)."""
        if self._phase is not None:
            self._bar.remove_task(self._phase)
        self._phase = self._bar.add_task(description, total=total, info=info)

    def advance(self, completed: float, total: float | None = None, info: str = "") -> None:
        """Move the phase bar."""
        if self._phase is not None:
            self._bar.update(self._phase, completed=completed, total=total, info=info)

    def end_phase(self) -> None:
        if self._phase is not None:
            self._bar.remove_task(self._phase)
            self._phase = None

    def finish_steps(self, done: int) -> None:
        if self._steps is not None:
            self._bar.update(self._steps, completed=done, info="done")

    def note(self, text: str) -> None:
        """Print a line above the bars."""
        self._bar.console.print(text, highlight=False)

    def decision(self, record: StepDecision) -> None:
        self.note(decision_line(record))
