"""Cohort width against time per configuration, with the epoch trained in chunks and without.

A wider cohort shares each update step's fixed costs between more slots, but every step reads
and writes every slot's parameters, gradients and optimizer state: once those outgrow the
caches, a slot trains slower in a wide cohort than alone. The engine trains an epoch in chunks
of slots whose arrays stay within ``tunelab.train._chunks.CHUNK_BYTES`` (see that module).

For networks of two hidden layers on Fashion-MNIST (a subset), SGD with momentum, batch sizes
32 and 128, and cohort widths 1, 4 and 12, this measures the seconds of one epoch per
configuration (the cohort's epoch time over its width, the median of ``--epochs`` epochs after
a first that compiles), in one process:

  whole     the epoch as one piece (``CHUNK_BYTES`` set beyond any cohort)
  chunks    the epoch in the engine's chunks (the default)

Rows are measured in rounds, each round one epoch of every row, so load on the machine hits
every row alike.

Usage:
  python bench/cohort_width.py [--samples 20000] [--epochs 3]
      writes bench/results/cohort_width.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, console, fashion_split, machine, namespace_dataset  # noqa: E402

NETWORKS = [[64, 64], [128, 128], [256, 128]]
BATCHES = [32, 128]
WIDTHS = [1, 4, 12]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    import tunelab.train._chunks as chunks
    from tunelab.config import parse_config
    from tunelab.train import Cohort

    out = console()
    x, y, xv, yv = fashion_split()
    data = namespace_dataset(x[:args.samples], y[:args.samples], xv[:5000], yv[:5000],
                             name="fashion-subset")
    budget = chunks.CHUNK_BYTES
    rows: list[dict[str, Any]] = []
    cohorts: list[tuple[dict[str, Any], Any]] = []
    for units in NETWORKS:
        for batch in BATCHES:
            for width in WIDTHS:
                for mode in ("whole", "chunks"):
                    chunks.CHUNK_BYTES = 2**62 if mode == "whole" else budget
                    cfgs = [parse_config({
                        "seed": 1, "model": {"units": units, "dropout": 0.1},
                        "optimizer": {"name": "SGD", "learning_rate": 0.01 * (1 + k),
                                      "momentum": 0.8},
                        "training": {"epochs": args.epochs + 1, "batch_size": batch}})
                        for k in range(width)]
                    cohort = Cohort(cfgs[0], data, width=width)  # type: ignore[arg-type]
                    for k, cfg in enumerate(cfgs):
                        cohort.assign(k, cfg)
                    row = {"units": units, "batch_size": batch, "width": width, "mode": mode,
                           "chunk_width": cohort.chunks.width, "epoch_seconds": []}
                    if mode == "chunks" and cohort.chunks.count == 1:
                        row["same_as_whole"] = True
                        rows.append(row)
                        continue
                    rows.append(row)
                    cohorts.append((row, cohort))
    chunks.CHUNK_BYTES = budget
    for r in range(args.epochs + 1):
        for row, cohort in cohorts:
            logs = cohort.run_epoch()
            if r:  # the first epoch compiles
                row["epoch_seconds"].append(logs[0]["seconds"])
        out.print(f"round {r + 1} of {args.epochs + 1} done")
    for row in rows:
        if row["epoch_seconds"]:
            row["per_config_seconds"] = statistics.median(row["epoch_seconds"]) / row["width"]
    by = {(tuple(r["units"]), r["batch_size"], r["width"], r["mode"]): r for r in rows}
    summary = []
    for units in NETWORKS:
        for batch in BATCHES:
            whole = {w: by[(tuple(units), batch, w, "whole")]["per_config_seconds"]
                     for w in WIDTHS}
            mine = {w: (by[(tuple(units), batch, w, "chunks")].get("per_config_seconds")
                        or whole[w]) for w in WIDTHS}
            best = min(whole.values())
            line = {"units": units, "batch_size": batch,
                    "chunk_width_at_12": by[(tuple(units), batch, 12, "chunks")]["chunk_width"],
                    "whole": whole, "chunks": mine,
                    "whole_12_over_best": whole[12] / best, "chunks_12_over_best": mine[12] / best}
            summary.append(line)
            out.print(f"{units} batch {batch}: per configuration, width 1/4/12 whole "
                      + "/".join(f"{whole[w]:.3f}" for w in WIDTHS) + " s, chunks "
                      + "/".join(f"{mine[w]:.3f}" for w in WIDTHS)
                      + f" s (chunk {line['chunk_width_at_12']} at 12);"
                      f" width 12 over the best width: whole {line['whole_12_over_best']:.2f},"
                      f" chunks {line['chunks_12_over_best']:.2f}")
    result = {"benchmark": "cohort_width", "machine": machine(),
              "settings": {"samples": args.samples, "epochs": args.epochs,
                           "chunk_bytes": budget, "optimizer": "SGD momentum 0.8"},
              "summary": summary, "rows": rows,
              "command": "python bench/cohort_width.py " + " ".join(sys.argv[1:])}
    path = RESULTS / "cohort_width.json"
    import json

    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    out.print(f"wrote {path}")


if __name__ == "__main__":
    main()
