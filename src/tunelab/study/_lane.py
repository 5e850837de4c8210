"""A lane: the cohort one executor lane trains, as the scheduler sees it.

Its slots hold the live trials (None: free), and it collects what the next request to the
engine carries for them: models to save and slots to stop.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from tunelab.study._recorder import Live

__all__ = ["Lane"]


@dataclass
class Lane:
    """One executor lane's cohort.

    Attributes:
        index: The executor's lane number.
        width: Slots of the cohort open on it.
        key: The cohort's structure (None: no cohort open).
        fixed: The structural parameters its refills are asked with.
        started: Trials the cohort has started.
        slots: The trial in each slot (None: free).
        saves: Slot -> path of a model to save with the next request.
        stops: Slot -> why the next request stops it (a trial status).
        narrowed: The cohort moved to fewer slots for its last trials (it takes no new one).
    """

    index: int
    width: int
    key: Hashable | None = None
    fixed: dict[str, Any] | None = None
    started: int = 0
    slots: list[Live | None] = field(default_factory=list)
    saves: dict[int, str] = field(default_factory=dict)
    stops: dict[int, str] = field(default_factory=dict)
    narrowed: bool = False

    def __post_init__(self) -> None:
        self.slots = [None] * self.width

    def running(self) -> list[Live]:
        """The trials in its slots."""
        return [t for t in self.slots if t is not None]

    def open(self, key: Hashable, width: int, fixed: dict[str, Any]) -> None:
        """Start a new cohort of structure ``key`` with ``width`` free slots."""
        self.key, self.width, self.fixed, self.started = key, width, fixed, 0
        self.slots = [None] * width
        self.narrowed = False

    def close(self) -> None:
        """No cohort open any more; its slots are empty."""
        self.key = self.fixed = None
        self.slots = [None] * self.width

    def stop(self, slot: int, status: str) -> None:
        """Free ``slot``; the next request stops the engine's slot with ``status``."""
        self.slots[slot] = None
        self.stops[slot] = status

    def narrow(self, width: int) -> list[int]:
        """Move the running trials to the first ``width`` slots; return the old slot of
        each new one (running ones first, then free ones)."""
        running = [slot for slot, live in enumerate(self.slots) if live is not None]
        free = [slot for slot, live in enumerate(self.slots) if live is None]
        keep = running + free[:width - len(running)]
        self.slots = [self.slots[i] for i in keep]
        self.width, self.narrowed = width, True
        return keep
