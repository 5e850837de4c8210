"""What the guide delivers: the test accuracy of ``best.keras`` and the wall time of a whole run.

Runs ``tunelab guide`` as a user does, one fresh process per run (the clock starts before the
process does, so imports, data loading, compilation and the report are all counted), on:

- digits, the ``quick`` budget, data splits ``--seed 0..4``;
- Fashion-MNIST, the ``standard`` budget, split ``--seed 0`` (``--fashion-seeds`` for more).

From each run folder it reads ``final.json``: the test accuracy of ``best.keras`` and of the
starting configuration by the same final protocol (``baseline_test``), and ``decisions.json``:
what each step credited. These are the figures a user is quoted; the test split is read once
per run, by the guide, to report them (no decision in the guide reads it).

Bars (from the project's evidence issue): digits quick, median test accuracy over the five
splits at least 0.975 and never below the start by the same protocol; Fashion-MNIST standard at
least 0.895 within 600 seconds.

    python bench/guide_accuracy.py                       # digits 0..4, Fashion-MNIST 0
    python bench/guide_accuracy.py --digits-seeds 0,1 --fashion-seeds ''   # a first check
    python bench/guide_accuracy.py --keep runs/accuracy  # keep the run folders

Writes ``bench/results/guide_accuracy.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

BARS = {"digits": {"budget": "quick", "median_at_least": 0.975, "never_below_start": True},
        "fashion-mnist": {"budget": "standard", "at_least": 0.895, "within_seconds": 600.0}}


def _seeds(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def _tunelab() -> list[str]:
    """The CLI as installed beside this Python (the console script), else ``-m tunelab.cli``."""
    script = Path(sys.executable).with_name("tunelab")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tunelab.cli"]


def run_guide(dataset: str, budget: str, seed: int, out: Path) -> dict[str, Any]:
    """One whole guide run in a fresh process; its figures read back from the run folder."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONWARNINGS": "ignore"}
    cmd = [*_tunelab(), "guide", "--dataset", dataset, "--budget", budget, "--seed", str(seed),
           "--out", str(out), "--quiet"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n"
                           f"{(proc.stdout + proc.stderr)[-3000:]}")
    final = json.loads((out / "final.json").read_text())
    decisions = json.loads((out / "decisions.json").read_text())
    steps = [{"step": s["step"], "credited": s.get("credited"), "adopted": s.get("adopted"),
              "value": s["candidate"] if s.get("adopted") else s["current"]}
             for s in decisions["steps"]]
    tuning = final.get("tuning") or {}
    return {"dataset": dataset, "budget": budget, "seed": seed, "seconds": round(seconds, 1),
            "test_accuracy": final["test"].get("test_accuracy"),
            "start_test_accuracy": final["baseline_test"].get("test_accuracy"),
            "protocol": {k: final["protocol"].get(k)
                         for k in ("refit", "members", "combine", "epochs")},
            "tuning_helped": tuning.get("helped"), "tuning_looks": tuning.get("looks", 1),
            "shipped": final.get("shipped", "adopted"), "steps": steps}


def verdicts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each bar against the rows measured for it (None where no row was measured)."""
    out: dict[str, Any] = {}
    digits = [r for r in rows if r["dataset"] == "digits"]
    if digits:
        accs = [r["test_accuracy"] for r in digits]
        median = statistics.median(accs)
        below = [r["seed"] for r in digits if r["test_accuracy"] < r["start_test_accuracy"]]
        out["digits"] = {"splits": [r["seed"] for r in digits], "median": round(median, 4),
                         "min": round(min(accs), 4), "splits_below_start": below,
                         "met": median >= BARS["digits"]["median_at_least"] and not below}
    fashion = [r for r in rows if r["dataset"] == "fashion-mnist"]
    if fashion:
        bar = BARS["fashion-mnist"]
        out["fashion-mnist"] = {
            "splits": [r["seed"] for r in fashion],
            "test_accuracy": [r["test_accuracy"] for r in fashion],
            "seconds": [r["seconds"] for r in fashion],
            "met": all(r["test_accuracy"] >= bar["at_least"] and r["seconds"] <= bar[
                "within_seconds"] for r in fashion)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits-seeds", default="0,1,2,3,4")
    parser.add_argument("--fashion-seeds", default="0")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the run folders under this folder (default: deleted)")
    parser.add_argument("--out", type=Path, default=RESULTS / "guide_accuracy.json")
    args = parser.parse_args(argv)

    root = args.keep or Path(tempfile.mkdtemp(prefix="tunelab-accuracy-"))
    plan = [("digits", "quick", s) for s in _seeds(args.digits_seeds)]
    plan += [("fashion-mnist", "standard", s) for s in _seeds(args.fashion_seeds)]
    rows = []
    try:
        for dataset, budget, seed in plan:
            folder = root / f"{dataset}-{budget}-{seed}"
            if folder.exists():
                shutil.rmtree(folder)  # a whole fresh run, never a resumed one
            row = run_guide(dataset, budget, seed, folder)
            rows.append(row)
            credited = ", ".join(f"{s['step']}={s['credited']}" for s in row["steps"])
            print(f"{dataset:<14} {budget:<9} split {seed}  test {row['test_accuracy']:.4f}"
                  f"  start {row['start_test_accuracy']:.4f}  {row['seconds']:7.1f} s"
                  f"  credited: {credited}",
                  flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    result = {"benchmark": "guide_accuracy", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
              "machine": machine(), "bars": BARS, "rows": rows, "verdicts": verdicts(rows)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["verdicts"], indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
