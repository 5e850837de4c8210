"""Statuses as enums: what a slot of a cohort is doing, and which test decided a comparison.

``StrEnum`` members compare equal to their strings, so files written with the plain words
read back as members and older code that compares with strings keeps working.

Example:
    >>> SlotStatus("done").finished, SlotStatus.RUNNING == "running"
    (True, True)
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["FINISHED", "Credit", "SlotStatus", "TestKind"]


class SlotStatus(StrEnum):
    """A cohort slot's state. ``empty`` and ``running`` are live; the others end a run."""

    EMPTY = "empty"
    RUNNING = "running"
    DONE = "done"
    EARLY_STOPPED = "early_stopped"
    DIVERGED = "diverged"
    STOPPED = "stopped"

    @property
    def finished(self) -> bool:
        """Whether a run in this state has ended (and its slot can be refilled)."""
        return self not in (SlotStatus.EMPTY, SlotStatus.RUNNING)


#: The states that end a slot's training on their own (a driver ends "pruned" ones).
FINISHED = (SlotStatus.DONE, SlotStatus.EARLY_STOPPED, SlotStatus.DIVERGED, SlotStatus.STOPPED)


class TestKind(StrEnum):
    """How two configurations' replicate scores were compared.

    ``paired``: both trained on the same replicates (seed: initial arrays, dropout masks and
    data order); the test is on the per-replicate differences. ``welch``: unpaired samples
    with unequal variances.
    """

    __test__ = False  # not a pytest test class

    PAIRED = "paired"
    WELCH = "welch"


class Credit(StrEnum):
    """What a step's decision credited with the gain it adopted.

    ``scientific``: the compared value itself (it beat the current value run with the same
    nuisance values, and the current configuration). ``nuisance``: the nuisance values alone
    (the current value with the challenger's nuisance values beat the current configuration,
    the value did not add to it). ``trade-off``: no gain is credited; the batch-size step
    adopted a faster batch size whose accuracy is within noise of the best (time bought, not
    accuracy). ``none``: nothing was adopted.
    """

    SCIENTIFIC = "scientific"
    NUISANCE = "nuisance"
    TRADE_OFF = "trade-off"
    NONE = "none"
