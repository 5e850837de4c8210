"""A race against the clock on Fashion-MNIST: tunelab against Optuna + Keras fit and Keras Tuner.

Every tool searches the same space for the tutorial's MLP (784-width-Dropout-width-10, ReLU,
``uniform`` initializer, softmax output, SGD, sparse categorical cross-entropy) and maximises
validation accuracy:

  hidden width    64, 128, 256, 512 (one width for both layers)
  dropout         0 .. 0.5 after the first hidden layer, on a grid of 0.05 (``--dropout
                  first``, the default; see below), or continuous 0 .. 0.5 after both
                  hidden layers (``--dropout both``)
  learning rate   1e-4 .. 0.5, log scale       momentum     0 .. 0.95
  batch size      32, 64, 128, 256             epochs       at most 12 per trial

The dropout grid: tunelab searches one dropout rate for every hidden layer, or a choice of
whole per-layer lists; it cannot search the first layer's rate alone as a float. So the
tutorial's layout (dropout after the first layer only) is searched by every tool as the same
categorical choice of 11 rates {0, 0.05, ..., 0.5}; ``--dropout both`` gives every tool a
continuous rate after both hidden layers instead. Either way all tools get the same space.

The tools, each at its own best-known settings:

  tunelab          ``tunelab.tune``: TPE + ASHA (reduction factor 3) with sub-epoch fidelity
                   (``report_every = 0.125``, ``min_resource = 0.25``: rungs after 1/4, 3/4,
                   9/4, 27/4 epochs; the first rung chosen by ``bench/rungs.py``, the lowest
                   one whose top-third cut kept every trial of the final top quarter),
                   cohort width and width padding as tunelab chooses them
                   (``cohort`` 8, ``pad_widths = "auto"``), executor ``local``, best-epoch
                   values told (``reduce = "best"``), a fresh, empty persistent compilation
                   cache. ``trials`` is 10,000 (never reached: the clock ends the study).
  tunelab-off      the same with the levers off: a report per epoch, first cut after one
                   epoch, as the peers.
  optuna           Optuna ``TPESampler`` + ``SuccessiveHalvingPruner`` (the same ASHA settings)
                   around Keras ``fit`` on the JAX backend, with a small Keras callback that
                   calls ``trial.report`` and ``trial.should_prune`` after every epoch; the
                   trial's value is its best epoch.
  kerastuner       Keras Tuner ``Hyperband`` (max_epochs 12, factor 3) on the JAX backend.
  kerastuner-tf    the same on the TensorFlow backend, the tutorial's stack (``--tf``; needs
                   ``tensorflow-cpu``, the ``bench`` extra).

The clock. Each tool runs in its own, fresh Python process per seed. The parent records
``time.time()`` just before it starts the process and passes it on; the child appends one
JSON line per event (``{"t": seconds since that moment, "kind": ..., ...}``), flushed as it
happens. So importing the libraries, loading the data and compiling count for every tool. At
the deadline (``--minutes``, 4 by default) the parent stops the child (SIGTERM to its process
group, then SIGKILL) and keeps the events up to the deadline. Tools run one after another.

The data: Fashion-MNIST's 60,000 training images, split by one fixed permutation (seed 0)
into 50,000 training and 10,000 validation images, scaled to [0, 1] and flattened, saved once
by the parent as an ``.npz`` file that every child loads (tunelab reads it as its own
dataset, with its validation split given and ``scale = "none"``). The test set is not used:
the file's ``x_test`` holds ten validation rows only so that tunelab carves no test split out
of the training images.

The value rule, the same for every tool: the best validation accuracy that any reported epoch
of any trial has shown so far (pruned and unfinished trials included). tunelab's mid-epoch
reports (sub-epoch fidelity) are not epochs and do not count; the time of its first report of
any kind is shown apart. The peers' epochs are
timestamped in their Keras callbacks' ``on_epoch_end``. tunelab's come from its study, the
system of record: each trial's intermediate values (``trial.report``), read from the study's
storage in ``tune(..., on_progress=...)``, which tunelab calls right after every round that
reported them; Optuna's storage keeps no time per intermediate value, so the time is that of
the call.

Read the results as (medians over seeds 0, 1, 2; ``--seeds``):

  time to target       seconds from process start to a best-so-far of 0.88, 0.885, 0.89 and
                       of each peer's end-of-clock best (a seed that never gets there counts as
                       infinitely late; "-" when the median is)
  best at              the best-so-far at 1/8, 1/4, 1/2 and all of the clock (30, 60, 120,
                       240 s at 4 minutes)
  epochs, trials       epochs reported and trials started within the clock
  first value          seconds from process start to the first reported epoch
  N x sooner           per seed, the time the peer took to reach its own end-of-clock best
                       divided by the time tunelab took to reach that accuracy

Targets (against Optuna + Keras-JAX, medians over seeds): tunelab reaches the peer's
end-of-clock best at least 3x sooner (a seed where it never does counts as 0x); tunelab's
end-of-clock best is higher than the peer's; tunelab's first value comes within 5 s of its
process start.

Usage:
  python bench/race.py                   3 seeds x 4 tools x 4 minutes (about 50 min); writes
                                         bench/results/race.json and race.png
  python bench/race.py --tf              also Keras Tuner on TensorFlow
  python bench/race.py --quick           5,000 / 2,000 images, 0.5 minutes, seed 0: a smoke
                                         test whose figures are not comparable; writes
                                         race-quick.json and race-quick.png
  Levers (tunelab only): --tunelab-cohort K,
  --study KEY=VALUE (any [study] key, repeatable: --study pad_widths=none), with --tag NAME
  to write race-NAME.json / .png instead.
  Options: --minutes, --seeds, --tools, --dropout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    RESULTS,
    console,
    has_module,
    keras_mlp,
    load_arrays,
    machine,
    save_arrays,
    worker_main,
)

SCRIPT = str(Path(__file__).resolve())
UNITS = [64, 128, 256, 512]
DROPOUT = (0.0, 0.5)
DROPOUT_GRID = [round(0.05 * i, 2) for i in range(11)]
LR = (1e-4, 0.5)
MOMENTUM = (0.0, 0.95)
BATCHES = [32, 64, 128, 256]
MAX_EPOCHS = 12
ETA = 3
TARGETS = [0.88, 0.885, 0.89]
CHECKPOINTS = [1 / 8, 1 / 4, 1 / 2, 1.0]  # of the clock: 30, 60, 120, 240 s at 4 minutes
TARGET_SOONER = 3.0
TARGET_FIRST_S = 5.0
PEER = "optuna"  # the peer the targets are set against
TUNELAB_TRIALS = 10_000
STOP_GRACE_S = 5.0
#: The levers this race measures (tunelab only): the pruner sees a value every eighth of an
#: epoch and cuts first after a quarter (bench/rungs.py: at 1/8 epoch a top-third cut lost
#: 3 of the final top 16 of 64 random trials, at 1/4 none). "tunelab" runs with them,
#: "tunelab-off" without.
LEVERS: dict[str, Any] = {"report_every": 0.125, "min_resource": 0.25}
TOOLS = {"tunelab": ("jax", "tunelab TPE + ASHA, cohorts, sub-epoch fidelity"),
         "tunelab-off": ("jax", "tunelab TPE + ASHA, cohorts, levers off"),
         "optuna": ("jax", "Optuna TPE + ASHA + Keras-JAX fit"),
         "kerastuner": ("jax", "Keras Tuner Hyperband, Keras-JAX"),
         "kerastuner-tf": ("tensorflow", "Keras Tuner Hyperband, Keras-TF")}
VALUE_RULE = ("best validation accuracy that any reported epoch of any trial has shown so far"
              " (pruned and unfinished trials included), against seconds since the tool's"
              " process started")


# ============================================================================ in the child
class Events:
    """The child's event log: one JSON line per event, flushed as it happens."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.t0 = float(spec["t0"])
        self._file = open(spec["events"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def write(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"t": round(time.time() - self.t0, 4), "kind": kind, **fields})
        self._file.write(line + "\n")
        self._file.flush()

    def epoch(self, value: float, trial: int | str, epoch: int) -> None:
        if math.isfinite(value):
            self.write("epoch", value=round(value, 6), trial=trial, epoch=epoch)


def _arrays(spec: dict[str, Any]) -> tuple[np.ndarray, ...]:
    d = load_arrays(spec["data"])
    return d["x_train"], d["y_train"], d["x_val"], d["y_val"]


def _dropout_rates(spec: dict[str, Any], rate: float) -> tuple[float, float]:
    return (rate, 0.0) if spec["dropout"] == "first" else (rate, rate)


def _compiled_mlp(units: int, rates: tuple[float, float], lr: float, momentum: float) -> Any:
    import keras

    model = keras_mlp(units, list(rates))
    model.compile(optimizer=keras.optimizers.SGD(lr, momentum=momentum),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class StudyReports:
    """The intermediate values (``trial.report``) a study's storage holds that were not read yet.

    On SQLite (tunelab's default storage) only the new rows are read, by their key, so a
    read costs well under a millisecond; any other storage is read through Optuna.
    """

    def __init__(self, url: str, study_name: str) -> None:
        self.url, self.study_name = url, study_name
        self._conn: sqlite3.Connection | None = None
        self._last_id = 0
        self._seen: set[tuple[int, int]] = set()
        self._study: Any = None

    def new(self) -> list[tuple[int, int, float]]:
        """(trial number, step, value) of every value reported since the last call."""
        if self.url.startswith("sqlite:///"):
            return self._new_sqlite(self.url.removeprefix("sqlite:///"))
        return self._new_optuna()

    def _new_sqlite(self, path: str) -> list[tuple[int, int, float]]:
        if self._conn is None:
            if not Path(path).exists():
                return []
            self._conn = sqlite3.connect(path, timeout=10)
        try:
            rows = self._conn.execute(
                "SELECT v.trial_intermediate_value_id, t.number, v.step, v.intermediate_value"
                " FROM trial_intermediate_values v JOIN trials t ON t.trial_id = v.trial_id"
                " WHERE v.trial_intermediate_value_id > ? ORDER BY 1", (self._last_id,)
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # the study's tables are not made yet
                return []
            raise
        out = []
        for key, number, step, value in rows:
            self._last_id = max(self._last_id, int(key))
            if value is not None and math.isfinite(value):
                out.append((int(number), int(step), float(value)))
        return out

    def _new_optuna(self) -> list[tuple[int, int, float]]:
        import optuna

        if self._study is None:
            try:
                self._study = optuna.load_study(study_name=self.study_name, storage=self.url)
            except KeyError:  # not created yet
                return []
        out = []
        for trial in self._study.get_trials(deepcopy=False):
            for step, value in trial.intermediate_values.items():
                if (trial.number, step) not in self._seen:
                    self._seen.add((trial.number, step))
                    if math.isfinite(value):
                        out.append((trial.number, int(step), float(value)))
        return out


def tunelab_config(spec: dict[str, Any]) -> dict[str, Any]:
    """The study tunelab runs: the tutorial's MLP as the base, the race's space, TPE + ASHA."""
    if spec["dropout"] == "first":
        dropout: Any = [[rate, 0.0] for rate in DROPOUT_GRID]
    else:
        dropout = {"low": DROPOUT[0], "high": DROPOUT[1]}
    study: dict[str, Any] = {
        "trials": TUNELAB_TRIALS, "sampler": "tpe", "pruner": "asha",
        "objective": "val_accuracy", "direction": "maximize", "reduce": "best",
        "reduction_factor": ETA, "min_resource": 1, "executor": "local", "seed": spec["seed"],
    }
    if spec.get("cohort") is not None:
        study["cohort"] = spec["cohort"]
    if spec.get("levers", True):
        study.update(LEVERS)
    study.update(spec.get("study", {}))
    return {
        "seed": spec["seed"],
        "data": {"name": spec["data"], "scale": "none"},
        "model": {"units": [64, 64], "activation": "relu", "dropout": [0.1, 0.0],
                  "kernel_initializer": "uniform"},
        "optimizer": {"name": "SGD", "learning_rate": 0.01, "momentum": 0.0},
        "training": {"epochs": MAX_EPOCHS, "batch_size": 128,
                     "loss": "sparse_categorical_crossentropy"},
        "search": {
            "model.units": UNITS,
            "model.dropout": dropout,
            "optimizer.learning_rate": {"low": LR[0], "high": LR[1], "log": True},
            "optimizer.momentum": {"low": MOMENTUM[0], "high": MOMENTUM[1]},
            "training.batch_size": BATCHES,
        },
        "study": study,
    }


def worker_tunelab(spec: dict[str, Any]) -> dict[str, Any]:
    events = Events(spec)
    events.write("start")
    from tunelab.study import tune

    events.write("ready")
    config = tunelab_config(spec)
    run_dir = Path(spec["tmp"]) / "run"
    url = config["study"].get("storage") or f"sqlite:///{run_dir / 'study.db'}"
    reports = StudyReports(url, config["study"].get("name", "tunelab"))
    last = {"started": 0, "stats_t": -math.inf}

    parts = round(1 / float(config["study"].get("report_every", 1.0)))

    def on_progress(p: Any) -> None:
        for number, step, value in reports.new():
            if step % parts == 0:  # an epoch's end (the pruner's step is 1/parts epoch)
                events.epoch(value, number, step // parts)
            else:  # a mid-epoch report: not an epoch, so not in the value rule
                events.write("partial", value=round(value, 6), trial=number,
                             progress=step / parts)
        if p.stats.started != last["started"]:
            last["started"] = p.stats.started
            events.write("trials", started=p.stats.started)
        if time.monotonic() - last["stats_t"] >= 5.0:
            last["stats_t"] = time.monotonic()
            events.write("stats", stats=p.stats.as_dict(), complete=p.complete,
                         pruned=p.pruned, failed=p.failed)

    result = tune(config, run_dir=run_dir, progress=False, on_progress=on_progress)
    stats = result.stats.as_dict() if result.stats is not None else None
    events.write("stats", stats=stats)
    events.write("end")
    return {"stats": stats}


def worker_optuna(spec: dict[str, Any]) -> dict[str, Any]:
    events = Events(spec)
    events.write("start")
    import keras
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    x, y, xv, yv = _arrays(spec)
    keras.utils.set_random_seed(spec["seed"])
    events.write("ready")

    class Pruning(keras.callbacks.Callback):
        """Report each epoch's validation accuracy to the trial; stop the fit when pruned."""

        def __init__(self, trial: optuna.Trial) -> None:
            super().__init__()
            self.trial, self.pruned = trial, False
            self.values: list[float] = []

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            value = float((logs or {})["val_accuracy"])
            self.values.append(value)
            events.epoch(value, self.trial.number, epoch + 1)
            self.trial.report(value, step=epoch + 1)
            if self.trial.should_prune():
                self.pruned = True
                self.model.stop_training = True

    def objective(trial: optuna.Trial) -> float:
        events.write("trials", started=trial.number + 1)
        units = trial.suggest_categorical("units", UNITS)
        if spec["dropout"] == "first":
            rate = trial.suggest_categorical("dropout", DROPOUT_GRID)
        else:
            rate = trial.suggest_float("dropout", *DROPOUT)
        lr = trial.suggest_float("learning_rate", *LR, log=True)
        momentum = trial.suggest_float("momentum", *MOMENTUM)
        batch = trial.suggest_categorical("batch_size", BATCHES)
        keras.backend.clear_session()
        model = _compiled_mlp(units, _dropout_rates(spec, rate), lr, momentum)
        pruning = Pruning(trial)
        model.fit(x, y, batch_size=batch, epochs=MAX_EPOCHS, verbose=0,
                  validation_data=(xv, yv), callbacks=[pruning])
        if pruning.pruned:
            raise optuna.TrialPruned()
        return max(pruning.values)

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=spec["seed"]),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=ETA))
    study.optimize(objective)
    events.write("end")
    return {"trials": len(study.trials)}


def worker_keras_tuner(spec: dict[str, Any]) -> dict[str, Any]:
    events = Events(spec)
    events.write("start")
    import keras
    import keras_tuner as kt

    x, y, xv, yv = _arrays(spec)
    keras.utils.set_random_seed(spec["seed"])
    events.write("ready")

    class MLP(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            units = hp.Choice("units", UNITS)
            if spec["dropout"] == "first":
                rate = hp.Choice("dropout", DROPOUT_GRID)
            else:
                rate = hp.Float("dropout", *DROPOUT)
            return _compiled_mlp(units, _dropout_rates(spec, rate),
                                 hp.Float("learning_rate", *LR, sampling="log"),
                                 hp.Float("momentum", *MOMENTUM))

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            return model.fit(*args, batch_size=hp.Choice("batch_size", BATCHES), **kwargs)

    class RacingHyperband(kt.Hyperband):
        started = 0

        def on_trial_begin(self, trial: Any) -> None:
            super().on_trial_begin(trial)
            self.started += 1
            events.write("trials", started=self.started)

        def on_epoch_end(self, trial: Any, model: Any, epoch: int, logs: Any = None) -> None:
            super().on_epoch_end(trial, model, epoch, logs)
            events.epoch(float((logs or {})["val_accuracy"]), trial.trial_id, epoch + 1)

    tuner = RacingHyperband(hypermodel=MLP(), objective="val_accuracy", max_epochs=MAX_EPOCHS,
                            factor=ETA, hyperband_iterations=10_000, seed=spec["seed"],
                            directory=spec["tmp"], project_name="race", overwrite=True)
    tuner.search(x, y, validation_data=(xv, yv), verbose=0)
    events.write("end")
    return {"trials": len(tuner.oracle.trials), "backend": keras.backend.backend()}


HANDLERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "tunelab": worker_tunelab, "tunelab-off": worker_tunelab, "optuna": worker_optuna,
    "kerastuner": worker_keras_tuner, "kerastuner-tf": worker_keras_tuner}


# ============================================================================ in the parent
def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the child's own process group, then SIGKILL if it is still there."""
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, STOP_GRACE_S)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def read_events(path: Path, clock_s: float) -> list[dict[str, Any]]:
    """The events a child wrote up to the deadline (a line cut off by the kill is skipped)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event.get("t", math.inf) <= clock_s:
            out.append(event)
    return out


def race_one(tool: str, spec: dict[str, Any], tmp: Path, clock_s: float) -> dict[str, Any]:
    """Run one tool for one seed against the clock; its events and how the process ended."""
    backend = TOOLS[tool][0]
    work = tmp / f"{tool}-{spec['seed']}"
    work.mkdir()
    events_path, log_path = work / "events.jsonl", work / "output.log"
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONWARNINGS": "ignore", "TUNELAB_CACHE": str(work / "jax-cache")}
    spec = {**spec, "events": str(events_path), "tmp": str(work)}
    with open(log_path, "wb") as log:
        t0 = time.time()
        spec["t0"] = t0
        cmd = [sys.executable, SCRIPT, "--worker", tool, "--spec", json.dumps(spec),
               "--out", str(work / "result.json")]
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=max(0.0, t0 + clock_s - time.time()))
            ended = "finished" if rc == 0 else f"failed (exit {rc})"
        except subprocess.TimeoutExpired:
            _stop(proc)
            ended = "deadline"
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
    return {"ended": ended, "events": read_events(events_path, clock_s),
            "log_tail": tail if ended.startswith("failed") else None}


# ---------------------------------------------------------------------------- one run's figures
def best_curve(events: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(seconds, best so far) at every improvement of the best reported epoch."""
    curve: list[tuple[float, float]] = []
    best = -math.inf
    for e in sorted((e for e in events if e["kind"] == "epoch"), key=lambda e: e["t"]):
        if e["value"] > best:
            best = e["value"]
            curve.append((float(e["t"]), float(best)))
    return curve


