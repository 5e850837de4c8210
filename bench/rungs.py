"""Rungs that rank well: how well a trial's value at an early rung predicts its 12-epoch value.

ASHA keeps the top third at each rung and stops the rest. That is only as good as the rank
order a rung's values give: a rung whose order has little to do with the order after twelve
epochs stops trials that would have won. This benchmark measures that order on the race's
space (``bench/race.py``: the tutorial's MLP on Fashion-MNIST 50k/10k, width, dropout, learning
rate, momentum and batch size), so that ``min_resource`` and the rung spacing are chosen by
measurement.

What it runs: one tunelab study, random sampler, every trial trained for the race's 12 epochs
(``--trials``, 48 by default), ``report_every = 0.125``. The pruner is ``median`` with no
warm-up and more start-up trials than the study has, so it never cuts; it is there because it
makes every trial report at every eighth of its first epoch (and at every epoch's end). Every
trial's validation accuracy is read from the study's storage.

What it prints, per candidate rung (1/8, 1/4, 3/8, 1/2, 1, 2, 3, 4, 6 epochs):

- Spearman's rank correlation (``scipy.stats.spearmanr``) between the values at the rung and
  the trials' final values (the best epoch-end value over 12 epochs, the race's value rule),
  with its p;
- the *keep recall*: of the trials in the final top quarter, the share that a top-third cut at
  the rung (what ASHA with reduction factor 3 keeps) would keep.

And the same for rungs counted in *updates* rather than epochs: at ``U`` updates a batch-32
trial has seen ``U * 32`` samples, a batch-256 one eight times more. A rung at ``U`` updates
reads each trial at the first eighth-of-an-epoch report at or after ``U`` updates.

Writes ``results/rungs.json``. The trials are random, so the figures carry sampling noise:
with 48 trials the 95 % interval of a Spearman correlation near 0.8 is about 0.67 to 0.88.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import console, machine  # noqa: E402
from race import MAX_EPOCHS, prepare_data, tunelab_config  # noqa: E402

PARTS = 8  # reports per epoch
EPOCH_RUNGS = [1 / 8, 1 / 4, 3 / 8, 1 / 2, 1.0, 2.0, 3.0, 4.0, 6.0]
KEEP = 1 / 3  # ASHA's reduction factor 3 keeps the top third
TOP = 1 / 4  # the "final winners" whose survival is counted
RESULTS = Path(__file__).resolve().parent / "results"


def study_curves(url: str, name: str) -> list[dict[str, Any]]:
    """Every finished trial: its batch size and its value at every report step."""
    import optuna

    study = optuna.load_study(study_name=name, storage=url)
    out = []
    for t in study.get_trials(deepcopy=False):
        if t.state != optuna.trial.TrialState.COMPLETE:
            continue
        steps = {int(k): float(v) for k, v in t.intermediate_values.items()}
        if any(e * PARTS not in steps for e in range(1, MAX_EPOCHS + 1)):
            continue
        out.append({"number": t.number, "params": dict(t.params), "steps": steps})
    return out


def batch_of(trial: dict[str, Any]) -> int:
    return int(trial["params"]["training.batch_size"])


def final_value(trial: dict[str, Any]) -> float:
    """The race's value rule: the best epoch-end value over the trial's epochs."""
    return max(trial["steps"][e * PARTS] for e in range(1, MAX_EPOCHS + 1))


def at_epochs(trial: dict[str, Any], epochs: float) -> float:
    return trial["steps"][round(epochs * PARTS)]


def at_updates(trial: dict[str, Any], updates: float, train: int) -> float | None:
    """The value at the first report at or after ``updates`` updates (None past 12 epochs)."""
    per_step = math.ceil(train / batch_of(trial)) / PARTS
    step = max(1, math.ceil(updates / per_step - 1e-9))
    later = [s for s in trial["steps"] if s >= step]
    return trial["steps"][min(later)] if later else None


def rank_quality(early: list[float], final: list[float]) -> dict[str, Any]:
    """Spearman's rho (scipy) and the keep recall of a top-third cut on ``early``."""
    from scipy import stats

    res = stats.spearmanr(early, final)
    n = len(final)
    keep = max(1, round(n * KEEP))
    top = max(1, round(n * TOP))
    kept = set(np.argsort(early)[::-1][:keep].tolist())
    winners = set(np.argsort(final)[::-1][:top].tolist())
    return {"n": n, "spearman": round(float(res.statistic), 4), "p": float(res.pvalue),
            "keep_recall": round(len(kept & winners) / len(winners), 4),
            "kept": keep, "winners": top}


