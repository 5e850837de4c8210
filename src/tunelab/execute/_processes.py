"""The ``processes`` executor: N worker processes, each training one cohort at a time.

Workers are started with ``spawn`` (JAX does not survive a ``fork`` after it has started
threads) and talk to the driver through pipes: a :class:`StepRequest` in, a
:class:`StepResult` out, one epoch per round. So pruning needs no shared state: the driver
reads each epoch's values, asks the pruner, and the verdict travels in the next request.
Workers ignore Ctrl-C; the driver decides what happens to their trials and closes them.

A script that uses this executor must guard its entry point with
``if __name__ == "__main__":``, as with any ``spawn``-based multiprocessing.

Example:
    >>> ProcessExecutor(workers=2).lanes
    2
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import signal
from typing import Any

from tunelab.errors import TunelabError
from tunelab.execute._base import Executor
from tunelab.execute._protocol import StepRequest, StepResult

__all__ = ["ProcessExecutor"]


def _serve(conn: Any) -> None:
    """A worker process's loop: answer requests until told to stop (``None``) or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("KERAS_BACKEND", "jax")
    from tunelab.execute._worker import CohortWorker

    worker = CohortWorker()
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        conn.send(worker.handle(request))


class ProcessExecutor(Executor):
    """``workers`` lanes, each a separate Python process with its own engine.

    Args:
        workers: Number of processes (cohorts trained at the same time).
        start_method: ``spawn`` (default) or ``forkserver``.
    """

    name = "processes"

    def __init__(self, workers: int = 2, start_method: str = "spawn") -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if start_method not in ("spawn", "forkserver"):
            raise ValueError(f"start_method must be spawn or forkserver, got {start_method!r}")
        self._n = workers
        self._ctx: Any = multiprocessing.get_context(start_method)
        self._procs: list[Any] = [None] * workers
        self._conns: list[Any] = [None] * workers
        self._inflight: set[int] = set()
        self._answered = [False] * workers
        self._data_keys: list[str | None] = [None] * workers  # the dataset each worker holds

    @property
    def lanes(self) -> int:
        return self._n

    def _spawn(self, lane: int) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_serve, args=(child,), daemon=True,
                                 name=f"tunelab-worker-{lane}")
        proc.start()
        child.close()
        self._answered[lane] = False
        self._data_keys[lane] = None
        self._procs[lane], self._conns[lane] = proc, parent

    def start(self) -> None:
        for lane in range(self._n):
            if self._procs[lane] is None:
                self._spawn(lane)

    def submit(self, lane: int, request: StepRequest) -> None:
        if self._procs[lane] is None:
            self._spawn(lane)
        if lane in self._inflight:
            raise RuntimeError(f"lane {lane} already has a request in flight")
        self._inflight.add(lane)
        if request.data is not None:
            # A dataset travels to a worker once; later requests name it by its key.
            if request.data_key is not None and self._data_keys[lane] == request.data_key:
                request = dataclasses.replace(request, data=None)
            else:
                self._data_keys[lane] = request.data_key
        # A worker that is gone shows as a closed pipe in wait(), which reports it.
        with contextlib.suppress(OSError):
            self._conns[lane].send(request)

    def busy(self) -> set[int]:
        return set(self._inflight)

    def wait(self, timeout: float | None = None) -> list[tuple[int, StepResult]]:
        if not self._inflight:
            return []
        by_conn = {id(self._conns[lane]): lane for lane in self._inflight}
        ready: list[Any] = multiprocessing.connection.wait(
            [self._conns[lane] for lane in self._inflight], timeout=timeout
        )
        out: list[tuple[int, StepResult]] = []
        for conn in ready:
            lane = by_conn[id(conn)]
            self._inflight.discard(lane)
            try:
                result: StepResult = conn.recv()
            except (EOFError, OSError):
                proc = self._procs[lane]
                proc.join(timeout=5)
                if not self._answered[lane]:
                    self.close()
                    raise TunelabError(
                        f"executor 'processes': worker process {proc.pid} exited before its"
                        f" first answer (exit code {proc.exitcode}); a script that uses this"
                        ' executor must guard its entry point with if __name__ == "__main__":'
                    ) from None
                result = StepResult(
                    error=f"worker process {proc.pid} died (exit code {proc.exitcode});"
                    " its cohort's trials failed"
                )
                self._procs[lane] = None
                self._spawn(lane)
            self._answered[lane] = True
            out.append((lane, result))
        return out

    def close(self) -> None:
        for lane in range(self._n):
            conn, proc = self._conns[lane], self._procs[lane]
            if proc is None:
                continue
            with contextlib.suppress(OSError):
                conn.send(None)
        for lane in range(self._n):
            proc = self._procs[lane]
            if proc is None:
                continue
            # A worker in the middle of an epoch is not waited for: its trials are already
            # retired by the driver.
            proc.join(timeout=0 if lane in self._inflight else 10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            self._conns[lane].close()
            self._procs[lane], self._conns[lane] = None, None
        self._inflight.clear()
