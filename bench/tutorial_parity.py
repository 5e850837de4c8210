"""The tutorial's three Keras experiments against tunelab's presets: the same accuracy?

The tutorial trains the MLP 784-64-Dropout(0.1)-64-10 (``kernel_initializer='uniform'``)
three times:

  tutorial-sgd-time-decay   SGD(lr=0.1, momentum=0.8, decay=0.1/60), batch int(784/100) = 7
  tutorial-exp-decay        SGD(lr=0.1, momentum=0.8, decay=0.1) + LearningRateScheduler(
                            exp_decay: 0.1 * exp(-0.1 * epoch)), batch 196
  tutorial-rmsprop          RMSprop(lr=0.001, rho=0.9, epsilon=None), batch 784

each for 60 epochs. This runs the tutorial's own Keras code (written for Keras 3: ``lr=`` is
``learning_rate=``, ``epsilon=None`` is Keras's default 1e-7, and Keras 2's ``decay=`` is
emulated by ``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)``, per update step as Keras
2 applied it; Keras 3 lets no callback set a scheduled rate, so the exp-decay run folds the
``LearningRateScheduler`` into the same per-step schedule, ``exp_decay(step // steps) / (1 +
decay * step)``, which is what Keras 2 computed) against ``tunelab.fit(preset=...)``, on the same
Fashion-MNIST split (48,000 training and 12,000 validation images, tunelab's split of seed 0;
the tutorial validated on the test images) and the same epochs, each over the same seeds, every
run in a fresh process. Printed and written to ``bench/results/tutorial_parity.json``: the
validation accuracy after the last epoch (mean ± std over the seeds), the wall time of a whole
run (model building and compilation included), and whether the accuracies agree within noise
(|difference| <= 2 standard errors of the difference).

    python bench/tutorial_parity.py                      # 60 epochs, 3 seeds (a long run)
    python bench/tutorial_parity.py --epochs 5           # a first check
    python bench/tutorial_parity.py --experiments tutorial-rmsprop --seeds 0,1
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    RESULTS,
    console,
    keras_mlp,
    load_arrays,
    machine,
    mean_std,
    namespace_dataset,
    run_worker,
    save_arrays,
    worker_main,
)

EXPERIMENTS = ("tutorial-sgd-time-decay", "tutorial-exp-decay", "tutorial-rmsprop")


# ---------------------------------------------------------------------------- the tutorial
def _tutorial_keras(spec: dict[str, Any]) -> dict[str, Any]:
    """The tutorial's code for one experiment, in Keras 3."""
    import keras
    import numpy as np

    arrays = load_arrays(spec["data"])
    x_train, x_val = arrays["x_train"], arrays["x_val"]
    num_classes = 10
    y_train = keras.utils.to_categorical(arrays["y_train"], num_classes)
    y_val = keras.utils.to_categorical(arrays["y_val"], num_classes)
    keras.utils.set_random_seed(int(spec["seed"]))
    start = time.perf_counter()
    epochs = int(spec["epochs"])
    input_dim = x_train.shape[1]
    name = spec["experiment"]
    learning_rate, momentum = 0.1, 0.8
    if name == "tutorial-sgd-time-decay":
        batch_size = int(input_dim / 100)
        decay_rate = learning_rate / 60  # the tutorial's 0.1 / epochs, with epochs = 60
        rate = keras.optimizers.schedules.InverseTimeDecay(learning_rate, decay_steps=1,
                                                           decay_rate=decay_rate)
        optimizer: Any = keras.optimizers.SGD(learning_rate=rate, momentum=momentum,
                                              nesterov=False)
    elif name == "tutorial-exp-decay":
        batch_size, decay_rate = 196, 0.1
        steps = -(-len(x_train) // batch_size)

        class Keras2ExpDecay(keras.optimizers.schedules.LearningRateSchedule):
            """LearningRateScheduler(exp_decay) under SGD(decay=0.1), as Keras 2 ran them."""

            def __call__(self, step: Any) -> Any:
                step = keras.ops.cast(step, "float32")
                epoch = keras.ops.floor(step / steps)
                lrate = learning_rate * keras.ops.exp(-decay_rate * epoch)  # exp_decay(epoch)
                return lrate / (1.0 + decay_rate * step)

            def get_config(self) -> dict[str, Any]:
                return {}

        optimizer = keras.optimizers.SGD(learning_rate=Keras2ExpDecay(), momentum=momentum,
                                         nesterov=False)
    else:
        batch_size = input_dim  # 784
        optimizer = keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9)
    model = keras_mlp(64, (0.1, 0.0), features=input_dim, classes=num_classes)
    model.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["acc"])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0,
                        validation_data=(x_val, y_val))
    seconds = time.perf_counter() - start
    acc = [float(v) for v in history.history["val_acc"]]
    return {"val_accuracy": acc[-1], "seconds": seconds, "curve": acc,
            "batch_size": batch_size, "finite": bool(np.isfinite(acc[-1]))}


