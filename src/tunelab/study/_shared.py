"""A study's totals as its storage has them, for sessions that share the study.

Any number of sessions (processes on one machine or on many) may run one study through one
storage. ``trials`` and ``epoch_budget`` are the study's totals, so a session reads them from
the storage, not from its own counters:

- **trials**: a session asks for a new trial only while the study's *claimed* trials are
  fewer than ``trials``. Claimed are those finished that count (complete, pruned, failed;
  not ``retried``) and those asked and not yet told (running, or waiting to run: a retry
  copy replaces the trial it retries). The count is read before every ask, so sessions that
  ask at the same moment overshoot by at most one trial each, never by a cohort.
- **epochs**: with an ``epoch_budget`` every running trial keeps its epochs so far in its
  ``epochs`` user attribute, and the study's epochs are the sum over its trials that count.
  A session re-reads that sum every round while another session is running trials (and
  every second otherwise, to notice one that joins); between reads it adds its own epochs.

Example:
    >>> import optuna
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study()
    >>> ledger = StudyLedger(study, target=3)
    >>> _ = study.ask(); ledger.room()
    2
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.trial import TrialState

from tunelab.study._status import counts, epochs_of
from tunelab.study._storage import OWNER_ATTR, storage_of

__all__ = ["StudyLedger"]

#: Seconds between re-reads of the study's epochs while no other session is seen running.
_QUIET_SYNC = 1.0


def _same_owner(a: Any, b: Mapping[str, Any]) -> bool:
    return isinstance(a, Mapping) and all(a.get(k) == b.get(k) for k in ("host", "pid", "start"))


class StudyLedger:
    """Reads a study's shared totals from its storage.

    Args:
        study: The study.
        target: The study's ``trials``.
        owner: This session's owner token (see :func:`tunelab.study.owner_token`); trials
            with another owner belong to other sessions.
    """

    def __init__(self, study: optuna.Study, target: int,
                 owner: Mapping[str, Any] | None = None) -> None:
        self.study, self.target = study, int(target)
        self.owner = dict(owner or {})
        self.storage = storage_of(study)
        self.study_id = self.storage.get_study_id_from_name(study.study_name)
        self._fails = -1  # FAIL trials when the retried ones were last counted
        self._retried = 0
        self._epochs = 0  # the study's epochs at the last read
        self._read_at = -1.0
        self._others = False
        self._read_local = 0.0  # the caller's own epochs at the last read
        self._count = -1  # trials in the study at the last read, plus this session's asks

    # -- trials --------------------------------------------------------------------------------

    def _retried_count(self) -> int:
        fails = self.storage.get_n_trials(self.study_id, TrialState.FAIL)
        if fails != self._fails:
            failed = self.study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
            self._retried = sum(1 for t in failed if not counts(t))
            self._fails = fails
        return self._retried

    def claimed(self) -> int:
        """Trials that count toward ``trials`` or will once told (see the module's text)."""
        return self.storage.get_n_trials(self.study_id) - self._retried_count()

    def room(self) -> int:
        """New trials the study may still start (never below 0)."""
        return max(0, self.target - self.claimed())

    def waiting(self) -> int:
        """Trials enqueued and not yet asked (retries of a dead session's trials, first)."""
        return int(self.storage.get_n_trials(self.study_id, TrialState.WAITING))

    def others_running(self) -> bool:
        """Whether trials of another session are running now."""
        return bool(self.others_trials())

    def others_trials(self) -> frozenset[int]:
        """The numbers of the trials other sessions are running now."""
        running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        return frozenset(t.number for t in running
                         if not _same_owner(t.user_attrs.get(OWNER_ATTR), self.owner))

    # -- epochs --------------------------------------------------------------------------------

    def sync_epochs(self, local: float, held: int, force: bool = False) -> None:
        """Re-read the study's epochs when due (see the module's text).

        Args:
            local: This session's own count of epochs trained, now.
            held: Trials this session holds now (asked, not told).
            force: Read whatever the counts say.
        """
        now = time.monotonic()
        running = self.storage.get_n_trials(self.study_id, TrialState.RUNNING)
        # Another session is at work when the study runs more trials than this one holds,
        # or has trials this session has not seen (finished since the last read).
        count = self.storage.get_n_trials(self.study_id)
        joined = running > held or count != self._count
        if not (force or joined or self._others or now - self._read_at >= _QUIET_SYNC):
            return
        trials = self.study.get_trials(deepcopy=False)
        self._epochs = sum(epochs_of(t) for t in trials if counts(t))
        self._others = any(t.state == TrialState.RUNNING and not _same_owner(
            t.user_attrs.get(OWNER_ATTR), self.owner) for t in trials)
        self._read_at, self._read_local, self._count = now, local, len(trials)

    def seen(self, asked: int = 1) -> None:
        """This session asked ``asked`` trials (so the study's count is expected to grow)."""
        self._count += asked

    def epochs(self, local: float) -> float:
        """The study's epochs: those at the last :meth:`sync_epochs`, plus what this session
        trained since (``local`` is its own count, now)."""
        return self._epochs + local - self._read_local
