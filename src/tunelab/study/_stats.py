"""A tuning session's figures, and the snapshot a live display shows.

Example:
    >>> s = SessionStats(cohort_epochs=4, slot_epochs=14, lane_epochs=16, width=4)
    >>> s.mean_cohort_width, s.utilisation
    (3.5, 0.875)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunelab.execute import StepResult

__all__ = ["Progress", "SessionStats"]


@dataclass
class SessionStats:
    """Figures of one tuning session (one run of ``tune``; a resume is another session).

    Attributes:
        compile_seconds: Seconds the engine spent compiling.
        train_seconds: Seconds the engine spent training and evaluating.
        wall_seconds: Seconds the whole session took.
        cohort_epochs: Epochs run by cohorts (one per cohort per epoch; a piece of an epoch
            counts its share).
        slot_epochs: Epochs run by slots (trials), summed over cohorts.
        lane_epochs: Slots the cohorts had (trained or idle), summed over cohort epochs.
        cohorts: Cohorts opened.
        narrowed: Times a draining cohort's last trials moved to a narrower cohort.
        width: The cohort width asked for.
        started: Trials started in this session.
        finished: Trials told in this session, by state (a :class:`~tunelab.study.TrialStateName`).
        retried: Trials stopped unfinished (Ctrl-C, timeout) and enqueued again, to be
            retried (state ``retried``).
        taken_over: Trials this session let go because another session had failed them
            (their heartbeat looked stale) and retries them.
        lost_workers: Requests run again because the worker running them was lost (a Ray
            node gone); no trial is lost or counted twice for it.
    """

    compile_seconds: float = 0.0
    train_seconds: float = 0.0
    wall_seconds: float = 0.0
    cohort_epochs: float = 0.0
    slot_epochs: float = 0.0
    cohorts: int = 0
    narrowed: int = 0
    lane_epochs: float = 0.0
    width: int = 1
    started: int = 0
    finished: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    taken_over: int = 0
    lost_workers: int = 0

    def count_step(self, result: StepResult, width: int) -> None:
        """Add one engine step's seconds and epochs (``width``: its cohort's slots)."""
        self.compile_seconds += result.compile_seconds
        self.train_seconds += result.train_seconds
        self.lost_workers += result.retries
        if result.trained:
            self.cohort_epochs += result.fraction
            self.slot_epochs += result.trained * result.fraction
            self.lane_epochs += width * result.fraction

    @property
    def mean_cohort_width(self) -> float:
        """Mean number of slots training per cohort epoch (``width`` means every lane busy)."""
        return self.slot_epochs / self.cohort_epochs if self.cohort_epochs else 0.0

    @property
    def utilisation(self) -> float:
        """Share of the cohorts' slot-epochs that trained a trial (1.0: no idle slot)."""
        return self.slot_epochs / self.lane_epochs if self.lane_epochs else 0.0

    @property
    def compile_share(self) -> float:
        """Share of engine time spent compiling."""
        total = self.compile_seconds + self.train_seconds
        return self.compile_seconds / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "compile_seconds": round(self.compile_seconds, 4),
            "train_seconds": round(self.train_seconds, 4),
            "wall_seconds": round(self.wall_seconds, 4),
            "mean_cohort_width": round(self.mean_cohort_width, 4),
            "width": self.width,
            "utilisation": round(self.utilisation, 4),
            "compile_share": round(self.compile_share, 4),
            "cohort_epochs": round(self.cohort_epochs, 4),
            "lane_epochs": round(self.lane_epochs, 4),
            "slot_epochs": round(self.slot_epochs, 4),
            "cohorts": self.cohorts,
            "narrowed": self.narrowed,
            "started": self.started,
            "finished": {str(k): v for k, v in self.finished.items()},
            "retried": self.retried,
            "taken_over": self.taken_over,
            "lost_workers": self.lost_workers,
        }


@dataclass
class Progress:
    """What a live display shows, sent after every round of results."""

    total: int
    done: int
    complete: int
    pruned: int
    failed: int
    running: int
    best_value: float | None
    best_trial: int | None
    metric: str
    stats: SessionStats
