"""What the Ray executor costs against ``local`` on the same study, on this machine.

Runs ``tunelab tune`` as a user would (a fresh process, a fresh run folder, no report) on one
study with each executor: ``local``, ``ray`` with one worker (the same requests as local, so
the same trials) and ``ray`` with two workers. The compilation cache is warmed first by one
untimed run; then the modes alternate, ``--repeats`` times each. It prints, per mode, the
median command wall time (process start to exit: imports, Ray's start and stop, the study),
the session's own wall time from ``stats.json`` (the scheduler's loop, Ray's start and the
actors' included), trials per minute of command time, and the ratio to ``local``, and writes
``bench/results/ray_executor.json``.

    python bench/ray_executor.py --repeats 3
    python bench/ray_executor.py --dataset digits --trials 40 --repeats 3 --quick
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

RESULTS = Path(__file__).resolve().parent / "results" / "ray_executor.json"

STUDY = """
seed = 0

[data]
name = "{dataset}"

[model]
units = [64, 64]
dropout = [0.1, 0.0]

[optimizer]
name = "SGD"

[training]
epochs = {epochs}
batch_size = 128

[search]
"optimizer.learning_rate" = {{ low = 0.001, high = 0.5, log = true }}
"optimizer.momentum" = {{ low = 0.0, high = 0.95 }}
"model.dropout" = {{ low = 0.0, high = 0.5, step = 0.1 }}

[study]
trials = {trials}
cohort = 8
sampler = "tpe"
pruner = "asha"
"""

MODES = {
    "local": ["--executor", "local"],
    "ray-1": ["--executor", "ray", "--workers", "1"],
    "ray-2": ["--executor", "ray", "--workers", "2"],
}


def _tunelab() -> list[str]:
    exe = Path(sys.executable).with_name("tunelab")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("tunelab")
    return [found] if found else [sys.executable, "-c", "from tunelab.cli import main; main()"]


def _run(config: Path, mode: str, work: Path) -> dict[str, Any]:
    out = work / f"{mode}-{time.time_ns()}"
    env = {**os.environ, "TUNELAB_REPORT": "0", "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    proc = subprocess.run([*_tunelab(), "tune", str(config), "--out", str(out), "--quiet",
                           *MODES[mode]], env=env, capture_output=True, text=True,
                          timeout=3600, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    session = json.loads((out / "stats.json").read_text())["sessions"][-1]
    finished = sum(int(v) for v in session["finished"].values())
    shutil.rmtree(out, ignore_errors=True)
    return {"command_seconds": wall, "session_seconds": float(session["wall_seconds"]),
            "train_seconds": float(session["train_seconds"]),
            "compile_seconds": float(session["compile_seconds"]), "trials": finished}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--trials", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES))
    parser.add_argument("--quick", action="store_true", help="write ray_executor-quick.json")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="tunelab-bench-ray-"))
    config = work / "study.toml"
    config.write_text(STUDY.format(dataset=args.dataset, trials=args.trials,
                                   epochs=args.epochs))
    _run(config, "local", work)  # warm the compilation cache (and the OS's file cache)
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in args.modes}
    for _ in range(args.repeats):
        for mode in args.modes:
            runs[mode].append(_run(config, mode, work))
    shutil.rmtree(work, ignore_errors=True)

    summary: dict[str, dict[str, float]] = {}
    for mode, rows in runs.items():
        command = statistics.median(r["command_seconds"] for r in rows)
        session = statistics.median(r["session_seconds"] for r in rows)
        trials = statistics.median(r["trials"] for r in rows)
        summary[mode] = {"command_seconds": round(command, 2),
                         "session_seconds": round(session, 2),
                         "train_seconds": round(statistics.median(r["train_seconds"]
                                                                  for r in rows), 2),
                         "trials": trials,
                         "trials_per_minute": round(60.0 * trials / command, 1)}
    base = summary.get("local")
    print(f"{args.dataset}, {args.trials} trials, <= {args.epochs} epochs, TPE + ASHA, cohort 8;"
          f" median of {args.repeats}")
    print(f"{'mode':8} {'command s':>10} {'session s':>10} {'train s':>8} {'trials/min':>11}"
          f" {'x local':>8}")
    for mode, row in summary.items():
        ratio = row["command_seconds"] / base["command_seconds"] if base else float("nan")
        print(f"{mode:8} {row['command_seconds']:10.2f} {row['session_seconds']:10.2f}"
              f" {row['train_seconds']:8.2f} {row['trials_per_minute']:11.1f} {ratio:8.2f}")
    target = RESULTS.with_name("ray_executor-quick.json") if args.quick else RESULTS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"args": vars(args), "cpus": os.cpu_count(),
                                  "summary": summary, "runs": runs}, indent=2) + "\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