def best_at(curve: list[tuple[float, float]], t: float) -> float | None:
    values = [v for s, v in curve if s <= t]
    return values[-1] if values else None


def time_to(curve: list[tuple[float, float]], value: float | None) -> float | None:
    """Seconds at which the best so far first reaches ``value`` (None: never)."""
    if value is None:
        return None
    return next((s for s, v in curve if v >= value - 1e-9), None)


def summarise_run(raw: dict[str, Any], clock_s: float) -> dict[str, Any]:
    events = raw["events"]
    curve = best_curve(events)
    epochs = [e for e in events if e["kind"] == "epoch"]
    reports = [e for e in events if e["kind"] in ("epoch", "partial")]
    started = [int(e["started"]) for e in events if e["kind"] == "trials"]
    stats = [e for e in events if e["kind"] == "stats"]
    marks = {e["kind"]: e["t"] for e in events if e["kind"] in ("start", "ready", "end")}
    best = best_at(curve, clock_s)
    return {
        "ended": raw["ended"], "log_tail": raw["log_tail"],
        "best": best, "time_to_own_best_s": time_to(curve, best),
        "best_at": {f"{f * clock_s:g}": best_at(curve, f * clock_s) for f in CHECKPOINTS},
        "time_to": {f"{v:g}": time_to(curve, v) for v in TARGETS},
        "epochs": len(epochs), "trials": max(started, default=0),
        "first_value_s": epochs[0]["t"] if epochs else None,
        "first_report_s": min((e["t"] for e in reports), default=None),
        "partial_reports": len(reports) - len(epochs),
        "marks_s": marks, "stats": stats[-1]["stats"] if stats else None,
        "curve": [list(p) for p in curve],
        "epoch_events": [[e["t"], e["value"], e["trial"], e["epoch"]] for e in epochs],
    }


