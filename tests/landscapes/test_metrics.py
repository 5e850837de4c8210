"""COCO-style measures: success rates, average runtime, precision quartiles, ECDF."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunelab.landscapes import TARGETS, RunSet, ecdf, summarize


def _runs() -> RunSet:
    # Three runs of 100 evaluations; hits per target (1e-1, 1e-4, 1e-8), 0 = never.
    return RunSet("sphere", 2, "adam", "gradient",
                  hits=np.array([[5, 20, 40], [8, 30, 0], [0, 0, 0]]),
                  evaluations=np.array([100, 100, 100]),
                  precision=np.array([1e-9, 1e-5, 0.5]), wall_s=1.5, lr=0.1)


def test_success_rates_and_average_runtime() -> None:
    rs = _runs()
    assert TARGETS == (1e-1, 1e-4, 1e-8)
    assert rs.success_rate(0) == pytest.approx(2 / 3)
    assert rs.success_rate(2) == pytest.approx(1 / 3)
    # aRT: evaluations to the hit for successes, all evaluations for failures, per success.
    assert rs.average_runtime(0) == pytest.approx((5 + 8 + 100) / 2)
    assert rs.average_runtime(2) == pytest.approx(40 + 100 + 100)
    never = RunSet("x", 2, "sgd", "gradient", hits=np.zeros((2, 3), dtype=int),
                   evaluations=np.array([10, 10]), precision=np.array([1.0, 2.0]), wall_s=0.0)
    assert math.isinf(never.average_runtime(0))


def test_summary_row() -> None:
    row = summarize(_runs())
    assert row["function"] == "sphere" and row["optimizer"] == "adam" and row["lr"] == 0.1
    assert row["runs"] == 3
    assert row["success_1e-4"] == pytest.approx(2 / 3)
    assert row["precision_median"] == pytest.approx(1e-5)
    assert row["precision_q1"] == pytest.approx(np.quantile([1e-9, 1e-5, 0.5], 0.25))
    assert row["evaluations_mean"] == 100 and row["wall_s"] == 1.5


def test_ecdf_counts_function_target_run_triples() -> None:
    x, y = ecdf([_runs()])["adam"]
    assert x.tolist() == [5, 8, 20, 30, 40]
    # 9 triples (3 runs x 3 targets): 5 reached; the curve ends at 5/9.
    assert y[-1] == pytest.approx(5 / 9)
    assert np.all(np.diff(y) > 0)
    assert ecdf([_runs()], ["adam", "sgd"]).keys() == {"adam"}
