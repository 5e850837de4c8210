"""Keras Tuner scripts run by Keras Tuner and by ``tunelab.keras_tuner``, side by side.

Two searches, the same script for both tools (only the ``import`` differs), on the same
Fashion-MNIST arrays, with the same trials and epochs:

  getting-started  Keras Tuner's getting-started ``build_model(hp)``: 1-3 Dense layers of
                   32-512 units (step 32), relu or tanh, an optional Dropout(0.25), Adam with a
                   learning rate 1e-4 .. 1e-2 (log). Nearly every trial is its own structure.
  shared           one structure (784-128-Dropout-10, relu): Adam's learning rate 1e-4 .. 1e-2
                   (log) and beta_1 0.8 .. 0.99, the Dropout rate 0 .. 0.5, and the batch size
                   {64, 128} chosen in ``HyperModel.fit``: every trial of one batch size shares
                   a cohort.

Both run ``RandomSearch`` (``seed`` 0) on the JAX backend, each tool in its own fresh process
per search; the wall time is the child's whole life (imports, data, compiles, training), taken
by the parent. tunelab keeps JAX's persistent compilation cache (``~/.cache/tunelab/jax``),
which Keras Tuner does not: its child gets an empty cache of its own, so both compile
everything, as on a first search. The score is the best trial's validation accuracy (each
tool's objective: ``val_accuracy``, best epoch); the two are compared with a two-proportion
z test on the validation images (scipy). Targets (from the issue): getting-started never
slower than Keras Tuner; shared at least 3x sooner; accuracy within noise on both.

Each search runs ``--repeats`` times per tool (default 3), the order alternating; the wall
times are medians, and the speed-up is the ratio of the medians.

    python bench/keras_tuner.py                    # 10 trials x 4 epochs, 20k / 5k images
    python bench/keras_tuner.py --quick            # 6 trials x 2 epochs, 6k / 2k images

Writes ``bench/results/keras_tuner.json`` (``keras_tuner-quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    RESULTS,
    console,
    fashion_split,
    load_arrays,
    machine,
    run_worker,
    save_arrays,
    worker_main,
)

SEARCHES = ("getting-started", "shared")
TOOLS = ("keras_tuner", "tunelab")


def _kt(tool: str) -> Any:
    if tool == "keras_tuner":
        # This file is bench/keras_tuner.py: the package must not be found as this script.
        here = Path(__file__).resolve().parent
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
        import keras_tuner

        return keras_tuner
    import tunelab.keras_tuner

    return tunelab.keras_tuner


def _getting_started(kt: Any) -> Any:
    import keras

    def build_model(hp: Any) -> keras.Model:
        model = keras.Sequential([keras.Input((784,))])
        for i in range(hp.Int("num_layers", 1, 3)):
            model.add(keras.layers.Dense(units=hp.Int(f"units_{i}", min_value=32,
                                                      max_value=512, step=32),
                                         activation=hp.Choice("activation", ["relu", "tanh"])))
        if hp.Boolean("dropout"):
            model.add(keras.layers.Dropout(rate=0.25))
        model.add(keras.layers.Dense(10, activation="softmax"))
        learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    return build_model


def _shared(kt: Any) -> Any:
    import keras

    class Shared(kt.HyperModel):
        def build(self, hp: Any) -> keras.Model:
            model = keras.Sequential([
                keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5)),
                keras.layers.Dense(10, activation="softmax")])
            model.compile(optimizer=keras.optimizers.Adam(
                learning_rate=hp.Float("lr", 1e-4, 1e-2, sampling="log"),
                beta_1=hp.Float("beta_1", 0.8, 0.99)),
                loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            return model.fit(*args, batch_size=hp.Choice("batch_size", [64, 128]), **kwargs)

    return Shared()


def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    tool, search = spec["tool"], spec["search"]
    kt = _kt(tool)
    arrays = load_arrays(spec["data"])
    hypermodel = (_getting_started if search == "getting-started" else _shared)(kt)
    with tempfile.TemporaryDirectory() as folder:
        tuner = kt.RandomSearch(hypermodel, objective="val_accuracy",
                                max_trials=spec["trials"], seed=0, directory=folder,
                                project_name=search, overwrite=True)
        tuner.search(arrays["x_train"], arrays["y_train"], epochs=spec["epochs"],
                     validation_data=(arrays["x_val"], arrays["y_val"]), verbose=0)
        best = tuner.oracle.get_best_trials(1)[0]
        done = len(tuner.oracle.trials)
        return {"best_val_accuracy": float(best.score), "trials": done,
                "best": {k: v for k, v in best.hyperparameters.values.items()}}


def _z_test(a: float, b: float, n: int) -> dict[str, float]:
    from scipy import stats

    pooled = (a + b) / 2
    se = math.sqrt(2 * pooled * (1 - pooled) / n)
    z = (a - b) / se if se > 0 else 0.0
    return {"n": n, "z": z, "p": float(2 * stats.norm.sf(abs(z)))}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--train", type=int, default=None)
    parser.add_argument("--val", type=int, default=None)
    parser.add_argument("--searches", default=",".join(SEARCHES))
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each tool per search, alternating (medians reported)")
    args = parser.parse_args(argv)
    quick = args.quick
    trials = args.trials or (6 if quick else 10)
    epochs = args.epochs or (2 if quick else 4)
    n_train = args.train or (6_000 if quick else 20_000)
    n_val = args.val or (2_000 if quick else 5_000)
    x, y, xv, yv = fashion_split()
    out = console()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = save_arrays(Path(tmp) / "data.npz", x_train=x[:n_train], y_train=y[:n_train],
                           x_val=xv[:n_val], y_val=yv[:n_val])
        for search in args.searches.split(","):
            result: dict[str, Any] = {"search": search}
            walls: dict[str, list[float]] = {tool: [] for tool in TOOLS}
            for repeat in range(args.repeats):
                # The order alternates, so a machine that slows down during the run does not
                # always fall on the same tool.
                for tool in TOOLS if repeat % 2 == 0 else TOOLS[::-1]:
                    spec = {"tool": tool, "search": search, "data": str(data),
                            "trials": trials, "epochs": epochs}
                    # An empty compilation cache: nothing compiled by an earlier run is reused.
                    env = {"TUNELAB_CACHE": str(Path(tmp) / f"jax-cache-{search}-{repeat}")}
                    start = time.perf_counter()
                    answer = run_worker(__file__, "search", spec, env=env)
                    walls[tool].append(time.perf_counter() - start)
                    result.setdefault(tool, answer)  # the scores of the first repeat
                    out.print(f"{search:16s} {tool:12s} {walls[tool][-1]:7.1f} s  best"
                              f" val_accuracy {answer['best_val_accuracy']:.4f}"
                              f" ({answer['trials']} trials)")
            for tool in TOOLS:
                result[tool]["wall_seconds_runs"] = walls[tool]
                result[tool]["wall_seconds"] = statistics.median(walls[tool])
            result["speedup"] = result["keras_tuner"]["wall_seconds"] / \
                result["tunelab"]["wall_seconds"]
            result["speedup_runs"] = [a / b for a, b in zip(walls["keras_tuner"],
                                                             walls["tunelab"], strict=True)]
            result["accuracy_test"] = _z_test(result["tunelab"]["best_val_accuracy"],
                                              result["keras_tuner"]["best_val_accuracy"], n_val)
            rows.append(result)
    from rich.table import Table

    table = Table(title=f"Keras Tuner vs tunelab.keras_tuner: RandomSearch, {trials} trials x"
                        f" {epochs} epochs, Fashion-MNIST {n_train} / {n_val}; wall time, median"
                        f" of {args.repeats}")
    for col in ("search", "Keras Tuner s", "tunelab s", "speed-up", "KT best acc",
                "tunelab best acc", "z", "p"):
        table.add_column(col)
    for r in rows:
        t = r["accuracy_test"]
        table.add_row(r["search"], f"{r['keras_tuner']['wall_seconds']:.1f}",
                      f"{r['tunelab']['wall_seconds']:.1f}", f"{r['speedup']:.2f}x",
                      f"{r['keras_tuner']['best_val_accuracy']:.4f}",
                      f"{r['tunelab']['best_val_accuracy']:.4f}", f"{t['z']:.2f}",
                      f"{t['p']:.3f}")
    out.print(table)
    RESULTS.mkdir(exist_ok=True)
    name = "keras_tuner-quick.json" if quick else "keras_tuner.json"
    setting = {"trials": trials, "epochs": epochs, "train": n_train, "val": n_val,
               "repeats": args.repeats}
    # Searches run one command at a time (--searches) are kept together when the settings
    # match; a search run again replaces its row.
    kept: list[dict[str, Any]] = []
    old_path = RESULTS / name
    if old_path.is_file():
        old = json.loads(old_path.read_text(encoding="utf-8"))
        if all(old.get(k) == v for k, v in setting.items()):
            mine = {r["search"] for r in rows}
            kept = [r for r in old.get("searches", []) if r["search"] not in mine]
    for r in rows:
        r["machine"] = machine()
        r["command"] = "python bench/keras_tuner.py " + " ".join(argv)
    (RESULTS / name).write_text(json.dumps({**setting, "searches": [*kept, *rows]},
                                           indent=2) + "\n", encoding="utf-8")
    out.print(f"wrote {RESULTS / name}")


if __name__ == "__main__":
    if not worker_main({"search": _worker}, sys.argv):
        main(sys.argv[1:])
