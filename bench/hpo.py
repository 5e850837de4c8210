"""Hyperparameter search on Fashion-MNIST: tunelab against Keras Tuner and Optuna + Keras fit.

All three tools search the same space for the tutorial's MLP family (two hidden layers of one
width, ReLU, ``uniform`` initializer, dropout after each hidden layer, softmax output, SGD):

  learning rate   1e-3 .. 0.5, log scale       momentum     0 .. 0.95
  schedule        constant, exponential (lr0 * exp(-0.1 * epoch)), time decay per epoch
                  (lr0 / (1 + 0.1 * epoch))
  batch size      32, 64, 128, 256             units        32, 64, 128
  dropout         0 .. 0.5

Every trial trains for at most MAX_EPOCHS epochs, and every tool gets the same BUDGET of
training epochs in total (summed over all its trials); it is stopped when the budget is spent.

  tunelab       ``tunelab.tune``: TPE + ASHA (reduction factor 3, first cut after 1 epoch),
                cohorts of 8 (--cohort), JAX, an empty persistent compilation cache (so it
                compiles cold).
                Its ``study.epoch_budget`` is BUDGET: trials running when it is spent end
                there and count with the epochs they trained, as the peers' do.
  Keras Tuner   ``keras_tuner.Hyperband`` (max_epochs = MAX_EPOCHS, factor 3) on the TensorFlow
                backend (the tutorial's stack); a trial stopped by the budget counts with the
                epochs it trained.
  Optuna        ``TPESampler`` + ``SuccessiveHalvingPruner`` (the same ASHA settings) around Keras
                ``fit`` on the JAX backend, with a small callback that calls ``trial.report`` and
                ``trial.should_prune`` after every epoch; a trial stopped by the budget counts
                with the epochs it trained.

Each tool runs in its own process per seed (seeds 0, 1, 2 seed the samplers). A trial's value
is its best epoch's validation accuracy (Keras Tuner's rule; tunelab with ``reduce = "best"``).
Each tool's best-so-far is its best finished trial, recorded against wall time from the start
of its search (tunelab's time includes loading the dataset from the IDX files; the peers'
arrays are already in memory).

Read the results as:
  best at budget     each tool's best validation accuracy within the budget, mean +- std over
                     seeds (target: tunelab no worse than either peer);
  time-to-target     for each seed, the wall time the peer took to reach its own best, divided
                     by the time tunelab took to reach the same accuracy (target: >= 5x, i.e.
                     tunelab 5x sooner); and the reverse, the time the peer took to reach
                     tunelab's best divided by tunelab's time to it ("not reached" when the peer
                     never got there within the budget).

Usage:
  python bench/hpo.py           full run: all of Fashion-MNIST's training images (48,000 training /
                                12,000 validation, tunelab's standard split), budget 90 epochs,
                                MAX_EPOCHS 9, 3 seeds (about 25 min on a quiet 2-core machine;
                                the total is printed at the end); writes bench/results/hpo.json
  python bench/hpo.py --train 10000 --val 2000
                                the same on a subset; writes bench/results/hpo-subset.json
  python bench/hpo.py --quick   2,000 / 500 images, budget 24 epochs, MAX_EPOCHS 3, 2 seeds (a
                                smoke test); writes bench/results/hpo-quick.json
  Options: --budget, --max-epochs, --train, --val, --seeds, --cohort, --tools.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    RESULTS,
    WorkerError,
    console,
    has_module,
    keras_mlp,
    load_arrays,
    machine,
    mean_std,
    run_worker,
    save_arrays,
    worker_main,
)

SCRIPT = str(Path(__file__).resolve())
LR = (1e-3, 0.5)
MOMENTUM = (0.0, 0.95)
SCHEDULES = ["constant", "exponential", "time_decay"]
DECAY_RATE = 0.1
BATCHES = [32, 64, 128, 256]
UNITS = [32, 64, 128]
DROPOUT = (0.0, 0.5)
COHORT = 8
ETA = 3
TARGET_SOONER = 5.0
TOOLS = {"tunelab": ("jax", "tunelab"), "keras-tuner": ("tensorflow", "Keras Tuner Hyperband"),
         "optuna": ("jax", "Optuna TPE + ASHA")}


def lr_at(schedule: str, lr0: float, epoch: int) -> float:
    """The per-epoch learning rate of each schedule (tunelab's definitions, epochs from 0)."""
    if schedule == "exponential":
        return lr0 * math.exp(-DECAY_RATE * epoch)
    if schedule == "time_decay":
        return lr0 / (1.0 + DECAY_RATE * epoch)
    return lr0


class Timeline:
    """Best-so-far validation accuracy against wall time and epochs spent."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.start = time.perf_counter()
        self.epochs = 0
        self.best = -math.inf
        self.points: list[tuple[float, int, float]] = []

    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def offer(self, value: float | None, epochs: int | None = None) -> None:
        used = self.epochs if epochs is None else epochs
        if value is None or not math.isfinite(value) or used > self.budget:
            return
        if value > self.best:
            self.best = value
            self.points.append((self.seconds(), used, value))

    def result(self, **extra: Any) -> dict[str, Any]:
        return {"points": self.points, "epochs": self.epochs, "wall_s": self.seconds(),
                "best": self.best if self.points else None, **extra}


# ============================================================================ workers
def worker_tunelab(spec: dict[str, Any]) -> dict[str, Any]:
    # Imported before the clock starts, as the peers import keras and their tuner: tune()
    # would otherwise pay for importing JAX and Keras inside the timed search.
    import tunelab.execute  # noqa: F401
    import tunelab.train  # noqa: F401
    from tunelab.config import DataConfig
    from tunelab.data import load_dataset
    from tunelab.study import tune

    data = spec["data_config"]
    start = time.perf_counter()
    load_dataset(DataConfig(**data), seed=0)
    load_s = time.perf_counter() - start
    config = {
        "seed": 0,
        "data": data,
        "model": {"units": [64, 64], "activation": "relu", "dropout": 0.1,
                  "kernel_initializer": "uniform"},
        "optimizer": {"name": "SGD", "learning_rate": 0.01, "momentum": 0.0},
        "schedule": {"name": "constant", "per": "epoch", "decay_rate": DECAY_RATE},
        "training": {"epochs": spec["max_epochs"], "batch_size": 128},
        "search": {
            "optimizer.learning_rate": {"low": LR[0], "high": LR[1], "log": True},
            "optimizer.momentum": {"low": MOMENTUM[0], "high": MOMENTUM[1]},
            "schedule.name": SCHEDULES,
            "training.batch_size": BATCHES,
            "model.units": UNITS,
            "model.dropout": {"low": DROPOUT[0], "high": DROPOUT[1]},
        },
        "study": {"trials": spec["budget"], "epoch_budget": spec["budget"],
                  "sampler": "tpe", "pruner": "asha",
                  "cohort": spec["cohort"], "objective": "val_accuracy", "direction": "maximize",
                  "reduce": "best", "reduction_factor": ETA, "min_resource": 1,
                  "seed": spec["seed"]},
    }
    timeline = Timeline(spec["budget"])
    last: dict[str, Any] = {}

    def on_progress(p: Any) -> None:
        used = int(p.stats.slot_epochs)
        timeline.epochs = used
        timeline.offer(p.best_value, used)
        last.update(p.stats.as_dict(), complete=p.complete, pruned=p.pruned, failed=p.failed)

    with tempfile.TemporaryDirectory(prefix="tunelab-hpo-") as tmp:
        timeline.start = time.perf_counter()
        tune(config, run_dir=Path(tmp) / "run", progress=False, on_progress=on_progress)
        wall = timeline.seconds()
    return timeline.result(wall_s=wall, load_s=load_s, stats=last)


def _keras_arrays(spec: dict[str, Any]) -> tuple[np.ndarray, ...]:
    d = load_arrays(spec["data"])
    return d["x_train"], d["y_train"], d["x_val"], d["y_val"]


def _compiled_mlp(units: int, dropout: float, lr: float, momentum: float) -> Any:
    import keras

    model = keras_mlp(units, dropout)
    model.compile(optimizer=keras.optimizers.SGD(lr, momentum=momentum),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _scheduler(schedule: str, lr0: float) -> Any:
    import keras

    return keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr_at(schedule, lr0, epoch))


def worker_keras_tuner(spec: dict[str, Any]) -> dict[str, Any]:
    import keras
    import keras_tuner as kt

    x, y, xv, yv = _keras_arrays(spec)
    keras.utils.set_random_seed(spec["seed"])
    timeline = Timeline(spec["budget"])

    class MLP(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            return _compiled_mlp(hp.Choice("units", UNITS),
                                 hp.Float("dropout", *DROPOUT),
                                 hp.Float("learning_rate", *LR, sampling="log"),
                                 hp.Float("momentum", *MOMENTUM))

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            schedule = hp.Choice("schedule", SCHEDULES)
            callbacks = [*kwargs.pop("callbacks", []),
                         _scheduler(schedule, hp.get("learning_rate"))]
            return model.fit(*args, batch_size=hp.Choice("batch_size", BATCHES),
                             callbacks=callbacks, **kwargs)

    class BudgetOracle(kt.oracles.HyperbandOracle):
        def populate_space(self, trial_id: str) -> dict[str, Any]:
            if timeline.epochs >= timeline.budget:
                return {"status": "STOPPED"}
            return super().populate_space(trial_id)  # type: ignore[no-any-return]

    class BudgetHyperband(kt.Hyperband):
        def __init__(self, **kwargs: Any) -> None:
            oracle = BudgetOracle(objective="val_accuracy", max_epochs=spec["max_epochs"],
                                  factor=ETA, hyperband_iterations=10_000, seed=spec["seed"])
            kt.Tuner.__init__(self, oracle=oracle, **kwargs)

        def on_epoch_end(self, trial: Any, model: Any, epoch: int, logs: Any = None) -> None:
            timeline.epochs += 1
            if timeline.epochs >= timeline.budget:
                model.stop_training = True

        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            timeline.offer(self.oracle.get_trial(trial.trial_id).score)

    with tempfile.TemporaryDirectory(prefix="kt-hpo-") as tmp:
        tuner = BudgetHyperband(hypermodel=MLP(), directory=tmp, project_name="bench",
                                overwrite=True)
        timeline.start = time.perf_counter()
        tuner.search(x, y, validation_data=(xv, yv), verbose=0)
        wall = timeline.seconds()
        trials = len(tuner.oracle.trials)
    return timeline.result(wall_s=wall, trials=trials, backend=keras.backend.backend())


def worker_optuna(spec: dict[str, Any]) -> dict[str, Any]:
    import keras
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    x, y, xv, yv = _keras_arrays(spec)
    keras.utils.set_random_seed(spec["seed"])
    timeline = Timeline(spec["budget"])

    class Pruning(keras.callbacks.Callback):
        """Report each epoch's validation accuracy; stop when pruned or out of budget."""

        def __init__(self, trial: optuna.Trial) -> None:
            super().__init__()
            self.trial, self.pruned, self.values = trial, False, []

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            value = float((logs or {})["val_accuracy"])
            self.values.append(value)
            timeline.epochs += 1
            self.trial.report(value, step=len(self.values))
            if timeline.epochs >= timeline.budget:
                self.model.stop_training = True
            elif self.trial.should_prune():
                self.pruned = True
                self.model.stop_training = True

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("learning_rate", *LR, log=True)
        momentum = trial.suggest_float("momentum", *MOMENTUM)
        schedule = trial.suggest_categorical("schedule", SCHEDULES)
        batch = trial.suggest_categorical("batch_size", BATCHES)
        units = trial.suggest_categorical("units", UNITS)
        dropout = trial.suggest_float("dropout", *DROPOUT)
        keras.backend.clear_session()
        model = _compiled_mlp(units, dropout, lr, momentum)
        pruning = Pruning(trial)
        model.fit(x, y, batch_size=batch, epochs=spec["max_epochs"], verbose=0,
                  validation_data=(xv, yv), callbacks=[pruning, _scheduler(schedule, lr)])
        if pruning.pruned:
            raise optuna.TrialPruned()
        return max(pruning.values)

    def after_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            timeline.offer(trial.value)
        if timeline.epochs >= timeline.budget:
            study.stop()

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=spec["seed"]),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=ETA))
    timeline.start = time.perf_counter()
    study.optimize(objective, callbacks=[after_trial])
    return timeline.result(wall_s=timeline.seconds(), trials=len(study.trials),
                           backend=keras.backend.backend())


