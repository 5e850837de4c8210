"""What a cohort's answer means: which slots end, fail, go to the pruner, or are pruned.

:class:`~tunelab.study.CohortScheduler` reads an executor's answer for one lane into plain
data (the trial number in each slot, and each slot's report), and :func:`decide_round`
decides, as Ray Tune's schedulers decide from a trial's result, what becomes of every slot:
the reports that belong to the trial in their slot, the trials that ended (done, early
stopped, diverged, stopped) or fail, the slots the pruner is asked about, and whether the
cohort failed as a whole (the lane closes). The pruner's answers are the storage's (Optuna's
pruners read the study), so the scheduler asks them and hands them back as plain data to
:meth:`RoundActions.prunes`. :func:`over_budget` picks the trials an epoch budget ends, and
:func:`decide_best` whether a finished trial's model is saved as the best so far (or as one
on the Pareto front). Nothing here reads or writes anything; the scheduler and the recorder
gather the plain inputs and apply the answers, and each stop and save travels in the lane's
next request.

Example:
    >>> view = LaneView(slots=(3, 4, None), running=frozenset({0}))
    >>> actions = decide_round(view, [SlotReportView(0, 3, "running"),
    ...                               SlotReportView(1, 4, "done")])
    >>> actions.taken, dict(actions.ends), actions.ask
    ((0, 1), {1: <TrialStatus.DONE: 'done'>}, (0,))
    >>> actions.prunes({0: True})
    (0,)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tunelab.runs import SlotStatus
from tunelab.study._objective import better
from tunelab.study._status import TrialStatus

__all__ = ["LOST", "BestSave", "LaneView", "RoundActions", "SlotReportView", "Standing",
           "decide_best", "decide_round", "over_budget"]

#: Why a trial fails when the engine stopped its slot without a report.
LOST = "error: the engine stopped this slot without a report"


@dataclass(frozen=True)
class LaneView:
    """A lane's cohort and the executor's answer about it, as plain data.

    Attributes:
        slots: The trial number in each slot (None: free), before the answer.
        running: The slots the engine still runs after the step.
        error: The cohort's error, when it failed as a whole.
        assign_errors: Slot -> why the engine could not start the trial assigned to it.
    """

    slots: tuple[int | None, ...]
    running: frozenset[int] = frozenset()
    error: str | None = None
    assign_errors: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SlotReportView:
    """One slot's report, as plain data.

    Attributes:
        slot: The slot.
        tag: The trial it trained.
        status: The engine's slot status after the step (``running``, ``done``, ...).
        partial: A mid-epoch value (for the pruner only), not an epoch.
    """

    slot: int
    tag: int
    status: str
    partial: bool = False


@dataclass(frozen=True)
class RoundActions:
    """What :func:`decide_round` decided for one lane's answer, in the order to apply it.

    Attributes:
        close: The cohort failed: every trial in it fails with its reason in ``fails``, and
            the lane closes.
        fails: Slot -> why its trial fails now (a failed cohort, or a trial that could not
            start); its slot is freed.
        taken: The slots whose report belongs to the trial in them (a report of a trial the
            slot no longer holds is ignored), in slot order: each is recorded.
        ends: Slot -> how its trial ended on its own; after its report, it is told and its
            slot freed.
        bad: Slot -> why its trial fails after its report (an unknown status); its slot is
            freed.
        ask: The slots whose recorded value the pruner is asked about, once every report
            is recorded (slots at one rung compete there together).
        lost: Slots whose trial fails with :data:`LOST` once the pruned are stopped: the
            engine no longer runs them and sent no report that ended them.
    """

    close: bool = False
    fails: Mapping[int, str] = field(default_factory=dict)
    taken: tuple[int, ...] = ()
    ends: Mapping[int, TrialStatus] = field(default_factory=dict)
    bad: Mapping[int, str] = field(default_factory=dict)
    ask: tuple[int, ...] = ()
    lost: tuple[int, ...] = ()

    def prunes(self, verdicts: Mapping[int, bool]) -> tuple[int, ...]:
        """The slots to stop as pruned, given the pruner's answer for slots in :attr:`ask`
        (an answer about a slot not asked about is ignored)."""
        return tuple(slot for slot in self.ask if verdicts.get(slot, False))


def decide_round(view: LaneView, reports: Sequence[SlotReportView]) -> RoundActions:
    """Decide what becomes of a lane's slots after the executor's answer.

    A failed cohort fails every trial in it and closes the lane; its reports are ignored.
    Otherwise a trial that could not start fails; a report counts when its slot still
    holds its trial; a running (or mid-epoch) report goes to the pruner, a finished one ends
    its trial with the engine's status (an unknown status fails it); a trial whose slot the
    engine no longer runs, with no report that ended it, fails as lost.

    Args:
        view: The lane before the answer, and the answer's error, running slots and
            assignment errors.
        reports: The slots' reports.

    Example:
        >>> decide_round(LaneView(slots=(1, None), error="boom"), []).fails
        {0: 'error: boom'}
    """
    holds = list(view.slots)
    if view.error is not None:
        reason = "error: " + (view.error.strip().splitlines() or [""])[0]
        return RoundActions(close=True, fails={s: reason for s, n in enumerate(holds)
                                               if n is not None})
    fails: dict[int, str] = {}
    for slot, message in sorted(view.assign_errors.items()):
        if 0 <= slot < len(holds) and holds[slot] is not None:
            fails[slot] = f"could not start: {message}"
            holds[slot] = None
    taken: list[int] = []
    ends: dict[int, TrialStatus] = {}
    bad: dict[int, str] = {}
    ask: list[int] = []
    for report in sorted(reports, key=lambda r: r.slot):
        slot = report.slot
        if not 0 <= slot < len(holds) or holds[slot] != report.tag:
            continue
        taken.append(slot)
        if report.partial or report.status == SlotStatus.RUNNING:
            ask.append(slot)
            continue
        holds[slot] = None
        try:
            ends[slot] = TrialStatus(report.status)
        except ValueError:
            bad[slot] = ("error: the engine ended this slot with an unknown status"
                         f" {report.status!r}")
    lost = tuple(s for s, n in enumerate(holds) if n is not None and s not in view.running)
    return RoundActions(fails=fails, taken=tuple(taken), ends=ends, bad=bad, ask=tuple(ask),
                        lost=lost)


def over_budget(epochs: Mapping[int, int], room: int) -> tuple[int, ...]:
    """The slots an epoch budget ends: all but ``room`` of the running ones, those with the
    fewest epochs first (of equal ones, the later slot first).

    Args:
        epochs: Slot -> epochs its trial has trained, for every running slot.
        room: Slots the budget can pay one more step for.

    Example:
        >>> over_budget({0: 3, 1: 1, 2: 1, 3: 5}, room=2)
        (2, 1)
    """
    excess = len(epochs) - max(0, room)
    if excess <= 0:
        return ()
    order = sorted(epochs, key=lambda slot: (epochs[slot], -slot))
    return tuple(order[:excess])


@dataclass(frozen=True)
class Standing:
    """A completed trial's number and objective values, as plain data.

    Attributes:
        number: The trial's number.
        values: Its value for each objective, in the study's order.
    """

    number: int
    values: tuple[float, ...]


@dataclass(frozen=True)
class BestSave:
    """What :func:`decide_best` decided for a finished trial's model.

    Attributes:
        save: Write the trial's model (in the lane's next request).
        claim: Once written, it is to become ``best.keras`` if its trial is still the study's
            best then (single objective). A model on the Pareto front is saved and claims
            nothing: several objectives have no one best model.
    """

    save: bool = False
    claim: bool = False


def decide_best(trial: Standing, best: Sequence[Standing],
                directions: Sequence[str]) -> BestSave:
    """Whether a trial just completed has the best model so far, to save.

    With one objective, the trial is the new best when its value is strictly better than the
    study's best before it (an equal value leaves the earlier trial best, as Optuna's
    storage keeps it; a best that is not a finite number is beaten), or when nothing
    completed before it. With several, the trial joins
    the Pareto front unless a trial on the front before it dominates it (as good in every
    objective and better in one; a trial equal to one on the front joins it). A value that
    is not a finite number (NaN, infinite) is never best.

    Args:
        trial: The trial just completed.
        best: The study's best trial (single objective; empty: none), or the trials on its
            Pareto front (several objectives), as the storage has them before or after the
            trial was told: the trial itself is ignored there.
        directions: ``"minimize"`` or ``"maximize"`` for each objective.

    Example:
        >>> decide_best(Standing(4, (0.91,)), [Standing(2, (0.90,))], ["maximize"])
        BestSave(save=True, claim=True)
        >>> decide_best(Standing(5, (0.2, 9.0)), [Standing(1, (0.1, 8.0))],
        ...             ["minimize", "minimize"])
        BestSave(save=False, claim=False)
    """
    if len(trial.values) != len(directions):
        raise ValueError(f"trial {trial.number} has {len(trial.values)} values for"
                         f" {len(directions)} objectives")
    if not all(math.isfinite(v) for v in trial.values):
        return BestSave()
    # Every objective as one to minimise.
    signs = tuple(-1.0 if d == "maximize" else 1.0 for d in directions)
    mine = tuple(s * v for s, v in zip(signs, trial.values, strict=True))
    others = [tuple(s * v for s, v in zip(signs, b.values, strict=True)) for b in best
              if b.number != trial.number]
    if len(directions) == 1:
        wins = all(better(mine[0], o[0], "minimize") for o in others)
        return BestSave(save=wins, claim=wins)
    dominated = any(all(o <= m for o, m in zip(other, mine, strict=True)) and other != mine
                    for other in others)
    return BestSave(save=not dominated)
