"""Evidence: configurations re-run over whole replicates, and the test that decides adoption.

**Replicates.** A replicate is a seed, and the seed decides everything random in a run: the
initial arrays, the dropout masks and the order of the minibatches. :func:`replicate_runs`
trains every configuration once per replicate seed, through the executor, with one cohort per
replicate (configurations of one structure and one seed train side by side, sharing that
seed's data order, so the engine's first-layer fusion is kept); a run already made — the
same configuration on the same seed — is taken from its ``cache`` instead of trained again.
Two configurations' scores on the same seed are then a genuine pair: same data order, and
same initial arrays and masks where the shapes agree.

**The test.** :func:`compare` is a one-sided t test of "the candidate is better" at a stated
level ``alpha`` (0.05 unless the procedure's budget says otherwise), computed by
``scipy.stats``:

- *paired*, when both configurations have scores on two or more common replicate seeds:
  ``scipy.stats.ttest_rel(candidate, current, alternative="greater")`` on the sign-adjusted
  scores (positive is better), ``df = n - 1``;
- *Welch*, otherwise: ``scipy.stats.ttest_ind(candidate, current, equal_var=False,
  alternative="greater")``, with the Welch-Satterthwaite degrees of freedom.

The candidate is better when ``p < alpha`` and the difference is more than ``resolution``
(what one validation sample is worth for an accuracy, ``1 / N_val``; 0 otherwise): a
difference smaller than one sample is not evidence, however small its spread. The critical
value ``scipy.stats.t.ppf(1 - alpha, df)`` is recorded beside ``p``. A diverged re-run scores
NaN and counts as the worst result: a candidate with one is never better.

What the test is run on matters as much as the test: a step's decision tests on replicate
seeds that no selection has seen (:mod:`tunelab.guide._credit`), so ``p`` means what it says.

Example:
    >>> cur = ValueStats(label="units [64]", scores=[0.970, 0.972, 0.968], replicates=[1, 2, 3])
    >>> big = ValueStats(label="units [128]", scores=[0.985, 0.983, 0.986], replicates=[1, 2, 3])
    >>> c = compare(cur, big, "maximize")
    >>> str(c.test), c.n, c.better
    ('paired', 3, True)
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tunelab.config import RunConfig
from tunelab.runs import Comparison, TestKind, ValueStats

__all__ = ["ReplicateRun", "best_epoch", "compare", "least_diverged", "reduce_of",
           "replicate_runs", "run_key", "score"]


def reduce_of(cfg: RunConfig) -> str:
    """``best`` when early stopping restores the best weights, else ``last`` (how a study
    reads a trial's history)."""
    es = cfg.callbacks.early_stopping
    return "best" if es is not None and es.restore_best_weights else "last"


def best_epoch(history: Mapping[str, list[float]], cfg: RunConfig) -> int:
    """How many epochs the weights a run ends with were trained for.

    The run's length, or, when early stopping restores the best weights, the epoch whose
    monitored value was best (counted from 1).

    Example:
        >>> from tunelab.config import parse_config
        >>> cfg = parse_config({"callbacks": {"early_stopping": {"monitor": "val_loss",
        ...     "restore_best_weights": True}}})
        >>> best_epoch({"loss": [1, 1, 1], "val_loss": [0.5, 0.3, 0.4]}, cfg)
        2
    """
    length = len(history.get("loss") or [])
    es = cfg.callbacks.early_stopping
    if es is None or not es.restore_best_weights:
        return length
    monitor = {"acc": "accuracy", "val_acc": "val_accuracy"}.get(es.monitor, es.monitor)
    watched = history.get(monitor) or []
    mode = es.mode if es.mode != "auto" else (
        "max" if any(w in monitor for w in ("acc", "auc")) else "min")
    finite = [(v, i) for i, v in enumerate(watched) if math.isfinite(v)]
    if not finite:
        return length
    # The first best epoch, as Keras's EarlyStopping keeps it (only strict improvements count).
    target = max(v for v, _ in finite) if mode == "max" else min(v for v, _ in finite)
    return next(i for v, i in finite if v == target) + 1


def score(history: Mapping[str, list[float]], cfg: RunConfig, metric: str) -> float:
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
    kept = best_epoch({**history, "loss": values}, cfg)
    return float(values[min(max(kept, 1), len(values)) - 1])


def _sign(direction: str) -> float:
    return 1.0 if direction == "maximize" else -1.0


#: A standard error below this share of the difference is rounding, not spread.
_NO_SPREAD = 1e-9


def _critical(alpha: float, df: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(1.0 - alpha, df)) if math.isfinite(df) and df > 0 else math.nan


def compare(current: ValueStats, candidate: ValueStats, direction: str,
            resolution: float = 0.0, alpha: float = 0.05) -> Comparison:
    """One-sided t test of "``candidate`` beats ``current``" at level ``alpha`` (see the module).

    Paired on the replicate seeds both share (two or more), Welch's otherwise.

    Raises:
        ValueError: ``alpha`` is not between 0 and 1.
    """
    from scipy import stats

    if not 0.0 < alpha < 1.0:
        raise ValueError(f"`0 < alpha < 1` must hold, got {alpha=}")
    sign = _sign(direction)
    mine, theirs = current.by_replicate(), candidate.by_replicate()
    common = [r for r in candidate.replicates if r in mine]
    t = p = math.nan
    if len(common) >= 2:
        new = [sign * theirs[r] for r in common]
        old = [sign * mine[r] for r in common]
        diffs = [a - b for a, b in zip(new, old, strict=True)]
        n = len(diffs)
        test, df = TestKind.PAIRED, float(n - 1)
        if all(math.isfinite(d) for d in diffs):
            diff = statistics.fmean(diffs)
            se = statistics.stdev(diffs) / math.sqrt(n)
            # float32 scores moved by one amount differ in the last bits: no spread.
            se = se if se > _NO_SPREAD * max(1.0, abs(diff)) else 0.0
            if se > 0:
                res = stats.ttest_rel(new, old, alternative="greater")
                t, p = float(res.statistic), float(res.pvalue)
        else:
            diff = se = math.nan
    else:
        n = min(current.n, candidate.n)
        test = TestKind.WELCH
        diff = sign * (candidate.mean - current.mean)
        va = candidate.std ** 2 / max(candidate.n, 1)
        vb = current.std ** 2 / max(current.n, 1)
        se = math.sqrt(va + vb)
        den = (va ** 2 / max(candidate.n - 1, 1) + vb ** 2 / max(current.n - 1, 1))
        df = (va + vb) ** 2 / den if den > 0 else math.nan
        if math.isfinite(diff) and se > 0 and candidate.n >= 2 and current.n >= 2:
            res = stats.ttest_ind([sign * x for x in candidate.scores],
                                  [sign * x for x in current.scores], equal_var=False,
                                  alternative="greater")
            t, p = float(res.statistic), float(res.pvalue)
    if math.isfinite(diff) and se == 0:
        # No spread at all: every replicate moved by the same amount (or not at all).
        t = math.inf if diff > 0 else (-math.inf if diff < 0 else math.nan)
        p = 0.0 if diff > 0 else 1.0
    critical = _critical(alpha, df)
    limit = max(critical * se, resolution) if math.isfinite(se * critical) else (
        resolution if se == 0 else math.nan)
    # Scores are float32 values (an accuracy is k / N_val rounded to float32, off by up to
    # 6e-8), so a difference exactly at one validation sample can exceed it by a rounding
    # error: a tie is not evidence.
    tol = 1e-6 * max(1.0, abs(current.mean), abs(candidate.mean)) if math.isfinite(
        current.mean + candidate.mean) else 1e-6
    better = bool(math.isfinite(diff) and math.isfinite(p) and p < alpha
                  and diff > resolution + tol)
    return Comparison(test=test, current=current.label, candidate=candidate.label, n=n,
                      n_current=current.n, n_candidate=candidate.n, difference=diff, se=se,
                      threshold=limit, resolution=resolution, df=df, t=t, alpha=alpha, p=p,
                      critical=critical, better=better)


def least_diverged(stats: Sequence[ValueStats], direction: str) -> ValueStats:
    """The value to adopt when the current one has no evidence: the one that diverged in the
    fewest re-runs, then the best on the replicates it did not diverge on.

    Example:
        >>> a = ValueStats(label="a", scores=[0.9, float("nan")])
        >>> b = ValueStats(label="b", scores=[0.6, 0.7])
        >>> least_diverged([a, b], "maximize").label
        'b'
    """
    sign = _sign(direction)

    def rank(s: ValueStats) -> tuple[int, float]:
        finite = [x for x in s.scores if math.isfinite(x)]
        return (-s.diverged, sign * statistics.fmean(finite) if finite else -math.inf)

    return max(stats, key=rank)


@dataclass(frozen=True)
class ReplicateRun:
    """What one configuration scored on one replicate (kept so it is never trained twice)."""

    score: float
    best_epoch: int
    epochs: int
    seconds_per_epoch: float


def run_key(cfg: RunConfig) -> str:
    """What decides a run: its whole configuration, seed included."""
    return cfg.model_dump_json()


def replicate_runs(
    configs: Mapping[str, RunConfig],
    seeds: Sequence[int],
    data: Any,
    *,
    metric: str,
    executor: Any = None,
    on_epoch: Callable[[int, int], None] | None = None,
    cache: dict[str, ReplicateRun] | None = None,
) -> dict[str, ValueStats]:
    """Train every configuration once per replicate seed; return its scores per label.

    Cohorts hold one replicate each (see the module), so the scores of two labels on one seed
    are paired. ``seconds_per_epoch`` is each configuration's share of its cohorts' epoch time.

    Args:
        configs: Label -> configuration (its seed is replaced by each replicate seed).
        seeds: The replicate seeds.
        data: The dataset every run trains on.
        metric: The history key scored (``val_accuracy``...), read as :func:`score` does.
        executor: Where the cohorts train (default: in this process).
        on_epoch: Called with (epochs done, epochs in all) after every cohort epoch.
    """
    from tunelab.execute import RunsProgress, train_runs

    labels = list(configs)
    memo = cache if cache is not None else {}
    wanted = [configs[label].model_copy(update={"seed": int(s)}) for label in labels
              for s in seeds]
    todo: dict[str, RunConfig] = {}
    for cfg in wanted:
        if run_key(cfg) not in memo:
            todo.setdefault(run_key(cfg), cfg)
    runs = list(todo.values())

    def tick(p: RunsProgress) -> None:
        if on_epoch is not None:
            on_epoch(p.epochs_done, p.epochs_total)

    results = train_runs(runs, data, executor=executor, cohorts="replicate", collect=False,
                         on_epoch=tick) if runs else []
    width = Counter(r.cohort for r in results)  # a cohort's epoch time, shared by its runs
    for r in results:
        per_epoch = (statistics.median(r.history["seconds"]) / width[r.cohort]
                     if r.history.get("seconds") else math.nan)
        memo[run_key(r.config)] = ReplicateRun(
            score=score(r.history, r.config, metric) if r.status != "diverged" else math.nan,
            best_epoch=best_epoch(r.history, r.config),
            epochs=len(r.history.get("loss", [])), seconds_per_epoch=per_epoch)
    out: dict[str, ValueStats] = {}
    for j, label in enumerate(labels):
        mine = [memo[run_key(c)] for c in wanted[j * len(seeds):(j + 1) * len(seeds)]]
        timed = [m.seconds_per_epoch for m in mine if math.isfinite(m.seconds_per_epoch)]
        per_epoch = statistics.median(timed) if timed else math.nan
        out[label] = ValueStats(
            label=label, scores=[m.score for m in mine], replicates=[int(s) for s in seeds],
            config=configs[label].model_dump(mode="json", exclude_none=True),
            seconds_per_epoch=per_epoch,
            epochs=statistics.fmean(m.epochs for m in mine),
            best_epochs=[m.best_epoch for m in mine],
            samples_per_second=(len(data.x_train) / per_epoch
                                if math.isfinite(per_epoch) and per_epoch > 0 else math.nan))
    return out
