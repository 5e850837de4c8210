"""Where an epoch's time goes: the engine's epoch taken apart, beside Keras-JAX ``fit``.

The model and data are ``bench/engine.py``'s: the tutorial's 784-64-Dropout(0.1)-64-10 MLP,
SGD with momentum, batch 128, Fashion-MNIST (``--samples`` training rows and a fifth of that
in validation rows, the race's proportion). One process; every row is timed once per round,
rounds alternate the rows, and the median over rounds is kept. Each row is timed twice: wall
seconds, and CPU seconds of the process (every thread's): on a machine shared with other
jobs the wall clock measures the load as much as the work, the CPU time mostly the work, so
the parts are taken from CPU time. Rows, in seconds per epoch per configuration (a cohort's
time / K):

  keras fit          Keras-JAX ``model.fit``, one epoch, with validation (the peer)
  run_epoch + val    ``Cohort.run_epoch`` on data with a validation split: what a study pays
  run_epoch          the same cohort on the same rows without a validation split
  epoch program      the compiled epoch alone (one call, waited for): no host work
  no dropout draws   the epoch program with the dropout layers' masks left out
  layer-1 products   a scan doing only the first layer's forward and weight-gradient
                     products for the K slots (one matrix product each), with the
                     minibatch gather: the floor of this model's epoch
  no gather          the same products on contiguous slices instead of gathered rows

Differences between rows give the parts: evaluation = (run_epoch + val) - run_epoch; host
work between epochs = run_epoch - epoch program; dropout masks = epoch program - no dropout
draws; the rest of the step (other layers, loss, optimizer, masking) = no dropout draws -
layer-1 products; the gather = layer-1 products - no gather.

Usage:
  python bench/engine_profile.py [--samples 20000] [--ks 8 32] [--rounds 3]
      writes bench/results/engine-profile.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    RESULTS,
    console,
    fashion_split,
    keras_mlp,
    machine,
    namespace_dataset,
)
from engine import LR, MOMENTUM, _tunelab_cohort  # noqa: E402

BATCH = 128


def _keras(x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray) -> Any:
    import keras

    keras.utils.set_random_seed(0)
    model = keras_mlp(64, [0.1, 0.0])
    model.compile(optimizer=keras.optimizers.SGD(LR, momentum=MOMENTUM),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    def epoch() -> float:
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, validation_data=(xv, yv))
        return 0.0

    epoch()  # compiles
    return epoch


def _cohort_rows(x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray, k: int
                 ) -> dict[str, Any]:
    import jax

    from tunelab.model import _dropout
    from tunelab.train import _program

    def built(data: Any, drop: bool = True) -> Any:
        _program._PROGRAMS.clear()  # a program of its own (the no-dropout one differs)
        call = _dropout.SlotDropout.call
        if not drop:
            _dropout.SlotDropout.call = lambda self, inputs, training=False: inputs
        try:
            cohort = _tunelab_cohort(x, y, BATCH, k, epochs=10_000, data=data)
            cohort.run_epoch()  # compiles
        finally:
            _dropout.SlotDropout.call = call
        return cohort

    with_val = built(namespace_dataset(x, y, xv, yv))
    plain = built(namespace_dataset(x, y))
    no_drop = built(namespace_dataset(x, y), drop=False)

    def program_only(cohort: Any) -> Any:
        def run() -> float:
            args = (cohort.state.tree(), cohort._x, cohort._y, cohort._data_seeds, np.int32(0),
                    np.int32(0), cohort._vector("learning_rate", np.float32),
                    np.ones(k, bool), cohort._vector("l2", np.float32),
                    cohort._vector("period", np.int32))
            exe = cohort.program.compiled("epoch_no_l2", args)[0]
            out = jax.block_until_ready(exe(*args))
            cohort.state = type(cohort.state)(*out[0])  # the old state was donated
            return 0.0
        return run

    def timed(cohort: Any) -> Any:
        def run() -> float:
            cohort.run_epoch()
            return 0.0
        return run

    return {"run_epoch + val": timed(with_val), "run_epoch": timed(plain),
            "epoch program": program_only(plain), "no dropout draws": program_only(no_drop),
            **_floors(plain, k)}


def _floors(cohort: Any, k: int) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    x, n = cohort._x, int(cohort._x.shape[0])
    steps = n // BATCH
    perm = jnp.asarray(np.random.default_rng(0).permutation(n))
    w0 = jnp.zeros((x.shape[1], k * 64), jnp.float32)

    def products(gather: bool) -> Any:
        def epoch(w: Any, x: Any, perm: Any) -> Any:
            def body(w: Any, t: Any) -> tuple[Any, None]:
                if gather:
                    xb = x[jax.lax.dynamic_slice_in_dim(perm, t * BATCH, BATCH)]
                else:
                    xb = jax.lax.dynamic_slice_in_dim(x, t * BATCH, BATCH)
                h = xb @ w
                return w - 1e-9 * (xb.T @ h), None
            return jax.lax.scan(body, w, jnp.arange(steps))[0]

        exe = jax.jit(epoch).lower(w0, x, perm).compile()

        def run() -> float:
            exe(w0, x, perm).block_until_ready()
            return -(-n // BATCH) / steps  # scaled to the whole epoch's steps
        return run

    return {"layer-1 products": products(True), "no gather": products(False)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    x, y, xv, yv = fashion_split()
    x, y, xv, yv = x[:args.samples], y[:args.samples], xv[:args.samples // 5], yv[
        :args.samples // 5]
    rows: dict[str, Any] = {"keras fit": _keras(x, y, xv, yv)}
    widths = {"keras fit": 1}
    for k in args.ks:
        for name, fn in _cohort_rows(x, y, xv, yv, k).items():
            rows[f"K={k} {name}"] = fn
            widths[f"K={k} {name}"] = k
    seconds: dict[str, list[float]] = {name: [] for name in rows}
    cpu: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(args.rounds):
        for name, fn in rows.items():
            wall, used = time.perf_counter(), time.process_time()
            scale = fn() or 1.0  # a row timing part of an epoch returns its scale
            seconds[name].append((time.perf_counter() - wall) * scale / widths[name])
            cpu[name].append((time.process_time() - used) * scale / widths[name])
    wall_med = {name: statistics.median(v) for name, v in seconds.items()}
    med = {name: statistics.median(v) for name, v in cpu.items()}
    parts = {}
    for k in args.ks:
        row = {name.split(" ", 1)[1]: v for name, v in med.items() if name.startswith(f"K={k} ")}
        parts[f"K={k}"] = {
            "evaluation": row["run_epoch + val"] - row["run_epoch"],
            "host work": row["run_epoch"] - row["epoch program"],
            "dropout masks": row["epoch program"] - row["no dropout draws"],
            "rest of the step": row["no dropout draws"] - row["layer-1 products"],
            "minibatch gather": row["layer-1 products"] - row["no gather"],
            "layer-1 products (no gather)": row["no gather"],
            "total": row["run_epoch + val"],
            "keras fit over run_epoch + val": med["keras fit"] / row["run_epoch + val"],
            "keras fit over layer-1 products": med["keras fit"] / row["layer-1 products"],
            "wall: keras fit over run_epoch + val": wall_med["keras fit"] / wall_med[
                f"K={k} run_epoch + val"],
        }
    return {"benchmark": "engine-profile", "machine": machine(), "settings": vars(args),
            "batch": BATCH, "samples": args.samples, "validation": len(xv),
            "wall_s_per_config": seconds, "cpu_s_per_config": cpu,
            "median_wall_s_per_config": wall_med, "median_s_per_config": med, "parts": parts,
            "loadavg_end": list(os.getloadavg())}


def show(res: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    table = Table(title=f"seconds per epoch per configuration, batch {res['batch']},"
                        f" {res['samples']} rows (+{res['validation']} validation), medians of"
                        f" {res['settings']['rounds']} rounds")
    table.add_column("row")
    table.add_column("CPU s / epoch / config")
    table.add_column("wall s / epoch / config")
    for name, s in res["median_s_per_config"].items():
        table.add_row(name, f"{s:.4f}", f"{res['median_wall_s_per_config'][name]:.4f}")
    con.print(table)
    for k, parts in res["parts"].items():
        total = parts["total"]
        con.print(f"{k}: " + "; ".join(
            f"{name} {v:.4f} s ({100 * v / total:.0f}%)" for name, v in parts.items()
            if name != "total" and "keras" not in name))
        over_run = parts["keras fit over run_epoch + val"]
        over_floor = parts["keras fit over layer-1 products"]
        con.print(f"  Keras fit / (run_epoch + val) = {over_run:.2f} in CPU time,"
                  f" {parts['wall: keras fit over run_epoch + val']:.2f} in wall time;"
                  f" Keras fit / layer-1 products = {over_floor:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=25_600, help="training rows")
    parser.add_argument("--ks", type=int, nargs="+", default=[8, 32], help="cohort widths")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per row")
    args = parser.parse_args()
    res = run(args)
    show(res)
    from tunelab._files import write_json

    path = RESULTS / "engine-profile.json"
    write_json(path, res)
    console().print(f"wrote {path}")


if __name__ == "__main__":
    main()
