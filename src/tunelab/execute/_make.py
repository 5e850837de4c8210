"""Executors by name, as ``[study] executor`` and ``--executor`` give them.

Example:
    >>> with make_executor("local") as ex:
    ...     ex.lanes
    1
"""

from __future__ import annotations

from tunelab.config import EXECUTORS
from tunelab.errors import ConfigError
from tunelab.execute._base import Executor
from tunelab.execute._local import LocalExecutor
from tunelab.execute._processes import ProcessExecutor
from tunelab.execute._ray import RayExecutor

__all__ = ["EXECUTORS", "make_executor"]


def make_executor(name: str, workers: int = 1, *, address: str | None = None) -> Executor:
    """An executor by name: ``local`` (in this process), ``processes`` (``workers`` of them)
    or ``ray`` (``workers`` Ray actors; ``address`` or ``$RAY_ADDRESS`` joins a cluster,
    else a local Ray starts when the executor does).

    Raises:
        ConfigError: The name is unknown or ``workers`` is below 1.
    """
    if workers < 1:
        raise ConfigError(f"study.workers: must be >= 1, got {workers}")
    key = name.lower()
    if key == "local":
        return LocalExecutor()
    if key == "processes":
        return ProcessExecutor(workers=workers)
    if key == "ray":
        return RayExecutor(workers=workers, address=address)
    raise ConfigError(
        f"study.executor: unknown executor {name!r}; expected one of: {', '.join(EXECUTORS)}"
    )
