"""One real process: `tunelab train` runs a preset and writes a loadable model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_train_a_preset_in_a_subprocess(tmp_path: Path, tunelab_cli: list[str]) -> None:
    env = {**os.environ, "TUNELAB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [*tunelab_cli, "train", "--preset", "tutorial-exp-decay", "--epochs", "2",
         "--out", "run"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "final metrics (done)" in proc.stdout and "test_accuracy" in proc.stdout
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} == {"config.toml", "curves.png", "history.csv",
                                               "history.json", "model.keras"}
    check = subprocess.run(
        [sys.executable, "-c",
         "import os; os.environ['KERAS_BACKEND'] = 'jax'; import keras;"
         " print(keras.saving.load_model('run/model.keras').count_params())"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == str(64 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10)
    bad = subprocess.run([*tunelab_cli, "train", "--batch-size", "0"], capture_output=True,
                         text=True, timeout=120, env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "training.batch_size" in bad.stderr
    assert "Traceback" not in bad.stderr
