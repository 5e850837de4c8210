"""keras.callbacks objects honoured per slot: each against Keras itself on the same curves."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

import tunelab
from tunelab.errors import ConfigError
from tunelab.train import KERAS_CALLBACKS, from_keras


class FakeSlot:
    """A slot as a callback sees it; its 'weights' are the epoch they were taken at."""

    def __init__(self, lr: float) -> None:
        self.index, self.out_dir = 0, None
        self.learning_rate, self.lr_scale = lr, 1.0
        self.stopped: str | None = None
        self.weights: Any = None
        self.history: dict[str, list[float]] = {}

    def stop(self, reason: str = "stopped") -> None:
        self.stopped = reason

    def get_weights(self) -> Any:
        return self.weights

    def set_weights(self, weights: Any) -> None:
        self.weights = weights


def _keras_model(lr: float) -> keras.Model:
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    return model


def _curves(n: int = 12) -> list[list[float]]:
    rng = np.random.default_rng(7)
    out = []
    for _ in range(n):
        # Falling then noisy: plateaus and small improvements, the cases min_delta decides.
        steps = rng.normal(-0.02, 0.03, size=20)
        out.append([float(v) for v in 1.0 + np.cumsum(steps)])
    return out


def _run_keras(cb: keras.callbacks.Callback, monitor: str, curve: list[float],
               lr: float = 0.1) -> tuple[int | None, list[float], int | None]:
    model = _keras_model(lr)
    cb.set_model(model)
    cb.on_train_begin()
    rates = []
    stopped = None
    for epoch, value in enumerate(curve):
        cb.on_epoch_begin(epoch)
        model.layers[0].bias.assign(np.array([float(epoch)], "float32"))
        rates.append(float(np.asarray(model.optimizer.learning_rate)))
        cb.on_epoch_end(epoch, {monitor: value, "loss": value})
        if model.stop_training:
            stopped = epoch
            break
    cb.on_train_end()
    restored = int(np.asarray(model.layers[0].bias)[0])
    return stopped, rates, restored


def _run_ours(cb: Any, monitor: str, curve: list[float], lr: float = 0.1
              ) -> tuple[int | None, list[float], int | None]:
    slot = FakeSlot(lr)
    cb.on_train_begin(slot)
    rates = []
    stopped = None
    for epoch, value in enumerate(curve):
        cb.on_epoch_begin(slot, epoch)
        slot.weights = epoch
        rates.append(slot.learning_rate)
        cb.on_epoch_end(slot, epoch, {monitor: value, "loss": value})
        if slot.stopped:
            stopped = epoch
            break
    cb.on_train_end(slot)
    return stopped, rates, slot.weights


@pytest.mark.parametrize(("patience", "min_delta", "mode", "baseline", "restore"), [
    (0, 0.0, "auto", None, False), (2, 0.0, "min", None, True), (3, 0.01, "auto", None, True),
    (2, 0.0, "auto", 0.9, False), (4, 0.02, "max", None, True),
])
def test_early_stopping_stops_and_restores_where_keras_does(
        patience: int, min_delta: float, mode: str, baseline: float | None,
        restore: bool) -> None:
    for curve in _curves():
        args = dict(monitor="val_loss", patience=patience, min_delta=min_delta, mode=mode,
                    baseline=baseline, restore_best_weights=restore)
        theirs = _run_keras(keras.callbacks.EarlyStopping(**args), "val_loss", curve)
        ours = _run_ours(from_keras(keras.callbacks.EarlyStopping(**args)), "val_loss", curve)
        assert ours[0] == theirs[0]
        if restore:
            assert ours[2] == theirs[2]


@pytest.mark.parametrize(("factor", "patience", "cooldown", "min_delta", "min_lr"), [
    (0.5, 1, 0, 0.0, 0.0), (0.2, 2, 1, 0.01, 0.01), (0.1, 0, 2, 1e-4, 0.0),
])
def test_reduce_lr_on_plateau_gives_keras_learning_rates(
        factor: float, patience: int, cooldown: int, min_delta: float, min_lr: float) -> None:
    for curve in _curves():
        args = dict(monitor="val_loss", factor=factor, patience=patience, cooldown=cooldown,
                    min_delta=min_delta, min_lr=min_lr)
        _, theirs, _ = _run_keras(keras.callbacks.ReduceLROnPlateau(**args), "val_loss", curve)
        _, ours, _ = _run_ours(from_keras(keras.callbacks.ReduceLROnPlateau(**args)),
                               "val_loss", curve)
        assert ours == pytest.approx(theirs, rel=1e-6)


def test_learning_rate_scheduler_gives_keras_learning_rates() -> None:
    def schedule(epoch: int, lr: float) -> float:
        return lr if epoch < 3 else lr * 0.7

    curve = _curves(1)[0]
    _, theirs, _ = _run_keras(keras.callbacks.LearningRateScheduler(schedule), "val_loss",
                              curve)
    _, ours, _ = _run_ours(from_keras(keras.callbacks.LearningRateScheduler(schedule)),
                           "val_loss", curve)
    assert ours == pytest.approx(theirs, rel=1e-6)
    assert theirs[5] < theirs[0]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_files_are_those_keras_fit_writes(tmp_path: Path) -> None:
    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype("float32")
    ours = tmp_path / "ours"
    r = tunelab.fit(data=(x, y), epochs=4, batch_size=64, learning_rate=0.1, progress=False,
                    out=ours, callbacks=[
                        keras.callbacks.CSVLogger("log.csv"),
                        keras.callbacks.ModelCheckpoint("best.keras", monitor="val_loss",
                                                        save_best_only=True),
                        keras.callbacks.TerminateOnNaN()])
    theirs = tmp_path / "keras"
    theirs.mkdir()
    ds = r.data
    net = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"),
                            keras.layers.Dense(10, activation="softmax")])
    net.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy",
                metrics=["accuracy"])
    net.fit(ds.x_train, keras.utils.to_categorical(ds.y_train, 10), epochs=4, batch_size=64,
            validation_data=(ds.x_val, keras.utils.to_categorical(ds.y_val, 10)), verbose=0,
            callbacks=[keras.callbacks.CSVLogger(str(theirs / "log.csv")),
                       keras.callbacks.ModelCheckpoint(str(theirs / "best.keras"),
                                                       monitor="val_loss",
                                                       save_best_only=True)])
    mine, keras_rows = _rows(ours / "log.csv"), _rows(theirs / "log.csv")
    assert list(mine[0]) == list(keras_rows[0]) == ["epoch", "accuracy", "loss",
                                                    "val_accuracy", "val_loss"]
    assert [row["epoch"] for row in mine] == [row["epoch"] for row in keras_rows]
    # The checkpoint is the best epoch's model, and plain Keras loads both.
    best = min(range(4), key=lambda i: r.history["val_loss"][i])
    saved = keras.saving.load_model(ours / "best.keras")
    keras.saving.load_model(theirs / "best.keras")
    probs = saved.predict(ds.x_val, verbose=0)
    loss = float(np.mean(keras.losses.sparse_categorical_crossentropy(ds.y_val, probs)))
    assert loss == pytest.approx(r.history["val_loss"][best], rel=1e-3)


def test_a_callback_that_cannot_act_per_slot_is_refused() -> None:
    class Own(keras.callbacks.Callback):
        pass

    for cb in (Own(), keras.callbacks.RemoteMonitor(), keras.callbacks.LambdaCallback()):
        with pytest.raises(ConfigError, match="not supported per slot"):
            from_keras(cb)
    with pytest.raises(ConfigError, match="save_weights_only"):
        from_keras(keras.callbacks.ModelCheckpoint("w.weights.h5", save_weights_only=True))
    with pytest.raises(ConfigError, match="placeholders"):
        from_keras(keras.callbacks.ModelCheckpoint("m-{epoch}.keras"))
    with pytest.raises(ConfigError, match="start_from_epoch"):
        from_keras(keras.callbacks.EarlyStopping(start_from_epoch=2))
    assert set(KERAS_CALLBACKS) >= {"EarlyStopping", "ReduceLROnPlateau", "CSVLogger",
                                    "LearningRateScheduler", "ModelCheckpoint",
                                    "TerminateOnNaN"}
    assert list(itertools.islice(KERAS_CALLBACKS, 1)) == ["EarlyStopping"]


def test_tensorboard_writes_keras_epoch_scalars(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    x, y = load_digits(return_X_y=True)
    r = tunelab.fit(data=(x, y), epochs=3, batch_size=64, learning_rate=0.1, progress=False,
                    out=tmp_path / "run",
                    callbacks=[keras.callbacks.TensorBoard(log_dir=str(tmp_path / "logs"))])
    train = EventAccumulator(str(tmp_path / "run" / "logs" / "train"))
    train.Reload()
    val = EventAccumulator(str(tmp_path / "run" / "logs" / "validation"))
    val.Reload()
    # Keras's tags: epoch_<name> in train/, the validation values without val_ in validation/.
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(train.Tags()["scalars"])
    assert [e.value for e in val.Scalars("epoch_loss")] == pytest.approx(r.history["val_loss"])
    assert [e.step for e in train.Scalars("epoch_loss")] == [0, 1, 2]
    with pytest.raises(ConfigError, match="histogram_freq"):
        from_keras(keras.callbacks.TensorBoard(histogram_freq=1))


def test_tune_writes_each_trials_csv_log_in_its_folder(tmp_path: Path) -> None:
    r = tunelab.tune({"data": {"limit": 300}, "training": {"epochs": 3, "batch_size": 64},
                      "search": {"optimizer.learning_rate": {"low": 0.01, "high": 0.5,
                                                             "log": True}}},
                     trials=2, cohort=2, out=tmp_path / "run", progress=False, pruner="none",
                     callbacks=[keras.callbacks.CSVLogger("log.csv")])
    assert r.trials_by_state() == {"complete": 2}
    for number in (0, 1):
        rows = _rows(tmp_path / "run" / "trials" / str(number) / "log.csv")
        assert [row["epoch"] for row in rows] == ["0", "1", "2"]
        history = json.loads((tmp_path / "run" / "trials" / str(number) / "history.json")
                             .read_text())
        assert [float(row["val_loss"]) for row in rows] == pytest.approx(history["val_loss"])
