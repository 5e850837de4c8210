"""What an executor is: lanes that each train one cohort, fed requests, answering results.

An executor trains cohorts and returns results; it never touches the study. The driver
submits one :class:`~tunelab.execute.StepRequest` to an idle lane, waits for any lane to
answer, decides (report, prune, tell, refill) and submits again. That is all a new executor
has to provide: a Ray executor maps lanes onto actors and :meth:`Executor.wait` onto
``ray.wait``.

Example:
    >>> from tunelab.execute import LocalExecutor
    >>> with LocalExecutor() as ex:
    ...     ex.lanes
    1
"""

from __future__ import annotations

import abc
from types import TracebackType

from tunelab.execute._protocol import StepRequest, StepResult

__all__ = ["Borrowed", "Executor"]


class Executor(abc.ABC):
    """Lanes where cohorts train. Each lane holds at most one request in flight."""

    name = "executor"

    @property
    @abc.abstractmethod
    def lanes(self) -> int:
        """How many cohorts can train at the same time."""

    @abc.abstractmethod
    def submit(self, lane: int, request: StepRequest) -> None:
        """Send ``request`` to ``lane``; the lane must be idle."""

    @abc.abstractmethod
    def wait(self, timeout: float | None = None) -> list[tuple[int, StepResult]]:
        """Block until at least one busy lane answers (or ``timeout`` passes); return answers."""

    @abc.abstractmethod
    def busy(self) -> set[int]:
        """Lanes with a request in flight."""

    def start(self) -> None:  # noqa: B027 - optional hook; most executors have nothing to do
        """Start workers (a no-op where there is nothing to start)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Stop workers and free what they hold."""

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Borrowed(Executor):
    """An executor lent to someone who must not start or close it (its owner does).

    A guide run keeps one executor open for all its work and lends it to each study, so
    worker processes (and their compiled programs) live from the first step to the last.

    Example:
        >>> from tunelab.execute import LocalExecutor
        >>> Borrowed(LocalExecutor()).lanes
        1
    """

    def __init__(self, owner: Executor) -> None:
        self.owner = owner
        self.name = owner.name

    @property
    def lanes(self) -> int:
        return self.owner.lanes

    def submit(self, lane: int, request: StepRequest) -> None:
        self.owner.submit(lane, request)

    def wait(self, timeout: float | None = None) -> list[tuple[int, StepResult]]:
        return self.owner.wait(timeout)

    def busy(self) -> set[int]:
        return self.owner.busy()
