"""Speed of tunelab's cohort engine against Keras ``fit``, on the tutorial's MLP and Fashion-MNIST.

The model is the tutorial's 784-64-Dropout(0.1)-64-10 MLP (ReLU, ``uniform`` initializer,
softmax), trained with SGD (momentum 0.8) on sparse categorical cross-entropy with an accuracy
metric. One "epoch" is a pass over the 60,000 Fashion-MNIST training images (the dataset's
training and validation splits together), training only: no validation pass is timed.

Rows, for batch sizes 7, 128 and 784:

  tunelab K      a ``tunelab.train.Cohort`` of width K = 1, 8, 32 (slots with different
                 learning rates and seeds), one ``run_epoch`` per epoch. Per configuration
                 = the cohort's epoch time / K.
  Keras-JAX      ``model.fit`` on the JAX backend (one configuration at a time).
  Keras-TF       ``model.fit`` on the TensorFlow backend: the tutorial's stack (skipped when
                 tensorflow is not installed).

Each tool runs in its own process (Keras picks its backend at import). After one warm-up
epoch (it includes compilation), REPEATS epochs are timed and the median is kept. Batch 7 is
slow on Keras (about 8,600 steps per epoch), so at batch 7 every tool trains on the first
B7_SAMPLES images of the same shuffled set and the time is scaled to a full epoch by the
ratio of step counts (stated in the output).

Also measured:

  compile        seconds tunelab spends lowering and compiling for each cohort shape
                 (``Cohort.compile_seconds`` after the first epoch: the slots' set-up and the
                 epoch) with a fresh persistent cache, and again in a second, fresh process
                 that finds the shapes in JAX's persistent compilation cache.
  GFLOP/s        achieved per configuration: (forward + backward FLOPs of the MLP) x 60,000
                 / seconds per epoch, next to a measured float32 matmul peak (jnp.dot).
  memory         the RSS high-water mark of each tunelab process (getrusage); target for K=32.
  parity         the same configuration trained by Keras ``fit`` (JAX) and by tunelab for a
                 few epochs over 3 seeds: validation accuracy, mean +- std.

Targets (per configuration, on a 2-core machine): vs Keras-TF >= 15x at batch 7, 6x at batch
128, 3x at batch 784; vs Keras-JAX >= 3x at batch 7 and 4x at batch 128; compile < 3 s per
shape; cached compile < 1 s; K=32 peak memory < 2 GiB. A target on speed is met when some
cohort width meets it.

Usage:
  python bench/engine.py            full run (about 5-10 min on a quiet 2-core machine);
                                    writes bench/results/engine.json
  python bench/engine.py --quick    small subsets, 2 repeats (a smoke test; figures are not
                                    comparable to the targets); writes engine-quick.json
Run it on a quiet machine: other processes distort every figure.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
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
    epoch_timer,
    has_module,
    keras_mlp,
    load_arrays,
    machine,
    mean_std,
    median,
    namespace_dataset,
    run_worker,
    save_arrays,
    worker_main,
)

SCRIPT = str(Path(__file__).resolve())
FULL_SAMPLES = 60_000
LAYERS = (784, 64, 64, 10)
LR, MOMENTUM = 0.01, 0.8
TARGET_VS_TF = {7: 15.0, 128: 6.0, 784: 3.0}
TARGET_VS_JAX = {7: 3.0, 128: 4.0}
COMPILE_TARGET_S = 3.0
CACHED_TARGET_S = 1.0
MEMORY_TARGET_GIB = 2.0
PARITY = {"batch": 128, "learning_rate": 0.1, "momentum": 0.8, "seeds": [0, 1, 2]}


def flop_per_sample(layers: tuple[int, ...] = LAYERS) -> tuple[int, int, int]:
    """Forward MACs, backward MACs and FLOPs (2 per MAC) of one training sample.

    Backward is twice the forward (input and weight gradients) less the first layer's input
    gradient, which nothing needs: 54,912 and 59,648 MACs for 784-64-64-10.
    """
    macs = [a * b for a, b in zip(layers[:-1], layers[1:], strict=True)]
    forward = sum(macs)
    backward = 2 * forward - macs[0]
    return forward, backward, 2 * (forward + backward)


def steps(samples: int, batch: int) -> int:
    return -(-samples // batch)


# ============================================================================ workers
def _full_set(data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All 60,000 training images (train + validation splits), in one fixed shuffled order."""
    x = np.concatenate([data["x_train"], data["x_val"]])
    y = np.concatenate([data["y_train"], data["y_val"]]).astype(np.int32)
    order = np.random.default_rng(1234).permutation(len(x))
    return x[order], y[order]


