"""A study session: the policy the one driver loop (:func:`tunelab.execute.drive`) runs.

The session asks the sampler for trials, groups them by structure (the engine's
``structure_key``), and sends each group to an executor lane as a cohort of up to ``width``
slots. After every epoch it reports each slot's value to its trial, asks the pruner, and
tells finished trials. A slot freed by pruning, early stopping, divergence or the end of its
epochs is refilled in the next request with a trial of the same structure (the sources
:meth:`CohortPolicy.refill` names, in order):

1. a trial already asked whose structure matches (one the sampler chose freely earlier);
2. else a fresh trial from the sampler; if its structure differs it waits for its own
   cohort, and the slot gets a trial asked with the structural parameters fixed to the
   cohort's (Optuna's ``PartialFixedSampler``), the rest chosen by the sampler.

When another structure has a full cohort waiting, the current cohort stops taking new trials
and drains, so the sampler's own structure choices are all trained. The executor never sees
the study: pruning verdicts travel as ``stops`` in the next request.

A small budget (fewer trials than full cohorts for every structure) must not be spent on the
first structure the sampler happens to draw. Then cohorts are narrower (half the budget's
share per structure), a cohort drains after starting its share while others wait, and the
first trials are asked freely (a batch at a time, grouped by structure, never forced into
the running cohort's structure), so the sampler's structural choices are explored. Large
budgets keep full cohorts.

The scheduler keeps the books (lanes, waiting trials, what was compiled, the session's
figures) and does the I/O; every decision above is its :class:`~tunelab.study.CohortPolicy`'s,
made from plain numbers (the two that trade idle slots against a compilation go through the
one cost model, :func:`~tunelab.study.pays_to_compile`), and what an answer means for each
slot (ended, failed, lost, asked about, pruned, over the epoch budget) is decided from plain
data by :mod:`tunelab.study._decide`.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError

from tunelab._interrupt import latched
from tunelab.config import RunConfig
from tunelab.execute import Assignment, Executor, SlotReport, StepRequest, StepResult, drive
from tunelab.study._asking import TrialAsker
from tunelab.study._cost import measured_prices
from tunelab.study._decide import LOST, LaneView, SlotReportView, decide_round, over_budget
from tunelab.study._heartbeat import Heartbeat
from tunelab.study._lane import Lane
from tunelab.study._objective import Objective
from tunelab.study._padding import Padder, structure_count
from tunelab.study._policy import CohortPolicy, Refill, SlotView
from tunelab.study._recorder import Live, Recorder, TrialCallback
from tunelab.study._rundir import RunDir
from tunelab.study._samplers import CohortSampler
from tunelab.study._session import SessionSettings
from tunelab.study._shared import StudyLedger
from tunelab.study._sizing import KeyFn, epochs_trained, expected_trials, structural_names
from tunelab.study._space import Space
from tunelab.study._stats import Progress, SessionStats
from tunelab.study._status import TrialStateName, TrialStatus, epochs_in
from tunelab.study._storage import owner_token, retire

__all__ = ["CohortScheduler"]


class CohortScheduler:
    """Drives one study session: asks, trains cohorts through an executor, reports, tells.

    Args:
        study: The Optuna study (created with ``sampler``).
        sampler: The study's :class:`CohortSampler`.
        space: The search space.
        base: The configuration every trial starts from.
        objective: What is optimised.
        executor: Where cohorts train (started and closed here).
        run_dir: Where trial artifacts and the best model go.
        settings: The session's settings (trials, width, timeout, epoch budget, ...).
        key_fn: The engine's ``structure_key``.
        pad: Sets the padded hidden widths on a trial's configuration (see
            :func:`tunelab.study.padder`); the trial's own configuration stays unpadded.
        on_progress: Called with a :class:`Progress` after every round.
        callbacks: Called in order with the study and the told ``FrozenTrial`` right after
            each trial is told COMPLETE, PRUNED or FAIL (``Study.optimize``'s contract).
    """

    def __init__(
        self,
        *,
        study: optuna.Study,
        sampler: CohortSampler,
        space: Space,
        base: RunConfig,
        objective: Objective,
        executor: Executor,
        run_dir: RunDir,
        settings: SessionSettings,
        key_fn: KeyFn,
        pad: Padder | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        callbacks: Sequence[TrialCallback] = (),
    ) -> None:
        self.study, self.sampler, self.space, self.base = study, sampler, space, base
        self.objective, self.executor, self.run_dir = objective, executor, run_dir
        self.settings, self.pad, self.on_progress = settings, pad, on_progress
        budget = max(0, int(settings.trials))
        self._engine_key = key_fn
        self.key_fn: KeyFn = key_fn if pad is None else self._padded_key
        self.total = settings.total if settings.total is not None else budget
        self.max_epochs = (settings.max_epochs if settings.max_epochs is not None
                           else base.training.epochs)
        self.structural = structural_names(space, base, self.key_fn)
        structures = structure_count(space, self.structural)
        epoch_budget = settings.epoch_budget
        self.epochs_before = epochs_trained(study) if epoch_budget is not None else 0
        # The trials this session can expect to start: the trial budget, or fewer when an
        # epoch budget runs out first.
        expected = expected_trials(budget, epoch_budget, self.epochs_before,
                                   settings.expected_epochs or self.max_epochs)
        self.policy = CohortPolicy.for_session(
            expected=expected, width=settings.width, structures=structures,
            lanes=executor.lanes, epoch_budget=epoch_budget is not None)
        if not settings.fix_structure:
            self.structural = []
        self.stats = SessionStats(width=self.width)
        self.lanes = [Lane(i, self.width) for i in range(executor.lanes)]
        owner = owner_token()
        self._deadline: float | None = None
        self.heartbeat = Heartbeat(study)
        self.ledger = StudyLedger(study, self.total, owner) if settings.shared else None
        self.recorder = Recorder(study, objective, run_dir, self.stats,
                                 heartbeat=self.heartbeat,
                                 track_epochs=settings.shared and epoch_budget is not None,
                                 parts=settings.parts, callbacks=callbacks)
        self._widths: set[tuple[Hashable, int]] = set()  # (structure, width) compiled so far
        self.asker = TrialAsker(study=study, sampler=sampler, space=space, base=base, pad=pad,
                                engine_key=key_fn, heartbeat=self.heartbeat,
                                recorder=self.recorder, budget=budget, owner=owner,
                                ledger=self.ledger)
        self.pending = self.asker.pending  # trials asked, waiting for a cohort of theirs

    @property
    def width(self) -> int:
        """Slots per cohort in this session (see :class:`CohortPolicy`)."""
        return self.policy.width

    def _padded_key(self, cfg: RunConfig) -> Hashable:
        assert self.pad is not None
        return self._engine_key(self.pad(cfg))

    # -- budget and asking ---------------------------------------------------------------------

    def _may_ask(self) -> bool:
        return not (self._expired() or self._no_room()) and self.asker.may_ask()

    def epochs_used(self) -> float:
        """Training epochs spent on the study: earlier sessions' and this one's (and, in a
        shared study, the other sessions' as the storage had them at the round's start)."""
        if self.ledger is not None and self.settings.epoch_budget is not None:
            return self.ledger.epochs(self.stats.slot_epochs)
        return self.epochs_before + self.stats.slot_epochs

    def _no_room(self) -> bool:
        """Whether the epoch budget has no epoch left for one more trial, counting one epoch
        for every slot already running."""
        if self.settings.epoch_budget is None:
            return False
        running = sum(len(lane.running()) for lane in self.lanes)
        return self.epochs_used() + running >= self.settings.epoch_budget

    def _expired(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _near_deadline(self) -> bool:
        """Whether a trial asked now for another structure than a running cohort's might
        wait past the timeout: less time is left than the cohorts ahead of it (one per
        structure already waiting, and one for its own) take to train their trials to the
        end, at the speed measured so far."""
        if self._deadline is None or not self.stats.cohort_epochs:
            return False
        per_epoch = self.stats.train_seconds / self.stats.cohort_epochs
        ahead = sum(1 for queue in self.pending.values() if queue)
        return self._deadline - time.monotonic() < per_epoch * self.max_epochs * (1 + ahead)

    def _ask_valid(self, fixed: dict[str, Any] | None) -> Live | None:
        """A valid new trial (invalid ones fail and another is asked), or None."""
        while self._may_ask():
            live = self.asker.ask(fixed)
            if live is not None:
                return live
        return None

    def _should_drain(self, lane: Lane) -> bool:
        """Whether ``lane``'s cohort takes no new trial (:meth:`CohortPolicy.drains`)."""
        return self.policy.drains(lane.key, lane.started,
                                  {k: len(q) for k, q in self.pending.items()})

    def _take(self, lane: Lane) -> Live | None:
        """A trial for a free slot of ``lane``'s cohort, or None to leave it free: the
        sources :meth:`CohortPolicy.refill` names, in order, until one gives a trial of the
        cohort's structure (a proposal of another structure waits for its own cohort)."""
        if self._no_room():
            return None
        # After the timeout no trial is asked, but those asked before it all train (an asked
        # trial is a started one, as in Optuna): none is left unstarted.
        assert lane.key is not None
        view = SlotView(
            key=lane.key, started=lane.started,
            waiting={k: len(q) for k, q in self.pending.items()}, asked=self.asker.asked,
            left=self.asker.left, can_ask=self._may_ask(), near_deadline=self._near_deadline(),
            can_fix=self.settings.fix_structure and lane.fixed is not None,
            closing=lane.narrowed or self._deep(lane))
        for source in self.policy.refill(view):
            if source == Refill.WAITING:
                live = self.asker.pop(lane.key)
                if live is not None:
                    return live
                continue
            live = self._ask_valid(lane.fixed if source == Refill.FIXED else None)
            if live is None or live.key == lane.key:
                return live
            self.asker.queue(live)
            if source == Refill.EXPLORE:
                return None
        return None

    def _deep(self, lane: Lane) -> bool:
        """Whether ``lane`` holds a trial that has trained ``depth_first`` epochs or more."""
        deep = self.settings.depth_first
        return deep is not None and any(epochs_in(live.logs) >= deep for live in lane.running())

    def _take_any(self) -> Live | None:
        """The first trial of a new cohort: the largest waiting group, else a fresh ask."""
        if self._no_room():
            return None
        if self._expired() or self._near_deadline():
            # Trials asked before the timeout train after it; none is asked to wait.
            if self.pending:
                return self.asker.pop_largest()
            return None if self._expired() else self._ask_valid(None)
        if not self.pending and self.policy.explores(self.asker.asked):
            # Explore: a batch of free proposals, grouped; the largest group opens a cohort.
            for _ in range(min(self.width, self.policy.explore - self.asker.asked)):
                live = self._ask_valid(None)
                if live is None:
                    break
                self.asker.queue(live)
        if self.pending:
            return self.asker.pop_largest()
        return self._ask_valid(None)

    # -- requests ------------------------------------------------------------------------------

    def _place(self, lane: Lane, slot: int, live: Live, request: StepRequest) -> None:
        lane.slots[slot] = live
        lane.started += 1
        # The trial's folder takes its callbacks' files (a CSV log, a checkpoint).
        request.assigns[slot] = Assignment(live.engine_cfg.model_dump(mode="json"), live.number,
                                           out_dir=str(self.run_dir.trial_dir(live.number)),
                                           report_at=list(self.settings.report_at))
        self.stats.started += 1

    def _width_for(self, key: Hashable) -> int:
        """The width of a new cohort of structure ``key`` (:meth:`CohortPolicy.new_width`)."""
        can_fill = 1 + len(self.pending.get(key, ())) + self.asker.left
        return self.policy.new_width(
            can_fill=can_fill, epochs=self.max_epochs,
            prices=measured_prices(self.stats, len(self._widths)),
            compiled=lambda width: (key, width) in self._widths)

    def _refill(self, lane: Lane, request: StepRequest) -> None:
        for slot in range(lane.width):
            if lane.slots[slot] is None and slot not in request.assigns:
                live = self._take(lane)
                if live is None:
                    return
                self._place(lane, slot, live, request)

    def _dispatch(self, lane: Lane) -> StepRequest | None:
        request = StepRequest(width=lane.width, saves=lane.saves, stops=lane.stops)
        lane.saves, lane.stops = {}, {}
        if lane.key is not None:
            self._refill(lane, request)
            if not lane.running():
                lane.close()
        if lane.key is None:
            first = self._take_any()
            if first is not None:
                request.width = self._width_for(first.key)
                self._widths.add((first.key, request.width))
                lane.open(first.key, request.width, {n: first.trial.params[n] for n in
                                                    self.structural if n in first.trial.params})
                request.template = first.engine_cfg.model_dump(mode="json")
                request.parts = self.settings.parts
                self.stats.cohorts += 1
                self._place(lane, 0, first, request)
                self._refill(lane, request)
        self._end_over_budget(lane, request)
        self._narrow(lane, request)
        request.run_epoch = bool(lane.running())
        return request if request.run_epoch or request.saves else None

    def _narrow(self, lane: Lane, request: StepRequest) -> None:
        """Move a draining cohort's last trials to a narrower cohort when that pays.

        A cohort that gets no new trials computes its idle slots until its last trial ends;
        :meth:`CohortPolicy.narrowed_width` decides whether its trials move on to fewer slots.
        """
        key = lane.key
        if key is None or request.template is not None or request.assigns:
            return
        running = lane.running()
        if not running:
            return
        left = max(self.max_epochs - epochs_in(live.logs) for live in running)
        width = self.policy.narrowed_width(
            running=len(running), width=lane.width, epochs_left=left,
            prices=measured_prices(self.stats, len(self._widths)),
            compiled=lambda w: (key, w) in self._widths)
        if width is None:
            return
        request.keep = lane.narrow(width)
        self._widths.add((key, width))
        self.stats.narrowed += 1

    def _end_over_budget(self, lane: Lane, request: StepRequest) -> None:
        """End the trials of ``lane`` that the epoch budget has no epoch left for.

        They finish with the epochs they trained (status ``budget``), those with the fewest
        epochs first; their models are saved before the cohort stops them.
        """
        budget = self.settings.epoch_budget
        if budget is None:
            return
        busy = self.executor.busy()
        others = sum(len(other.running()) for other in self.lanes
                     if other is not lane and other.index in busy)
        # Slots the budget can pay one more step (an epoch, or a piece of one) for.
        room = max(0, math.floor((budget - self.epochs_used()) * self.settings.parts + 1e-9)
                   - others)
        running = {slot: live for slot, live in enumerate(lane.slots) if live is not None}
        for slot in over_budget({s: epochs_in(live.logs) for s, live in running.items()}, room):
            live, lane.slots[slot] = running[slot], None
            request.stops[slot] = TrialStatus.BUDGET.value
            self._finish(lane, slot, live, TrialStatus.BUDGET, None)
        request.saves.update(lane.saves)
        lane.saves = {}

    # -- results -------------------------------------------------------------------------------

    def _finish(self, lane: Lane, slot: int, live: Live, status: TrialStatus,
                engine_history: dict[str, list[float]] | None) -> None:
        try:
            path = self.recorder.finish(live, status, engine_history)
        except UpdateFinishedTrialError:
            self._taken_over(live)
            return
        if path is not None:
            lane.saves[slot] = path

    def _taken_over(self, live: Live, lane: Lane | None = None, slot: int = -1) -> None:
        """Another session failed this trial (its heartbeat looked stale) and retries it: let
        it go, unrecorded, and stop it in ``lane``'s ``slot`` if it trains there still."""
        if lane is not None and lane.slots[slot] is live:
            lane.stop(slot, TrialStatus.STOPPED.value)
        self.heartbeat.forget(live.trial)
        self.stats.taken_over += 1

    def _fail(self, live: Live, reason: str, logs: dict[str, Any],
              detail: str | None = None) -> None:
        try:
            self.recorder.failed(live.trial, reason, live.cfg, logs, detail=detail)
        except UpdateFinishedTrialError:
            self._taken_over(live)

    def _absorb(self, lane: Lane, result: StepResult) -> None:
        """Record ``lane``'s answer and apply what :func:`decide_round` makes of it."""
        self.stats.count_step(result, lane.width)
        for path in result.saved.values():
            self.recorder.saved(path)
        for slot, message in result.save_errors.items():
            warnings.warn(f"could not save the model of slot {slot}: {message}", stacklevel=2)
        view = LaneView(slots=tuple(None if live is None else live.number for live in lane.slots),
                        running=frozenset(result.running), error=result.error,
                        assign_errors=result.assign_errors)
        actions = decide_round(view, [SlotReportView(slot, r.tag, r.status, r.partial)
                                      for slot, r in result.slots.items()])
        for slot, reason in actions.fails.items():
            live, lane.slots[slot] = lane.slots[slot], None
            assert live is not None
            self._fail(live, reason, live.logs if actions.close else {},
                       detail=result.error if actions.close else None)
        if actions.close:
            lane.close()
            return
        epoch = next((r for r in result.slots.values() if not r.partial), None)
        if epoch is not None and not self.recorder.checked:
            self.recorder.check_metrics(epoch.log)
        share = 1.0 / max(1, result.trained)
        # Every slot's value is reported before the pruner is asked about any of them: slots
        # that reach a rung together compete there together.
        asked: dict[int, Live] = {}
        for slot in actions.taken:
            live, report = lane.slots[slot], result.slots[slot]
            assert live is not None
            if slot in actions.ends or slot in actions.bad:
                lane.slots[slot] = None
            try:
                if self._record(live, report, share) and slot in actions.ask:
                    asked[slot] = live
                if slot in actions.bad:
                    self._fail(live, actions.bad[slot], live.logs)
                elif slot in actions.ends:
                    self._finish(lane, slot, live, actions.ends[slot], report.history)
            except UpdateFinishedTrialError:
                self._taken_over(live, lane, slot)
        verdicts: dict[int, bool] = {}
        for slot, live in asked.items():
            try:
                verdicts[slot] = live.trial.should_prune()
            except UpdateFinishedTrialError:
                self._taken_over(live, lane, slot)
        for slot in actions.prunes(verdicts):
            live = asked[slot]
            lane.stop(slot, TrialStatus.PRUNED.value)
            try:
                self.recorder.pruned(live)
            except UpdateFinishedTrialError:
                self._taken_over(live)
        for slot in actions.lost:
            live, lane.slots[slot] = lane.slots[slot], None
            if live is not None:
                self._fail(live, LOST, live.logs)

    def _record(self, live: Live, report: SlotReport, share: float) -> bool:
        """Record one slot's report (an epoch, or a value mid-epoch); return whether a value
        reached the pruner."""
        if report.partial:  # mid-epoch: a value for the pruner only
            return self.recorder.report_partial(live, report.log)
        for key, value in report.log.items():
            live.logs.setdefault(key, []).append(value)
        seconds = report.log.get("seconds", 0.0)
        live.logs.setdefault("slot_seconds", []).append(seconds * share)
        return self.recorder.report(live)

    # -- the loop ------------------------------------------------------------------------------

    def _unfinished(self) -> list[Live]:
        waiting = [t for queue in self.pending.values() for t in queue]
        return [t for lane in self.lanes for t in lane.running()] + waiting

    def _retire_all(self, reason: str) -> None:
        for live in self._unfinished():
            self.heartbeat.forget(live.trial)
            try:
                retire(self.study, live.trial, live.trial.params, reason)
            except UpdateFinishedTrialError:
                self.stats.taken_over += 1  # another session already retries it
                continue
            self.stats.retried += 1
        self.pending.clear()
        for lane in self.lanes:
            lane.close()

    def progress(self) -> Progress:
        """The numbers a display shows now."""
        counts = self.recorder.counts
        done = sum(counts.values())
        best = self.recorder.best
        best_value, best_trial = best if best is not None else (None, None)
        running = sum(len(lane.running()) for lane in self.lanes)
        return Progress(self.total, done, counts[TrialStateName.COMPLETE],
                        counts[TrialStateName.PRUNED], counts[TrialStateName.FAILED], running,
                        best_value, best_trial, self.objective.metrics[0], self.stats)

    def _emit(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress())

    def _sync(self) -> None:
        """Once per round: the shared study's epochs, and its stale trials (heartbeats)."""
        if self.ledger is not None and self.settings.epoch_budget is not None:
            self.ledger.sync_epochs(self.stats.slot_epochs, held=len(self._unfinished()))
        if self.heartbeat.check():
            self.asker.forget_room()  # retries are waiting: read the room again

    def _linger(self) -> bool:
        """With nothing left to start, wait while other sessions' trials run: if one of them
        dies its trials are failed (heartbeats) and enqueued again, and this session trains
        them. True when there is work again, False when the study is done."""
        if self.ledger is None or not self.heartbeat.enabled:
            return False
        assert self.heartbeat.interval is not None and self.heartbeat.grace is not None
        pause = min(1.0, self.heartbeat.interval / 2)
        # Trials that never change (left RUNNING by a session without heartbeats, which
        # nothing can fail) are not waited for beyond a few grace periods.
        seen: tuple[frozenset[int], int] | None = None
        since = time.monotonic()
        while not (self._expired() or self.sampler.exhausted):
            self.asker.forget_room()
            if self._may_ask():
                return True
            others = self.ledger.others_trials()
            if self._no_room() or not others:
                return False
            now = (others, self.ledger.claimed())
            if now != seen:
                seen, since = now, time.monotonic()
            elif time.monotonic() - since > 3 * self.heartbeat.grace:
                return False
            self._emit()
            time.sleep(pause)
            self._sync()
        return False

    # -- the driver's policy (see tunelab.execute.drive) ---------------------------------------

    def request(self, lane: int) -> StepRequest | None:
        """The next request for idle ``lane``: stops, saves, refills, a new cohort."""
        return self._dispatch(self.lanes[lane])

    def absorb(self, lane: int, result: StepResult) -> None:
        """Take ``lane``'s answer: report, prune, tell."""
        self._absorb(self.lanes[lane], result)

    def idle(self) -> bool:
        """Nothing trains: wait for other sessions' trials (shared studies), or end."""
        return self._linger()

    def waiting(self) -> None:
        """Show the round's progress while it trains."""
        self._emit()

    def after_round(self) -> None:
        """Heartbeats and the shared study's counts, then the display."""
        self._sync()
        self._emit()

    def run(self) -> SessionStats:
        """Train until the budget is spent, the timeout passes, or nothing is left.

        Ctrl-C retires every unfinished trial (FAIL, enqueued again) and re-raises.
        """
        start = time.monotonic()
        if self.settings.timeout is not None:
            self._deadline = start + self.settings.timeout
        self._emit()
        try:
            with latched(), self.heartbeat:
                self.executor.start()
                self._sync()
                drive(self.executor, self)
                if self.pending:
                    self._retire_all("interrupted: not started before the study's epoch"
                                     " budget ran out; retried on resume")
        except KeyboardInterrupt:
            self._retire_all("interrupted: stopped by the user (Ctrl-C); retried on resume")
            raise
        except BaseException as exc:
            self._retire_all(f"interrupted: the study stopped on an error ({exc}); retried on"
                             " resume")
            raise
        finally:
            self.executor.close()
            self.stats.wall_seconds = time.monotonic() - start
            self._emit()
        return self.stats
