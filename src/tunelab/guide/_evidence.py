"""Evidence: the best configuration of each value re-run over seeds, and the adoption rule.

Re-runs go through the cohort engine: configurations that share a structure train in one
cohort (K = values x seeds), so the evidence costs a few cohort epochs, not one run per seed.
The re-runs use fresh seeds (not the seed the search used), so a lucky draw in the search
does not count twice.

**The adoption rule.** With means ``m_c`` (candidate) and ``m_i`` (current), standard
deviations ``s`` and run counts ``n``, the standard error of the difference is
``se = sqrt(s_c**2 / n_c + s_i**2 / n_i)``. The candidate is adopted only when its mean is
better by more than ``max(2 * se, resolution)``, where ``resolution`` is what one validation
sample is worth for an accuracy (``1 / N_val``) and 0 otherwise. Otherwise the current value
is kept.

Example:
    >>> cur = ValueStats("units [64, 64]", [0.970, 0.972, 0.968])
    >>> big = ValueStats("units [128, 128]", [0.985, 0.983, 0.986])
    >>> adopt(cur, big, "maximize").adopted
    True
    >>> adopt(cur, ValueStats("units [96]", [0.972, 0.969, 0.974]), "maximize").adopted
    False
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab.config import RunConfig

__all__ = ["Adoption", "Outcome", "ValueStats", "adopt", "reduce_of", "score", "threshold",
           "train_configs"]


def reduce_of(cfg: RunConfig) -> str:
    """``best`` when early stopping restores the best weights, else ``last`` (how a study
    reads a trial's history)."""
    es = cfg.callbacks.early_stopping
    return "best" if es is not None and es.restore_best_weights else "last"


def score(history: dict[str, list[float]], cfg: RunConfig, metric: str) -> float:
    """The metric of the model a run ends with.

    That is the last epoch's value, or, when early stopping restores the best weights, the
    value at the epoch whose monitored quantity was best (the epoch the weights come from).

    Example:
        >>> from tunelab.config import parse_config
        >>> cfg = parse_config({"callbacks": {"early_stopping": {"monitor": "val_loss",
        ...     "restore_best_weights": True}}})
        >>> score({"val_loss": [0.5, 0.3, 0.4], "val_accuracy": [0.8, 0.85, 0.9]}, cfg,
        ...       "val_accuracy")
        0.85
    """
    values = history.get(metric) or []
    if not values:
        return math.nan
    es = cfg.callbacks.early_stopping
    if es is None or not es.restore_best_weights:
        return float(values[-1])
    monitor = {"acc": "accuracy", "val_acc": "val_accuracy"}.get(es.monitor, es.monitor)
    watched = history.get(monitor) or []
    mode = es.mode if es.mode != "auto" else (
        "max" if any(w in monitor for w in ("acc", "auc")) else "min")
    finite = [(v, i) for i, v in enumerate(watched) if math.isfinite(v)]
    if not finite:
        return float(values[-1])
    best = max(finite)[1] if mode == "max" else min(finite)[1]
    return float(values[min(best, len(values) - 1)])


@dataclass
class Outcome:
    """One training run of the evidence (or of the final model)."""

    index: int
    config: RunConfig
    value: float
    status: str
    epochs: int
    history: dict[str, list[float]]
    cohort: Any = None
    slot: int = -1
    seconds_per_epoch: float = math.nan


@dataclass
class ValueStats:
    """A value's re-run scores: mean, standard deviation (n - 1) and count.

    A diverged run scores NaN and counts as the worst possible result (it is not hidden).
    """

    label: str
    scores: list[float]
    trial: int | None = None
    config: RunConfig | None = None
    seconds_per_epoch: float = math.nan
    epochs: float = math.nan
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        finite = [s for s in self.scores if math.isfinite(s)]
        return statistics.fmean(finite) if len(finite) == len(self.scores) and finite \
            else math.nan

    @property
    def std(self) -> float:
        finite = [s for s in self.scores if math.isfinite(s)]
        return statistics.stdev(finite) if len(finite) >= 2 else 0.0

    @property
    def train_seconds(self) -> float:
        """Training time of one run: epochs run x seconds per epoch."""
        return self.epochs * self.seconds_per_epoch

    def text(self) -> str:
        return f"{self.mean:.4f} ± {self.std:.4f} (n={self.n})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.label, "mean": self.mean, "std": self.std,
                               "n": self.n, "scores": list(self.scores)}
        if self.trial is not None:
            out["trial"] = self.trial
        if math.isfinite(self.seconds_per_epoch):
            out["seconds_per_epoch"] = self.seconds_per_epoch
            out["epochs"] = self.epochs
            out["train_seconds"] = self.train_seconds
        if self.config is not None:
            out["config"] = self.config.model_dump(mode="json", exclude_none=True)
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ValueStats:
        cfg = raw.get("config")
        extra = {k: v for k, v in raw.items() if k not in (
            "value", "mean", "std", "n", "scores", "trial", "seconds_per_epoch", "epochs",
            "train_seconds", "config")}
        return cls(str(raw["value"]), [math.nan if s is None else float(s)
                                       for s in raw["scores"]],
                   raw.get("trial"), RunConfig.model_validate(cfg) if cfg else None,
                   float(raw.get("seconds_per_epoch", math.nan)),
                   float(raw.get("epochs", math.nan)), extra)