def _tunelab(spec: dict[str, Any]) -> dict[str, Any]:
    """The matching preset through ``tunelab.fit`` (the one training path)."""
    import tunelab

    arrays = load_arrays(spec["data"])
    data = namespace_dataset(arrays["x_train"], arrays["y_train"], arrays["x_val"],
                             arrays["y_val"])
    start = time.perf_counter()
    result = tunelab.fit(preset=spec["experiment"], data=data, epochs=int(spec["epochs"]),
                         seed=int(spec["seed"]), progress=False)
    seconds = time.perf_counter() - start
    acc = [float(v) for v in result.history["val_accuracy"]]
    return {"val_accuracy": acc[-1], "seconds": seconds, "curve": acc,
            "batch_size": result.config.training.batch_size,
            "compile_seconds": result.compile_seconds, "train_seconds": result.train_seconds}


# ---------------------------------------------------------------------------- the run
def _fashion(path: Path) -> Path:
    from tunelab.data import load_dataset

    ds = load_dataset("fashion-mnist", seed=0)
    return save_arrays(path, x_train=ds.x_train, y_train=ds.y_train, x_val=ds.x_val,
                       y_val=ds.y_val)


def _agree(a: list[float], b: list[float]) -> dict[str, float | bool]:
    (ma, sa), (mb, sb) = mean_std(a), mean_std(b)
    se = math.sqrt(sa**2 / len(a) + sb**2 / len(b)) if a and b else math.nan
    diff = mb - ma
    # Two seeds' worth of noise at least: one validation image is 1/12,000.
    threshold = max(2 * se, 2.0 / 12000)
    return {"difference": diff, "noise": threshold, "agree": abs(diff) <= threshold}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=60, help="epochs of every run (60)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (0,1,2)")
    parser.add_argument("--experiments", default=",".join(EXPERIMENTS),
                        help="comma-separated presets (all three)")
    parser.add_argument("--out", default=str(RESULTS / "tutorial_parity.json"))
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    names = [n.strip() for n in args.experiments.split(",") if n.strip()]
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment {unknown[0]!r}; choose from {', '.join(EXPERIMENTS)}")
    out: dict[str, Any] = {"epochs": args.epochs, "seeds": seeds, "machine": machine(),
                           "data": "fashion-mnist: tunelab's split of seed 0, 48000 train /"
                           " 12000 validation", "experiments": {}}
    script = str(Path(__file__).resolve())
    with tempfile.TemporaryDirectory(prefix="tunelab-parity-") as tmp:
        data = str(_fashion(Path(tmp) / "fashion.npz"))
        for name in names:
            runs: dict[str, list[dict[str, Any]]] = {"keras": [], "tunelab": []}
            for seed in seeds:
                spec = {"experiment": name, "seed": seed, "epochs": args.epochs, "data": data}
                for kind in ("keras", "tunelab"):
                    runs[kind].append(run_worker(script, kind, spec, timeout=7200.0))
                    print(f"{name} seed {seed} {kind}: val_accuracy"
                          f" {runs[kind][-1]['val_accuracy']:.4f} in"
                          f" {runs[kind][-1]['seconds']:.1f} s", file=sys.stderr)
            row: dict[str, Any] = {}
            for kind, items in runs.items():
                acc = [r["val_accuracy"] for r in items]
                secs = [r["seconds"] for r in items]
                m, s = mean_std(acc)
                row[kind] = {"val_accuracy": acc, "mean": m, "std": s, "seconds": secs,
                             "mean_seconds": mean_std(secs)[0], "runs": items}
            row.update(_agree(row["keras"]["val_accuracy"], row["tunelab"]["val_accuracy"]))
            row["speedup"] = row["keras"]["mean_seconds"] / row["tunelab"]["mean_seconds"]
            out["experiments"][name] = row
    _print(out)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def _print(out: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"tutorial parity on Fashion-MNIST: validation accuracy after"
                  f" {out['epochs']} epochs, {len(out['seeds'])} seeds; wall seconds per run")
    for col in ("experiment", "Keras 3 fit (tutorial code)", "tunelab preset", "difference",
                "noise", "agree", "Keras s", "tunelab s", "speed-up"):
        table.add_column(col, justify="left" if col == "experiment" else "right")
    for name, row in out["experiments"].items():
        k, t = row["keras"], row["tunelab"]
        table.add_row(name, f"{k['mean']:.4f} ± {k['std']:.4f}", f"{t['mean']:.4f} ±"
                      f" {t['std']:.4f}", f"{row['difference']:+.4f}", f"{row['noise']:.4f}",
                      "yes" if row["agree"] else "NO", f"{k['mean_seconds']:.1f}",
                      f"{t['mean_seconds']:.1f}", f"{row['speedup']:.1f}x")
    console().print(table)


if __name__ == "__main__":
    if not worker_main({"keras": _tutorial_keras, "tunelab": _tunelab}, sys.argv):
        sys.exit(main(sys.argv[1:]))
