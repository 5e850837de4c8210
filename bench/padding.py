"""Padded hidden widths: the FLOPs a padded cohort wastes against the compilations it saves.

Configurations whose hidden widths differ can share one cohort when the network is computed
at a common, padded width with per-slot unit masks (``model.padded_units``). Each distinct
width otherwise costs its own compilation. This measures, on a Fashion-MNIST subset with
the tutorial's two-layer MLP (batch 128, SGD, K slots):

  * seconds per epoch of a cohort at the real width w, and of the same cohort computed at
    the padded width P (median of ``--repeats`` epochs after a warm-up epoch);
  * the compile seconds of one cohort shape (cold: no persistent cache);
  * the break-even: how many epochs of padded training one saved compilation pays for,
    ``compile / (padded - unpadded)``.

Usage:
  python bench/padding.py [--train N] [--k K] [--repeats R]   writes results/padding.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["TUNELAB_CACHE"] = tempfile.mkdtemp(prefix="tunelab-pad-")

from _common import RESULTS, console, machine  # noqa: E402


def measure(data: Any, units: int, padded: int | None, k: int, repeats: int,
            batch: int) -> dict[str, float]:
    from tunelab.config import parse_config
    from tunelab.train import Cohort

    model: dict[str, Any] = {"units": [units, units], "dropout": [0.1, 0.0]}
    if padded is not None:
        model["padded_units"] = [padded, padded]
    cfg = parse_config({"model": model, "optimizer": {"name": "SGD", "learning_rate": 0.05},
                        "training": {"epochs": repeats + 1, "batch_size": batch}})
    start = time.perf_counter()
    cohort = Cohort(cfg, data, width=k)
    for slot in range(k):
        cohort.assign(slot, cfg.model_copy(update={"seed": slot}))
    cohort.run_epoch()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        cohort.run_epoch()
        times.append(time.perf_counter() - t)
    return {"epoch_s": statistics.median(times), "compile_s": cohort.compile_seconds,
            "first_epoch_with_setup_s": first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=10_000, help="training images (10,000)")
    parser.add_argument("--k", type=int, default=8, help="slots per cohort (8)")
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs (5)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (128)")
    args = parser.parse_args()
    from tunelab.config import DataConfig
    from tunelab.data import load_dataset

    total = args.train + 1000
    data = load_dataset(DataConfig(name="fashion-mnist", limit=total,
                                   validation_split=1000 / total), seed=0)
    con = console()
    rows = []
    padded_to = 128
    for units in (32, 64, 128):
        real = measure(data, units, None, args.k, args.repeats, args.batch)
        pad = measure(data, units, padded_to, args.k, args.repeats, args.batch)
        extra = pad["epoch_s"] - real["epoch_s"]
        rows.append({"units": units, "padded_to": padded_to, "unpadded": real, "padded": pad,
                     "extra_epoch_s": extra,
                     "break_even_epochs": (real["compile_s"] / extra) if extra > 0 else None})
        con.print(f"width {units:4d}: epoch {real['epoch_s']:.3f} s unpadded, {pad['epoch_s']:.3f}"
                  f" s padded to {padded_to} (+{extra:.3f} s); compile {real['compile_s']:.2f} s"
                  f" -> one saved compilation pays for"
                  f" {rows[-1]['break_even_epochs'] or float('inf'):.0f} padded cohort epochs")
    out = {"benchmark": "padding", "settings": vars(args), "machine": machine(), "rows": rows}
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    from tunelab._files import write_json

    path = write_json(RESULTS / "padding.json", out)
    con.print(f"wrote {path}")


if __name__ == "__main__":
    main()
