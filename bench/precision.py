"""bf16 matrix products with float32 accumulation in the cohort engine, against float32.

tunelab trains in float32. This measures what bf16 products (inputs cast to bf16, products
accumulated and returned in float32: ``jnp.matmul(a.astype(bf16), b.astype(bf16),
preferred_element_type=float32)``) would give the engine: every Dense product of the model is
swapped for that one while the cohort's epoch is traced, weights, optimizer state, losses and
everything else staying float32. Fashion-MNIST, 50,000 training / 10,000 validation images, the
tutorial's two-layer MLP at a given width, SGD (lr 0.05, momentum 0.8), K slots (seeds 0..K-1).

Per variant, in a fresh process without a compilation cache: one warm-up epoch, then the
fastest of ``--repeats`` epochs, and the slots' mean validation accuracy after them (same
seeds, same data order: a paired parity check).

Usage:
  python bench/precision.py [--units 512] [--batch 128] [--k 8] [--repeats 3]
  writes results/precision.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    RESULTS,
    console,
    fashion_split,
    machine,
    namespace_dataset,
    run_worker,
    worker_main,
)


def _bf16_products() -> None:
    """Swap Keras's JAX matmul for a bf16-input, float32-output product (this process only)."""
    import jax.numpy as jnp
    from keras.src.backend.jax import numpy as knp

    plain = knp.matmul

    def matmul(a: Any, b: Any) -> Any:
        a, b = jnp.asarray(a), jnp.asarray(b)
        if a.dtype == jnp.float32 and b.dtype == jnp.float32:
            return jnp.matmul(a.astype(jnp.bfloat16), b.astype(jnp.bfloat16),
                              preferred_element_type=jnp.float32)
        return plain(a, b)

    knp.matmul = matmul


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    if spec["precision"] == "bf16":
        _bf16_products()
    from tunelab.config import parse_config
    from tunelab.train import Cohort

    data = namespace_dataset(*fashion_split())
    units = spec["units"]
    cfg = parse_config({"model": {"units": [units, units], "dropout": [0.1, 0.0],
                                  "kernel_initializer": "uniform"},
                        "optimizer": {"name": "SGD", "learning_rate": 0.05, "momentum": 0.8},
                        "training": {"epochs": 100, "batch_size": spec["batch"]}})
    cohort = Cohort(cfg, data, width=spec["k"])
    for slot in range(spec["k"]):
        cohort.assign(slot, cfg.model_copy(update={"seed": slot}))
    cohort.run_epoch()
    times, logs = [], {}
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        logs = cohort.run_epoch()
        times.append(time.perf_counter() - start)
    accuracy = [logs[s]["val_accuracy"] for s in sorted(logs)]
    return {"epoch_s": min(times), "times": times, "val_accuracy": accuracy,
            "mean_val_accuracy": float(np.mean(accuracy)), "epochs": 1 + spec["repeats"]}


HANDLERS = {"precision": worker}


def main() -> None:
    if worker_main(HANDLERS, sys.argv):
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    con = console()
    out: dict[str, Any] = {"benchmark": "precision", "machine": machine(),
                           "settings": vars(args), "runs": {}}
    for precision in ("float32", "bf16"):
        spec = {**vars(args), "precision": precision}
        out["runs"][precision] = run_worker(__file__, "precision", spec,
                                            env={"TUNELAB_CACHE": ""})
    f32, bf = out["runs"]["float32"], out["runs"]["bf16"]
    out["speedup"] = f32["epoch_s"] / bf["epoch_s"]
    pairs = [b - a for a, b in zip(f32["val_accuracy"], bf["val_accuracy"], strict=True)]
    out["accuracy_difference"] = {"mean": sum(pairs) / len(pairs), "min": min(pairs),
                                  "max": max(pairs), "n": len(pairs)}
    con.print(f"K = {args.k}, width {args.units}, batch {args.batch}, epoch of 50,000 images:")
    for name, r in out["runs"].items():
        con.print(f"  {name:8s} {r['epoch_s']:.3f} s per epoch, mean validation accuracy"
                  f" {r['mean_val_accuracy']:.4f} after {r['epochs']} epochs")
    d = out["accuracy_difference"]
    con.print(f"  bf16 is {out['speedup']:.2f}x float32; accuracy bf16 - float32 per slot (n ="
              f" {d['n']}, same seeds): mean {d['mean']:+.4f}, range {d['min']:+.4f}.."
              f"{d['max']:+.4f}")
    from tunelab._files import write_json

    path = RESULTS / "precision.json"
    write_json(path, out)
    con.print(f"wrote {path}")


if __name__ == "__main__":
    main()
