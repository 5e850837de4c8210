"""The ``local`` executor: one lane, trained in this process when the driver waits.

Example:
    >>> ex = LocalExecutor()
    >>> ex.submit(0, StepRequest(run_epoch=False))
    >>> [(lane, result.error) for lane, result in ex.wait()]
    [(0, None)]
"""

from __future__ import annotations

from tunelab.execute._base import Executor
from tunelab.execute._protocol import StepRequest, StepResult
from tunelab.execute._worker import CohortWorker

__all__ = ["LocalExecutor"]


class LocalExecutor(Executor):
    """Trains one cohort at a time in the calling process."""

    name = "local"

    def __init__(self) -> None:
        self._worker = CohortWorker()
        self._pending: StepRequest | None = None

    @property
    def lanes(self) -> int:
        return 1

    def submit(self, lane: int, request: StepRequest) -> None:
        if lane != 0:
            raise ValueError(f"the local executor has one lane (0), got lane={lane}")
        if self._pending is not None:
            raise RuntimeError("lane 0 already has a request in flight")
        self._pending = request

    def busy(self) -> set[int]:
        return set() if self._pending is None else {0}

    def wait(self, timeout: float | None = None) -> list[tuple[int, StepResult]]:
        if self._pending is None:
            return []
        request, self._pending = self._pending, None
        return [(0, self._worker.handle(request))]

    def close(self) -> None:
        self._pending = None
        self._worker = CohortWorker()
