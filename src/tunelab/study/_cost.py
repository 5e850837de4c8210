"""The one cost model of cohort shapes: idle work against a compilation.

A cohort computes every slot of its width each epoch, busy or idle, and every unit of its
padded widths, real or masked; a new shape (a structure, or a width of one) costs a
compilation. Every policy that trades one for the other asks :func:`pays_to_compile` with
its own numbers:

* the width of a new cohort near the end of a budget, and narrowing a draining cohort
  (:class:`tunelab.study.CohortPolicy`), priced by the session's figures so far
  (:func:`measured_prices`);
* whether ``pad_widths = "auto"`` pads (:func:`tunelab.study._padding.padding_trade`),
  priced before anything is measured.

Example:
    >>> trade = pays_to_compile(epoch_seconds=0.5, idle_share=0.75, epochs=8,
    ...                         compile_seconds=1.5)
    >>> trade.pays, trade.saved_seconds, trade.cost_seconds
    (True, 3.0, 1.5)
"""

from __future__ import annotations

from dataclasses import dataclass

from tunelab.study._stats import SessionStats

__all__ = ["CompileTrade", "Prices", "measured_prices", "pays_to_compile"]


@dataclass(frozen=True)
class CompileTrade:
    """What compiling a new shape would save and cost, and whether it pays.

    Attributes:
        pays: Whether to compile: the work saved is at least the compilations' cost. Always
            when nothing needs compiling; never when something does and a price is unknown.
        saved_seconds: The idle work the new shape does not compute (None: not known yet).
        cost_seconds: The compilations' seconds (0 when none is needed; None: not known yet).
    """

    pays: bool
    saved_seconds: float | None
    cost_seconds: float | None


@dataclass(frozen=True)
class Prices:
    """What an epoch and a compilation cost, in seconds (None: not measured yet).

    Attributes:
        epoch_seconds: One cohort epoch (its mean so far).
        compile_seconds: One compilation of a new shape (its mean so far).
    """

    epoch_seconds: float | None = None
    compile_seconds: float | None = None


def measured_prices(stats: SessionStats, shapes: int) -> Prices:
    """A session's prices so far: train seconds per cohort epoch, compile seconds per shape.

    ``shapes`` is the number of distinct shapes (structure and width) compiled so far: a
    cohort that reuses a compiled shape costs no compilation, so compile seconds are shared
    by shapes, not by cohorts. A price that nothing has measured yet (no cohort epoch, no
    compile seconds) is None.

    Example:
        >>> measured_prices(SessionStats(train_seconds=6.0, cohort_epochs=12,
        ...                              compile_seconds=3.0), shapes=2)
        Prices(epoch_seconds=0.5, compile_seconds=1.5)
    """
    epoch = stats.train_seconds / stats.cohort_epochs if stats.cohort_epochs else None
    compile_ = stats.compile_seconds / shapes if stats.compile_seconds and shapes else None
    return Prices(epoch, compile_)


def pays_to_compile(*, epoch_seconds: float | None, idle_share: float, epochs: float,
                    compile_seconds: float | None, compiles: int = 1) -> CompileTrade:
    """Whether compiling a new shape pays for itself in the idle work it saves.

    Without the new shape, ``idle_share`` of each of ``epochs`` epochs (of
    ``epoch_seconds`` each) is computed for nothing: idle slots of a wider cohort, or the
    masked units of a padded one. The new shape saves ``epoch_seconds * idle_share * epochs``
    seconds and costs ``compile_seconds * compiles``; it pays when the saving is at least the
    cost (a tie goes to the compilation; with nothing to compile the idle work is saved for
    free). Both sides are in the same unit, so a caller without measurements may price in any
    unit it can justify (trials trained through, say).

    Args:
        epoch_seconds: One epoch of the work in question (None: not measured yet).
        idle_share: The share of each epoch's work that is idle without the new shape, in
            [0, 1].
        epochs: How many such epochs are left to run (>= 0).
        compile_seconds: One compilation (None: not measured yet).
        compiles: Compilations the new shape needs (0 when it was compiled before).

    Raises:
        ValueError: ``idle_share`` is outside [0, 1], or ``epochs`` or ``compiles`` is negative.

    Example:
        >>> pays_to_compile(epoch_seconds=0.25, idle_share=0.5, epochs=4, compile_seconds=1.0)
        CompileTrade(pays=False, saved_seconds=0.5, cost_seconds=1.0)
        >>> pays_to_compile(epoch_seconds=None, idle_share=0.5, epochs=3,
        ...                 compile_seconds=None, compiles=0).pays  # compiled before: free
        True
    """
    if not 0.0 <= idle_share <= 1.0:
        raise ValueError(f"`0 <= idle_share <= 1` must hold, got {idle_share=}")
    if epochs < 0 or compiles < 0:
        raise ValueError(f"`epochs >= 0` and `compiles >= 0` must hold, got {epochs=},"
                         f" {compiles=}")
    saved = None if epoch_seconds is None else epoch_seconds * idle_share * epochs
    if compiles == 0:
        return CompileTrade(True, saved, 0.0)
    cost = None if compile_seconds is None else compile_seconds * compiles
    if saved is None or cost is None:
        return CompileTrade(False, saved, cost)
    return CompileTrade(saved >= cost, saved, cost)
