"""The cohort scheduler's decisions, apart from its bookkeeping.

:class:`~tunelab.study.CohortScheduler` keeps the lanes, the waiting trials and the study;
this policy decides from plain numbers, as Optuna's pruners decide for a study they do not
own: how wide cohorts are, when a cohort drains so that waiting structures get a turn, when
the sampler proposes freely, how wide a new cohort near the end of the budget is, when a
draining cohort moves to a narrower one, and that a closing cohort (one holding a trial past
``depth_first`` epochs, or one narrowed for its last trials) takes no new trial. The width
decisions trade idle slots against a compilation through the one cost model,
:func:`~tunelab.study._cost.pays_to_compile`.

Example:
    >>> policy = CohortPolicy.for_session(expected=24, width=8, structures=4, lanes=1)
    >>> policy.width, policy.quota, policy.explore  # a small budget: narrow, and explore
    (3, 3, 4)
    >>> CohortPolicy.for_session(expected=200, width=8, structures=4, lanes=1).width
    8
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from tunelab.study._cost import CompileTrade, Prices, pays_to_compile

__all__ = ["CohortPolicy", "Refill", "SlotView"]


class Refill(StrEnum):
    """Where a free slot's next trial comes from (see :meth:`CohortPolicy.refill`)."""

    #: The oldest trial already asked of the cohort's structure.
    WAITING = "waiting"
    #: A free proposal of the sampler; one of another structure waits for its own cohort.
    FREE = "free"
    #: A free proposal; one of another structure waits, and the slot stays free this round.
    EXPLORE = "explore"
    #: A trial asked with the cohort's structural parameters fixed, the rest sampled.
    FIXED = "fixed"


@dataclass(frozen=True)
class SlotView:
    """What :meth:`CohortPolicy.refill` reads about a cohort with a free slot.

    Attributes:
        key: The cohort's structure.
        started: Trials the cohort has started.
        waiting: Trials asked and waiting for a cohort, by structure.
        asked: Trials this session has asked.
        left: Trials of this session's budget not asked yet.
        can_ask: The budget and the clock let a new trial be asked.
        near_deadline: A trial of another structure asked now might wait past the timeout.
        can_fix: Trials can be asked with the cohort's structure fixed (not with grid search).
        closing: The cohort takes no new trial: it holds a trial past the session's
            ``depth_first`` epochs, or it was narrowed for its last trials.
    """

    key: Hashable
    started: int
    waiting: Mapping[Hashable, int]
    asked: int
    left: int
    can_ask: bool = True
    near_deadline: bool = False
    can_fix: bool = True
    closing: bool = False


