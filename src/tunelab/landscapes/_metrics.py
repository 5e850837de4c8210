"""COCO-style measures of a set of runs of one optimizer on one problem.

* success rate at each target: the fraction of runs whose best value reached
  ``f - f* <= target`` within the budget;
* average runtime (aRT) to a target: evaluations spent by all runs (a successful run counts
  its evaluations up to the hit, an unsuccessful one all it spent) divided by the number of
  successful runs; infinite when no run succeeded;
* final precision: median and quartiles of the best ``f - f*`` of each run;
* evaluations per run and wall time.

An evaluation is one call of ``f`` (with its gradient, for methods that use one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TARGETS", "RunSet", "ecdf", "summarize"]

#: Targets on ``f - f*``, as in COCO's easy, medium and final targets.
TARGETS = (1e-1, 1e-4, 1e-8)


@dataclass
class RunSet:
    """The runs of one optimizer on one problem, as data.

    Attributes:
        function: function name.
        dim: dimension.
        optimizer: optimizer name.
        family: ``gradient``, ``scipy`` or ``sampler``.
        hits: shape ``(runs, len(TARGETS))``: the evaluation (1-based) at which each run first
            reached each target, 0 if it never did.
        evaluations: shape ``(runs,)``: evaluations each run spent.
        precision: shape ``(runs,)``: each run's best ``f - f*``.
        wall_s: wall time of these runs, in seconds (for vectorised runs, this set's equal share
            of the batch's time).
        lr: the learning rate used (gradient family), else ``None``.
        trajectory: the points of the first run, shape ``(n, dim)``: iterates for gradient and
            scipy methods, the sequence of best-so-far points for samplers.
        details: anything else worth keeping (the learning-rate grid's scores).
    """

    function: str
    dim: int
    optimizer: str
    family: str
    hits: np.ndarray
    evaluations: np.ndarray
    precision: np.ndarray
    wall_s: float
    lr: float | None = None
    trajectory: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        """Number of runs."""
        return int(self.evaluations.shape[0])

    def success_rate(self, target_index: int) -> float:
        """Fraction of runs that reached ``TARGETS[target_index]``."""
        return float(np.mean(self.hits[:, target_index] > 0)) if self.runs else 0.0

    def average_runtime(self, target_index: int) -> float:
        """aRT to ``TARGETS[target_index]``: evaluations over all runs per successful run."""
        hit = self.hits[:, target_index]
        ok = hit > 0
        if not ok.any():
            return float("inf")
        spent = np.where(ok, hit, self.evaluations).sum()
        return float(spent / ok.sum())


def _label(target: float) -> str:
    return f"{target:.0e}".replace("e-0", "e-")


def summarize(rs: RunSet) -> dict[str, Any]:
    """One table row of COCO-style measures for a run set.

    Example:
        >>> rs = RunSet("sphere", 2, "adam", "gradient", hits=np.array([[3, 5, 0], [2, 4, 9]]),
        ...             evaluations=np.array([10, 10]), precision=np.array([1e-6, 1e-9]),
        ...             wall_s=0.5, lr=0.1)
        >>> row = summarize(rs)
        >>> row["success_1e-8"], row["art_1e-8"], row["art_1e-1"]
        (0.5, 19.0, 2.5)
    """
    q1, med, q3 = (np.quantile(rs.precision, [0.25, 0.5, 0.75]) if rs.runs
                   else (np.nan, np.nan, np.nan))
    row: dict[str, Any] = {
        "function": rs.function,
        "dim": rs.dim,
        "optimizer": rs.optimizer,
        "family": rs.family,
        "lr": rs.lr,
        "runs": rs.runs,
    }
    for i, t in enumerate(TARGETS):
        row[f"success_{_label(t)}"] = rs.success_rate(i)
    for i, t in enumerate(TARGETS):
        row[f"art_{_label(t)}"] = rs.average_runtime(i)
    row.update({
        "precision_median": float(med),
        "precision_q1": float(q1),
        "precision_q3": float(q3),
        "evaluations_mean": float(np.mean(rs.evaluations)) if rs.runs else 0.0,
        "wall_s": float(rs.wall_s),
    })
    return row


def ecdf(run_sets: Iterable[RunSet], optimizers: Sequence[str] | None = None
         ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Runtime ECDF per optimizer: the fraction of (function, target, run) triples reached
    within each number of evaluations.

    Returns:
        ``{optimizer: (evaluations, fraction)}``, both sorted; a step function that rises at
        each hit. Triples never reached keep the curve below 1.

    Example:
        >>> rs = RunSet("sphere", 2, "adam", "gradient", hits=np.array([[3, 5, 0]]),
        ...             evaluations=np.array([10]), precision=np.array([1e-6]), wall_s=0.1)
        >>> x, y = ecdf([rs])["adam"]
        >>> x.tolist(), [round(float(v), 3) for v in y]
        ([3.0, 5.0], [0.333, 0.667])
    """
    hits_by: dict[str, list[np.ndarray]] = {}
    for rs in run_sets:
        hits_by.setdefault(rs.optimizer, []).append(rs.hits.reshape(-1))
    names = list(optimizers) if optimizers is not None else list(hits_by)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in names:
        if name not in hits_by:
            continue
        all_hits = np.concatenate(hits_by[name])
        reached = np.sort(all_hits[all_hits > 0]).astype(np.float64)
        frac = np.arange(1, reached.size + 1, dtype=np.float64) / max(all_hits.size, 1)
        out[name] = (reached, frac)
    return out