HANDLERS = {"tunelab": worker_tunelab, "keras-tuner": worker_keras_tuner,
            "optuna": worker_optuna}


# ============================================================================ the run
def _settings(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    tools = args.tools or list(TOOLS)
    if "keras-tuner" in tools and not (has_module("keras_tuner") and has_module("tensorflow")):
        tools.remove("keras-tuner")
    return {
        "quick": quick,
        "budget": args.budget or (24 if quick else 90),
        "max_epochs": args.max_epochs or (3 if quick else 9),
        "train": args.train or (2_000 if quick else None),
        "val": args.val or (500 if quick else None),
        "seeds": args.seeds or ([0, 1] if quick else [0, 1, 2]),
        "cohort": args.cohort or COHORT,
        "tools": tools,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tunelab.config import DataConfig
    from tunelab.data import load_dataset

    s = _settings(args)
    con = console()
    data_config: dict[str, Any] = {"name": "fashion-mnist"}
    if s["train"] is not None or s["val"] is not None:
        train, val = s["train"] or 10_000, s["val"] or 2_000
        data_config.update(limit=train + val, validation_split=val / (train + val))
    ds = load_dataset(DataConfig(**data_config), seed=0)
    out: dict[str, Any] = {"benchmark": "hpo", "settings": s, "machine": machine(),
                           "data": {"config": data_config, "train": len(ds.x_train),
                                    "val": len(ds.x_val)},
                           "space": {"learning_rate": LR, "momentum": MOMENTUM,
                                     "schedule": SCHEDULES, "decay_rate": DECAY_RATE,
                                     "batch_size": BATCHES, "units": UNITS, "dropout": DROPOUT}}
    runs: dict[str, dict[str, Any]] = {tool: {} for tool in s["tools"]}
    with tempfile.TemporaryDirectory(prefix="tunelab-hpo-") as tmp_name:
        tmp = Path(tmp_name)
        data = save_arrays(tmp / "data.npz", x_train=ds.x_train, y_train=ds.y_train,
                           x_val=ds.x_val, y_val=ds.y_val)
        for seed in s["seeds"]:
            for tool in s["tools"]:
                backend = TOOLS[tool][0]
                con.print(f"[bold]{TOOLS[tool][1]}[/] ({backend}), seed {seed}")
                spec = {"data": str(data), "data_config": data_config, "seed": seed,
                        "budget": s["budget"], "max_epochs": s["max_epochs"],
                        "cohort": s["cohort"]}
                env = {"TUNELAB_CACHE": str(tmp / f"cache-{tool}-{seed}")}
                res = run_worker(SCRIPT, tool, spec, backend=backend, env=env)
                runs[tool][str(seed)] = res
                best = "-" if res["best"] is None else f"{res['best']:.4f}"
                con.print(f"  best {best} in {res['epochs']} epochs, {res['wall_s']:.1f} s")
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    out["runs"] = runs
    out.update(summarise(s, runs))
    return out


def time_to(points: list[list[float]], value: float | None) -> float | None:
    """Wall seconds at which a best-so-far timeline first reaches ``value`` (None: never)."""
    if value is None:
        return None
    for t, _, best in points:
        if best >= value - 1e-9:
            return float(t)
    return None


def summarise(s: dict[str, Any], runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    best = {tool: mean_std([r["best"] for r in by_seed.values() if r["best"] is not None])
            for tool, by_seed in runs.items()}
    best_at_budget = {k: {"mean": v[0], "std": v[1]} for k, v in best.items()}
    comparisons: dict[str, Any] = {}
    targets = []
    if "tunelab" not in runs:
        return {"best_at_budget": best_at_budget, "comparisons": comparisons, "targets": targets}
    for peer in (t for t in runs if t != "tunelab"):
        per_seed = []
        for seed, p in runs[peer].items():
            t = runs["tunelab"].get(seed)
            if t is None:
                continue
            peer_t = time_to(p["points"], p["best"])
            tl_t = time_to(t["points"], p["best"])
            tl_own = time_to(t["points"], t["best"])
            peer_for_tl = time_to(p["points"], t["best"])
            per_seed.append({
                "seed": int(seed), "peer_best": p["best"], "tunelab_best": t["best"],
                "peer_time_to_own_best_s": peer_t, "tunelab_time_to_peer_best_s": tl_t,
                "sooner": (peer_t / tl_t) if peer_t and tl_t else None,
                "tunelab_time_to_own_best_s": tl_own, "peer_time_to_tunelab_best_s": peer_for_tl,
                "reverse": (peer_for_tl / tl_own) if peer_for_tl and tl_own else None,
                "reverse_lower_bound": (p["wall_s"] / tl_own) if peer_for_tl is None and tl_own
                else None,
                "wall_ratio": p["wall_s"] / t["wall_s"] if t["wall_s"] else None,
            })
        sooner = [r["sooner"] for r in per_seed if r["sooner"] is not None]
        med = float(np.median(sooner)) if sooner else None
        all_reached = bool(per_seed) and len(sooner) == len(per_seed)
        comparisons[peer] = {"per_seed": per_seed, "median_sooner": med,
                             "all_reached": all_reached}
        targets.append({"what": f"reaches {peer}'s best sooner (median over seeds)",
                        "value": med, "target": f">= {TARGET_SOONER:g}x",
                        "met": all_reached and med is not None and med >= TARGET_SOONER})
        diff = best["tunelab"][0] - best[peer][0]
        targets.append({"what": f"best at budget vs {peer} (mean difference)", "value": diff,
                        "target": ">= 0", "met": bool(diff >= 0)})
    return {"best_at_budget": best_at_budget, "comparisons": comparisons, "targets": targets}


# ============================================================================ printing
def _fmt(v: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "-" if v is None else format(v, spec) + suffix


def show(res: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    s = res["settings"]
    label = "QUICK MODE (tiny data and budget; a smoke test)" if s["quick"] else "full"
    con.print(f"\n[bold]hyperparameter search: tunelab vs peers[/] - {label}")
    con.print(f"Fashion-MNIST: {res['data']['train']} training / {res['data']['val']}"
              f" validation images; budget {s['budget']} training epochs per tool and seed, at"
              f" most {s['max_epochs']} epochs per trial; seeds {s['seeds']}.")
    con.print(f"Load average at start {res['machine']['loadavg'][0]:.2f}, at end"
              f" {res['machine']['loadavg_end'][0]:.2f} ({res['machine']['cpus']} CPUs).")
    table = Table(title="each run: best validation accuracy within the budget")
    for col in ("tool", "seed", "best val acc", "time to own best s", "epochs", "trials",
                "wall s"):
        table.add_column(col, justify="right")
    for tool, by_seed in res["runs"].items():
        for seed, r in by_seed.items():
            trials = r.get("trials")
            if tool == "tunelab":
                st = r.get("stats", {})
                trials = st.get("started")
                extra = (f" (compile {st.get('compile_seconds', 0):.1f} s, train"
                         f" {st.get('train_seconds', 0):.1f} s, {st.get('cohorts', 0)} cohorts)")
            else:
                extra = ""
            table.add_row(tool, seed, _fmt(r["best"], ".4f"),
                          _fmt(time_to(r["points"], r["best"])), str(r["epochs"]),
                          str(trials), _fmt(r["wall_s"]) + extra)
    con.print(table)
    agg = Table(title="best at equal budget, mean +- std over seeds")
    for col in ("tool", "best val acc"):
        agg.add_column(col, justify="right")
    for tool, v in res["best_at_budget"].items():
        agg.add_row(tool, f"{v['mean']:.4f} +- {v['std']:.4f}")
    con.print(agg)
    for peer, comp in res["comparisons"].items():
        t = Table(title=f"time-to-target, tunelab vs {peer}")
        for col in ("seed", "target: peer's best", "peer s", "tunelab s", "tunelab sooner",
                    "target: tunelab's best", "tunelab s ", "peer s ", "peer slower"):
            t.add_column(col, justify="right")
        for r in comp["per_seed"]:
            reverse = _fmt(r["reverse"], ".1f", "x")
            if r["reverse"] is None and r["reverse_lower_bound"] is not None:
                reverse = f"not reached (> {r['reverse_lower_bound']:.1f}x)"
            t.add_row(str(r["seed"]), _fmt(r["peer_best"], ".4f"),
                      _fmt(r["peer_time_to_own_best_s"]), _fmt(r["tunelab_time_to_peer_best_s"]),
                      _fmt(r["sooner"], ".1f", "x") if r["tunelab_time_to_peer_best_s"]
                      else "not reached", _fmt(r["tunelab_best"], ".4f"),
                      _fmt(r["tunelab_time_to_own_best_s"]),
                      _fmt(r["peer_time_to_tunelab_best_s"]), reverse)
        con.print(t)
    tgt = Table(title="targets")
    for col in ("what", "measured", "target", "result"):
        tgt.add_column(col, justify="right")
    for r in res["targets"]:
        mark = "[green]pass[/]" if r["met"] else "[red]FAIL[/]"
        spec = "+.4f" if "difference" in r["what"] else ".1f"
        tgt.add_row(r["what"], _fmt(r["value"], spec), r["target"], mark)
    con.print(tgt)


def main() -> None:
    if worker_main(HANDLERS, sys.argv):
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny data and budget, 2 seeds")
    parser.add_argument("--budget", type=int, help="training epochs per tool and seed (90)")
    parser.add_argument("--max-epochs", type=int, help="most epochs one trial trains (9)")
    parser.add_argument("--train", type=int, help="training images of a subset (default: all)")
    parser.add_argument("--val", type=int, help="validation images of a subset (default: all)")
    parser.add_argument("--seeds", type=int, nargs="+", help="sampler seeds (0 1 2)")
    parser.add_argument("--cohort", type=int, help="tunelab's cohort width (8)")
    parser.add_argument("--tools", nargs="+", choices=list(TOOLS), help="tools to run")
    args = parser.parse_args()
    start = time.perf_counter()
    try:
        res = run(args)
    except WorkerError as exc:
        sys.exit(f"hpo benchmark failed: {exc}")
    res["wall_s"] = time.perf_counter() - start
    show(res)
    from tunelab._files import write_json

    subset = args.train is not None or args.val is not None
    name = "hpo-quick" if args.quick else ("hpo-subset" if subset else "hpo")
    path = RESULTS / f"{name}.json"
    write_json(path, res)
    console().print(f"total {res['wall_s']:.0f} s; wrote {path}")


if __name__ == "__main__":
    main()
