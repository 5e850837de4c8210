"""A live terminal display of a study: trials done, pruned, failed, best so far, cohort width.

Example:
    >>> from tunelab.study._stats import Progress, SessionStats
    >>> line = describe(Progress(10, 4, 3, 1, 0, 2, 0.95, 3, "val_accuracy", SessionStats()))
    >>> "best val_accuracy 0.9500 (trial 3)" in line
    True
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from tunelab.study._stats import Progress as StudyProgress

__all__ = ["LiveDisplay", "describe"]


def describe(p: StudyProgress) -> str:
    """One line: states, best so far, mean cohort width, compile and train seconds."""
    parts = [f"complete {p.complete}", f"pruned {p.pruned}", f"failed {p.failed}",
             f"running {p.running}"]
    if p.best_value is not None:
        parts.append(f"best {p.metric} {p.best_value:.4f} (trial {p.best_trial})")
    s = p.stats
    if s.cohort_epochs:
        parts.append(f"width {s.mean_cohort_width:.1f}/{s.width}")
        parts.append(f"compile {s.compile_seconds:.1f}s train {s.train_seconds:.1f}s")
    return " · ".join(parts)


class LiveDisplay:
    """A rich progress bar over the study's trials, with a status line under it.

    Args:
        total: Trials in the study.
        console: Where to draw (default: standard error, so standard output stays clean).
    """

    def __init__(self, total: int, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]tune"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._task = self._bar.add_task("tune", total=total)
        self._line = Text("starting: loading data and compiling the first cohort", style="dim")
        self._live = Live(Group(self._bar, self._line), console=self.console,
                          refresh_per_second=8, transient=False)

    def __call__(self, progress: StudyProgress) -> None:
        self._bar.update(self._task, completed=min(progress.done, progress.total),
                         total=progress.total)
        self._line.plain = describe(progress)
        self._line.style = ""

    def __enter__(self) -> LiveDisplay:
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.stop()