def run(args: argparse.Namespace) -> dict[str, Any]:
    con = console()
    out: dict[str, Any] = {"benchmark": "rungs", "machine": machine(),
                           "settings": {"trials": args.trials, "seed": args.seed,
                                        "train": args.train, "val": args.val,
                                        "report_every": 1 / PARTS, "max_epochs": MAX_EPOCHS,
                                        "keep": KEEP, "top": TOP}}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tunelab-rungs-") as tmp_name:
        folder = Path(args.run_dir) if args.run_dir else Path(tmp_name)
        folder.mkdir(parents=True, exist_ok=True)
        data = folder / "data.npz"
        described = folder / "data.json"
        if not described.is_file():
            described.write_text(json.dumps(prepare_data(data, args.train, args.val)))
        out["data"] = json.loads(described.read_text())
        config = tunelab_config({"data": str(data), "seed": args.seed, "dropout": "first",
                                 "levers": False})
        config["study"].update({"trials": args.trials, "sampler": "random", "pruner": "median",
                                "startup_trials": args.trials + 1, "warmup_epochs": 0,
                                "report_every": 1 / PARTS, "min_resource": 1})
        run_dir = folder / "run"
        if not args.analyze:
            from tunelab.study import tune

            con.print(f"training {args.trials} random trials of the race's space for"
                      f" {MAX_EPOCHS} epochs each (the pruner never cuts)")
            tune(config, run_dir=run_dir, progress=not args.quiet)
        trials = study_curves(f"sqlite:///{run_dir / 'study.db'}",
                              config["study"].get("name", "tunelab"))
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    final = [final_value(t) for t in trials]
    out["settings"]["trials_finished"] = len(trials)
    out["trials"] = [{"number": t["number"], "params": t["params"], "final": f,
                      "at_epochs": {f"{e:g}": at_epochs(t, e) for e in EPOCH_RUNGS}}
                     for t, f in zip(trials, final, strict=True)]
    out["by_epochs"] = {f"{e:g}": rank_quality([at_epochs(t, e) for t in trials], final)
                        for e in EPOCH_RUNGS}
    # Rungs in updates: the updates a batch-32 trial makes in 1/8, 1/4, 1/2, 1 epoch.
    per_epoch_32 = math.ceil(out["data"]["train"] / 32)
    by_updates: dict[str, Any] = {}
    for frac in (1 / 8, 1 / 4, 1 / 2, 1.0):
        updates = per_epoch_32 * frac
        early = [at_updates(t, updates, out["data"]["train"]) for t in trials]
        ok = [i for i, v in enumerate(early) if v is not None]
        by_updates[str(round(updates))] = rank_quality(
            [float(early[i]) for i in ok], [final[i] for i in ok])  # type: ignore[arg-type]
    out["by_updates"] = by_updates
    out["batch_counts"] = {str(b): sum(batch_of(t) == b for t in trials)
                           for b in sorted({batch_of(t) for t in trials})}
    return out


def show(res: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    table = Table(title=f"rank quality of early rungs ({len(res['trials'])} random trials,"
                        f" final = best of {MAX_EPOCHS} epochs)")
    for col in ("rung", "Spearman rho", "p", "keep recall"):
        table.add_column(col, justify="right")
    for name, r in res["by_epochs"].items():
        table.add_row(f"{name} epochs", f"{r['spearman']:.3f}", f"{r['p']:.1e}",
                      f"{r['keep_recall']:.2f}")
    for name, r in res["by_updates"].items():
        table.add_row(f"{name} updates", f"{r['spearman']:.3f}", f"{r['p']:.1e}",
                      f"{r['keep_recall']:.2f}")
    con.print(table)
    con.print(f"keep recall: of the final top {TOP:.0%}, the share a top-{KEEP:.0%} cut at the"
              f" rung keeps; batch sizes drawn: {res['batch_counts']}; {res['wall_s']:.0f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=48, help="random trials (default 48)")
    p.add_argument("--seed", type=int, default=0, help="sampler and run seed (default 0)")
    p.add_argument("--train", type=int, default=50_000, help="training images (default 50,000)")
    p.add_argument("--val", type=int, default=10_000, help="validation images (default 10,000)")
    p.add_argument("--quick", action="store_true",
                   help="8 trials on 5,000 / 2,000 images: a smoke run, results-quick file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--run-dir", help="keep the data and the study in this folder (default: a"
                   " temporary one); the same folder again resumes the study")
    p.add_argument("--analyze", action="store_true",
                   help="train nothing: read the trials the study in --run-dir has finished")
    args = p.parse_args()
    if args.quick:
        args.trials, args.train, args.val = 8, 5_000, 2_000
    if args.analyze and not args.run_dir:
        p.error("--analyze reads a study: give its folder with --run-dir")
    res = run(args)
    show(res)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("rungs-quick.json" if args.quick else "rungs.json")
    path.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    console().print(f"wrote {path}")


if __name__ == "__main__":
    main()
