"""Executors: lanes fed requests; the local one in process, the process one over pipes."""

from __future__ import annotations

import os
import signal

import pytest

from tunelab.errors import ConfigError
from tunelab.execute import (
    Executor,
    LocalExecutor,
    ProcessExecutor,
    RayExecutor,
    StepRequest,
    make_executor,
)


def test_executors_by_name() -> None:
    assert isinstance(make_executor("local"), LocalExecutor)
    procs = make_executor("Processes", workers=3)
    assert isinstance(procs, ProcessExecutor) and procs.lanes == 3
    on_ray = make_executor("ray", workers=2, address="127.0.0.1:6379")
    assert isinstance(on_ray, RayExecutor) and on_ray.lanes == 2
    assert on_ray.address == "127.0.0.1:6379"
    with pytest.raises(ConfigError, match="unknown executor 'dask'; expected one of: local,"
                       " processes, ray"):
        make_executor("dask")
    with pytest.raises(ConfigError, match="study.workers: must be >= 1"):
        make_executor("processes", workers=0)


def test_local_executor_has_one_lane_and_one_request_at_a_time() -> None:
    ex: Executor = LocalExecutor()
    assert ex.wait() == []
    ex.submit(0, StepRequest(run_epoch=False))
    assert ex.busy() == {0}
    with pytest.raises(RuntimeError, match="already has a request in flight"):
        ex.submit(0, StepRequest())
    [(lane, result)] = ex.wait()
    assert lane == 0 and result.error is None and ex.busy() == set()
    with pytest.raises(ValueError, match="one lane"):
        ex.submit(1, StepRequest())


def test_worker_processes_answer_and_a_dead_worker_is_reported_and_replaced() -> None:
    with ProcessExecutor(workers=2) as ex:
        ex.submit(0, StepRequest(run_epoch=False))
        ex.submit(1, StepRequest(run_epoch=False))
        answers = []
        while ex.busy():
            answers += ex.wait(timeout=60)
        assert sorted(lane for lane, _ in answers) == [0, 1]
        assert all(r.error is None for _, r in answers)

        pid = ex._procs[1].pid
        os.kill(pid, signal.SIGKILL)
        ex._procs[1].join(timeout=10)
        ex.submit(1, StepRequest(run_epoch=False))
        [(lane, result)] = ex.wait(timeout=60)
        assert lane == 1 and result.error is not None
        assert f"worker process {pid} died" in result.error
        assert ex._procs[1].pid != pid, "a new worker takes the lane"
        ex.submit(1, StepRequest(run_epoch=False))
        assert ex.wait(timeout=60)[0][1].error is None
    assert ex._procs == [None, None]