def _tunelab_cohort(x: np.ndarray, y: np.ndarray, batch: int, k: int, epochs: int,
                    data: Any = None) -> Any:
    """K slots of the bench's MLP (learning rates around LR, seeds 0..K-1) on ``(x, y)``, or
    on ``data`` (a dataset, with a validation split if it has one)."""
    from tunelab.config import parse_config
    from tunelab.train import Cohort

    def config(lr: float, seed: int) -> Any:
        return parse_config({
            "seed": seed,
            "model": {"units": [64, 64], "activation": "relu", "dropout": [0.1, 0.0],
                      "kernel_initializer": "uniform"},
            "optimizer": {"name": "SGD", "learning_rate": lr, "momentum": MOMENTUM},
            "training": {"batch_size": batch, "epochs": epochs},
        })

    rates = [LR] if k == 1 else list(np.geomspace(LR / 2, LR * 5, k))
    configs = [config(float(lr), seed) for seed, lr in enumerate(rates)]
    cohort = Cohort(configs[0], data if data is not None else namespace_dataset(x, y), width=k)
    for slot, cfg in enumerate(configs):
        cohort.assign(slot, cfg)
    return cohort


def worker_tunelab(spec: dict[str, Any]) -> dict[str, Any]:
    """One cohort shape: warm-up epoch (compiles), then ``repeats`` timed epochs."""
    x, y = _full_set(load_arrays(spec["data"]))
    n, batch, k, repeats = spec["samples"], spec["batch"], spec["k"], spec["repeats"]
    start = time.perf_counter()
    cohort = _tunelab_cohort(x[:n], y[:n], batch, k, epochs=repeats + 1)
    setup = time.perf_counter() - start
    setup_compile = cohort.compile_seconds
    start = time.perf_counter()
    cohort.run_epoch()
    first = time.perf_counter() - start
    compile_s = cohort.compile_seconds
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        cohort.run_epoch()
        times.append(time.perf_counter() - start)
    return {"setup_s": setup, "first_epoch_s": first, "compile_s": compile_s,
            "setup_compile_s": setup_compile, "epoch_s": times,
            "statuses": [cohort.status(s) for s in range(k)],
            "maxrss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def worker_tunelab_cached(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Compile every shape again in a fresh process: the persistent cache has them."""
    x, y = _full_set(load_arrays(spec["data"]))
    out = []
    for batch, k, n in spec["shapes"]:
        cohort = _tunelab_cohort(x[:n], y[:n], batch, k, epochs=1)
        setup_compile = cohort.compile_seconds
        cohort.run_epoch()
        out.append({"batch": batch, "k": k, "samples": n, "compile_s": cohort.compile_seconds,
                    "setup_compile_s": setup_compile})
    return out


def worker_keras(spec: dict[str, Any]) -> dict[str, Any]:
    """Keras ``fit`` on this process's backend, one model per batch size."""
    import keras

    x, y = _full_set(load_arrays(spec["data"]))
    rows = []
    for batch, n in spec["shapes"]:
        keras.utils.set_random_seed(0)
        model = keras_mlp(64, [0.1, 0.0])
        model.compile(optimizer=keras.optimizers.SGD(LR, momentum=MOMENTUM),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        timer = epoch_timer()
        model.fit(x[:n], y[:n], batch_size=batch, epochs=spec["repeats"] + 1, verbose=0,
                  callbacks=[timer])
        rows.append({"batch": batch, "samples": n, "first_epoch_s": timer.seconds[0],
                     "epoch_s": timer.seconds[1:], "jit_compile": str(model.jit_compile)})
        keras.backend.clear_session()
    return {"backend": keras.backend.backend(), "rows": rows}


def worker_peak(spec: dict[str, Any]) -> dict[str, Any]:
    """The best float32 matmul rate of this machine through JAX (GFLOP/s)."""
    import jax
    import jax.numpy as jnp

    n = spec["n"]
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
    dot = jax.jit(jnp.dot)
    dot(a, b).block_until_ready()
    best = math.inf
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        dot(a, b).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return {"n": n, "best_s": best, "gflops": 2 * n**3 / best / 1e9}


def worker_parity_tunelab(spec: dict[str, Any]) -> dict[str, Any]:
    from tunelab.config import parse_config
    from tunelab.execute import fit_cohort

    data = load_arrays(spec["data"])
    ds = namespace_dataset(data["x_train"], data["y_train"].astype(np.int32), data["x_val"],
                           data["y_val"].astype(np.int32))
    configs = [parse_config({
        "seed": seed,
        "model": {"units": [64, 64], "dropout": [0.1, 0.0], "kernel_initializer": "uniform"},
        "optimizer": {"name": "SGD", "learning_rate": PARITY["learning_rate"],
                      "momentum": PARITY["momentum"]},
        "training": {"batch_size": PARITY["batch"], "epochs": spec["epochs"]},
    }) for seed in PARITY["seeds"]]
    start = time.perf_counter()
    result = fit_cohort(configs, ds, progress=False)
    wall = time.perf_counter() - start
    return {"val_accuracy": [r.history["val_accuracy"] for r in result.results],
            "statuses": result.statuses, "wall_s": wall, "compile_s": result.compile_seconds}


def worker_parity_keras(spec: dict[str, Any]) -> dict[str, Any]:
    import keras

    data = load_arrays(spec["data"])
    accs, start = [], time.perf_counter()
    for seed in PARITY["seeds"]:
        keras.utils.set_random_seed(seed)
        model = keras_mlp(64, [0.1, 0.0])
        model.compile(optimizer=keras.optimizers.SGD(PARITY["learning_rate"],
                                                     momentum=PARITY["momentum"]),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        hist = model.fit(data["x_train"], data["y_train"], batch_size=PARITY["batch"],
                         epochs=spec["epochs"], verbose=0,
                         validation_data=(data["x_val"], data["y_val"]))
        accs.append([float(v) for v in hist.history["val_accuracy"]])
        keras.backend.clear_session()
    return {"val_accuracy": accs, "wall_s": time.perf_counter() - start,
            "backend": keras.backend.backend()}


HANDLERS = {"tunelab": worker_tunelab, "tunelab-cached": worker_tunelab_cached,
            "keras": worker_keras, "peak": worker_peak, "parity-tunelab": worker_parity_tunelab,
            "parity-keras": worker_parity_keras}


# ============================================================================ the run
def _settings(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    return {
        "quick": quick,
        "batches": args.batches or [7, 128, 784],
        "ks": args.ks or [1, 8, 32, 64],
        "repeats": args.repeats or (2 if quick else 5),
        "samples": args.samples or (6_272 if quick else FULL_SAMPLES),
        "b7_samples": args.b7_samples or (700 if quick else 6_000),
        "parity_epochs": args.parity_epochs or (2 if quick else 5),
        "matmul_n": 1024 if quick else 2048,
        "tensorflow": has_module("tensorflow") and not args.no_tf,
    }


def _samples_for(batch: int, s: dict[str, Any]) -> int:
    return int(s["b7_samples"] if batch == 7 else s["samples"])


def _per_epoch(seconds: list[float], batch: int, samples: int) -> float:
    """Median seconds, scaled to a full 60,000-sample epoch by the ratio of step counts."""
    return median(seconds) * steps(FULL_SAMPLES, batch) / steps(samples, batch)


def _load(tmp: Path) -> tuple[Path, dict[str, int]]:
    from tunelab.config import DataConfig
    from tunelab.data import load_dataset

    ds = load_dataset(DataConfig(name="fashion-mnist"), seed=0)
    path = save_arrays(tmp / "fashion.npz", x_train=ds.x_train, y_train=ds.y_train,
                       x_val=ds.x_val, y_val=ds.y_val)
    return path, {"train": len(ds.x_train), "val": len(ds.x_val), "source": ds.source}


def run(args: argparse.Namespace) -> dict[str, Any]:
    s = _settings(args)
    con = console()
    out: dict[str, Any] = {"benchmark": "engine", "settings": s, "machine": machine()}
    flops = flop_per_sample()
    epoch_gflop = flops[2] * FULL_SAMPLES / 1e9
    out["flop"] = {"forward_macs": flops[0], "backward_macs": flops[1],
                   "flop_per_sample": flops[2], "gflop_per_epoch": epoch_gflop}
    with tempfile.TemporaryDirectory(prefix="tunelab-engine-") as tmp_name:
        tmp = Path(tmp_name)
        data, sizes = _load(tmp)
        out["data"] = sizes
        cache_env = {"TUNELAB_CACHE": str(tmp / "jax-cache")}
        spec_base = {"data": str(data), "repeats": s["repeats"]}

        con.print(f"[bold]matmul peak[/] ({s['matmul_n']}x{s['matmul_n']} float32)")
        out["peak"] = run_worker(SCRIPT, "peak", {"n": s["matmul_n"], "repeats": 5})

        tunelab: dict[str, Any] = {}
        shapes = [(b, k, _samples_for(b, s)) for b in s["batches"] for k in s["ks"]]
        for batch, k, n in shapes:
            con.print(f"[bold]tunelab[/] batch {batch}, K={k}, {n} samples")
            tunelab[f"{batch}/{k}"] = {"batch": batch, "k": k, "samples": n, **run_worker(
                SCRIPT, "tunelab", {**spec_base, "batch": batch, "k": k, "samples": n},
                env=cache_env)}
        con.print("[bold]tunelab[/] compiling every shape again in a fresh process (cache on)")
        cached = run_worker(SCRIPT, "tunelab-cached", {**spec_base, "shapes": shapes},
                            env=cache_env)
        for row in cached:
            tunelab[f"{row['batch']}/{row['k']}"]["cached_compile_s"] = row["compile_s"]

        peers: dict[str, Any] = {}
        backends = ["jax"] + (["tensorflow"] if s["tensorflow"] else [])
        for backend in backends:
            con.print(f"[bold]Keras fit[/] on {backend}")
            res = run_worker(SCRIPT, "keras", {**spec_base, "shapes": [
                (b, _samples_for(b, s)) for b in s["batches"]]}, backend=backend)
            peers[backend] = {str(r["batch"]): r for r in res["rows"]}

        con.print(f"[bold]parity[/]: {s['parity_epochs']} epochs x {len(PARITY['seeds'])} seeds")
        parity = {
            "tunelab": run_worker(SCRIPT, "parity-tunelab", {**spec_base,
                                  "epochs": s["parity_epochs"]}, env=cache_env),
            "keras-jax": run_worker(SCRIPT, "parity-keras", {**spec_base,
                                    "epochs": s["parity_epochs"]}),
        }
    out["machine"]["loadavg_end"] = list(os.getloadavg())
    out.update(_summarise(s, tunelab, peers, parity, out["peak"]["gflops"], epoch_gflop))
    return out


def _summarise(s: dict[str, Any], tunelab: dict[str, Any], peers: dict[str, Any],
               parity: dict[str, Any], peak: float, epoch_gflop: float) -> dict[str, Any]:
    rows = []
    for key, r in tunelab.items():
        batch, k, n = r["batch"], r["k"], r["samples"]
        cohort_s = _per_epoch(r["epoch_s"], batch, n)
        per_config = cohort_s / k
        row: dict[str, Any] = {
            "batch": batch, "k": k, "samples_timed": n, "cohort_epoch_s": cohort_s,
            "per_config_epoch_s": per_config, "gflops": epoch_gflop / per_config,
            "compile_s": r["compile_s"], "cached_compile_s": r.get("cached_compile_s"),
            "setup_compile_s": r["setup_compile_s"], "first_epoch_s": r["first_epoch_s"],
            "maxrss_gib": r["maxrss_gib"], "raw_epoch_s": r["epoch_s"], "key": key,
            "statuses": r["statuses"],
        }
        for backend, name in (("jax", "keras_jax"), ("tensorflow", "keras_tf")):
            peer = peers.get(backend, {}).get(str(batch))
            if peer is None:
                continue
            peer_s = _per_epoch(peer["epoch_s"], batch, peer["samples"])
            row[f"{name}_epoch_s"] = peer_s
            row[f"vs_{name}"] = peer_s / per_config
        rows.append(row)
    peer_rows = {backend: {b: {**p, "epoch_s_full": _per_epoch(p["epoch_s"], int(b),
                                                                   p["samples"]),
                               "gflops": epoch_gflop / _per_epoch(p["epoch_s"], int(b),
                                                                    p["samples"])}
                           for b, p in by_batch.items()}
                 for backend, by_batch in peers.items()}
    targets = []
    for batch, want in TARGET_VS_TF.items():
        targets.append(_speed_target(rows, batch, "keras_tf", want))
    for batch, want in TARGET_VS_JAX.items():
        targets.append(_speed_target(rows, batch, "keras_jax", want))
    worst_compile = max((r["compile_s"] for r in rows), default=math.nan)
    cached = [r["cached_compile_s"] for r in rows if r["cached_compile_s"] is not None]
    worst_cached = max(cached, default=math.nan)
    k32 = [r["maxrss_gib"] for r in rows if r["k"] == 32]
    targets += [
        {"what": "compile per shape (first call)", "value": worst_compile, "unit": "s",
         "target": f"< {COMPILE_TARGET_S:g} s", "met": worst_compile < COMPILE_TARGET_S},
        {"what": "compile per shape, persistent cache", "value": worst_cached, "unit": "s",
         "target": f"< {CACHED_TARGET_S:g} s", "met": worst_cached < CACHED_TARGET_S},
        {"what": "peak RSS, K=32", "value": max(k32) if k32 else None, "unit": "GiB",
         "target": f"< {MEMORY_TARGET_GIB:g} GiB",
         "met": max(k32) < MEMORY_TARGET_GIB if k32 else None},
    ]
    par = {}
    for tool, res in parity.items():
        finals = [acc[-1] for acc in res["val_accuracy"]]
        mean, std = mean_std(finals)
        par[tool] = {"final_val_accuracy": finals, "mean": mean, "std": std,
                     "wall_s": res["wall_s"], "curves": res["val_accuracy"]}
    return {"rows": rows, "peers": peer_rows, "targets": targets,
            "peak_gflops": peak, "parity": {**PARITY, "results": par}}


def _speed_target(rows: list[dict[str, Any]], batch: int, peer: str, want: float
                  ) -> dict[str, Any]:
    cands = [r for r in rows if r["batch"] == batch and f"vs_{peer}" in r]
    name = {"keras_tf": "Keras-TF", "keras_jax": "Keras-JAX"}[peer]
    if not cands:
        return {"what": f"vs {name} at batch {batch}", "value": None, "unit": "x",
                "target": f">= {want:g}x", "met": None, "k": None}
    best = max(cands, key=lambda r: r[f"vs_{peer}"])
    return {"what": f"vs {name} at batch {batch}", "value": best[f"vs_{peer}"], "unit": "x",
            "target": f">= {want:g}x", "met": best[f"vs_{peer}"] >= want, "k": best["k"]}


# ============================================================================ printing
def _mark(ok: bool | None) -> str:
    return "-" if ok is None else ("[green]pass[/]" if ok else "[red]FAIL[/]")


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def show(res: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    s = res["settings"]
    label = "QUICK MODE (small subsets; not comparable to the targets)" if s["quick"] else "full"
    con.print(f"\n[bold]tunelab engine vs Keras fit[/] - {label}")
    con.print(f"Fashion-MNIST, MLP 784-64-Dropout(0.1)-64-10, SGD(momentum {MOMENTUM}); seconds"
              f" per 60,000-sample training epoch, median of {s['repeats']} epochs after a"
              " warm-up epoch.")
    con.print(f"Timed on {s['samples']} samples at batch 128/784 and {s['b7_samples']} at"
              " batch 7, scaled to 60,000 by the ratio of step counts"
              f" (e.g. batch 7: {steps(FULL_SAMPLES, 7)} / {steps(s['b7_samples'], 7)}).")
    con.print(f"Load average at start {res['machine']['loadavg'][0]:.2f}, at end"
              f" {res['machine']['loadavg_end'][0]:.2f} ({res['machine']['cpus']} CPUs).")
    table = Table(title="seconds per epoch, per configuration (tunelab: cohort time / K)")
    for col in ("batch", "K", "tunelab cohort s", "tunelab per-config s", "Keras-JAX s",
                "Keras-TF s", "vs Keras-TF", "vs Keras-JAX", "GFLOP/s", "% peak", "target"):
        table.add_column(col, justify="right")
    for r in res["rows"]:
        checks = []
        if r["batch"] in TARGET_VS_TF and "vs_keras_tf" in r:
            checks.append(r["vs_keras_tf"] >= TARGET_VS_TF[r["batch"]])
        if r["batch"] in TARGET_VS_JAX and "vs_keras_jax" in r:
            checks.append(r["vs_keras_jax"] >= TARGET_VS_JAX[r["batch"]])
        want = " & ".join(f">={t:g}x {p}" for t, p in (
            (TARGET_VS_TF.get(r["batch"]), "TF"), (TARGET_VS_JAX.get(r["batch"]), "JAX"))
            if t is not None)
        table.add_row(str(r["batch"]), str(r["k"]), _fmt(r["cohort_epoch_s"]),
                      _fmt(r["per_config_epoch_s"]), _fmt(r.get("keras_jax_epoch_s")),
                      _fmt(r.get("keras_tf_epoch_s")), _fmt(r.get("vs_keras_tf"), ".1f") + "x",
                      _fmt(r.get("vs_keras_jax"), ".1f") + "x", _fmt(r["gflops"], ".1f"),
                      _fmt(100 * r["gflops"] / res["peak_gflops"], ".0f"),
                      f"{want} {_mark(all(checks) if checks else None)}")
    con.print(table)
    peers = Table(title="Keras fit, one configuration")
    for col in ("backend", "batch", "s / epoch", "first epoch s (timed subset)", "GFLOP/s",
                "jit_compile"):
        peers.add_column(col, justify="right")
    for backend, by_batch in res["peers"].items():
        for b, p in by_batch.items():
            peers.add_row(backend, b, _fmt(p["epoch_s_full"]), _fmt(p["first_epoch_s"]),
                          _fmt(p["gflops"], ".1f"), p["jit_compile"])
    con.print(peers)
    con.print(f"matmul peak: {res['peak']['gflops']:.1f} GFLOP/s ({res['peak']['n']}^2 float32"
              f" jnp.dot); one epoch = {res['flop']['gflop_per_epoch']:.2f} GFLOP (forward"
              f" {res['flop']['forward_macs']:,} + backward {res['flop']['backward_macs']:,}"
              " MACs per sample), so the floor at peak is"
              f" {res['flop']['gflop_per_epoch'] / res['peak']['gflops']:.3f} s per epoch.")
    comp = Table(title="tunelab compile per cohort shape (every lower + XLA compile: set-up"
                       " of the slots, then the epoch) and memory")
    for col in ("batch", "K", "first call s", "of which set-up s", "cached, fresh process s",
                "peak RSS GiB"):
        comp.add_column(col, justify="right")
    for r in res["rows"]:
        comp.add_row(str(r["batch"]), str(r["k"]), _fmt(r["compile_s"], ".2f"),
                     _fmt(r["setup_compile_s"], ".2f"), _fmt(r["cached_compile_s"], ".2f"),
                     _fmt(r["maxrss_gib"], ".2f"))
    con.print(comp)
    tgt = Table(title="targets")
    for col in ("what", "measured", "target", "result"):
        tgt.add_column(col, justify="right")
    for t in res["targets"]:
        value = "-" if t["value"] is None else f"{t['value']:.2f} {t['unit']}"
        if t.get("k") is not None:
            value += f" (K={t['k']})"
        tgt.add_row(t["what"], value, t["target"], _mark(t["met"]))
    con.print(tgt)
    p = res["parity"]
    par = Table(title=f"parity: batch {p['batch']}, SGD(lr {p['learning_rate']}, momentum"
                      f" {p['momentum']}), {s['parity_epochs']} epochs, seeds {p['seeds']}")
    for col in ("tool", "val accuracy mean +- std", "per seed", "wall s (all seeds)"):
        par.add_column(col, justify="right")
    for tool, r in p["results"].items():
        par.add_row(tool, f"{r['mean']:.4f} +- {r['std']:.4f}",
                    ", ".join(f"{v:.4f}" for v in r["final_val_accuracy"]),
                    _fmt(r["wall_s"], ".1f"))
    con.print(par)
    t, k = p["results"]["tunelab"], p["results"]["keras-jax"]
    con.print(f"difference of means (tunelab - Keras): {t['mean'] - k['mean']:+.4f}")


def main() -> None:
    if worker_main(HANDLERS, sys.argv):
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small subsets, 2 repeats")
    parser.add_argument("--repeats", type=int, help="timed epochs per row (default 5)")
    parser.add_argument("--samples", type=int, help="samples timed at batch 128/784")
    parser.add_argument("--b7-samples", type=int, help="samples timed at batch 7 (6,000)")
    parser.add_argument("--batches", type=int, nargs="+", help="batch sizes (7 128 784)")
    parser.add_argument("--ks", type=int, nargs="+", help="cohort widths (1 8 32)")
    parser.add_argument("--parity-epochs", type=int, help="parity epochs (default 5)")
    parser.add_argument("--no-tf", action="store_true", help="skip Keras on TensorFlow")
    args = parser.parse_args()
    start = time.perf_counter()
    try:
        res = run(args)
    except WorkerError as exc:
        sys.exit(f"engine benchmark failed: {exc}")
    res["wall_s"] = time.perf_counter() - start
    show(res)
    from tunelab._files import write_json

    path = RESULTS / ("engine-quick.json" if args.quick else "engine.json")
    write_json(path, res)
    console().print(f"total {res['wall_s']:.0f} s; wrote {path}")


if __name__ == "__main__":
    main()
