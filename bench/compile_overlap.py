"""Hiding a compilation: compile the next structure's programs while the current cohort trains.

A study trains one cohort at a time per worker; the next structure's compilation (1-3 s) is
paid between cohorts. On a machine with few cores training already keeps every core busy, so
a compilation in a background thread is not free: it takes CPU from the training it overlaps.
This measures, on Fashion-MNIST (50,000 training / 10,000 validation images), the tutorial's
MLP, SGD, K = 8:

  sequential   compile cohort B (another width and batch size), then train cohort A for
               ``--epochs`` epochs
  overlapped   the same, with B's compilation in a thread while A trains

Each variant runs in a fresh process with an empty persistent compilation cache, ``--repeats``
times, alternating; the medians and their ratio are printed. The overlap pays when the
overlapped wall time is clearly below the sequential one.

Usage:
  python bench/compile_overlap.py [--epochs 3] [--repeats 3]   writes results/compile_overlap.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    RESULTS,
    console,
    fashion_split,
    machine,
    namespace_dataset,
    run_worker,
    worker_main,
)


def _cohort(data: Any, units: int, batch: int, k: int) -> Any:
    from tunelab.config import parse_config
    from tunelab.train import Cohort

    cfg = parse_config({"model": {"units": [units, units], "dropout": [0.1, 0.0],
                                  "kernel_initializer": "uniform"},
                        "optimizer": {"name": "SGD", "learning_rate": 0.05, "momentum": 0.8},
                        "training": {"epochs": 100, "batch_size": batch}})
    return Cohort(cfg, data, width=k), cfg


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    data = namespace_dataset(*fashion_split())
    a, cfg = _cohort(data, 256, 128, spec["k"])
    for slot in range(spec["k"]):
        a.assign(slot, cfg.model_copy(update={"seed": slot}))
    a.compile()
    a.run_epoch()  # warm: A's own programs are not what is measured
    b, _ = _cohort(data, 512, 64, spec["k"])
    start = time.perf_counter()
    if spec["overlap"]:
        thread = threading.Thread(target=b.compile)
        thread.start()
        for _ in range(spec["epochs"]):
            a.run_epoch()
        thread.join()
    else:
        b.compile()
        for _ in range(spec["epochs"]):
            a.run_epoch()
    return {"wall_s": time.perf_counter() - start, "b_compile_s": b.compile_seconds}


HANDLERS = {"overlap": worker}


def main() -> None:
    if worker_main(HANDLERS, sys.argv):
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--k", type=int, default=8)
    args = parser.parse_args()
    con = console()
    runs: dict[str, list[dict[str, Any]]] = {"sequential": [], "overlapped": []}
    for _ in range(args.repeats):
        for name in runs:
            spec = {"epochs": args.epochs, "k": args.k, "overlap": name == "overlapped"}
            env = {"TUNELAB_CACHE": tempfile.mkdtemp(prefix="tunelab-overlap-")}
            runs[name].append(run_worker(__file__, "overlap", spec, env=env))
    med = {name: statistics.median(r["wall_s"] for r in rs) for name, rs in runs.items()}
    comp = {name: statistics.median(r["b_compile_s"] for r in rs) for name, rs in runs.items()}
    saved = med["sequential"] - med["overlapped"]
    con.print(f"K = {args.k}, {args.epochs} epochs of cohort A (width 256, batch 128) and the"
              f" compilation of cohort B (width 512, batch 64), medians of {args.repeats}:")
    for name in runs:
        con.print(f"  {name:10s} wall {med[name]:.2f} s (B's compilation {comp[name]:.2f} s)")
    con.print(f"  overlap saves {saved:.2f} s of the {comp['sequential']:.2f} s compilation"
              f" ({100 * saved / max(comp['sequential'], 1e-9):.0f}% of it hidden)")
    out = {"benchmark": "compile_overlap", "machine": machine(), "settings": vars(args),
           "runs": runs, "median_wall_s": med, "median_b_compile_s": comp,
           "saved_s": saved}
    from tunelab._files import write_json

    path = RESULTS / "compile_overlap.json"
    write_json(path, out)
    con.print(f"wrote {path}")


if __name__ == "__main__":
    main()
