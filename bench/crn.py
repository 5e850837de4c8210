"""Do common random numbers help a study pick? Trials on one seed against trials on their own.

Within a study tunelab trains every trial with the study's seed (the same initial arrays,
dropout masks and, within a cohort, data order): common random numbers (CRN). The alternative
gives every trial a seed of its own. This measures which one picks better configurations, on
the guide's own topology step (digits, quick budget: 3 widths x 3 dropouts x 4 learning rates
= 36 configurations):

1. every configuration is trained on R replicate seeds (whole replicates, through the engine);
   its *true* score is its mean over the replicates other than the one that scored it in the
   search;
2. a CRN search scores every configuration on one replicate r (R possible searches); an
   independent search scores each configuration on a replicate drawn for it alone (sampled);
3. each search picks its best configuration; its *regret* is the best true score minus the
   true score of the pick. Also the Spearman correlation of search scores with true scores.

Both designs are scored on the very same runs, so the comparison is paired. Writes
``bench/results/crn.json``.

    python bench/crn.py [--replicates 8] [--splits 0 1 2]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from tunelab.config import parse_config  # noqa: E402
from tunelab.data import load_dataset  # noqa: E402
from tunelab.execute import train_runs  # noqa: E402
from tunelab.guide._evidence import score  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "crn.json"
UNITS = [[64, 64], [128, 128], [256, 128]]
DROPOUTS = [0.0, 0.1, 0.2]
RATES = [0.035, 0.071, 0.141, 0.283]  # the guide's grid around 0.1 (spread 4, 4 trials)


def configs(split: int) -> list[dict[str, object]]:
    return [{"seed": split, "data": {"name": "digits"},
             "model": {"units": u, "dropout": d, "kernel_initializer": "uniform"},
             "optimizer": {"name": "SGD", "learning_rate": lr, "momentum": 0.8},
             "training": {"batch_size": 32, "epochs": 20},
             "callbacks": {"early_stopping": {"monitor": "val_accuracy", "patience": 6,
                                              "restore_best_weights": True}}}
            for u, d, lr in itertools.product(UNITS, DROPOUTS, RATES)]


def run_split(split: int, replicates: int, draws: int) -> dict[str, object]:
    data = load_dataset("digits", seed=split)
    base = [parse_config(c) for c in configs(split)]
    seeds = [1000 + r for r in range(replicates)]
    runs = [c.model_copy(update={"seed": s}) for s in seeds for c in base]
    started = time.perf_counter()
    results = train_runs(runs, data, cohorts="replicate", collect=False)
    table = np.array([score(r.history, r.config, "val_accuracy") for r in results])
    table = table.reshape(replicates, len(base))  # replicate x configuration
    total = table.sum(axis=0)
    cols = np.arange(len(base))

    def judge(picks: np.ndarray) -> tuple[float, float]:
        # Each configuration's true score leaves out the replicate that scored it in the
        # search, so a lucky draw is never its own judge.
        scores = table[picks, cols]
        truth = (total - scores) / (replicates - 1)
        chosen = int(np.argmax(scores))
        return float(truth.max() - truth[chosen]), float(stats.spearmanr(scores, truth).statistic)

    crn = [judge(np.full(len(base), r)) for r in range(replicates)]
    rng = np.random.default_rng(split)
    ind = [judge(rng.integers(0, replicates, size=len(base))) for _ in range(draws)]
    crn_regret, crn_rho = zip(*crn, strict=True)
    ind_regret, ind_rho = zip(*ind, strict=True)
    truth = table.mean(axis=0)
    best = truth.max()
    return {"split": split, "replicates": replicates, "configurations": len(base),
            "seconds": round(time.perf_counter() - started, 1),
            "crn": {"regret_mean": float(np.mean(crn_regret)),
                    "spearman_mean": float(np.mean(crn_rho))},
            "independent": {"regret_mean": float(np.mean(ind_regret)),
                            "spearman_mean": float(np.mean(ind_rho))},
            "truth_best": float(best), "truth_spread": float(truth.max() - truth.min())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=8)
    parser.add_argument("--splits", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args(argv)
    rows = [run_split(s, args.replicates, args.draws) for s in args.splits]
    print(f"{'split':>6} {'CRN regret':>11} {'indep. regret':>14} {'CRN rho':>8}"
          f" {'indep. rho':>11}")
    for r in rows:
        c, i = r["crn"], r["independent"]
        print(f"{r['split']:>6} {c['regret_mean']:>11.4f} {i['regret_mean']:>14.4f}"  # type: ignore[index]
              f" {c['spearman_mean']:>8.3f} {i['spearman_mean']:>11.3f}")  # type: ignore[index]
    summary = {k: statistics.fmean(r[k]["regret_mean"] for r in rows)  # type: ignore[index]
               for k in ("crn", "independent")}
    print(f"mean regret over splits: CRN {summary['crn']:.4f}, independent"
          f" {summary['independent']:.4f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"rows": rows, "mean_regret": summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
