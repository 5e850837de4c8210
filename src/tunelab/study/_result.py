"""What a study gives back, and reopening a finished (or interrupted) run folder.

Example:
    >>> import tempfile
    >>> try:
    ...     open_run(tempfile.mkdtemp())
    ... except Exception as err:
    ...     print(type(err).__name__)
    ConfigError
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tunelab.config import RunConfig, TuneConfig
from tunelab.errors import ConfigError
from tunelab.study._objective import Objective
from tunelab.study._rundir import RunDir
from tunelab.study._space import Space
from tunelab.study._stats import SessionStats
from tunelab.study._status import REASON_ATTR, TrialStateName, is_retried
from tunelab.study._storage import make_storage

__all__ = ["StudyResult", "open_run", "trial_state"]


def trial_state(trial: FrozenTrial) -> TrialStateName:
    """The state tunelab shows: Optuna's, with failures told apart by their reason.

    A FAIL is ``retried`` when it was stopped unfinished and enqueued again, ``diverged``
    when its reason says so, else ``failed``.

    Example:
        >>> t = optuna.trial.create_trial(state=TrialState.FAIL,
        ...                               user_attrs={"reason": "diverged: nan at epoch 2"})
        >>> trial_state(t), trial_state(t) == "diverged"
        (<TrialStateName.DIVERGED: 'diverged'>, True)
    """
    if trial.state == TrialState.FAIL:
        if is_retried(trial):
            return TrialStateName.RETRIED
        reason = str(trial.user_attrs.get(REASON_ATTR, ""))
        diverged = reason.startswith(TrialStateName.DIVERGED)
        return TrialStateName.DIVERGED if diverged else TrialStateName.FAILED
    return TrialStateName(trial.state.name.lower())


@dataclass
class StudyResult:
    """A study and what tunelab knows about it.

    Attributes:
        study: The Optuna study itself (``optuna.visualization`` works on it).
        run_dir: The run folder.
        space: The search space.
        base: The configuration every trial started from.
        objective: The metric(s) and direction(s).
        stats: This session's figures (None for a reopened run).
        sessions: Every session's figures, from ``stats.json``.
        notes: What the session repaired on opening the run folder (a damaged
            ``best.keras`` rebuilt), one line each.
        last_session: No other session was running trials of the study when this one ended
            (so this one writes the report).
    """

    study: optuna.Study
    run_dir: Path
    space: Space
    base: RunConfig
    objective: Objective
    stats: SessionStats | None = None
    sessions: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    last_session: bool = True

    @property
    def best_trial(self) -> FrozenTrial | None:
        """The best complete trial (single objective; for several, the best on the first)."""
        done = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not done:
            return None
        if not self.objective.multi:
            return self.study.best_trial
        sign = 1.0 if self.objective.directions[0] == "maximize" else -1.0
        front = self.best_trials
        return max(front, key=lambda t: sign * float(t.values[0]))

    @property
    def best_value(self) -> float | list[float] | None:
        """The best trial's value (a list of values for several objectives)."""
        trial = self.best_trial
        if trial is None:
            return None
        return list(trial.values) if self.objective.multi else float(trial.values[0])

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The Pareto front for several objectives; the best trial alone for one."""
        if not self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            return []
        if self.objective.multi:
            return list(self.study.best_trials)
        return [self.study.best_trial]

    @property
    def best_config(self) -> RunConfig | None:
        """The best trial's configuration, runnable by ``tunelab train``."""
        trial = self.best_trial
        return None if trial is None else self.config_of(trial)

    def config_of(self, trial: FrozenTrial | int) -> RunConfig:
        """A trial's resolved configuration (from its folder, else rebuilt from its params)."""
        number = trial if isinstance(trial, int) else trial.number
        stored = RunDir(self.run_dir).trial_config(number)
        if stored is not None:
            return stored
        frozen = self.study.trials[number] if isinstance(trial, int) else trial
        return self.space.apply(self.base, self.space.values_from_params(frozen.params))

    def trials_by_state(self) -> dict[str, int]:
        """How many trials are in each state (see :func:`trial_state`), by its plain name."""
        counts = Counter(trial_state(t).value for t in self.study.get_trials(deepcopy=False))
        return dict(counts)

    def totals(self) -> dict[str, float]:
        """Compile and train seconds and mean cohort width over every session."""
        sessions = self.sessions or ([self.stats.as_dict()] if self.stats else [])
        compile_s = sum(float(s.get("compile_seconds", 0.0)) for s in sessions)
        train_s = sum(float(s.get("train_seconds", 0.0)) for s in sessions)
        cohort_epochs = sum(float(s.get("cohort_epochs", 0)) for s in sessions)
        slot_epochs = sum(float(s.get("slot_epochs", 0)) for s in sessions)
        return {
            "compile_seconds": compile_s,
            "train_seconds": train_s,
            "mean_cohort_width": slot_epochs / cohort_epochs if cohort_epochs else 0.0,
        }


def open_run(run_dir: str | os.PathLike[str], study_name: str | None = None) -> StudyResult:
    """Reopen the study of a run folder (read-only use: tables, best config).

    Raises:
        ConfigError: The folder is not a study's run folder, or has no such study.
    """
    run = RunDir(run_dir).require()
    cfg = run.read_tune() or TuneConfig()
    name = study_name or cfg.study.name
    storage = make_storage(cfg.study.storage, default=run.default_storage())
    assert storage is not None
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise ConfigError(f"{run.path}: the storage has no study named {name!r}") from None
    space = Space(cfg.search, source=f"{run.tune_toml} [search]")
    directions = [d.name.lower() for d in study.directions]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = list(study.metric_names or [])
    if len(names) != len(directions):
        names = [f"objective_{i}" for i in range(len(directions))]
    return StudyResult(
        study=study,
        run_dir=run.path,
        space=space,
        base=cfg.base(),
        objective=Objective(names, directions, cfg.study.reduce),
        sessions=run.read_stats(),
    )
