"""Trackers: a study's trials logged where practitioners already look (MLflow, TensorBoard).

Each tracker is a study callback with Optuna's signature, ``f(study, frozen_trial)``, called
after each trial is told (``tunelab.tune(callbacks=[...])``, as ``optimize(callbacks=)``), and
a ``close`` that logs what is left when the study ends. :func:`make_trackers` builds them from
a :class:`~tunelab.config.TrackingConfig` or the ``mlflow=`` / ``tensorboard=`` options.

Example:
    >>> make_trackers(None, None, run_dir=".")
    []
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tunelab.tracking._guide import guide_steps, log_guide
from tunelab.tracking._history import TrialRecord, epoch_history, trial_record
from tunelab.tracking._mlflow import MLflowTracker
from tunelab.tracking._tensorboard import TensorBoardTracker

__all__ = ["MLflowTracker", "TensorBoardTracker", "TrialRecord", "close_trackers",
           "epoch_history", "guide_steps", "log_guide", "make_trackers", "tracked",
           "trial_record"]


def make_trackers(mlflow: str | None, tensorboard: str | os.PathLike[str] | None, *,
                  run_dir: str | os.PathLike[str], experiment: str | None = None,
                  run_name: str | None = None) -> list[Any]:
    """The trackers asked for: an :class:`MLflowTracker` for a tracking URI, a
    :class:`TensorBoardTracker` for a log folder."""
    out: list[Any] = []
    if mlflow:
        out.append(MLflowTracker(mlflow, experiment=experiment, run_name=run_name,
                                 run_dir=run_dir))
    if tensorboard:
        out.append(TensorBoardTracker(tensorboard, run_dir=run_dir))
    return out


def close_trackers(trackers: list[Any], *, best_model: str | os.PathLike[str] | None = None,
                   artifacts: list[Any] | tuple[()] = (),
                   failed: bool = False) -> None:
    """End every tracker: MLflow logs ``best_model`` and ``artifacts`` with its parent run."""
    for tracker in trackers:
        if isinstance(tracker, MLflowTracker):
            tracker.close(best_model, artifacts, status="FAILED" if failed else "FINISHED")
        else:
            tracker.close()


@contextlib.contextmanager
def tracked(mlflow: str | None, tensorboard: str | os.PathLike[str] | None, *,
            run_dir: str | os.PathLike[str], experiment: str | None = None,
            run_name: str | None = None) -> Iterator[list[Any]]:
    """The trackers asked for, closed when the block ends (the parent run ``FAILED`` if it
    raised); ``RUN_DIR/best.keras`` is logged with MLflow's best run and parent.

    Example:
        >>> with tracked(None, None, run_dir=".") as trackers:
        ...     trackers
        []
    """
    trackers = make_trackers(mlflow, tensorboard, run_dir=run_dir, experiment=experiment,
                             run_name=run_name)
    failed = True
    try:
        yield trackers
        failed = False
    finally:
        close_trackers(trackers, best_model=Path(run_dir) / "best.keras", failed=failed)
