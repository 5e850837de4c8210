"""A finished guide run logged to the trackers: every step's study, the decisions, the model.

A guide's steps are Optuna studies in ``RUN_DIR/<i>-<step>/``; :func:`log_guide` reads them
back when the guide ends and logs them as a study's trials are logged: to MLflow, one parent
run for the guide with a nested run per trial of every step (named ``<step> trial <n>``, tag
``tunelab.step``), and the guide's ``decisions.json``, ``final.toml``, ``final.json`` and final
model ``best.keras`` as the parent's artifacts; to TensorBoard, one folder per step
(``<logdir>/<i>-<step>/trial_<n>``) with its own HParams experiment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tunelab.runs import RunLayout
from tunelab.tracking._mlflow import MLflowTracker
from tunelab.tracking._tensorboard import TensorBoardTracker

__all__ = ["guide_steps", "log_guide"]


def guide_steps(run_dir: str | os.PathLike[str]) -> list[tuple[str, Any]]:
    """``(step folder name, Optuna study)`` for every step of a guide run that has a study.

    Example:
        >>> import tempfile
        >>> guide_steps(tempfile.mkdtemp())
        []
    """
    import optuna

    out: list[tuple[str, Any]] = []
    for folder in sorted(Path(run_dir).iterdir(), key=lambda p: p.name):
        db = folder / "study.db"
        if not folder.is_dir() or not db.is_file():
            continue
        url = f"sqlite:///{db.resolve()}"
        for name in optuna.study.get_all_study_names(storage=url):
            out.append((folder.name, optuna.load_study(study_name=name, storage=url)))
    return out


def log_guide(run_dir: str | os.PathLike[str], *, mlflow: str | None = None,
              tensorboard: str | os.PathLike[str] | None = None,
              experiment: str | None = None, name: str | None = None) -> None:
    """Log a finished guide run folder to MLflow and/or TensorBoard.

    Raises:
        ConfigError: A tracker's package is missing or its server cannot be reached.
    """
    import optuna

    layout = RunLayout(run_dir)
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
                optuna.trial.TrialState.FAIL)
    steps = guide_steps(run_dir)
    if mlflow:
        tracker = MLflowTracker(mlflow, experiment=experiment,
                                run_name=name or f"guide {Path(run_dir).name}")
        tracker.start(name or Path(run_dir).name)
        for step, study in steps:
            tracker.run_dir, tracker.label = Path(run_dir) / step, step
            for trial in study.get_trials(deepcopy=False, states=finished):
                tracker(study, trial)
        artifacts = [layout.decisions_json, Path(run_dir) / "final.toml",
                     Path(run_dir) / "final.json"]
        tracker.close(layout.best_model, artifacts, best_run=False)
    if tensorboard:
        for step, study in steps:
            board = TensorBoardTracker(Path(tensorboard) / step,
                                       run_dir=Path(run_dir) / step)
            for trial in study.get_trials(deepcopy=False, states=finished):
                board(study, trial)
            board.close()
