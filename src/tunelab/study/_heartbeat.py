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

import optuna

from tunelab.study._storage import (
    HEARTBEAT_REASON,
    fail_stale,
    heartbeat_settings,
    record_heartbeat,
    trial_id,
)

__all__ = ["HEARTBEAT_REASON", "Heartbeat", "fail_stale"]


class Heartbeat:
    """One session's heartbeats, on a database storage with a heartbeat interval.

    Use it as a context manager (the thread runs inside). Where the storage has no heartbeat
    (in memory, journal files) every method does nothing.

    Args:
        study: The study.
    """

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        #: Seconds between beats, and without one before a trial is stale (None, None
        #: without heartbeats).
        self.interval, self.grace = heartbeat_settings(study)
        self._ids: dict[int, int] = {}  # trial number -> the storage's trial id
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
        tid = trial_id(self.study, trial.number)
        with self._lock:
            self._ids[trial.number] = tid
        self._beat(tid)

    def forget(self, trial: optuna.Trial | int) -> None:
        """Stop beating for a trial (or trial number) that was told, or given up."""
        number = trial if isinstance(trial, int) else trial.number
        with self._lock:
            self._ids.pop(number, None)

    def _beat(self, tid: int) -> None:
        try:
            record_heartbeat(self.study, tid)
        except Exception as exc:  # noqa: BLE001 - a missed beat is retried next interval
            warnings.warn(f"could not record a heartbeat for trial id {tid}: {exc}",
                          stacklevel=2)

    def _run(self) -> None:
        assert self.interval is not None
        while not self._stop.wait(self.interval):
            with self._lock:
                ids = sorted(self._ids.values())
            for tid in ids:
                self._beat(tid)

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
