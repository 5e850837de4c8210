"""Asking the sampler for trials, and the trials asked that wait for a cohort of their structure.

A :class:`TrialAsker` is the scheduler's one door to ``study.ask``: it keeps the session's
trial budget (``asked`` of ``budget``; in a shared study, also the room the storage leaves),
turns each asked trial into a :class:`~tunelab.study.Live` with its configuration and
structure key (a trial whose configuration is invalid fails at once), and holds the trials
asked for another structure than the running cohort's until a cohort of theirs opens.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError

from tunelab.config import RunConfig
from tunelab.errors import TunelabError
from tunelab.study._heartbeat import Heartbeat
from tunelab.study._padding import Padder
from tunelab.study._recorder import Live, Recorder
from tunelab.study._samplers import CohortSampler
from tunelab.study._shared import StudyLedger
from tunelab.study._space import Space
from tunelab.study._status import RETRY_OF_ATTR
from tunelab.study._storage import OWNER_ATTR

__all__ = ["TrialAsker"]


class TrialAsker:
    """Asks trials within the session's budget and keeps those waiting for their cohort.

    Args:
        study, sampler, space, base: The study, its :class:`CohortSampler`, the search space
            and the configuration every trial starts from.
        pad: Sets padded hidden widths on a trial's engine configuration (or None).
        engine_key: The engine's structure key of a configuration.
        heartbeat: Tracks each asked trial (database storage).
        recorder: Fails a trial whose configuration is invalid.
        budget: Trials this session may start.
        owner: This session's token (host, pid, start), stored on its trials.
        ledger: The shared study's books (None: this session alone counts).
    """

    def __init__(self, *, study: optuna.Study, sampler: CohortSampler, space: Space,
                 base: RunConfig, pad: Padder | None,
                 engine_key: Callable[[RunConfig], Hashable], heartbeat: Heartbeat,
                 recorder: Recorder, budget: int, owner: dict[str, Any],
                 ledger: StudyLedger | None) -> None:
        self.study, self.sampler, self.space, self.base = study, sampler, space, base
        self.pad, self.engine_key = pad, engine_key
        self.heartbeat, self.recorder, self.ledger = heartbeat, recorder, ledger
        self.budget, self.owner = budget, owner
        self.asked = 0  # trials this session started asking (retries of others' excluded)
        self.pending: dict[Hashable, deque[Live]] = {}
        self._asks = 0  # every ask, retries included (the ledger's reads are per ask)
        self._shared_view: tuple[int, int, int] | None = None  # (asks, room, waiting)

    @property
    def left(self) -> int:
        """Trials of this session's budget not asked yet."""
        return self.budget - self.asked

    def may_ask(self) -> bool:
        """Whether the budget (the study's, when shared) has room for another trial."""
        if self.sampler.exhausted:
            return False
        if self.ledger is None:
            return self.asked < self.budget
        room, waiting = self._shared_room()
        return (self.asked < self.budget and room > 0) or waiting > 0

    def forget_room(self) -> None:
        """Read the shared study's room again at the next ask (retries may be waiting)."""
        self._shared_view = None

    def _shared_room(self) -> tuple[int, int]:
        """The study's room for new trials and its waiting trials, read once per ask."""
        assert self.ledger is not None
        view = self._shared_view
        if view is None or view[0] != self._asks:
            view = self._shared_view = (self._asks, self.ledger.room(), self.ledger.waiting())
        return view[1], view[2]

    def ask(self, fixed: dict[str, Any] | None) -> Live | None:
        """A new trial with its configuration, or None (budget spent or a bad configuration).

        ``fixed``: parameters the sampler must keep (a cohort's structure), or None.
        """
        if not self.may_ask():
            return None
        with self.sampler.fixed(fixed), warnings.catch_warnings():
            # PartialFixedSampler warns on every fixed value; Optuna on every ask with
            # heartbeats outside Study.optimize (tunelab beats itself: see Heartbeat).
            warnings.simplefilter("ignore")
            trial = self.study.ask()
            self._asks += 1
            if self.ledger is not None:
                self.ledger.seen()
            self.heartbeat.track(trial)
            # A retry of another session's trial replaces a trial the study has counted.
            retry = self.ledger is not None and RETRY_OF_ATTR in trial.user_attrs
            if not retry:
                self.asked += 1
            values = self.space.suggest(trial)
        try:
            trial.set_user_attr(OWNER_ATTR, self.owner)
        except UpdateFinishedTrialError:  # another session took it for a dead one's
            self.heartbeat.forget(trial)
            return None
        try:
            cfg = self.space.apply(self.base, values)
            train = self.pad(cfg) if self.pad is not None else None
            key = self.engine_key(train if train is not None else cfg)
        except TunelabError as exc:
            self.recorder.failed(trial, f"invalid configuration: {exc}", None, {})
            return None
        return Live(trial, values, cfg, key, train=train)

    # -- trials waiting for a cohort of their structure ----------------------------------------

    def queue(self, live: Live) -> None:
        self.pending.setdefault(live.key, deque()).append(live)

    def pop(self, key: Hashable) -> Live | None:
        """The oldest waiting trial of structure ``key`` (None when none waits)."""
        queue = self.pending.get(key)
        if not queue:
            return None
        live = queue.popleft()
        if not queue:
            del self.pending[key]
        return live

    def pop_largest(self) -> Live | None:
        """The oldest trial of the structure with the most waiting (None when none waits)."""
        if not self.pending:
            return None
        return self.pop(max(self.pending, key=lambda k: len(self.pending[k])))

    def waiting(self, key: Hashable | None = None) -> int:
        """Trials waiting for a cohort of their own, other than those of structure ``key``."""
        return sum(len(q) for k, q in self.pending.items() if k != key)
