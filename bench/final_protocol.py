"""How should the guide make its final model? Four protocols, decided without the test split.

For each guide run folder given (``tunelab guide --seed S --out DIR``, one per data split),
this trains the adopted configuration (``final.toml``) and the starting one (the procedure's
``[start]``, under the same early stopping) on the same replicate seeds, four ways:

- ``train``: on the training rows, early stopping on validation rows keeping the best weights
  (the guide's own protocol for its trials); one model per replicate;
- ``refit``: on training + validation rows, for the median early-stopping epoch of the
  ``train`` replicates; one model per replicate;
- ``train-ensemble`` and ``refit-ensemble``: the same replicates, their predicted
  probabilities averaged into one model.

The choice is made one level down, so that no test image takes part in it: the run's training
split is cut into inner training and inner validation rows (in the proportion of the run's own
training and validation splits, by the run's seed), the four protocols run on those, and each
is scored on the run's validation split, which none of them trained or stopped on. That is the
guide's protocol in miniature (refit = inner training + inner validation = the training split)
scored on held-out rows; the test split is not loaded into any comparison here.

With ``--shared-order`` the refit members train side by side in one cohort (one data order,
different initial arrays and masks) instead of one cohort each: cheaper, and measured worse.

It prints, per split, the held-out (validation) accuracy of each (for single models the mean
over replicates, what one would get on average) and writes
``bench/results/final_protocol.json``.

    python bench/final_protocol.py runs/d0 runs/d1 runs/d2 runs/d3 runs/d4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from tunelab.config import RunConfig, with_overrides  # noqa: E402
from tunelab.data import load_dataset  # noqa: E402
from tunelab.execute import train_runs  # noqa: E402
from tunelab.guide._evidence import best_epoch  # noqa: E402
from tunelab.model import ensemble_model  # noqa: E402
from tunelab.runs import FinalResult, read_record  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "final_protocol.json"


def _accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float((probs.argmax(axis=1) == y).mean())


def _nested(data: Any, seed: int) -> Any:
    """The run's split one level down: its training rows cut into inner training and inner
    validation rows (the run's own proportion), and its validation rows held out to score."""
    n_train, n_val = len(data.y_train), len(data.y_val)
    inner = round(n_train * n_val / (n_train + n_val))
    order = np.random.default_rng(seed).permutation(n_train)
    val, train = order[:inner], order[inner:]
    return SimpleNamespace(x_train=data.x_train[train], y_train=data.y_train[train],
                           x_val=data.x_train[val], y_val=data.y_train[val],
                           x_test=data.x_val, y_test=data.y_val, task=data.task,
                           num_classes=data.num_classes, input_shape=data.input_shape,
                           name=f"{data.name} nested")


def _refit(data: Any) -> Any:
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    return SimpleNamespace(x_train=x, y_train=y, x_val=x[:0], y_val=y[:0], x_test=data.x_test,
                           y_test=data.y_test, task=data.task, num_classes=data.num_classes,
                           input_shape=data.input_shape, name=f"{data.name} refit")


def _protocols(cfg: RunConfig, data: Any, seeds: list[int], args_cohorts: Any = "replicate"
               ) -> dict[str, float]:
    runs = [cfg.model_copy(update={"seed": s}) for s in seeds]
    trained = train_runs(runs, data, cohorts="replicate")
    epochs = int(round(statistics.median(best_epoch(r.history, r.config) for r in trained)))
    refit_cfg = with_overrides(cfg, {"training.epochs": max(epochs, 1),
                                     "callbacks.early_stopping": None})
    refitted = train_runs([refit_cfg.model_copy(update={"seed": s}) for s in seeds],
                          _refit(data), cohorts=args_cohorts)
    out: dict[str, float] = {}
    for name, results in (("train", trained), ("refit", refitted)):
        probs = [r.model().predict(data.x_test, verbose=0) for r in results]
        out[name] = statistics.fmean(_accuracy(p, data.y_test) for p in probs)
        out[f"{name}-ensemble"] = _accuracy(np.mean(probs, axis=0), data.y_test)
        model = ensemble_model([r.model() for r in results])  # what best.keras holds
        assert abs(_accuracy(model.predict(data.x_test, verbose=0), data.y_test)
                   - out[f"{name}-ensemble"]) < 1e-9
    out["refit_epochs"] = epochs
    return out


#: The protocol's two choices, each a paired comparison on the held-out rows: (better, worse).
CHOICES = {"average the members": ("refit-ensemble", "refit"),
           "refit on training + validation": ("refit-ensemble", "train-ensemble")}


def choices(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each choice as a paired t test (``scipy.stats.ttest_rel``, two-sided) over every split
    and both configurations: n pairs, df, the mean difference, t, p, and the wins."""
    from scipy import stats

    out: dict[str, Any] = {}
    for name, (a, b) in CHOICES.items():
        x = [r[who][a] for r in rows for who in ("adopted", "start")]
        y = [r[who][b] for r in rows for who in ("adopted", "start")]
        test = stats.ttest_rel(x, y)
        out[name] = {"compared": f"{a} against {b}", "n": len(x), "df": len(x) - 1,
                     "mean_difference": round(statistics.fmean(x) - statistics.fmean(y), 5),
                     "t": round(float(test.statistic), 3), "p": float(f"{test.pvalue:.3g}"),
                     "wins": sum(u > v for u, v in zip(x, y, strict=True)),
                     "ties": sum(u == v for u, v in zip(x, y, strict=True))}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="guide run folders, one per split")
    parser.add_argument("--shared-order", action="store_true",
                        help="refit members in one cohort (one data order)")
    args = parser.parse_args(argv)
    cohorts = "structure" if args.shared_order else "replicate"
    rows = []
    for folder in args.runs:
        started = time.perf_counter()
        settings = json.loads((folder / "guide.json").read_text())
        final = read_record(folder / "final.json", FinalResult, required=True)
        assert final is not None and final.tuning is not None
        # Both as the guide's tuning check trained them (early stopping, epochs, seed).
        adopted = RunConfig.model_validate(final.tuning.adopted.config)
        start = RunConfig.model_validate(final.tuning.start.config)
        data = _nested(load_dataset(start.data, seed=settings["seed"]), settings["seed"])
        seeds = final.tuning.adopted.replicates
        row = {"run": str(folder), "seed": settings["seed"], "replicates": len(seeds),
               "adopted": _protocols(adopted, data, seeds, cohorts),
               "start": _protocols(start, data, seeds, cohorts),
               "held_out_rows": len(data.y_test)}
        row["seconds"] = round(time.perf_counter() - started, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    names = ["train", "refit", "train-ensemble", "refit-ensemble"]
    print(f"\n{'protocol':<16}" + "".join(f"{'split ' + str(r['seed']):>10}" for r in rows)
          + f"{'median':>10}")
    for who in ("adopted", "start"):
        for name in names:
            values = [r[who][name] for r in rows]
            print(f"{who + ' ' + name:<24}" + "".join(f"{v:>10.4f}" for v in values)
                  + f"{statistics.median(values):>10.4f}")
    decided = choices(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "final_protocol", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(), "scored_on": "each run's validation split (nested: the protocols "
        "train on its training split cut into inner training and validation rows)",
        "refit_members": cohorts, "choices": decided, "rows": rows}, indent=2) + "\n")
    for name, c in decided.items():
        print(f"{name}: {c['compared']}, paired t test n={c['n']} df={c['df']}: difference"
              f" {c['mean_difference']:+.4f}, t={c['t']:.2f}, p={c['p']:.3g} (two-sided),"
              f" ahead in {c['wins']} of {c['n']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
