"""Keras-named callbacks acting per slot: early stopping, checkpoints, plateaus, CSV, schedules."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tunelab.config import ModelCheckpointConfig
from tunelab.data import Dataset
from tunelab.errors import ConfigError
from tunelab.train import Callback, Cohort, LearningRateScheduler, ModelCheckpoint

from .conftest import small


class _Record(Callback):
    def __init__(self) -> None:
        self.weights: list[list[np.ndarray]] = []

    def on_epoch_end(self, slot: Any, epoch: int, logs: dict[str, float]) -> None:
        self.weights.append([np.asarray(a) for a in slot.get_weights()[0]])


def _run(cfg: Any, data: Dataset, out_dir: Path | None = None,
         callbacks: list[Callback] | None = None) -> Cohort:
    cohort = Cohort(cfg, data, width=1)
    cohort.assign(0, cfg, out_dir=out_dir, callbacks=callbacks or [])
    while cohort.running_slots:
        cohort.run_epoch()
    return cohort


def test_early_stopping_stops_and_restores_the_best_weights(digits: Dataset) -> None:
    # The training loss falls every epoch, so in "max" mode epoch 0 stays the best.
    cfg = small(training={"epochs": 6}, callbacks={"early_stopping": {
        "monitor": "loss", "mode": "max", "patience": 2, "restore_best_weights": True}})
    record = _Record()
    cohort = _run(cfg, digits, callbacks=[record])
    assert cohort.status(0) == "early_stopped"
    assert cohort.history(0)["epoch"] == [0, 1, 2]
    for restored, best in zip(cohort.weights(0)[0], record.weights[0], strict=True):
        np.testing.assert_array_equal(restored, best)
    assert not np.array_equal(cohort.weights(0)[0][0], record.weights[-1][0])


def test_early_stopping_with_patience_runs_while_it_improves(digits: Dataset) -> None:
    cfg = small(training={"epochs": 4}, callbacks={"early_stopping": {"monitor": "loss",
                                                                      "patience": 1}})
    assert _run(cfg, digits).status(0) == "done"


def test_checkpoint_keeps_the_best_atomically_beside_its_json(digits: Dataset, tmp_path: Path
                                                              ) -> None:
    cfg = small(training={"epochs": 3}, callbacks={"model_checkpoint": {"monitor": "val_loss"}})
    cohort = _run(cfg, digits, out_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.keras",
                                                          "checkpoint.keras.json"]
    saved = json.loads((tmp_path / "checkpoint.keras.json").read_text())
    val = cohort.history(0)["val_loss"]
    assert saved["best"] == pytest.approx(min(val)) and saved["epoch"] == int(np.argmin(val))
    assert saved["monitor"] == "val_loss" and saved["mode"] == "min"


def test_the_best_value_survives_a_resume(digits: Dataset, tmp_path: Path) -> None:
    cfg = small(training={"epochs": 2}, callbacks={"model_checkpoint": {}})
    sidecar = tmp_path / "checkpoint.keras.json"
    sidecar.write_text(json.dumps({"monitor": "val_loss", "mode": "min", "best": 1e-9}))
    _run(cfg, digits, out_dir=tmp_path)
    assert not (tmp_path / "checkpoint.keras").exists()  # nothing beat the earlier best
    assert json.loads(sidecar.read_text())["best"] == 1e-9
    sidecar.write_text(json.dumps({"monitor": "val_loss", "mode": "min", "best": 99.0}))
    _run(cfg, digits, out_dir=tmp_path)
    assert (tmp_path / "checkpoint.keras").exists()
    assert json.loads(sidecar.read_text())["best"] < 99.0


class _Slot:
    index = 0
    learning_rate = 0.1
    lr_scale = 1.0

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.saved: list[Path] = []

    def save(self, path: Path) -> Path:
        self.saved.append(path)
        path.write_bytes(b"model")
        return path


def test_a_nan_is_never_the_best(tmp_path: Path) -> None:
    slot = _Slot(tmp_path)
    checkpoint = ModelCheckpoint(ModelCheckpointConfig(monitor="val_loss"))
    checkpoint.on_train_begin(slot)  # type: ignore[arg-type]
    for epoch, value in enumerate([math.nan, 2.0, math.inf, 3.0, 1.5]):
        checkpoint.on_epoch_end(slot, epoch, {"val_loss": value})  # type: ignore[arg-type]
    assert len(slot.saved) == 2 and checkpoint.best == 1.5
    assert json.loads((tmp_path / "checkpoint.keras.json").read_text())["epoch"] == 4


def test_a_diverged_first_epoch_writes_no_checkpoint(digits: Dataset, tmp_path: Path) -> None:
    cfg = small(optimizer={"learning_rate": 1e30}, callbacks={"model_checkpoint": {}})
    cohort = _run(cfg, digits, out_dir=tmp_path)
    assert cohort.status(0) == "diverged" and list(tmp_path.iterdir()) == []


def test_checkpoint_needs_a_folder(digits: Dataset) -> None:
    with pytest.raises(ConfigError, match="callbacks.model_checkpoint needs an output folder"):
        _run(small(callbacks={"model_checkpoint": {}}), digits)


def test_reduce_lr_on_plateau(digits: Dataset) -> None:
    cfg = small(training={"epochs": 4}, callbacks={"reduce_lr_on_plateau": {
        "monitor": "loss", "mode": "max", "patience": 1, "factor": 0.5}})
    assert _run(cfg, digits).history(0)["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_reduce_lr_on_plateau_scales_a_running_schedule(digits: Dataset) -> None:
    cfg = small(training={"epochs": 3}, schedule={"name": "exponential", "decay_rate": 0.5},
                callbacks={"reduce_lr_on_plateau": {"monitor": "loss", "mode": "max",
                                                    "patience": 1, "factor": 0.5}})
    expected = [0.1, 0.1 * math.exp(-0.5), 0.5 * 0.1 * math.exp(-1.0)]
    assert _run(cfg, digits).history(0)["lr"] == pytest.approx(expected)


def test_csv_logger_writes_every_epoch(digits: Dataset, tmp_path: Path) -> None:
    cfg = small(callbacks={"csv_logger": {"filename": "log.csv"}})
    cohort = _run(cfg, digits, out_dir=tmp_path)
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert float(rows[-1]["val_accuracy"]) == pytest.approx(cohort.history(0)["val_accuracy"][-1])
    assert list(rows[0]) == list(cohort.history(0))


def test_learning_rate_scheduler_from_python(digits: Dataset) -> None:
    cohort = _run(small(), digits, callbacks=[LearningRateScheduler(lambda e: 0.2 / (e + 1))])
    assert cohort.history(0)["lr"] == pytest.approx([0.2, 0.1, 0.2 / 3])


def test_a_schedule_function_from_the_config(digits: Dataset) -> None:
    cfg = small(schedule={"name": "function", "function": "math:exp"}, training={"epochs": 2})
    assert _run(cfg, digits).history(0)["lr"] == pytest.approx([1.0, math.e])


def test_a_monitor_that_is_not_logged_names_the_key(digits: Dataset) -> None:
    cfg = small(callbacks={"early_stopping": {"monitor": "val_auc"}})
    with pytest.raises(ConfigError, match="callbacks.early_stopping.monitor: 'val_auc' is not"
                                          " logged; choose one of loss, accuracy, val_loss"):
        _run(cfg, digits)


def test_keras2_names_acc_and_val_acc_are_understood(digits: Dataset) -> None:
    cfg = small(callbacks={"early_stopping": {"monitor": "val_acc", "patience": 50}})
    assert _run(cfg, digits).status(0) == "done"
