"""Batch size as a per-slot value: what micro-batches cost in training and save in compiling.

With ``training.micro_batch = m`` every batch size that is a multiple of ``m`` trains in one
cohort and one compiled program; a slot of batch ``B`` sums ``B / m`` micro-batches' gradients
before each update. That trades training speed (``m``-row products instead of ``B``-row
ones, and an accumulation pass over the parameters at every micro-step) for compilations
(one program instead of one per batch size) and fuller cohorts. On the race's space
(Fashion-MNIST, the tutorial's MLP at width 256, SGD with momentum, batch sizes 32, 64, 128,
256, K = 8 slots), one process, JAX's persistent compilation cache off:

  compile        seconds to compile an epoch and its validation for each batch size's own
                 program, and for the one micro-batch program that serves them all
  train          seconds per epoch per configuration, in rounds (each round trains one
                 epoch of every cohort, so load on the machine hits every row alike):
                 a cohort per batch size (plain), and one micro-batch cohort whose slots
                 have the four batch sizes (two each)

The break-even is the number of cohort epochs after which the extra training time of the
micro-batch program has eaten the compilations it saved.

Usage:
  python bench/micro_batch.py [--samples 20000] [--rounds 3] [--micro 32]
      writes bench/results/micro_batch.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ["TUNELAB_CACHE"] = ""  # compile for real: the persistent cache would hide it

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, console, fashion_split, machine, namespace_dataset  # noqa: E402

BATCHES = (32, 64, 128, 256)
K = 8


def _config(batch: int, micro: int | None, seed: int) -> Any:
    from tunelab.config import parse_config

    return parse_config({
        "seed": seed,
        "model": {"units": [256, 256], "dropout": [0.1, 0.0], "kernel_initializer": "uniform"},
        "optimizer": {"name": "SGD", "learning_rate": 0.05, "momentum": 0.8},
        "training": {"epochs": 1000, "batch_size": batch, "micro_batch": micro}})


def _cohort(data: Any, batches: list[int], micro: int | None) -> tuple[Any, float]:
    from tunelab.train import Cohort

    cohort = Cohort(_config(batches[0], micro, 0), data, width=len(batches))
    for slot, batch in enumerate(batches):
        cohort.assign(slot, _config(batch, micro, slot))
    return cohort, cohort.compile()


def run(args: argparse.Namespace) -> dict[str, Any]:
    x, y, xv, yv = fashion_split()
    data = namespace_dataset(x[:args.samples], y[:args.samples], xv, yv)
    cohorts: dict[str, Any] = {}
    compile_s: dict[str, float] = {}
    for batch in BATCHES:
        name = f"plain B={batch}"
        cohorts[name], compile_s[name] = _cohort(data, [batch] * K, None)
    mixed = [b for b in BATCHES for _ in range(K // len(BATCHES))]
    name = f"micro m={args.micro}"
    cohorts[name], compile_s[name] = _cohort(data, mixed, args.micro)
    for cohort in cohorts.values():
        cohort.run_epoch()  # warm: the first epoch is not timed
    seconds: dict[str, list[float]] = {n: [] for n in cohorts}
    for _ in range(args.rounds):
        for n, cohort in cohorts.items():
            start = time.perf_counter()
            cohort.run_epoch()
            seconds[n].append((time.perf_counter() - start) / K)
    per_config = {n: statistics.median(v) for n, v in seconds.items()}
    plain = [per_config[f"plain B={b}"] for b in BATCHES]
    micro = per_config[name]
    extra_per_cohort_epoch = K * (micro - statistics.mean(plain))
    saved = sum(compile_s[f"plain B={b}"] for b in BATCHES) - compile_s[name]
    return {
        "benchmark": "micro_batch", "machine": machine(), "settings": vars(args),
        "samples": args.samples, "k": K, "batches": list(BATCHES),
        "compile_s": compile_s, "epoch_s_per_config": seconds,
        "median_epoch_s_per_config": per_config,
        "micro_over_plain": {f"B={b}": micro / per_config[f"plain B={b}"] for b in BATCHES},
        "compile_saved_s": saved, "extra_s_per_cohort_epoch": extra_per_cohort_epoch,
        "break_even_cohort_epochs": (saved / extra_per_cohort_epoch
                                     if extra_per_cohort_epoch > 0 else None),
    }


def show(res: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    table = Table(title=f"micro-batch vs one program per batch size: {res['samples']} samples,"
                        f" K = {res['k']}, medians of {res['settings']['rounds']} rounds")
    for col in ("program", "compile s", "s / epoch / config", "micro / plain"):
        table.add_column(col)
    for n, s in res["median_epoch_s_per_config"].items():
        ratio = res["micro_over_plain"].get(n.replace("plain ", ""))
        table.add_row(n, f"{res['compile_s'][n]:.2f}", f"{s:.4f}",
                      f"{ratio:.2f}" if ratio is not None and n.startswith("plain") else "")
    con.print(table)
    be = res["break_even_cohort_epochs"]
    con.print(f"compilations saved: {res['compile_saved_s']:.2f} s; extra training per cohort"
              f" epoch (vs the mean plain one): {res['extra_s_per_cohort_epoch']:.3f} s;"
              f" break-even after {be:.1f} cohort epochs" if be is not None else
              "the micro-batch program trains no slower: it pays from the first epoch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=20_000, help="training rows (of 50,000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per cohort")
    parser.add_argument("--micro", type=int, default=32, help="the micro-batch")
    args = parser.parse_args()
    res = run(args)
    show(res)
    from tunelab._files import write_json

    path = RESULTS / "micro_batch.json"
    write_json(path, res)
    console().print(f"wrote {path}")


if __name__ == "__main__":
    main()