@dataclass
class Adoption:
    """The outcome of the adoption rule, with its numbers and a sentence saying why."""

    adopted: bool
    difference: float
    threshold: float
    reason: str


def _better(a: float, b: float, direction: str) -> float:
    """How much better ``a`` is than ``b`` (positive when better)."""
    return (a - b) if direction == "maximize" else (b - a)


def threshold(current: ValueStats, candidate: ValueStats, resolution: float = 0.0) -> float:
    """``max(2 * se, resolution)``: the smallest difference the rule accepts as real."""
    se = math.sqrt(current.std ** 2 / max(current.n, 1) + candidate.std ** 2
                   / max(candidate.n, 1))
    return max(2.0 * se, resolution)


def adopt(current: ValueStats, candidate: ValueStats, direction: str,
          resolution: float = 0.0) -> Adoption:
    """Apply the adoption rule to a candidate and the current value (see the module)."""
    limit = threshold(current, candidate, resolution)
    if not math.isfinite(candidate.mean):
        return Adoption(False, math.nan, limit, f"kept {current.label}: the candidate"
                        f" {candidate.label} diverged in a re-run")
    if not math.isfinite(current.mean):
        return Adoption(True, math.inf, limit, f"adopted {candidate.label}: the current"
                        f" {current.label} diverged in a re-run, the candidate did not")
    diff = _better(candidate.mean, current.mean, direction)
    numbers = (f"{candidate.label} {candidate.text()} against {current.label}"
               f" {current.text()}: difference {diff:+.4f}, noise threshold {limit:.4f}"
               " (2 x standard error of the difference"
               + (f", at least one validation sample {resolution:.4f})" if resolution else ")"))
    if diff > limit:
        return Adoption(True, diff, limit, f"adopted {candidate.label}: better by more than"
                        f" the noise; {numbers}")
    return Adoption(False, diff, limit, f"kept {current.label}: the best challenger is not"
                    f" better by more than the noise; {numbers}")


def train_configs(
    configs: Sequence[RunConfig],
    data: Any,
    *,
    width: int,
    metric: str,
    key_fn: Callable[[RunConfig], Hashable],
    on_epoch: Callable[[int, int], None] | None = None,
    keep: bool = False,
) -> list[Outcome]:
    """Train configurations in cohorts (one per structure, ``width`` slots) to their end.

    Args:
        configs: The runs, in order; the result has one :class:`Outcome` per run, same order.
        data: The dataset (shared by every cohort).
        width: Slots per cohort; a structure with fewer runs leaves the rest empty (the
            compiled epoch of that width is reused, so no new compilation).
        metric: The history key scored (``val_accuracy``...), read per :func:`reduce_of`.
        key_fn: The engine's ``structure_key``.
        on_epoch: Called with (cohort epochs done, cohort epochs expected) after each epoch.
        keep: Keep each outcome's cohort and slot (to save or evaluate it afterwards).
    """
    from tunelab.train import Cohort

    groups: dict[Hashable, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(key_fn(cfg), []).append(i)
    chunks = [members[j:j + width] for members in groups.values()
              for j in range(0, len(members), width)]
    expected = sum(max(configs[i].training.epochs for i in chunk) for chunk in chunks)
    done = 0
    out: dict[int, Outcome] = {}
    for chunk in chunks:
        template = configs[chunk[0]]
        cohort = Cohort(template, data, width=width)
        for slot, i in enumerate(chunk):
            cohort.assign(slot, configs[i], tag=i)
        seconds: list[float] = []
        while cohort.running_slots:
            logs = cohort.run_epoch()
            seconds += [float(v["seconds"]) for v in logs.values()][:1]
            done += 1
            if on_epoch is not None:
                on_epoch(done, expected)
        per_epoch = statistics.median(seconds) / width if seconds else math.nan
        for slot, i in enumerate(chunk):
            cfg = configs[i]
            history = cohort.history(slot)
            status = cohort.status(slot)
            value = score(history, cfg, metric) if status != "diverged" else math.nan
            out[i] = Outcome(i, cfg, float(value), status, len(history.get("loss", [])),
                             history, cohort if keep else None, slot if keep else -1,
                             per_epoch)
    return [out[i] for i in range(len(configs))]
