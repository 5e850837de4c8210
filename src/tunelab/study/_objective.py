"""What a study optimises: one or more metrics read from a trial's training history.

A metric is any history key (``val_accuracy``, ``val_loss``, ``loss``, ...) taken at the last
epoch (``reduce = "last"``, what the saved model predicts) or at its best epoch, plus two
totals: ``seconds`` (training time, the sum of the per-epoch seconds) and ``epochs``.
Accuracy against seconds is the tutorial's batch-size trade-off; it gives a Pareto front.

Example:
    >>> obj = Objective(["val_accuracy", "seconds"])
    >>> obj.directions
    ['maximize', 'minimize']
    >>> obj.values({"val_accuracy": [0.8, 0.9], "seconds": [1.0, 1.5]})
    [0.9, 2.5]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal, cast

from tunelab.config import RunConfig, StudyConfig
from tunelab.errors import ConfigError

__all__ = ["Objective", "better", "default_metric", "metric_direction"]

TOTALS = ("seconds", "epochs")
_MINIMISED = ("loss", "mse", "mae", "rmse", "euclidean", "manhattan", "hamming", "error")


def metric_direction(metric: str) -> Literal["maximize", "minimize"]:
    """The natural direction of a metric: losses, distances, errors and time go down.

    Example:
        >>> metric_direction("val_loss"), metric_direction("val_accuracy")
        ('minimize', 'maximize')
    """
    name = metric.lower()
    if name in TOTALS or any(part in name for part in _MINIMISED):
        return "minimize"
    return "maximize"


def better(a: float, b: float | None, direction: str) -> bool:
    """Whether value ``a`` is strictly better than ``b`` in ``direction`` (``maximize`` or
    ``minimize``); a ``b`` of None or not a finite number is nothing yet, an ``a`` that is not
    a finite number is never better.

    Example:
        >>> better(0.2, 0.3, "minimize"), better(0.3, 0.3, "maximize")
        (True, False)
        >>> better(0.1, None, "maximize"), better(float("nan"), None, "maximize")
        (True, False)
    """
    if not math.isfinite(a):
        return False
    if b is None or not math.isfinite(b):
        return True
    return a > b if direction == "maximize" else a < b


def default_metric(base: RunConfig, task: str | None = None) -> str:
    """``val_accuracy`` for classification with accuracy among the metrics, else ``val_loss``.

    Example:
        >>> default_metric(RunConfig(), task="multiclass")
        'val_accuracy'
    """
    task = task or base.data.task
    regression = task == "regression" or base.training.loss in ("mse", "rmse", "mae")
    if not regression and "accuracy" in base.training.metrics:
        return "val_accuracy"
    return "val_loss"


class Objective:
    """Metric names, their directions, and how a value is read from a history.

    Args:
        metrics: History keys or totals (``seconds``, ``epochs``).
        directions: ``maximize``/``minimize`` per metric; ``auto`` (or None) picks
            :func:`metric_direction`.
        reduce: ``last`` epoch or ``best`` epoch (totals ignore it).
    """

    def __init__(
        self,
        metrics: Sequence[str],
        directions: Sequence[str] | None = None,
        reduce: Literal["last", "best"] = "last",
    ) -> None:
        if not metrics:
            raise ConfigError("study.objective: give at least one metric")
        self.metrics = [str(m) for m in metrics]
        given = list(directions) if directions is not None else ["auto"] * len(self.metrics)
        if len(given) != len(self.metrics):
            raise ConfigError(
                f"study.direction: {len(given)} directions for {len(self.metrics)} objectives"
            )
        for d in given:
            if d not in ("auto", "maximize", "minimize"):
                raise ConfigError(f"study.direction: {d!r} is not maximize, minimize or auto")
        self.directions: list[Literal["maximize", "minimize"]] = [
            metric_direction(m) if d == "auto" else cast(Literal["maximize", "minimize"], d)
            for m, d in zip(self.metrics, given, strict=True)
        ]
        self.reduce = reduce

    @classmethod
    def from_config(cls, study: StudyConfig, base: RunConfig, task: str | None = None
                    ) -> Objective:
        """Resolve ``auto`` metric names and directions of a ``[study]`` section."""
        metrics = [default_metric(base, task) if m == "auto" else m for m in study.objectives()]
        return cls(metrics, study.directions(), study.reduce)

    @property
    def multi(self) -> bool:
        """Whether there is more than one objective (a Pareto front, no pruning)."""
        return len(self.metrics) > 1

    def check_names(self, available: Sequence[str], source: str = "study.objective") -> None:
        """Raise :class:`ConfigError` for a metric the history will not hold."""
        for m in self.metrics:
            if m not in TOTALS and m not in available:
                raise ConfigError(
                    f"{source}: metric {m!r} is not recorded in the history; available:"
                    f" {', '.join([*available, *TOTALS])}"
                )

    def value(self, metric: str, history: Mapping[str, Sequence[float]]) -> float:
        """One metric's value from ``history``.

        Raises:
            KeyError: The metric is not in the history, or the history is empty.
        """
        if metric == "epochs":
            return float(len(next(iter(history.values()), [])))
        series = [float(v) for v in history[metric]] if metric in history else []
        if not series:
            raise KeyError(metric)
        if metric == "seconds":
            return float(sum(series))
        if self.reduce == "last":
            return series[-1]
        finite = [v for v in series if math.isfinite(v)]
        if not finite:
            return series[-1]
        direction = (self.directions[self.metrics.index(metric)] if metric in self.metrics
                     else metric_direction(metric))
        return max(finite) if direction == "maximize" else min(finite)

    def values(self, history: Mapping[str, Sequence[float]]) -> list[float]:
        """Every objective's value from ``history``, in order."""
        return [self.value(m, history) for m in self.metrics]

    def better(self, a: float, b: float | None) -> bool:
        """Whether single-objective value ``a`` is strictly better than ``b`` (None: nothing yet).

        Example:
            >>> Objective(["val_loss"]).better(0.2, 0.3)
            True
        """
        return better(a, b, self.directions[0])

    def __repr__(self) -> str:
        parts = [f"{m} ({d})" for m, d in zip(self.metrics, self.directions, strict=True)]
        return f"Objective({', '.join(parts)}, reduce={self.reduce})"
