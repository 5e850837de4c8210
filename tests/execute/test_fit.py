"""fit and fit_cohort: results, grouping, refills, saved models, and parity with Keras fit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from tunelab.data import Dataset
from tunelab.execute import fit, fit_cohort
from tunelab.model import export_model
from tunelab.train import Cohort, save_run

from .conftest import small


def test_fit_returns_history_final_metrics_and_timings(digits: Dataset) -> None:
    result = fit(small(), digits, progress=False)
    assert result.status == "done" and result.dataset == "digits"
    assert len(result.history["loss"]) == 3
    assert set(result.final) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr",
                                 "test_loss", "test_accuracy"}
    assert result.final["val_accuracy"] == result.history["val_accuracy"][-1]
    assert result.compile_seconds >= 0 and result.train_seconds > 0  # compiled earlier: 0


def test_the_saved_model_predicts_what_tunelab_evaluated(digits: Dataset, tmp_path: Path
                                                         ) -> None:
    result = fit(small(model={"dropout": 0.3, "l2": 0.001}), digits, progress=False)
    path = result.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert not any(type(layer).__module__.startswith("tunelab") for layer in loaded.layers)
    probs = loaded.predict(digits.x_val, verbose=0)
    accuracy = float((probs.argmax(axis=1) == digits.y_val).mean())
    assert accuracy == pytest.approx(result.final["val_accuracy"], abs=1e-6)  # a float32 mean
    test_acc = float((loaded.predict(digits.x_test, verbose=0).argmax(1) == digits.y_test).mean())
    assert test_acc == pytest.approx(result.final["test_accuracy"], abs=1e-6)
    loaded.compile(loss="sparse_categorical_crossentropy")
    # Keras's evaluate adds the L2 penalty of the exported regularizers, as tunelab does.
    assert loaded.evaluate(digits.x_val, digits.y_val, verbose=0, batch_size=len(digits.x_val)
                           ) == pytest.approx(result.final["val_loss"], rel=1e-5)


def test_fit_cohort_groups_structures_and_keeps_the_order(digits: Dataset) -> None:
    cfgs = [small(seed=0), small(model={"units": [8]}), small(seed=1, optimizer={
        "learning_rate": 0.05})]
    result = fit_cohort(cfgs, digits, progress=False)
    assert result.cohorts == 2 and len(result) == 3
    assert [r.config for r in result.results] == cfgs
    assert result.statuses == ["done"] * 3
    assert result[1].weights[0][0].shape == (64, 8)
    assert result.best("val_accuracy") in result.results


def test_a_narrow_cohort_refills_its_slots(digits: Dataset) -> None:
    cfgs = [small(seed=s, training={"epochs": 1 + s % 2}) for s in range(5)]
    seen: list[int] = []
    result = fit_cohort(cfgs, digits, width=2, progress=False,
                        on_epoch=lambda p: seen.append(len(p.logs)))
    assert result.statuses == ["done"] * 5
    assert [len(r.history["loss"]) for r in result.results] == [1, 2, 1, 2, 1]
    assert max(seen) == 2 and sum(seen) == 7


def test_progress_bar_and_run_folder(digits: Dataset, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    result = fit(small(training={"epochs": 1}), digits, progress=True)
    assert "best val_accuracy" in capsys.readouterr().out
    files = save_run(result, tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "config.toml", "curves.png", "history.csv", "history.json", "model.keras"]
    assert all(path.stat().st_size > 0 for path in files.values())


def _keras_fit(cfg: Any, data: Dataset, seed: int, epochs: int) -> float:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu",
                              kernel_initializer="uniform"), keras.layers.Dropout(0.1),
                              keras.layers.Dense(10, activation="softmax",
                                                 kernel_initializer="uniform")])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.8),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(data.x_train, data.y_train, batch_size=32, epochs=epochs, verbose=0,
                        validation_data=(data.x_val, data.y_val))
    return float(history.history["val_accuracy"][-1])


def test_parity_with_keras_fit_over_three_seeds(digits: Dataset) -> None:
    epochs = 4
    cfgs = [small(seed=s, model={"units": [32], "dropout": 0.1}, training={
        "epochs": epochs, "batch_size": 32}, optimizer={"momentum": 0.8}) for s in range(3)]
    ours = [r.final["val_accuracy"] for r in fit_cohort(cfgs, digits, progress=False).results]
    theirs = [_keras_fit(cfg, digits, cfg.seed, epochs) for cfg in cfgs]
    assert np.mean(ours) == pytest.approx(np.mean(theirs), abs=0.03)
    assert min(ours) > 0.85 and min(theirs) > 0.85


def test_same_weights_as_keras_fit_when_the_run_is_deterministic(digits: Dataset) -> None:
    # No dropout and no shuffling: Keras and tunelab see the same batches in the same order.
    cfg = small(model={"dropout": 0.0, "l2": 0.001},
                optimizer={"learning_rate": 0.1, "momentum": 0.8, "decay": 0.01},
                training={"epochs": 2, "shuffle": False, "batch_size": 100})
    cohort = Cohort(cfg, digits, width=1)
    cohort.assign(0, cfg)
    start = cohort.weights(0)[0]
    for _ in range(2):
        cohort.run_epoch()
    model = export_model(cfg.model, cohort.spec, start)  # with Keras L2 regularizers
    # Keras 3 spells Keras 2's SGD(decay=0.01) as an InverseTimeDecay schedule.
    sgd = keras.optimizers.SGD(keras.optimizers.schedules.InverseTimeDecay(0.1, 1, 0.01),
                               momentum=0.8)
    model.compile(optimizer=sgd, loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(digits.x_train, np.eye(10)[digits.y_train], batch_size=100, epochs=2,
                        shuffle=False, verbose=0,
                        validation_data=(digits.x_val, np.eye(10)[digits.y_val]))
    for ours, theirs in zip(cohort.weights(0)[0], model.trainable_variables, strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-4, atol=1e-5)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(cohort.history(0)[key], history.history[key], rtol=1e-4)


def test_fit_loads_the_configured_dataset_when_none_is_given() -> None:
    result = fit(small(training={"epochs": 1}), progress=False)
    assert result.dataset == "digits" and result.status == "done"
    assert os.path.basename(__file__) == "test_fit.py"


def test_fit_takes_data_as_names_paths_or_arrays(digits: Dataset) -> None:
    from sklearn.datasets import load_digits

    cfg = small(training={"epochs": 1})
    by_name = fit(cfg, "digits", progress=False)
    by_object = fit(cfg, digits, progress=False)
    assert by_name.history["val_loss"] == pytest.approx(by_object.history["val_loss"])
    x, y = load_digits(return_X_y=True)
    on_arrays = fit(cfg, (x, y), progress=False)
    assert on_arrays.dataset == "arrays" and on_arrays.status == "done"


def test_a_ctrl_c_that_python_dropped_still_stops_fit(digits: Dataset) -> None:
    """A Ctrl-C that arrives where Python only prints "Exception ignored" (a gc callback, a
    ``__del__``) stops the training after that step instead of being lost."""
    import contextlib
    import signal

    from tunelab.train import Callback

    epochs: list[int] = []

    class DroppedCtrlC(Callback):
        def on_epoch_end(self, slot: Any, epoch: int, logs: dict[str, float]) -> None:
            epochs.append(epoch)
            if epoch == 0:
                # Dropped, as Python drops it inside a gc callback.
                with contextlib.suppress(KeyboardInterrupt):
                    signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        fit(small(training={"epochs": 5}), digits, progress=False, callbacks=[DroppedCtrlC()])
    assert epochs == [0]
