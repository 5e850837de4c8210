"""How long loading Fashion-MNIST (60k + 10k gz IDX files) into float32 arrays takes.

Target: under 2 s. Rows:
  raw       tunelab.data.load_raw: read, decompress, check every header and byte count
  float32   load_raw, then the inputs as float32 / 255 (the tutorial's preprocessing)
  dataset   tunelab.data.load_dataset: the above, plus stratified validation split,
            flattening, int32 labels: what training receives
  keras-way gzip.open(...).read() + np.frombuffer, as keras.datasets.fashion_mnist does
            (no checks), then float32 / 255: a reference point

Usage: python bench/data_load.py [FOLDER]   (default /usr/share/datasets/fashion-mnist)
Writes bench/results/data_load.json.
"""

from __future__ import annotations

import gzip
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tunelab._files import write_json
from tunelab.config import DataConfig
from tunelab.data import load_dataset, load_raw

TARGET_S = 2.0
REPEATS = 5


def _keras_way(folder: Path) -> tuple[np.ndarray, ...]:
    def labels(name: str) -> np.ndarray:
        with gzip.open(folder / name, "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=8)

    def images(name: str, n: int) -> np.ndarray:
        with gzip.open(folder / name, "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=16).reshape(n, 28, 28)

    y_train = labels("train-labels-idx1-ubyte.gz")
    y_test = labels("t10k-labels-idx1-ubyte.gz")
    x_train = images("train-images-idx3-ubyte.gz", len(y_train)).astype(np.float32) / 255
    x_test = images("t10k-images-idx3-ubyte.gz", len(y_test)).astype(np.float32) / 255
    return x_train, y_train, x_test, y_test


def _time(fn: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist")
    if not folder.is_dir():
        sys.exit(f"{folder}: no such folder; install dataset-fashion-mnist or pass the folder")
    path = str(folder)

    def as_float() -> None:
        raw = load_raw("fashion-mnist", path)
        assert raw.x_test is not None
        for x in (raw.x_train, raw.x_test):
            x.astype(np.float32) / np.float32(255)

    rows = {
        "raw": _time(lambda: load_raw("fashion-mnist", path)),
        "float32": _time(as_float),
        "dataset": _time(lambda: load_dataset(DataConfig(name="fashion-mnist", path=path))),
        "keras-way": _time(lambda: _keras_way(folder)),
    }
    medians = {k: statistics.median(v) for k, v in rows.items()}
    ref = medians["keras-way"]
    print(f"Fashion-MNIST from {folder}, median of {REPEATS} runs (target < {TARGET_S:g} s)")
    print(f"{'step':<10} {'median s':>9} {'min s':>7} {'vs keras-way':>13} {'< target':>9}")
    for k, v in rows.items():
        ok = "yes" if medians[k] < TARGET_S else "NO"
        print(f"{k:<10} {medians[k]:>9.3f} {min(v):>7.3f} {medians[k] / ref:>12.2f}x {ok:>9}")
    out = Path(__file__).parent / "results" / "data_load.json"
    write_json(out, {
        "benchmark": "data_load",
        "what": "Fashion-MNIST 60k+10k gz IDX into float32 arrays",
        "folder": path,
        "target_s": TARGET_S,
        "repeats": REPEATS,
        "median_s": medians,
        "all_s": rows,
        "ratio_to_keras_way": {k: v / ref for k, v in medians.items()},
        "meets_target": medians["dataset"] < TARGET_S,
        "machine": {"python": platform.python_version(), "cpu": platform.processor(),
                    "numpy": np.__version__},
    })
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
