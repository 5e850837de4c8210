"""What the Python fronts give back: the engine's results, plus what a notebook shows.

Each class is the result its layer already returns (:class:`tunelab.train.Result`,
:class:`tunelab.study.StudyResult`, :class:`tunelab.guide.GuideResult`), with
``_repr_html_`` (a notebook cell ending in it shows curves, the study's best, the guide's
decision table) and ``report()`` (write the HTML report of the run folder and show it
inline).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tunelab.guide import GuideResult as _GuideResult
from tunelab.runs import RunLayout
from tunelab.study import StudyResult
from tunelab.train import Result

__all__ = ["FitResult", "GuideResult", "ReportPage", "TuneResult"]

T = TypeVar("T")


def promote(cls: type[T], base: Any, **extra: Any) -> T:
    """An instance of the subclass ``cls`` holding every field of the dataclass ``base``."""
    values = {f.name: getattr(base, f.name) for f in dataclasses.fields(base) if f.init}
    return cls(**values, **extra)


@dataclass
class ReportPage:
    """A written ``report.html``; in a notebook it shows the page inline.

    Attributes:
        path: The page.
        findings: The diagnoses the report makes, one line each.
    """

    path: Path
    findings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    def _repr_html_(self) -> str:
        from tunelab.report import report_iframe

        return report_iframe(self.path)


def write_page(run_dir: Path) -> ReportPage:
    """Write the report of ``run_dir`` (with its final model's loss slice) and return it."""
    from tunelab.api._landscape import write_final_slice
    from tunelab.report import diagnose, read_run, render_report

    write_final_slice(run_dir)
    data = read_run(run_dir)
    page = render_report(data, run_dir / "report.html", figures_dir=run_dir / "figures")
    return ReportPage(page, [f"[{f.severity}] {f.subject + ': ' if f.subject else ''}"
                             f"{f.message}" for f in diagnose(data)])


@dataclass
class FitResult(Result):
    """What ``tunelab.fit`` returns: a training result that shows itself in a notebook.

    A :class:`tunelab.train.Result` (history, final metrics, ``model()``, ``save()``) plus
    ``_repr_html_`` (curves and metrics), :meth:`report` and :meth:`loss_landscape`.

    Attributes:
        run_dir: The run folder, when one was written (``out=``, or by :meth:`report`).
        data: The dataset it trained on (kept for :meth:`loss_landscape`).
    """

    run_dir: Path | None = None
    data: Any = field(default=None, repr=False)

    def _repr_html_(self) -> str:
        from tunelab.report import history_html

        details: dict[str, Any] = {"status": str(self.status),
                                   "compile seconds": round(self.compile_seconds, 2),
                                   "train seconds": round(self.train_seconds, 2)}
        if self.run_dir is not None:
            details["run folder"] = str(self.run_dir)
        title = (f"{self.dataset}: {self.config.optimizer.name}, batch"
                 f" {self.config.training.batch_size}, {len(self.history.get('loss', []))}"
                 " epochs")
        return history_html(self.history, title, self.final, details)

    def save_run(self, out: str | os.PathLike[str] | None = None) -> Path:
        """Write the run folder (``tunelab train``'s files), once; return it.

        Arrays given in memory are saved under ``RUN_DIR/inputs/`` so that the folder's
        ``config.toml`` trains again with ``tunelab train``.
        """
        if self.run_dir is not None and out is None:
            return self.run_dir
        from tunelab.api._fronts import save_fit_run

        folder = Path(out) if out is not None else RunLayout.default_path("train")
        save_fit_run(self, folder)
        self.run_dir = folder
        return folder

    def report(self, out: str | os.PathLike[str] | None = None) -> ReportPage:
        """Write the run folder if needed, then its ``report.html`` (training curves, the
        1-D loss slice of the model, diagnoses); shown inline in a notebook."""
        return write_page(self.save_run(out))

    def loss_landscape(self, **options: Any) -> Any:
        """The loss landscape of this model (see :func:`tunelab.loss_landscape`)."""
        from tunelab.api._landscape import loss_landscape

        return loss_landscape(self, **options)


@dataclass
class TuneResult(StudyResult):
    """What ``tunelab.tune`` returns: a study result that shows itself in a notebook.

    A :class:`tunelab.study.StudyResult` plus ``_repr_html_`` (the optimisation history and
    the best trial) and :meth:`report`.
    """

    def _repr_html_(self) -> str:
        from optuna.trial import TrialState

        from tunelab.report import study_html

        metric = self.objective.metrics[0]
        direction = self.objective.directions[0]
        values = [t.values[0] if t.state == TrialState.COMPLETE and t.values else None
                  for t in self.study.get_trials(deepcopy=False)]
        best = None
        trial = self.best_trial
        if trial is not None:
            best = {"trial": trial.number, metric: float(trial.values[0]), **trial.params}
        totals = self.totals()
        details = {"run folder": str(self.run_dir),
                   "compile seconds": round(totals["compile_seconds"], 1),
                   "train seconds": round(totals["train_seconds"], 1)}
        return study_html(self.study.study_name, metric, direction, values, best,
                          self.trials_by_state(), details)

    def report(self) -> ReportPage:
        """Write ``report.html`` of the study's run folder; shown inline in a notebook."""
        return write_page(Path(self.run_dir))


@dataclass
class GuideResult(_GuideResult):
    """What ``tunelab.guide`` returns: a guide result that shows itself in a notebook.

    A :class:`tunelab.guide.GuideResult` plus ``_repr_html_`` (the decision table, the tuning
    check and the final test score) and :meth:`report`.
    """

    def _repr_html_(self) -> str:
        from tunelab.report import decisions_html

        text = decisions_html(self.decisions, self.final)
        wall = self.decisions.wall_seconds
        if math.isfinite(wall):
            text += f"<p>{wall:.0f} s over all steps and the final training; run folder" \
                    f" <code>{self.run_dir}</code></p>"
        return text

    def report(self) -> ReportPage:
        """Write ``report.html`` (with the 1-D loss slice of ``best.keras``); shown inline."""
        return write_page(Path(self.run_dir))
