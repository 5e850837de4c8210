"""Recording trials in the study: intermediate reports, tells, artifacts and the best model.

The scheduler decides what trains; the :class:`Recorder` writes what happened: each epoch's
value reported to the trial (for the pruner), the trial told COMPLETE, PRUNED or FAIL with
its reason, its history and configuration under ``RUN_DIR/trials/<number>/``, and which
finished trial's model to save as the study's best. It also keeps the counts and the best
value a progress display shows, so that no round has to query the storage for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tunelab.config import RunConfig
from tunelab.errors import ConfigError
from tunelab.study._decide import Standing, decide_best
from tunelab.study._heartbeat import Heartbeat
from tunelab.study._objective import TOTALS, Objective
from tunelab.study._rundir import RunDir
from tunelab.study._stats import SessionStats
from tunelab.study._status import (
    EPOCHS_ATTR,
    REASON_ATTR,
    STATUS_ATTR,
    TrialStateName,
    TrialStatus,
    counts,
    epochs_in,
)
from tunelab.study._storage import best_of, best_standing

__all__ = ["Live", "Recorder", "TrialCallback"]

#: Called with the study and the told trial right after each trial is told COMPLETE, PRUNED or
#: FAIL: the contract of Optuna's ``Study.optimize(callbacks=...)``.
TrialCallback = Callable[[optuna.Study, FrozenTrial], None]


@dataclass
class Live:
    """A trial being trained: its parameters, configuration, structure and logs so far."""

    trial: optuna.Trial
    values: dict[str, Any]
    cfg: RunConfig
    key: Hashable
    logs: dict[str, list[float]] = field(default_factory=dict)
    train: RunConfig | None = None  # what the engine trains (cfg with padded widths)

    @property
    def engine_cfg(self) -> RunConfig:
        return self.train if self.train is not None else self.cfg

    @property
    def number(self) -> int:
        return self.trial.number


class Recorder:
    """Tells trials' outcomes to the study and writes their artifacts.

    The best model follows the storage: a finished trial's model is saved when
    :func:`~tunelab.study._decide.decide_best` finds it better than the study's best trial
    (as the storage has it, every session's trials included), and it becomes ``best.keras``
    only if it still is the best once written, decided under the run folder's lock
    (:meth:`RunDir.follow_best`). Sessions sharing a study and a run folder
    therefore never leave ``best.keras`` holding any trial but the study's best.

    Args:
        study: The Optuna study.
        objective: What is optimised.
        run_dir: Where trial artifacts and the best model go.
        stats: The session's figures (finished trials are counted there too).
        heartbeat: The session's heartbeats (a told trial's stop).
        track_epochs: Keep every running trial's epochs so far in its ``epochs`` user
            attribute, for sessions sharing an epoch budget.
        callbacks: Called in order, each with the study and the told
            :class:`~optuna.trial.FrozenTrial`, right after a trial is told (COMPLETE, PRUNED
            or FAIL), as ``Study.optimize(callbacks=...)`` does. A trial retired for a retry
            (Ctrl-C, a dead session) is not told to them: its retry will be.
    """

    def __init__(self, study: optuna.Study, objective: Objective, run_dir: RunDir,
                 stats: SessionStats, *, heartbeat: Heartbeat | None = None,
                 track_epochs: bool = False, parts: int = 1,
                 callbacks: Sequence[TrialCallback] = ()) -> None:
        self.study, self.objective, self.run_dir, self.stats = study, objective, run_dir, stats
        self.callbacks = list(callbacks)
        self.parts = int(parts)  # the pruner's steps per epoch (sub-epoch fidelity)
        self.heartbeat = heartbeat
        self.track_epochs = track_epochs
        # Failed counts diverged trials too (the display shows them as failed).
        self.counts = dict.fromkeys(
            (TrialStateName.COMPLETE, TrialStateName.PRUNED, TrialStateName.FAILED), 0)
        for t in study.get_trials(deepcopy=False):
            if t.state == TrialState.COMPLETE:
                self.counts[TrialStateName.COMPLETE] += 1
            elif t.state == TrialState.PRUNED:
                self.counts[TrialStateName.PRUNED] += 1
            elif t.state == TrialState.FAIL and counts(t):
                self.counts[TrialStateName.FAILED] += 1
        self._claims: set[str] = set()  # models to follow as best.keras once written
        self.checked = False
        # The study's best, kept here: reading it from the storage after every round costs
        # a query over all trials (tens of milliseconds with SQLite).
        self.best: tuple[float, int] | None = None
        if not objective.multi and self.counts[TrialStateName.COMPLETE]:
            try:
                first = study.best_trial
                if first.value is not None:
                    self.best = (first.value, first.number)
            except ValueError:
                pass

    # -- while training ------------------------------------------------------------------------

    def check_metrics(self, log: dict[str, float]) -> None:
        """Raise ConfigError when the objective's metrics are not in an epoch's log."""
        missing = [m for m in self.objective.metrics if m not in TOTALS and m not in log]
        if missing:
            recorded = ", ".join(k for k in log if k not in ("epoch",))
            raise ConfigError(
                f"study.objective: {', '.join(map(repr, missing))} is not recorded for this"
                f" task and configuration; recorded: {recorded}, seconds, epochs"
            )
        self.checked = True

    def report(self, live: Live) -> bool:
        """Report the first objective's value at this epoch; False when it cannot be."""
        if self.track_epochs:
            live.trial.set_user_attr(EPOCHS_ATTR, epochs_in(live.logs))
        if self.objective.multi:
            return False
        metric = self.objective.metrics[0]
        try:
            value = self._intermediate(metric, live.logs)
        except KeyError:
            return False
        if not math.isfinite(value):
            return False
        live.trial.report(value, step=epochs_in(live.logs) * self.parts)
        return True

    def report_partial(self, live: Live, log: dict[str, float]) -> bool:
        """Report a mid-epoch value (``log`` has ``progress``, in epochs) to the pruner; False
        when the objective has none there (several objectives, seconds, epochs)."""
        if self.objective.multi:
            return False
        value = log.get(self.objective.metrics[0])
        if value is None or not math.isfinite(value):
            return False
        live.trial.report(float(value), step=round(log["progress"] * self.parts))
        return True

    # -- the end of a trial --------------------------------------------------------------------

    def finish(self, live: Live, status: TrialStatus,
               engine_history: dict[str, list[float]] | None) -> str | None:
        """Tell a trial that stopped training (done, early stopped, diverged, budget...).

        Returns the path to save its model at when it is the best so far (or on the Pareto
        front), else None; :meth:`saved` promotes it once written.
        """
        history = self._history(live, engine_history)
        self._attrs(live, status, history)
        if status == TrialStatus.DIVERGED:
            epoch = epochs_in(history)
            self.failed(live.trial, f"diverged: the loss became nan or inf at epoch {epoch}",
                        live.cfg, history)
            return None
        try:
            values = self._values(history)
        except KeyError as exc:
            have = ", ".join(sorted(history))
            self.failed(live.trial, f"objective metric {exc} is not in the history"
                        f" (it has: {have})", live.cfg, history)
            return None
        if not all(math.isfinite(v) for v in values):
            self.failed(live.trial, f"diverged: an objective value is not finite {values}",
                        live.cfg, history)
            return None
        frozen = self.study.tell(live.trial, values)
        if not self.objective.multi and (
                self.best is None or self.objective.better(values[0], self.best[0])):
            self.best = (values[0], live.number)
        self._count(TrialStateName.COMPLETE)
        self.run_dir.write_trial(live.number, live.cfg, history)
        save = self._save_best(live.number, values)
        self._told(live.trial, frozen)
        return save

    def pruned(self, live: Live) -> None:
        """Tell a trial the pruner stopped."""
        history = self._history(live, None)
        self._attrs(live, TrialStatus.PRUNED, history)
        frozen = self.study.tell(live.trial, state=TrialState.PRUNED)
        self._count(TrialStateName.PRUNED)
        self.run_dir.write_trial(live.number, live.cfg, history)
        self._told(live.trial, frozen)

    def failed(self, trial: optuna.Trial, reason: str, cfg: RunConfig | None,
               history: dict[str, Any], detail: str | None = None) -> None:
        """Tell a trial FAIL with ``reason`` (and the error's text as ``detail``)."""
        trial.set_user_attr(REASON_ATTR, reason)
        if detail and detail.strip() != reason:
            trial.set_user_attr("error", detail[-4000:])
        frozen = self.study.tell(trial, state=TrialState.FAIL)
        self.counts[TrialStateName.FAILED] += 1
        diverged = reason.startswith(TrialStateName.DIVERGED)
        name = TrialStateName.DIVERGED if diverged else TrialStateName.FAILED
        self.stats.finished[name] = self.stats.finished.get(name, 0) + 1
        self.run_dir.write_trial(trial.number, cfg, history)
        self._told(trial, frozen)

    def saved(self, path: str) -> None:
        """A claimed model was written: it becomes ``best.keras`` if its trial is still the
        study's best (the storage decides), else ``best.keras`` follows whichever is."""
        path = str(Path(path))
        if path not in self._claims:
            return  # a Pareto model
        self._claims.discard(path)
        self.run_dir.follow_best(lambda: best_of(self.study), self.objective.metrics[0])

    # -- helpers -------------------------------------------------------------------------------

    def _told(self, trial: optuna.Trial, frozen: FrozenTrial) -> None:
        """After a tell: stop the trial's heartbeat, then call the callbacks, in order."""
        if self.heartbeat is not None:
            self.heartbeat.forget(trial)
        for callback in self.callbacks:
            callback(self.study, frozen)

    def _count(self, state: TrialStateName) -> None:
        self.counts[state] += 1
        self.stats.finished[state] = self.stats.finished.get(state, 0) + 1

    def _save_best(self, number: int, values: list[float]) -> str | None:
        """Where to save a told trial's model when :func:`decide_best` says it is the best so
        far (or on the Pareto front), from the study's best as the storage has it."""
        decision = decide_best(Standing(number, tuple(values)), best_standing(self.study),
                               self.objective.directions)
        if not decision.save:
            return None
        path = str(self.run_dir.trial_model(number))
        if decision.claim:
            self._claims.add(path)
        return path

    def _history(self, live: Live, engine: dict[str, list[float]] | None) -> dict[str, Any]:
        history: dict[str, Any] = dict(engine) if engine else {}
        for key, values in live.logs.items():
            history.setdefault(key, list(values))
        return history

    def _intermediate(self, metric: str, logs: dict[str, list[float]]) -> float:
        if metric == "seconds":
            return float(sum(logs.get("slot_seconds", logs["seconds"])))
        if metric == "epochs":
            return float(epochs_in(logs))
        return float(logs[metric][-1])

    def _values(self, history: dict[str, Any]) -> list[float]:
        out = []
        for metric in self.objective.metrics:
            if metric == "seconds":
                out.append(float(sum(history.get("slot_seconds", history["seconds"]))))
            else:
                out.append(self.objective.value(metric, history))
        return out

    def _attrs(self, live: Live, status: TrialStatus, history: dict[str, Any]) -> None:
        live.trial.set_user_attr(STATUS_ATTR, status.value)
        live.trial.set_user_attr(EPOCHS_ATTR, epochs_in(history))
        live.trial.set_user_attr("seconds", round(float(sum(history.get("slot_seconds", []))), 4))
        last = {k: v[-1] for k, v in history.items() if v and k not in ("epoch",)}
        live.trial.set_user_attr("last", {k: (v if math.isfinite(v) else None)
                                          for k, v in last.items()})
