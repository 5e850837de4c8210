"""A long study: thousands of trials on digits over many structures, watching what a long
run could leak.

    python bench/soak.py                       # 2,000 trials
    python bench/soak.py --trials 100 --out /tmp/soak.json --figure /tmp/soak.png

After every round of results it samples the process's resident memory, open file
descriptors and threads, the size of the JAX compilation cache (a folder of its own) and of
``study.db``. They must level off: once every structure has compiled, none of them may keep
growing with the number of trials (``study.db`` grows with the trials it records, a few KB
each, which the summary shows per 1,000 trials; Optuna keeps a copy of every trial in memory
too, which ``second_half_objects`` counts by type). The curve goes to
``bench/results/soak.json`` and a figure to ``docs/images/soak.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "images" / "soak.png"

# Many structures: depth and widths, activation, batch size and optimizer family all change
# the compiled program; the learning rate and dropout are per-slot values.
SPACE: dict[str, Any] = {
    "model.units": [[16], [32], [64], [16, 16], [32, 32], [64, 32], [32, 16, 8]],
    "model.activation": ["relu", "tanh", "elu"],
    "training.batch_size": [32, 64, 128],
    "optimizer.name": ["SGD", "Adam", "RMSprop"],
    "optimizer.learning_rate": {"low": 1e-3, "high": 0.3, "log": True},
    "model.dropout": {"low": 0.0, "high": 0.3},
}


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def sample(trials: int, start: float, cache: Path, db: Path) -> dict[str, Any]:
    """One sample of everything that could grow, after ``trials`` finished trials."""
    return {
        "trials": trials,
        "seconds": round(time.perf_counter() - start, 1),
        "rss_mb": round(_rss_bytes() / 2**20, 1),
        "open_fds": len(os.listdir("/proc/self/fd")),
        "threads": threading.active_count(),
        "os_threads": len(os.listdir("/proc/self/task")),
        "cache_mb": round(_folder_bytes(cache) / 2**20, 2),
        "study_db_mb": round(db.stat().st_size / 2**20, 3) if db.exists() else 0.0,
    }


def census() -> dict[str, int]:
    """Live Python objects by type (after a full collection)."""
    import collections
    import gc

    gc.collect()
    return dict(collections.Counter(type(o).__name__ for o in gc.get_objects()))


def growth(before: dict[str, int], after: dict[str, int], top: int = 8) -> dict[str, int]:
    """The object types whose count grew most between two censuses."""
    diff = {k: n - before.get(k, 0) for k, n in after.items()}
    return dict(sorted(((k, d) for k, d in diff.items() if d > 0), key=lambda kv: -kv[1])[:top])


def _at(samples: list[dict[str, Any]], trials: int) -> dict[str, Any]:
    return min(samples, key=lambda s: abs(s["trials"] - trials))


def thin(samples: list[dict[str, Any]], every: int = 10) -> list[dict[str, Any]]:
    """The curve to keep: the last sample of every ``every`` finished trials (and the last)."""
    kept: dict[int, dict[str, Any]] = {}
    for s in samples:
        kept[s["trials"] // every] = s
    out = list(kept.values())
    return out if not samples or out[-1] is samples[-1] else [*out, samples[-1]]


def summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Growth of each measure over the second half of the run, per 1,000 trials (a least
    squares slope), next to its value at trial 100 and at the end."""
    import numpy as np

    half = [s for s in samples if s["trials"] >= samples[-1]["trials"] / 2]
    out: dict[str, Any] = {}
    for key in ("rss_mb", "open_fds", "threads", "os_threads", "cache_mb", "study_db_mb"):
        x = np.array([s["trials"] for s in half], dtype=float)
        y = np.array([s[key] for s in half], dtype=float)
        slope = float(np.polyfit(x, y, 1)[0]) * 1000 if len(half) >= 3 and np.ptp(x) > 0 \
            else None
        out[key] = {"at_100": _at(samples, 100)[key], "at_end": samples[-1][key],
                    "second_half_growth_per_1000_trials": slope}
    return out


def figure(samples: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("rss_mb", "resident memory (MB)"), ("open_fds", "open file descriptors"),
            ("os_threads", "threads"), ("cache_mb", "compile cache (MB)"),
            ("study_db_mb", "study.db (MB)")]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8))
    x = [s["trials"] for s in samples]
    for ax, (key, title) in zip(axes, keys, strict=True):
        ax.plot(x, [s[key] for s in samples])
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("trials finished", fontsize=8)
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--cohort", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS / "soak.json")
    parser.add_argument("--figure", type=Path, default=FIGURE)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="tunelab-soak-"))
    cache = work / "jax-cache"
    os.environ["TUNELAB_CACHE"] = str(cache)  # before anything compiles: a cache of its own
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import tunelab

    run = work / "run"
    start = time.perf_counter()
    samples: list[dict[str, Any]] = []
    censuses: dict[int, dict[str, int]] = {}

    def watch(progress: Any) -> None:
        samples.append(sample(progress.done, start, cache, run / "study.db"))
        for mark in (args.trials // 2, args.trials):  # what the second half adds, by type
            if progress.done >= mark and mark not in censuses:
                censuses[mark] = census()
        last = samples[-1]
        print(f"{last['trials']:5d} trials  {last['seconds']:8.0f} s  rss {last['rss_mb']:7.1f} MB"
              f"  fds {last['open_fds']:4d}  threads {last['os_threads']:3d}"
              f"  cache {last['cache_mb']:7.1f} MB  db {last['study_db_mb']:6.2f} MB",
              flush=True)

    tunelab.tune({"training": {"epochs": args.epochs}, "search": SPACE}, dataset="digits",
                 out=run, trials=args.trials, cohort=args.cohort, pruner="none",
                 sampler="random", progress=False, on_progress=watch)
    result = {"benchmark": "soak", "trials": args.trials, "epochs": args.epochs,
              "cohort": args.cohort, "space": SPACE, "machine": machine(),
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "samples": thin(samples),
              "summary": summary(samples)}
    if len(censuses) == 2:
        half, end = (censuses[k] for k in sorted(censuses))
        result["second_half_objects"] = {
            "trials": args.trials - args.trials // 2, "live_objects": sum(end.values()) - sum(
                half.values()), "growing_types": growth(half, end)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    figure(samples, args.figure)
    print(json.dumps(result["summary"], indent=1))
    print(f"wrote {args.out} and {args.figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
