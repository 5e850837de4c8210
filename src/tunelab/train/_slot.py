"""One lane of a cohort: its configuration, counters, history and callbacks, on the host.

A slot is also the handle a slot's callbacks receive (``stop``, ``get_weights``,
``set_weights``, ``save``); its arrays live in the cohort's stacked state.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tunelab.config import RunConfig
from tunelab.runs import SlotStatus

if TYPE_CHECKING:
    from tunelab.train._callbacks import Callback
    from tunelab.train._cohort import Cohort

__all__: list[str] = []


class _Slot:
    """One lane of a cohort; also the handle its callbacks receive."""

    def __init__(self, cohort: Cohort, index: int) -> None:
        self._cohort = cohort
        self.index = index
        self.config: RunConfig | None = None
        self.tag: Any = None
        self.out_dir: Path | None = None
        self.status = SlotStatus.EMPTY
        self.reason: str | None = None
        self.epoch = 0
        self.budget = 0
        self.learning_rate = 0.0
        self.lr_scale = 1.0
        self.decay = 0.0
        self.growth = 1.0
        self.iterations = 0
        self.record_steps = False
        self.step_losses: list[float] = []
        self.l2 = 0.0
        self.period = 1  # micro-steps per update (training.micro_batch)
        self.piece = 0  # pieces of the current epoch trained (sub-epoch fidelity)
        self.report_at: frozenset[int] = frozenset()
        # The epoch so far: training loss and metric sums, rows, seconds.
        self.sums: tuple[float, np.ndarray, int, float] | None = None
        self.callbacks: list[Callback] = []
        self._history: dict[str, list[float]] = {}
        self._pending: str | None = None

    @property
    def history(self) -> dict[str, list[float]]:
        return self._history

    def stop(self, reason: str = "stopped") -> None:
        """Ask the cohort to stop this slot after the current epoch's callbacks."""
        self._pending = reason

    def get_weights(self) -> Any:
        return self._cohort._get(self.index)

    def set_weights(self, weights: Any) -> None:
        self._cohort._put(self.index, weights)

    def save(self, path: str | os.PathLike[str]) -> Path:
        return self._cohort.save(self.index, path)
