"""Heartbeats: live sessions say so on their running trials; a dead session's trials are retried.

Optuna's heartbeat (``RDBStorage(heartbeat_interval=..., grace_period=...)``) runs only inside
``Study.optimize``: a thread per trial records its heartbeat, and each new trial first fails
the trials whose heartbeat is older than the grace period. tunelab asks and tells, many trials
at a time, so it does both itself: one :class:`Heartbeat` thread per session records a
heartbeat for every trial the session holds (asked and not yet told), and the session's loop
calls :meth:`Heartbeat.check` between rounds, which fails the study's stale trials and
enqueues each again with the same parameters, as a resume does (state ``retried``). So when a
worker is killed, the others pick up its trials while the study runs.

Example:
    >>> import optuna
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> storage = optuna.storages.RDBStorage("sqlite:///:memory:", heartbeat_interval=1)
    >>> study = optuna.create_study(storage=storage)
    >>> with Heartbeat(study) as beat:
    ...     trial = study.ask()
    ...     beat.track(trial)
    ...     beat.check(force=True)
    []
"""

from __future__ import annotations

import threading
import time
import warnings
from types import TracebackType
from typing import Any

import optuna
from optuna.trial import TrialState

from tunelab.study._status import REASON_ATTR, RETRIED_ATTR, RETRY_OF_ATTR

__all__ = ["HEARTBEAT_REASON", "Heartbeat", "fail_stale"]

#: Why a trial whose session stopped beating was failed (and retried).
HEARTBEAT_REASON = ("interrupted: the session running it stopped sending heartbeats (killed,"
                    " crashed or cut off); retried by another session")


def _interval(storage: Any) -> int | None:
    from optuna.storages._heartbeat import BaseHeartbeat

    if not isinstance(storage, BaseHeartbeat):
        return None
    return storage.get_heartbeat_interval()


def fail_stale(study: optuna.Study) -> list[int]:
    """Fail the study's RUNNING trials whose heartbeat is older than the grace period, each
    marked ``retried`` and enqueued again with its parameters; return their numbers.

    Several sessions may do this at once: a trial is failed, and enqueued, by one of them.

    Example:
        >>> fail_stale(optuna.create_study())  # in memory: no heartbeats, nothing stale
        []
    """
    storage: Any = study._storage  # an RDBStorage: _interval said so
    if _interval(storage) is None:
        return []
    retried = []
    for trial_id in storage._get_stale_trial_ids(study._study_id):
        try:
            trial = storage.get_trial(trial_id)
            if trial.state != TrialState.RUNNING:
                continue
            storage.set_trial_user_attr(trial_id, REASON_ATTR, HEARTBEAT_REASON)
            storage.set_trial_user_attr(trial_id, RETRIED_ATTR, True)
            won = storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
        except (optuna.exceptions.UpdateFinishedTrialError,
                optuna.exceptions.StorageInternalError):
            continue  # another session failed it first
        if won:
            study.enqueue_trial(dict(trial.params), user_attrs={RETRY_OF_ATTR: trial.number},
                                skip_if_exists=False)
            retried.append(trial.number)
    return retried


class Heartbeat:
    """One session's heartbeats, on a database storage with a heartbeat interval.

    Use it as a context manager (the thread runs inside). Where the storage has no heartbeat
    (in memory, journal files) every method does nothing.

    Args:
        study: The study.
    """

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.interval = _interval(study._storage)
        grace = getattr(study._storage, "grace_period", None)
        #: Seconds without a heartbeat before a trial is stale (None without heartbeats).
        self.grace = None if self.interval is None else float(grace or 2 * self.interval)
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_check = 0.0

    @property
    def enabled(self) -> bool:
        """Whether the storage keeps heartbeats (so stale trials can be found)."""
        return self.interval is not None

    def track(self, trial: optuna.Trial) -> None:
        """Beat for ``trial`` from now until :meth:`forget` (the first beat is written now)."""
        if not self.enabled:
            return
        with self._lock:
            self._ids.add(trial._trial_id)
        self._beat(trial._trial_id)

    def forget(self, trial: optuna.Trial | int) -> None:
        """Stop beating for a trial that was told (or given up)."""
        trial_id = trial if isinstance(trial, int) else trial._trial_id
        with self._lock:
            self._ids.discard(trial_id)

    def _beat(self, trial_id: int) -> None:
        try:
            storage: Any = self.study._storage
            storage.record_heartbeat(trial_id)
        except Exception as exc:  # noqa: BLE001 - a missed beat is retried next interval
            warnings.warn(f"could not record a heartbeat for trial id {trial_id}: {exc}",
                          stacklevel=2)

    def _run(self) -> None:
        assert self.interval is not None
        while not self._stop.wait(self.interval):
            with self._lock:
                ids = sorted(self._ids)
            for trial_id in ids:
                self._beat(trial_id)

    def check(self, force: bool = False) -> list[int]:
        """Fail and enqueue again the study's stale trials (at most once per interval, unless
        ``force``); return their numbers."""
        if not self.enabled:
            return []
        now = time.monotonic()
        if not force and now < self._next_check:
            return []
        assert self.interval is not None
        self._next_check = now + self.interval
        return fail_stale(self.study)

    def __enter__(self) -> Heartbeat:
        if self.enabled and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="tunelab-heartbeat",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
