"""The batch-size step's choice: accuracy against training time, and the fastest within noise.

Each batch size is scored by its re-runs over the replicates (mean ± std of the metric, early
stopping keeping the best weights) and timed (seconds per epoch per configuration, measured in
the same cohorts, times the epochs early stopping let it run). A batch size is *within noise of
the best* when the best does not beat it by the one-sided test of
:func:`~tunelab.guide.compare` at the step's alpha (paired on shared replicates); among those
the fastest is picked, if it is *worth it*: it must save at least a fifth of the time and at
least a second per training run against the batch size it replaces (the current one when that
is within noise, else the best). A saving of 40 ms on a training run that takes 0.1 s buys
nothing and would trade accuracy for it. The table also marks the Pareto front of accuracy
against time: no other batch size is both better and faster.

Example:
    >>> from tunelab.runs import ValueStats
    >>> a = ValueStats(label="batch_size 32", scores=[0.970, 0.972, 0.968],
    ...                replicates=[1, 2, 3], seconds_per_epoch=0.2, epochs=20)
    >>> b = ValueStats(label="batch_size 128", scores=[0.969, 0.971, 0.970],
    ...                replicates=[1, 2, 3], seconds_per_epoch=0.05, epochs=30)
    >>> choice = choose_batch([a, b], current=a, direction="maximize")
    >>> choice.chosen.label, choice.adopted
    ('batch_size 128', True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tunelab.guide._evidence import compare
from tunelab.runs import BatchRow, Comparison, ValueStats

__all__ = ["MIN_SAVING_SECONDS", "MIN_SAVING_SHARE", "BatchChoice", "choose_batch",
           "pareto_front"]

#: A faster batch size is worth adopting when it saves at least this share of the time...
MIN_SAVING_SHARE = 0.2
#: ...and at least this many seconds per training run.
MIN_SAVING_SECONDS = 1.0


def _saves_enough(fast: ValueStats, slow: ValueStats) -> bool:
    saved = slow.train_seconds - fast.train_seconds
    return saved >= max(MIN_SAVING_SHARE * slow.train_seconds, MIN_SAVING_SECONDS)


def pareto_front(scores: Sequence[float], seconds: Sequence[float], direction: str
                 ) -> list[bool]:
    """Which points no other point dominates (at least as good and as fast, better in one).

    Example:
        >>> pareto_front([0.9, 0.95, 0.93], [1.0, 3.0, 4.0], "maximize")
        [True, True, False]
    """
    sign = 1.0 if direction == "maximize" else -1.0
    out = []
    for i, (s, t) in enumerate(zip(scores, seconds, strict=True)):
        dominated = False
        for j, (s2, t2) in enumerate(zip(scores, seconds, strict=True)):
            if i == j or not (math.isfinite(s2) and math.isfinite(t2)):
                continue
            if sign * s2 >= sign * s and t2 <= t and (sign * s2 > sign * s or t2 < t):
                dominated = True
                break
        out.append(math.isfinite(s) and math.isfinite(t) and not dominated)
    return out


@dataclass
class BatchChoice:
    """The batch size picked, whether it replaces the current one, why, and the table."""

    chosen: ValueStats
    best: ValueStats
    adopted: bool
    reason: str
    rows: list[BatchRow]
    comparison: Comparison | None

    @property
    def difference(self) -> float:
        return self.comparison.difference if self.comparison is not None else 0.0

    @property
    def threshold(self) -> float:
        return self.comparison.threshold if self.comparison is not None else math.nan


def _batch_size(stats: ValueStats) -> int:
    if "training.batch_size" in stats.params:
        return int(stats.params["training.batch_size"])
    return int(stats.label.rsplit(" ", 1)[-1])


def choose_batch(stats: Sequence[ValueStats], current: ValueStats, direction: str,
                 resolution: float = 0.0, alpha: float = 0.05) -> BatchChoice:
    """Pick the fastest batch size within noise of the best (see the module)."""
    sign = 1.0 if direction == "maximize" else -1.0
    scored = [s for s in stats if math.isfinite(s.mean)]
    if not scored:
        return BatchChoice(current, current, False, f"kept {current.label}: every re-run"
                           " diverged", [], None)
    best = max(scored, key=lambda s: (sign * s.mean, -s.train_seconds))
    # Within noise: the best does not beat it by more than the adoption rule's threshold.
    close = {s.label: s is best or not compare(s, best, direction, resolution, alpha).better
             for s in scored}
    timed = [s for s in scored if close[s.label] and math.isfinite(s.train_seconds)]
    # The batch size a faster one would replace: the current one when it is within noise.
    base = current if close.get(current.label, False) else best
    worth = [s for s in timed if s is base or (math.isfinite(base.train_seconds)
                                              and _saves_enough(s, base))]
    chosen = min(worth, key=lambda s: s.train_seconds) if worth else base
    front = pareto_front([s.mean for s in stats], [s.train_seconds for s in stats], direction)
    rows = []
    for s, on_front in zip(stats, front, strict=True):
        rows.append(BatchRow(
            batch_size=_batch_size(s), seconds_per_epoch=s.seconds_per_epoch,
            accuracy=s.mean, accuracy_std=s.std, epochs=s.epochs,
            train_seconds=s.train_seconds, samples_per_second=s.samples_per_second,
            pareto=on_front, within_noise=bool(close.get(s.label, False))))
    rows.sort(key=lambda r: r.batch_size)
    test = compare(current, chosen, direction, resolution, alpha)
    numbers = (f"{chosen.label} {chosen.text()} trains in {chosen.train_seconds:.3g} s"
               f" ({chosen.epochs:.0f} epochs x {chosen.seconds_per_epoch:.3g} s)")
    if best is not chosen:
        numbers += f"; the best is {best.label} {best.text()}"
    if current is not chosen:
        numbers += (f"; {current.label} {current.text()} trains in"
                    f" {current.train_seconds:.3g} s; against {current.label}: {test.text()}")
    elif best is not current:  # kept: the test that found it within noise of the best
        numbers += (f"; {best.label} against it:"
                    f" {compare(current, best, direction, resolution, alpha).text()}")
    if chosen.label == current.label:
        standing = "the best" if best is current else "within noise of the best"
        return BatchChoice(chosen, best, False, f"kept {current.label}: {standing}, and no"
                           " batch size within noise saves a fifth of its time and a second;"
                           f" {numbers}", rows, None)
    if not close.get(current.label, False):
        why = "the current batch size is worse than the best by more than the noise"
    elif chosen is best:
        why = "the best, and faster than the current batch size"
    else:
        why = ("within noise of the best and faster than the current batch size by a fifth of"
               " its time and a second or more")
    return BatchChoice(chosen, best, True, f"adopted {chosen.label}: {why}; {numbers}", rows,
                       test)