# ---------------------------------------------------------------------------- over seeds
def median_time(values: list[float | None]) -> float | None:
    """Median seconds, a seed that never got there counting as infinitely late."""
    if not values:
        return None
    m = float(np.median([math.inf if v is None else v for v in values]))
    return m if math.isfinite(m) else None


def median_best(values: list[float | None]) -> float | None:
    """Median accuracy, a seed with no value yet counting as the lowest."""
    if not values:
        return None
    m = float(np.median([-math.inf if v is None else v for v in values]))
    return m if math.isfinite(m) else None


def summarise(s: dict[str, Any], runs: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    clock = s["clock_s"]
    tools = list(runs)
    peers = [t for t in tools if t != "tunelab"]
    med: dict[str, dict[str, Any]] = {}
    for tool, by_seed in runs.items():
        rs = list(by_seed.values())
        med[tool] = {
            "time_to": {f"{v:g}": median_time([r["time_to"][f"{v:g}"] for r in rs])
                        for v in TARGETS},
            "reached": {f"{v:g}": sum(r["time_to"][f"{v:g}"] is not None for r in rs)
                        for v in TARGETS},
            "best_at": {k: median_best([r["best_at"][k] for r in rs]) for k in rs[0]["best_at"]},
            "best": median_best([r["best"] for r in rs]),
            "epochs": float(np.median([r["epochs"] for r in rs])),
            "trials": float(np.median([r["trials"] for r in rs])),
            "first_value_s": median_time([r["first_value_s"] for r in rs]),
            "first_report_s": median_time([r.get("first_report_s") for r in rs]),
            "time_to_peer_best": {},
        }
    ratios: dict[str, Any] = {}
    for peer in peers:
        for tool in tools:
            times = [time_to(runs[tool][seed]["curve"], r["best"])
                     for seed, r in runs[peer].items() if seed in runs[tool]]
            med[tool]["time_to_peer_best"][peer] = median_time(times)
        if "tunelab" not in runs:
            continue
        per_seed = []
        for seed, p in runs[peer].items():
            t = runs["tunelab"].get(seed)
            if t is None or p["best"] is None:
                continue
            peer_t = time_to(p["curve"], p["best"])
            tl_t = time_to(t["curve"], p["best"])
            assert peer_t is not None
            per_seed.append({
                "seed": int(seed), "peer_best": p["best"], "tunelab_best": t["best"],
                "peer_time_s": peer_t, "tunelab_time_s": tl_t,
                "sooner": peer_t / max(tl_t, 1e-9) if tl_t is not None else None,
                "sooner_at_most": None if tl_t is not None else peer_t / clock,
            })
        counted = [r["sooner"] if r["sooner"] is not None else 0.0 for r in per_seed]
        ratios[peer] = {"per_seed": per_seed,
                        "median_sooner": float(np.median(counted)) if counted else None,
                        "reached": sum(r["sooner"] is not None for r in per_seed),
                        "seeds": len(per_seed)}
    return {"medians": med, "ratios": ratios, "targets": targets(med, ratios)}


def targets(med: dict[str, dict[str, Any]], ratios: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if "tunelab" not in med:
        return out
    if PEER in ratios:
        sooner = ratios[PEER]["median_sooner"]
        out.append({"what": f"reaches {PEER}'s end-of-clock best N x sooner (median)",
                    "value": sooner, "target": f">= {TARGET_SOONER:g}x",
                    "met": sooner is not None and sooner >= TARGET_SOONER})
        mine, theirs = med["tunelab"]["best"], med[PEER]["best"]
        diff = None if mine is None or theirs is None else mine - theirs
        out.append({"what": f"end-of-clock best minus {PEER}'s (medians)", "value": diff,
                    "target": "> 0", "met": diff is not None and diff > 0})
    else:
        out.append({"what": f"reaches {PEER}'s end-of-clock best sooner", "value": None,
                    "target": f"{PEER} not run", "met": None})
    first = med["tunelab"]["first_value_s"]
    out.append({"what": "first value after process start, s (median)", "value": first,
                "target": f"<= {TARGET_FIRST_S:g} s",
                "met": first is not None and first <= TARGET_FIRST_S})
    return out


# ---------------------------------------------------------------------------- the run
def _study_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    tools = list(args.tools or ["tunelab", "tunelab-off", "optuna", "kerastuner"])
    if args.tf and "kerastuner-tf" not in tools:
        tools.append("kerastuner-tf")
    skipped = {}
    if not has_module("keras_tuner"):
        skipped.update({t: "keras-tuner is not installed" for t in tools
                        if t.startswith("kerastuner")})
    if "kerastuner-tf" in tools and not has_module("tensorflow"):
        skipped.setdefault("kerastuner-tf", "tensorflow is not installed (the bench extra)")
    study: dict[str, Any] = {}
    for item in args.study or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--study {item!r}: expected KEY=VALUE, e.g. --study pad_widths=none")
        study[key.strip().replace("-", "_")] = _study_value(value.strip())
    minutes = args.minutes if args.minutes is not None else (0.5 if quick else 4.0)
    return {
        "quick": quick, "minutes": minutes, "clock_s": minutes * 60.0,
        "seeds": args.seeds or ([0] if quick else [0, 1, 2]),
        "train": 5_000 if quick else 50_000, "val": 2_000 if quick else 10_000,
        "tools": [t for t in tools if t not in skipped], "skipped": skipped,
        "dropout": args.dropout,
        "tunelab": {"cohort": args.tunelab_cohort, "study": study},
        "tag": args.tag,
    }


def prepare_data(path: Path, train: int, val: int) -> dict[str, Any]:
    """Fashion-MNIST's training images split 50,000 / 10,000 by one fixed permutation."""
    from tunelab.data import load_raw

    raw = load_raw("fashion-mnist")
    x = raw.x_train.reshape(len(raw.x_train), -1).astype(np.float32) / np.float32(255.0)
    y = raw.y_train.astype(np.int32)
    perm = np.random.default_rng(0).permutation(len(y))
    val_idx, train_idx = perm[:10_000][:val], perm[10_000:][:train]
    x_val = x[val_idx]
    # Ten validation rows as x_test, so that tunelab carves no test split out of training.
    save_arrays(path, x_train=x[train_idx], y_train=y[train_idx], x_val=x_val, y_val=y[val_idx],
                x_test=x_val[:10], y_test=y[val_idx][:10])
    return {"source": raw.source, "train": int(len(train_idx)), "val": int(len(val_idx)),
            "permutation_seed": 0, "validation": "the first 10,000 of the permutation",
            "scaling": "x / 255, flattened to 784"}


def run(args: argparse.Namespace) -> dict[str, Any]:
    s = _settings(args)
    con = console()
    for tool, why in s["skipped"].items():
        con.print(f"[yellow]skipping {tool}: {why}[/]")
    out: dict[str, Any] = {"benchmark": "race", "settings": s, "machine": machine(),
                           "value_rule": {"name": "best_reported_epoch", "text": VALUE_RULE},
                           "space": {"units": UNITS, "dropout": DROPOUT_GRID
                                     if s["dropout"] == "first" else DROPOUT,
                                     "dropout_after": s["dropout"], "learning_rate": LR,
                                     "momentum": MOMENTUM, "batch_size": BATCHES,
                                     "max_epochs": MAX_EPOCHS}}
    runs: dict[str, dict[str, dict[str, Any]]] = {tool: {} for tool in s["tools"]}
    with tempfile.TemporaryDirectory(prefix="tunelab-race-") as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "data.npz"
        out["data"] = prepare_data(data, s["train"], s["val"])
        for seed in s["seeds"]:
            for tool in s["tools"]:
                con.print(f"[bold]{TOOLS[tool][1]}[/], seed {seed}: {s['minutes']:g} min")
                spec = {"data": str(data), "seed": seed, "dropout": s["dropout"],
                        **(s["tunelab"] if tool == "tunelab" else {}),
                        **({"levers": False} if tool == "tunelab-off" else {})}
                r = summarise_run(race_one(tool, spec, tmp, s["clock_s"]), s["clock_s"])
                runs[tool][str(seed)] = r
                best = "-" if r["best"] is None else f"{r['best']:.4f}"
                con.print(f"  best {best}, {r['epochs']} epochs, {r['trials']} trials,"
                          f" {r['ended']}")
                if r["log_tail"]:
                    con.print(f"[red]  {tool} failed; the end of its output:[/]\n{r['log_tail']}")
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    out["runs"] = runs
    out.update(summarise(s, runs))
    return out


# ============================================================================ printing
def _fmt(v: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "-" if v is None else format(v, spec) + suffix


def show(res: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    s, med = res["settings"], res["medians"]
    tools = list(res["runs"])
    peers = [t for t in tools if t != "tunelab"]
    label = ("QUICK MODE: a smoke test on 5,000 / 2,000 images, one seed; its figures are NOT"
             " comparable with a full run or with the targets") if s["quick"] else "full"
    con.print(f"\n[bold]race against the clock: tunelab vs peers[/] - {label}")
    con.print(f"Fashion-MNIST {res['data']['train']:,} training / {res['data']['val']:,}"
              f" validation images; {s['minutes']:g} min per tool and seed, each in a fresh"
              f" process; seeds {s['seeds']}; dropout after {s['dropout']} hidden layer(s).")
    con.print(f"Value: {VALUE_RULE}.")
    lv = s["tunelab"]
    con.print(f"tunelab levers: {LEVERS}, cohort {lv['cohort'] or 'default'},"
              f" study {lv['study'] or '{}'}; tunelab-off: tunelab's defaults (a report per"
              " epoch, first cut after one epoch).")
    con.print(f"Load average at start {res['machine']['loadavg'][0]:.2f}, at end"
              f" {res['machine']['loadavg_end'][0]:.2f} ({res['machine']['cpus']} CPUs).")

    table = Table(title=f"medians over seeds {s['seeds']} (seconds from process start)")
    table.add_column("measure", justify="left")
    for tool in tools:
        table.add_column(tool, justify="right")
    n = len(s["seeds"])
    for v in TARGETS:
        key = f"{v:g}"
        table.add_row(f"time to {v:.3f} s", *[
            _fmt(med[t]["time_to"][key]) + f" ({med[t]['reached'][key]}/{n})" for t in tools])
    for peer in peers:
        table.add_row(f"time to {peer}'s end-of-clock best s",
                      *[_fmt(med[t]["time_to_peer_best"].get(peer)) for t in tools])
    for key in med[tools[0]]["best_at"] if tools else []:
        table.add_row(f"best at {float(key):g} s",
                      *[_fmt(med[t]["best_at"][key], ".4f") for t in tools])
    table.add_row("epochs trained", *[f"{med[t]['epochs']:g}" for t in tools])
    table.add_row("trials started", *[f"{med[t]['trials']:g}" for t in tools])
    table.add_row("time to first epoch value s",
                  *[_fmt(med[t]["first_value_s"]) for t in tools])
    table.add_row("time to first report s (mid-epoch too)",
                  *[_fmt(med[t].get("first_report_s")) for t in tools])
    con.print(table)

    each = Table(title="each run")
    for col in ("tool", "seed", "best", "at s", "epochs", "trials", "first value s",
                "imports done s", "ended"):
        each.add_column(col, justify="right")
    for tool, by_seed in res["runs"].items():
        for seed, r in by_seed.items():
            ended = r["ended"]
            st = r.get("stats")
            if st:
                ended += (f" (compile {st['compile_seconds']:.1f} s, {st['cohorts']} cohorts,"
                          f" width {st['mean_cohort_width']:.1f})")
            each.add_row(tool, seed, _fmt(r["best"], ".4f"), _fmt(r["time_to_own_best_s"]),
                         str(r["epochs"]), str(r["trials"]), _fmt(r["first_value_s"]),
                         _fmt(r["marks_s"].get("ready")), ended)
    con.print(each)

    for peer, comp in res["ratios"].items():
        t = Table(title=f"tunelab reaches {peer}'s end-of-clock best N x sooner")
        for col in ("seed", f"{peer}'s best", f"{peer} s", "tunelab s", "N x sooner"):
            t.add_column(col, justify="right")
        for r in comp["per_seed"]:
            sooner = (_fmt(r["sooner"], ".1f", "x") if r["sooner"] is not None
                      else f"not reached (< {r['sooner_at_most']:.1f}x)")
            t.add_row(str(r["seed"]), _fmt(r["peer_best"], ".4f"), _fmt(r["peer_time_s"]),
                      _fmt(r["tunelab_time_s"]), sooner)
        t.add_row("median", "", "", "", _fmt(comp["median_sooner"], ".1f", "x")
                  + f" ({comp['reached']}/{comp['seeds']} reached)")
        con.print(t)
        con.print(f"tunelab reaches {peer}'s end-of-clock best"
                  f" {_fmt(comp['median_sooner'], '.1f')}x sooner (median over seeds).")

    tgt = Table(title="targets" + (" (quick mode: not meaningful)" if s["quick"] else ""))
    for col in ("what", "measured", "target", "result"):
        tgt.add_column(col, justify="right")
    for r in res["targets"]:
        mark = "n/a" if r["met"] is None else ("[green]pass[/]" if r["met"] else "[red]FAIL[/]")
        spec = "+.4f" if "minus" in r["what"] else ".1f"
        tgt.add_row(r["what"], _fmt(r["value"], spec), r["target"], mark)
    con.print(tgt)


def plot(res: dict[str, Any], path: Path) -> Path:
    """Best-so-far against seconds from process start, one panel per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = res["settings"]
    seeds = [str(seed) for seed in s["seeds"]]
    fig, axes = plt.subplots(1, len(seeds), figsize=(5.5 * len(seeds), 4.2), squeeze=False,
                             sharey=True)
    values = [v for by_seed in res["runs"].values() for r in by_seed.values()
              for _, v in r["curve"]]
    finals = [r["best"] for by_seed in res["runs"].values() for r in by_seed.values()
              if r["best"] is not None]
    top = max(values, default=1.0)
    # Low enough to show every tool's end-of-clock level, not the first epochs' near-chance.
    low = max(min(values, default=0.0), min(finals, default=top) - 0.03)
    for ax, seed in zip(axes[0], seeds, strict=True):
        for tool, by_seed in res["runs"].items():
            r = by_seed.get(seed)
            if r is None or not r["curve"]:
                continue
            ts = [p[0] for p in r["curve"]] + [s["clock_s"]]
            vs = [p[1] for p in r["curve"]] + [r["curve"][-1][1]]
            ax.step(ts, vs, where="post", label=tool)
        for v in TARGETS:
            ax.axhline(v, color="grey", lw=0.6, ls=":")
        ax.set_xlim(0, s["clock_s"])
        ax.set_ylim(low - 0.005, top + 0.005)
        ax.set_title(f"seed {seed}")
        ax.set_xlabel("seconds since the tool's process started")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("best validation accuracy of any reported epoch")
    axes[0][0].legend(loc="lower right")
    if s["quick"]:
        fig.suptitle("quick mode: a smoke test, not comparable")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def main() -> None:
    if worker_main(HANDLERS, sys.argv):
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="5,000 / 2,000 images, 0.5 minutes, seed 0 (a smoke test)")
    parser.add_argument("--minutes", type=float, help="the clock per tool and seed (4)")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds (0 1 2)")
    parser.add_argument("--tools", nargs="+", choices=list(TOOLS),
                        help="tools to run (tunelab tunelab-off optuna kerastuner)")
    parser.add_argument("--tf", action="store_true", help="also Keras Tuner on TensorFlow")
    parser.add_argument("--dropout", choices=["first", "both"], default="first",
                        help="dropout after the first hidden layer (a grid of 0.05) or after"
                             " both (continuous)")
    parser.add_argument("--tunelab-cohort", type=int, help="tunelab's cohort width (its default)")
    parser.add_argument("--study", action="append", metavar="KEY=VALUE",
                        help="a [study] key for the tool 'tunelab' (repeatable), e.g."
                             " pad_widths=none; tunelab-off always runs tunelab's defaults")
    parser.add_argument("--tag", help="write race-TAG.json / race-TAG.png")
    parser.add_argument("--show", type=Path, metavar="RESULTS_JSON",
                        help="print the tables of a race already run (its results file) and exit")
    args = parser.parse_args()
    if (args.study or args.tunelab_cohort is not None) and args.tools \
            and "tunelab" not in args.tools:
        parser.error("--study and --tunelab-cohort change the tool 'tunelab' only (tunelab-off"
                     " runs tunelab's defaults): add tunelab to --tools")
    if args.show is not None:
        try:
            show(json.loads(args.show.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as exc:
            parser.error(f"--show {args.show}: not a race results file ({exc})")
        return
    start = time.perf_counter()
    res = run(args)
    res["wall_s"] = time.perf_counter() - start
    show(res)
    from tunelab._files import write_json

    name = "race-quick" if args.quick else "race"
    if args.tag:
        name = f"{name}-{args.tag}"
    png = plot(res, RESULTS / f"{name}.png")
    path = RESULTS / f"{name}.json"
    write_json(path, res)
    console().print(f"total {res['wall_s']:.0f} s; wrote {path} and {png}")


if __name__ == "__main__":
    main()