@dataclass(frozen=True)
class CohortPolicy:
    """How a session sizes and shapes its cohorts.

    Attributes:
        width: Slots per cohort.
        quota: Trials a cohort starts before it drains for waiting structures.
        pool: Proposals of other structures that may wait at once (they end as narrow
            cohorts if the budget runs out).
        explore: The first trials asked freely, so the sampler explores structures (0: none).
        small: Whether the budget is small (see :meth:`for_session`).
    """

    width: int
    quota: int
    pool: int
    explore: int = 0
    small: bool = False

    @classmethod
    def for_session(cls, *, expected: int, width: int, structures: int, lanes: int,
                    epoch_budget: bool = False) -> CohortPolicy:
        """The policy for a session expected to start ``expected`` trials.

        A budget is small when it has fewer trials than a full cohort per structure; with an
        epoch budget, also when a structure's share does not fill a cohort (every round of a
        cohort spends ``width`` epochs, and full-width refills of the first structure drawn
        would spend the budget before the sampler's other structures are tried). A small
        budget gets cohorts of half the fair share per structure (so each structure the
        sampler picks gets two turns or more, and can come back once it has seen results
        elsewhere), drains a cohort after that share, and asks its first trials freely.

        Args:
            expected: Trials the session can expect to start.
            width: The cohort width asked for.
            structures: How many structures the structural parameters can make.
            lanes: Cohorts trained at once (the executor's lanes).
            epoch_budget: Whether an epoch budget is set.
        """
        width = max(1, min(int(width), expected or 1))
        share = max(1, expected // (2 * max(1, structures)))
        small = expected < width * structures or (epoch_budget and share < width)
        if small:
            width = min(width, share)
        return cls(
            width=width,
            quota=max(width, min(4 * width, share)),
            pool=width * max(1, lanes),
            explore=min(expected, max(width, structures)) if small else 0,
            small=small,
        )

    def explores(self, asked: int) -> bool:
        """Whether the next trial is asked freely, to explore structures."""
        return asked < self.explore

    def asks_freely(self, *, waiting: int, left: int) -> bool:
        """Whether a free slot asks the sampler freely (rather than with the structure fixed):
        while fewer than :attr:`pool` trials wait and the budget is not nearly spent."""
        return waiting < self.pool and left > self.width

    def drains(self, key: Hashable, started: int, waiting: Mapping[Hashable, int]) -> bool:
        """Whether the cohort of structure ``key`` takes no new trial, so others get a turn.

        It drains when another structure has a full cohort waiting, or when it has started its
        quota while others wait; with nothing waiting it goes on in the same compiled cohort.

        Args:
            key: The cohort's structure.
            started: Trials the cohort has started.
            waiting: Trials waiting for a cohort, by structure.
        """
        others = {k: n for k, n in waiting.items() if k != key and n}
        if any(n >= self.width for n in others.values()):
            return True
        return started >= self.quota and bool(others)

    def refill(self, view: SlotView) -> tuple[Refill, ...]:
        """Where a free slot's trial comes from, tried in order until one gives a trial of
        the cohort's structure (an empty plan, or one that runs out, leaves the slot free).

        A closing cohort takes none: one that holds a trial deep in its training
        (``depth_first``) drains, so its deepest trials finish at a narrower, faster width,
        and one narrowed for its last trials ends with them. Otherwise trials already asked
        of the structure come first. Then, unless the cohort :meth:`drains`: near the timeout
        only a trial of its own structure, and only while no other structure waits (those
        train first); while exploring, one free proposal (another structure's waits, and the
        slot stays free); else a free proposal while
        :meth:`asks_freely`, then up to three asks with the structure fixed (an enqueued
        retry of another structure can come first), so the slot is refilled in the round it
        was freed.

        Example:
            >>> policy = CohortPolicy(width=4, quota=8, pool=4)
            >>> [str(r) for r in policy.refill(SlotView("a", 2, {}, asked=5, left=50))]
            ['waiting', 'free', 'fixed', 'fixed', 'fixed']
            >>> [str(r) for r in policy.refill(SlotView("a", 8, {"b": 1}, asked=5, left=50))]
            ['waiting']
            >>> policy.refill(SlotView("a", 2, {}, asked=5, left=50, closing=True))
            ()
        """
        if view.closing:
            return ()
        if not view.can_ask or self.drains(view.key, view.started, view.waiting):
            return (Refill.WAITING,)
        fixed = (Refill.FIXED,) * 3 if view.can_fix else ()
        if view.near_deadline and view.can_fix:
            others = any(n > 0 for k, n in view.waiting.items() if k != view.key)
            return (Refill.WAITING,) if others else (Refill.WAITING, *fixed)
        if self.explores(view.asked):
            return (Refill.WAITING, Refill.EXPLORE)
        elsewhere = sum(n for k, n in view.waiting.items() if k != view.key)
        if self.asks_freely(waiting=elsewhere, left=view.left) or not view.can_fix:
            return (Refill.WAITING, Refill.FREE, *fixed)
        return (Refill.WAITING, *fixed)

    def new_width(self, *, can_fill: int, epochs: int, prices: Prices,
                  compiled: Callable[[int], bool]) -> int:
        """The width of a new cohort: full, or only as wide as the trials it can still get.

        Near the end of the budget a full cohort would run ``1 - can_fill / width`` of its
        slots idle for up to ``epochs`` epochs; the narrower one saves that and costs a
        compilation, unless that width was compiled for the structure before.

        Args:
            can_fill: Trials the cohort can still get.
            epochs: The most epochs its trials train.
            prices: The session's prices so far.
            compiled: Whether a width was compiled for the cohort's structure before.
        """
        if can_fill >= self.width:
            return self.width
        return can_fill if self._trade(can_fill, self.width, epochs, prices, compiled).pays \
            else self.width

    def narrowed_width(self, *, running: int, width: int, epochs_left: int, prices: Prices,
                       compiled: Callable[[int], bool]) -> int | None:
        """The width a draining cohort's last trials move to, or None to stay.

        With half its slots or more idle, its ``running`` trials go on at the next power of
        two at least their number (so few widths are ever compiled), when the idle
        slot-epochs saved over the most epochs they have left pay for a compilation.

        Args:
            running: Trials the cohort still trains.
            width: Its width now.
            epochs_left: The most epochs one of them has left.
            prices: The session's prices so far.
            compiled: Whether a width was compiled for the cohort's structure before.
        """
        target = 1
        while target < running:
            target *= 2
        if running < 1 or target >= width:
            return None
        return target if self._trade(target, width, epochs_left, prices, compiled).pays \
            else None

    @staticmethod
    def _trade(narrow: int, wide: int, epochs: int, prices: Prices,
               compiled: Callable[[int], bool]) -> CompileTrade:
        return pays_to_compile(epoch_seconds=prices.epoch_seconds, idle_share=1 - narrow / wide,
                               epochs=max(0, epochs), compile_seconds=prices.compile_seconds,
                               compiles=0 if compiled(narrow) else 1)
