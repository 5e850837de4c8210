"""What the benchmarks share: worker subprocesses, the data hand-over, the peers' Keras MLP.

Each peer runs in its own Python process because Keras reads its backend once, at its first
import: ``KERAS_BACKEND`` is set in the child's environment before anything imports keras. A
worker is the benchmark script itself, started as ``python bench/<name>.py --worker KIND
--spec JSON --out PATH``; it writes its result as JSON to PATH (not to stdout, which
TensorFlow and Keras Tuner write to freely).

The data travels as one ``.npz`` file written by the parent, so every tool trains on the
same arrays.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


# ---------------------------------------------------------------------------- workers
class WorkerError(RuntimeError):
    """A worker process failed; the message holds the tail of its output."""


def run_worker(script: str, kind: str, spec: dict[str, Any], *, backend: str = "jax",
               env: dict[str, str] | None = None, timeout: float = 1800.0) -> Any:
    """Run ``script --worker kind`` in a fresh process with ``KERAS_BACKEND=backend``.

    Returns the JSON the worker wrote. Raises WorkerError with the output's tail on failure.
    """
    import tempfile

    child_env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2",
                 "PYTHONWARNINGS": "ignore", **(env or {})}
    with tempfile.TemporaryDirectory(prefix="tunelab-bench-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, script, "--worker", kind, "--spec", json.dumps(spec),
               "--out", str(out)]
        proc = subprocess.run(cmd, env=child_env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stdout + proc.stderr)[-3000:]
            raise WorkerError(f"worker {kind} (backend {backend}) exited with"
                              f" {proc.returncode}:\n{tail}")
        return json.loads(out.read_text(encoding="utf-8"))


def worker_main(handlers: dict[str, Callable[[dict[str, Any]], Any]], argv: list[str]) -> bool:
    """If ``argv`` asks for a worker, run its handler, write its JSON and return True."""
    if "--worker" not in argv:
        return False
    kind = argv[argv.index("--worker") + 1]
    spec = json.loads(argv[argv.index("--spec") + 1])
    out = Path(argv[argv.index("--out") + 1])
    result = handlers[kind](spec)
    out.write_text(json.dumps(result), encoding="utf-8")
    return True


# ---------------------------------------------------------------------------- data
def save_arrays(path: Path, **arrays: np.ndarray) -> Path:
    """Write the arrays every tool trains on (plain arrays, no pickles)."""
    np.savez(path, **arrays)
    return path


def load_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def fashion_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST's 60,000 training images, scaled to [0, 1] and flattened, split by one
    fixed permutation (seed 0): 50,000 training (x, y), then 10,000 validation (x, y)."""
    from tunelab.data import load_raw

    raw = load_raw("fashion-mnist")
    x = raw.x_train.reshape(len(raw.x_train), -1).astype(np.float32) / np.float32(255.0)
    y = raw.y_train.astype(np.int32)
    perm = np.random.default_rng(0).permutation(len(y))
    val, train = perm[:10_000], perm[10_000:]
    return x[train], y[train], x[val], y[val]


def namespace_dataset(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray | None = None,
                      y_val: np.ndarray | None = None, name: str = "fashion-mnist") -> Any:
    """A tunelab ``DatasetLike`` over given arrays (no validation or test rows if not given)."""
    from types import SimpleNamespace

    features = int(x_train.shape[1])
    empty_x = np.zeros((0, features), np.float32)
    empty_y = np.zeros((0,), np.int32)
    return SimpleNamespace(
        x_train=x_train, y_train=y_train,
        x_val=empty_x if x_val is None else x_val, y_val=empty_y if y_val is None else y_val,
        x_test=empty_x, y_test=empty_y, task="multiclass", num_classes=10,
        input_shape=(features,), name=name)


# ---------------------------------------------------------------------------- peers' model
def keras_mlp(units: int | list[int] = 64, dropout: float | list[float] = (0.1, 0.0),
              features: int = 784, classes: int = 10) -> Any:
    """The tutorial's MLP in plain Keras: Dense(relu, uniform init) + Dropout per hidden
    layer (left out at rate 0, as Keras users write it), softmax output."""
    import keras

    widths = [units, units] if isinstance(units, int) else list(units)
    rates = list(dropout) if not isinstance(dropout, float | int) else [float(dropout)] * len(
        widths)
    layers: list[Any] = [keras.Input(shape=(features,))]
    for width, rate in zip(widths, rates, strict=True):
        layers.append(keras.layers.Dense(width, activation="relu", kernel_initializer="uniform"))
        if rate > 0:
            layers.append(keras.layers.Dropout(rate))
    layers.append(keras.layers.Dense(classes, activation="softmax",
                                     kernel_initializer="uniform"))
    return keras.Sequential(layers)


def epoch_timer() -> Any:
    """A Keras callback recording each epoch's wall time (synchronised on the epoch's loss)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            # Reading the loss waits for the device, so the epoch is really over.
            float((logs or {}).get("loss", 0.0))
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


# ---------------------------------------------------------------------------- reporting
def machine() -> dict[str, Any]:
    """Where the figures were measured (the load average matters on a shared machine)."""
    import importlib.metadata as md

    versions = {}
    for name in ("jax", "jaxlib", "keras", "optax", "optuna", "numpy", "tensorflow-cpu",
                 "keras-tuner"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "processor": platform.processor(), "python": platform.python_version(),
            "versions": versions, "loadavg": list(os.getloadavg()),
            "date": datetime.date.today().isoformat()}


def has_module(name: str) -> bool:
    """Whether ``name`` can be imported by this interpreter (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec(name) is not None


def console() -> Any:
    """A rich console wide enough for the tables even when output goes to a file."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 150)


def median(values: list[float]) -> float:
    import statistics

    return float(statistics.median(values)) if values else float("nan")


def mean_std(values: list[float]) -> tuple[float, float]:
    import statistics

    if not values:
        return float("nan"), float("nan")
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return float(statistics.fmean(values)), float(std)
