"""Evidence that holds up, measured: how often a guide step credits a scientific change.

Each run is one one-step procedure through the guide's own step (``run_step``: the study,
the finalists' selection runs, the confirmation on fresh replicates with the ablation arm),
on its own data split and seeds (the run's index is its seed), at the tutorial procedure's
``quick`` or ``standard`` budget (trials, epochs, minimum updates, replicates). Two kinds:

- **A/A**: the step compares ``model.kernel_initializer`` ``he_uniform`` against
  ``he_normal``: the same variance (2 / fan-in) in every layer, different random draws. The
  values cannot differ in expectation; each keeps its own tuned learning rate, centred on
  its own learning-rate range test (as the optimizer step does), so their rates differ.
  The share of runs that credit the scientific value is the false-credit rate.
- **power**: the step compares a narrow hidden layer (the current value) with 32 units: a
  real effect whose size shrinks as the narrow width grows. The share of runs that credit
  the wider layer is the power; the effect's size is measured as the mean confirmation
  difference between the wider layer and the ablation arm (same learning rate).

For every run three rules are read from the same step: the **new** one (the decision the
step made, ``credited == "scientific"``: confirmation in up to two looks), the new tests
with **one look** only (its first look's replicates at the whole alpha), and the rule
**before** it (the best challenger of
the selection runs adopted when its mean paired difference exceeds ``max(2 SE, one
validation sample)`` on those same runs: what the guide did before, recomputed from the
step's selection runs; there the current value runs as it stands before the step, with its own
rate, so a challenger's better-tuned rate counts as a gain of its value, which is what the
rule before did with the learning rates it compared). The **credits per minute** of the
step's rule and of one look (stopping where the second look starts, timed on the same runs)
say whether the second look pays for its time. Rates carry 95 % Clopper-Pearson intervals
(``scipy.stats.binomtest(...).proportion_ci``).

Run (``nice``: cheap per run, as many runs as the time allows)::

    nice python bench/evidence.py --runs 40 --cells aa-digits-quick,aa-digits-standard
    nice python bench/evidence.py --seconds 1200   # every cell, as many runs as fit

Writes ``bench/results/evidence.json`` (merged with the cells already there, so cells can
be run in several sessions).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, console, machine  # noqa: E402

OUT = RESULTS / "evidence.json"
LR = {"low": 0.01, "high": 1.0, "log": True}
#: The tutorial procedure's budget tables, as shipped (trials per value, epochs, minimum
#: updates, replicates); two values per step, so two finalists.
BUDGETS = {
    "quick": {"trials": 4, "epochs": 5, "min_updates": 720, "seeds": 6, "finalists": 2,
              "cohort": 12, "patience": 6},
    "standard": {"trials": 3, "epochs": 4, "min_updates": 1000, "seeds": 3, "finalists": 2,
                 "cohort": 12, "patience": 6},
}
DATA = {
    "digits": {"name": "digits"},
    "fashion": {"name": "fashion-mnist", "limit": 4000},
}
#: Planted effects: the current hidden width against 32 units.
EFFECTS = {"w24": 24, "w12": 12, "w6": 6}
#: A/A steps centre each value's learning rates on its own range test (as the optimizer step
#: does), so the values' tuned rates differ: the gain a rate makes is there to be misread.
RANGE_TEST = {"aa": "per_value", "w2": "none", "w1": "none", "w6": "none"}


def procedure(kind: str, dataset: str, budget: str) -> dict[str, Any]:
    """The one-step procedure of a cell, as plain data."""
    if kind == "aa":
        model = {"units": [32], "dropout": 0.0, "kernel_initializer": "he_uniform"}
        scientific = {"model.kernel_initializer": ["he_uniform", "he_normal"]}
    else:
        model = {"units": [EFFECTS[kind]], "dropout": 0.0, "kernel_initializer": "he_uniform"}
        scientific = {"model.units": [[EFFECTS[kind]], [32]]}
    return {
        "procedure": {"name": f"evidence-{kind}"},
        "start": {"data": DATA[dataset], "model": model,
                  "optimizer": {"name": "SGD", "learning_rate": 0.1, "momentum": 0.8},
                  "training": {"batch_size": 32}},
        "budget": dict(BUDGETS[budget]),
        "steps": [{"name": "step", "scientific": scientific, "range_test": RANGE_TEST[kind[:2]],
                   "nuisance": {"optimizer.learning_rate": LR}}],
    }


def old_rule(decision: Any) -> bool:
    """The rule before: the best challenger of the selection runs against the current value,
    adopted when the mean paired difference exceeds max(2 SE, one validation sample), on the
    runs that chose it."""
    values = decision.values
    current = next((v for v in values if v.label == decision.current), None)
    others = [v for v in values if v is not current and math.isfinite(v.mean)]
    if current is None or not others:
        return False
    sign = 1.0 if decision.direction == "maximize" else -1.0
    best = max(others, key=lambda v: sign * v.mean)
    mine = current.by_replicate()
    diffs = [sign * (s - mine[r]) for r, s in zip(best.replicates, best.scores, strict=True)
             if r in mine]
    if len(diffs) < 2 or not all(math.isfinite(d) for d in diffs):
        return False
    mean = statistics.fmean(diffs)
    se = statistics.stdev(diffs) / math.sqrt(len(diffs))
    resolution = decision.comparison.resolution if decision.comparison is not None else 0.0
    return mean > max(2 * se, resolution) + 1e-6


def one_look(decision: Any, n: int, alpha: float = 0.05) -> bool:
    """The rule without a second look: the step's tests on its first ``n`` confirmation
    replicates, at the whole alpha (the same runs the step's first look saw)."""
    from tunelab.guide import ablation_label, attribute
    from tunelab.runs import ValueStats

    if not decision.confirmation or decision.comparison is None:
        return False
    arms = {v.label: ValueStats.model_validate({**v.model_dump(), "scores": v.scores[:n],
                                                "replicates": v.replicates[:n]})
            for v in decision.confirmation}
    challenger = decision.comparison.candidate
    verdict = attribute(arms[decision.current], arms[challenger],
                        arms.get(ablation_label(decision.current, challenger)),
                        decision.direction, decision.comparison.resolution, alpha)
    return str(verdict.credited) == "scientific"


def one_run(kind: str, dataset: str, budget: str, index: int) -> dict[str, Any]:
    """One run of a cell: the step's decision, both rules, and what it cost."""
    from rich.console import Console

    from tunelab.config import with_overrides
    from tunelab.data import load_dataset
    from tunelab.execute import make_executor
    from tunelab.guide import GuideRun, parse_procedure
    from tunelab.guide._display import GuideDisplay
    from tunelab.guide._runner import guide_metric
    from tunelab.guide._step import GuideContext, run_step
    from tunelab.study import metric_direction
    from tunelab.train import structure_key

    class LookClock(GuideDisplay):
        """The guide's display, noting when each look's confirmation runs start: the
        one-look rule would have stopped where the second look starts."""

        looks: list[float] = []

        def phase(self, description: str, total: float | None, info: str = "") -> None:
            if description.endswith("confirmation"):
                self.looks.append(time.monotonic())
            super().phase(description, total, info)

    proc = parse_procedure(procedure(kind, dataset, budget), source=f"evidence {kind}",
                           budget=budget)
    start = with_overrides(proc.start, {"seed": 1000 + index}, source="evidence run")
    began = time.monotonic()
    quiet = Console(file=io.StringIO())
    with tempfile.TemporaryDirectory(prefix="tunelab-evidence-") as tmp, \
            make_executor("local") as pool, LookClock(quiet, live=False) as display:
        data = load_dataset(start.data, seed=start.seed)
        metric = guide_metric(start, str(data.task))
        ctx = GuideContext(run=GuideRun(tmp), data=data, task=str(data.task), metric=metric,
                           direction=metric_direction(metric),
                           resolution=1.0 / len(data.x_val), seed=start.seed, cohort=None,
                           display=display, emit=lambda event, payload: None,
                           key_fn=structure_key, executor=pool)
        record, _ = run_step(ctx, 1, proc.steps[0], start)
    ended = time.monotonic()
    arms = {v.label: v for v in record.confirmation}
    second = LookClock.looks[1] if record.looks == 2 and len(LookClock.looks) > 1 else ended
    effect = math.nan
    if record.ablation is not None:
        effect = record.ablation.difference
    return {
        "index": index, "seconds": round(ended - began, 2),
        "one_look_seconds": round(second - began, 2),
        "new": record.credited == "scientific", "credited": str(record.credited),
        "looks": record.looks, "one_look": one_look(record, proc.steps[0].budget.seeds),
        "old": old_rule(record), "confirmed": bool(arms), "reason": record.reason,
        "effect": effect,
        "p": record.ablation.p if record.ablation is not None else (
            record.comparison.p if record.comparison is not None else math.nan),
    }


def _interval(k: int, n: int) -> list[float]:
    from scipy import stats

    if n == 0:
        return [math.nan, math.nan]
    ci = stats.binomtest(k, n).proportion_ci(0.95)
    return [round(float(ci.low), 4), round(float(ci.high), 4)]


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A cell's rates, both rules, with their 95 % intervals."""
    n = len(runs)
    new = sum(r["new"] for r in runs)
    old = sum(r["old"] for r in runs)
    nuisance = sum(r["credited"] == "nuisance" for r in runs)
    single = sum(r.get("one_look", False) for r in runs)
    effects = [r["effect"] for r in runs if math.isfinite(r["effect"])]
    return {
        "runs": n, "new_credited": new, "new_rate": round(new / n, 4) if n else math.nan,
        "new_ci95": _interval(new, n), "old_credited": old,
        "old_rate": round(old / n, 4) if n else math.nan, "old_ci95": _interval(old, n),
        "one_look_credited": single,
        "one_look_rate": round(single / n, 4) if n else math.nan,
        "one_look_ci95": _interval(single, n),
        "second_looks": sum(r.get("looks", 0) == 2 for r in runs),
        "nuisance_credited": nuisance, "confirmed": sum(r["confirmed"] for r in runs),
        "mean_effect": round(statistics.fmean(effects), 5) if effects else None,
        "median_seconds": round(statistics.median(r["seconds"] for r in runs), 2) if n else None,
        **per_minute(runs),
    }


def per_minute(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Credits per minute of runs, with up to two looks (the step's rule) and with one: what a
    second look buys for what it costs. Over the runs that timed their looks."""
    timed = [r for r in runs if r.get("one_look_seconds") is not None]
    if not timed:
        return {}
    both = sum(r["seconds"] for r in timed) / 60
    one = sum(r["one_look_seconds"] for r in timed) / 60
    return {"timed_runs": len(timed),
            "credits_per_minute": round(sum(r["new"] for r in timed) / both, 4),
            "one_look_credits_per_minute": round(sum(r["one_look"] for r in timed) / one, 4),
            "second_look_cost": round(both / one - 1, 4)}


CELLS = [f"aa-{d}-{b}" for d in DATA for b in BUDGETS] + [
    f"{e}-{d}-{b}" for e in EFFECTS for d in DATA for b in BUDGETS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per cell (at most)")
    parser.add_argument("--seconds", type=float, default=math.inf,
                        help="stop starting new runs after this many seconds in all")
    parser.add_argument("--cells", default=",".join(CELLS),
                        help=f"cells to run, comma-separated, from {', '.join(CELLS)}")
    parser.add_argument("--first", type=int, default=0, help="index of the first run")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--merge", type=Path, nargs="*", default=[],
                        help="merge these result files' runs into --out, run nothing")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out)
    os.environ.setdefault("KERAS_BACKEND", "jax")
    cells = [c for c in args.cells.split(",") if c]
    unknown = [c for c in cells if c not in CELLS]
    if unknown:
        parser.error(f"unknown cells {unknown}; choose from {', '.join(CELLS)}")
    old = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results: dict[str, Any] = old.get("cells", {})
    for entry in results.values():
        entry["runs"] = [_nan(r) for r in entry["runs"]]
    began = time.monotonic()
    out = console()
    # Round-robin over the cells, so that a time limit leaves every cell with runs.
    for i in range(args.first, args.first + args.runs):
        for cell in cells:
            if time.monotonic() - began > args.seconds:
                break
            kind, dataset, budget = cell.split("-")
            entry = results.setdefault(cell, {"kind": kind, "dataset": dataset,
                                              "budget": budget, "runs": []})
            if any(r["index"] == i for r in entry["runs"]):
                continue
            run = one_run(kind, dataset, budget, i)
            entry["runs"].append(run)
            entry["summary"] = summarise(entry["runs"])
            out.print(f"{cell} run {i}: new {run['new']} ({run['credited']}), old {run['old']},"
                      f" {run['seconds']:.1f} s")
            _write(args.out, results)
    _table(results)
    return 0


def merge(paths: list[Path], out: Path) -> int:
    """Merge the runs of several result files (runs of one cell from several processes or
    sessions; a run index counted once) into ``out``."""
    cells: dict[str, Any] = {}
    for path in paths:
        for name, entry in json.loads(path.read_text())["cells"].items():
            into = cells.setdefault(name, {**{k: v for k, v in entry.items()
                                               if k not in ("runs", "summary")}, "runs": []})
            have = {r["index"] for r in into["runs"]}
            into["runs"] += [r for r in entry["runs"] if r["index"] not in have]
    for entry in cells.values():
        entry["runs"].sort(key=lambda r: r["index"])
        entry["summary"] = summarise([_nan(r) for r in entry["runs"]])
    _write(out, cells)
    _table(cells)
    return 0


def _nan(run: dict[str, Any]) -> dict[str, Any]:
    """A run read back from JSON (null effects and p-values as NaN)."""
    return {**run, **{k: math.nan for k in ("effect", "p") if run.get(k) is None}}


def _write(path: Path, cells: dict[str, Any]) -> None:
    payload = {
        "benchmark": "evidence",
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "alpha": 0.05,
        "what": "share of one-step guide runs that credit the scientific value: A/A (no"
                " effect possible) and planted effects; the step's rule (new) and the rule"
                " before it (old: 2 SE on the selection runs, where the current value runs"
                " as it stood before the step, so a challenger's tuned rate counts as its"
                " value's gain as it did then), on the same runs",
        "legend": "cells are kind-dataset-budget. aa: A/A, kernel_initializer he_uniform"
                  " against he_normal, each value's learning rates centred on its own range"
                  " test; aa0: the same A/A with the rates centred on the current rate (no"
                  " range test); wN: a planted effect, N hidden units (current) against 32."
                  " One look: the step's tests on its first look's replicates at the whole"
                  " alpha. Second looks: runs whose confirmation took a second look."
                  " Credits per minute: scientific credits per minute of runs, over the runs"
                  " that timed their looks (one look: stopping where the second look starts);"
                  " second_look_cost: the time the second looks add, as a share",
        "budgets": BUDGETS,
        "range_test": RANGE_TEST,
        "data": DATA,
        "cells": cells,
        # Every A/A run together: the rate over all cells (the values make no difference in
        # any of them), for a tighter interval than one cell's.
        "pooled": {"aa": summarise([_nan(r) for name, entry in cells.items()
                                    if name.startswith("aa-") for r in entry["runs"]])},
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_clean(payload), indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)


def _clean(value: Any) -> Any:
    """NaN as null (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _table(cells: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="credited scientific changes (95 % interval)")
    for col in ("cell", "runs", "new rule", "one look", "old rule", "effect (W - ablation)",
                "s/run", "credits/min (one look)"):
        table.add_column(col)
    for name, entry in cells.items():
        s = entry.get("summary")
        if not s:
            continue
        table.add_row(name, str(s["runs"]),
                      f"{s['new_rate']:.3f} [{s['new_ci95'][0]:.3f}, {s['new_ci95'][1]:.3f}]",
                      f"{s['one_look_rate']:.3f} [{s['one_look_ci95'][0]:.3f},"
                      f" {s['one_look_ci95'][1]:.3f}]",
                      f"{s['old_rate']:.3f} [{s['old_ci95'][0]:.3f}, {s['old_ci95'][1]:.3f}]",
                      "—" if s["mean_effect"] is None else f"{s['mean_effect']:+.4f}",
                      f"{s['median_seconds']}",
                      f"{s['credits_per_minute']:.3f} ({s['one_look_credits_per_minute']:.3f})"
                      if "credits_per_minute" in s else "—")
    console().print(table)


if __name__ == "__main__":
    raise SystemExit(main())
