"""The end of a guide run: the final model, its test evaluation, and k-fold cross-validation.

The final configuration is trained in one cohort: slot 0 with the run's seed (that model is
``best.keras``, and ``final.toml`` reproduces it with ``tunelab train``), the other slots with
fresh seeds, so ``final.json`` also says how much the test score moves from seed to seed.

Example:
    >>> fold_indices(10, 3, seed=0)[0][1].shape
    (3,)
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from tunelab._files import write_json, write_text
from tunelab.config import RunConfig, dump_config
from tunelab.guide._evidence import ValueStats, train_configs
from tunelab.guide._procedure import Step
from tunelab.guide._step import GuideContext

__all__ = ["cross_validate", "fold_indices", "train_final"]


def _save_atomic(cohort: Any, slot: int, target: Path) -> None:
    # Keras insists on the .keras suffix, so the temporary file keeps it.
    fd, tmp = tempfile.mkstemp(prefix=".best.", suffix=".keras", dir=target.parent)
    os.close(fd)
    try:
        cohort.save(slot, tmp)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def train_final(ctx: GuideContext, config: RunConfig, width: int) -> dict[str, Any]:
    """Train the final configuration, save ``best.keras``, ``final.toml`` and ``final.json``."""
    started = time.monotonic()
    cfg = config.model_copy(update={"seed": ctx.seed})
    seeds = [ctx.seed, *ctx.evidence_seeds(max(width, 1) - 1)]
    configs = [cfg.model_copy(update={"seed": s}) for s in seeds]
    ctx.display.phase("final · training", cfg.training.epochs,
                      info=f"{len(seeds)} seeds, the first is best.keras")
    outcomes = train_configs(configs, ctx.data, width=len(seeds), metric=ctx.metric,
                             key_fn=ctx.key_fn, keep=True,
                             on_epoch=lambda n, total: ctx.display.advance(n, total))
    ctx.display.end_phase()
    main = outcomes[0]
    _save_atomic(main.cohort, main.slot, ctx.run.best_model)
    write_text(ctx.run.final_toml, "# The configuration tunelab guide adopted; run it with"
               " `tunelab train final.toml`.\n" + dump_config(cfg))
    tests = main.cohort.evaluate("test")
    per_slot = [tests.get(o.slot, {}) for o in outcomes]
    first = per_slot[0]
    final: dict[str, Any] = {"model": "best.keras", "config": "final.toml", "seed": ctx.seed,
                             "epochs": main.epochs, f"{ctx.metric}": main.value,
                             "status": main.status}
    for key, value in first.items():
        final[key] = value
    over: dict[str, Any] = {"n": len(outcomes), "seeds": seeds}
    for key in first:
        scores = [p.get(key, math.nan) for p in per_slot]
        over[f"{key}_mean"] = statistics.fmean(scores)
        over[f"{key}_std"] = statistics.stdev(scores) if len(scores) > 1 else 0.0
    final["over_seeds"] = over
    final["history"] = main.history
    final["seconds"] = round(time.monotonic() - started, 3)
    write_json(ctx.run.final_json, final)
    return final


def fold_indices(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, validation) index pairs of equal sizes over ``n`` rows (a remainder of
    fewer than ``k`` rows is left out, so every fold has the same shapes)."""
    perm = np.random.default_rng([seed & 0xFFFFFFFF, 7]).permutation(n)
    size = n // k
    folds = [perm[i * size:(i + 1) * size] for i in range(k)]
    return [(np.concatenate([folds[j] for j in range(k) if j != i]), folds[i])
            for i in range(k)]


def cross_validate(ctx: GuideContext, step: Step, config: RunConfig, label: str
                   ) -> dict[str, Any]:
    """k-fold cross-validation of ``config`` on training + validation data (the test split is
    never touched); return the step's decision record (nothing is adopted)."""
    data = ctx.data
    x = np.concatenate([np.asarray(data.x_train), np.asarray(data.x_val)])
    y = np.concatenate([np.asarray(data.y_train), np.asarray(data.y_val)])
    folds = fold_indices(len(x), step.budget.folds, ctx.seed)
    seeds = step.budget.seeds
    stats: list[ValueStats] = []
    ctx.display.phase(f"{step.name} · folds", len(folds) * config.training.epochs)
    for i, (train, val) in enumerate(folds):
        fold = SimpleNamespace(x_train=x[train], y_train=y[train], x_val=x[val], y_val=y[val],
                               x_test=data.x_test, y_test=data.y_test, task=data.task,
                               num_classes=data.num_classes, input_shape=data.input_shape,
                               name=f"{data.name} fold {i + 1}")
        configs = [config.model_copy(update={"seed": s}) for s in ctx.evidence_seeds(seeds)]
        offset = i * config.training.epochs

        def tick(n: int, total: int, offset: int = offset) -> None:
            ctx.display.advance(offset + n)

        outcomes = train_configs(configs, fold, width=seeds, metric=ctx.metric,
                                 key_fn=ctx.key_fn, on_epoch=tick)
        stats.append(ValueStats(f"fold {i + 1}", [o.value for o in outcomes]))
    ctx.display.end_phase()
    means = [s.mean for s in stats]
    overall = ValueStats(label, means)
    reason = (f"{len(folds)}-fold cross-validation of {label}: {ctx.metric}"
              f" {overall.mean:.4f} ± {overall.std:.4f} across folds (each fold the mean of"
              f" {seeds} seeds); nothing to adopt")
    return {"current": label, "candidate": label, "adopted": False, "reason": reason,
            "values": [overall.to_dict(), *(s.to_dict() for s in stats)],
            "folds": len(folds), "width": seeds}
