"""Other tasks and users' own models: binary, regression, and a builder with BatchNorm."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest

from tunelab.config import parse_config
from tunelab.data import Dataset, load_dataset
from tunelab.errors import ConfigError
from tunelab.execute import fit, fit_cohort
from tunelab.train import Cohort, structure_key


def test_binary_task_trains_with_binary_crossentropy(tmp_path: Path) -> None:
    data = load_dataset("breast-cancer", seed=0)
    cfg = parse_config({"data": {"name": "breast-cancer"}, "model": {"units": [8]},
                        "optimizer": {"name": "Adam", "learning_rate": 0.01},
                        "training": {"epochs": 5, "batch_size": 32,
                                     "metrics": ["accuracy", "hamming"]}})
    result = fit(cfg, data, progress=False)
    assert result.final["val_accuracy"] > 0.85
    assert result.final["val_hamming"] == pytest.approx(1 - result.final["val_accuracy"])
    model = keras.saving.load_model(result.save(tmp_path / "m.keras"))
    assert model.output_shape == (None, 1)
    predicted = (model.predict(data.x_test, verbose=0)[:, 0] > 0.5).astype(int)
    assert float((predicted == data.y_test).mean()) == pytest.approx(
        result.final["test_accuracy"], abs=1e-6)


def test_regression_reports_errors_and_rmse_is_a_root() -> None:
    data = load_dataset("diabetes", seed=0)
    cfg = parse_config({"data": {"name": "diabetes"}, "model": {"units": [16]},
                        "optimizer": {"name": "Adam", "learning_rate": 0.01},
                        "training": {"epochs": 3, "batch_size": 32, "loss": "rmse",
                                     "metrics": ["mse", "rmse", "mae", "euclidean"]}})
    history = fit(cfg, data, progress=False).history
    assert list(history)[:6] == ["epoch", "loss", "mse", "rmse", "mae", "euclidean"]
    for m, r in zip(history["val_mse"], history["val_rmse"], strict=True):
        assert r == pytest.approx(math.sqrt(m), rel=1e-5)
    assert history["val_loss"] == pytest.approx(history["val_rmse"], rel=1e-5)
    assert history["val_mae"] == pytest.approx(history["val_euclidean"], rel=1e-5)  # 1 target


def _bn_net(input_shape: tuple[int, ...], num_outputs: int) -> keras.Model:
    return keras.Sequential([
        keras.Input(input_shape), keras.layers.Dense(16, activation="relu"),
        keras.layers.BatchNormalization(), keras.layers.Dropout(0.2),
        keras.layers.Dense(num_outputs, activation="softmax")])


def test_a_builder_model_trains_in_a_cohort_and_exports(digits: Dataset, tmp_path: Path
                                                        ) -> None:
    cfgs = [parse_config({"seed": s, "optimizer": {"learning_rate": 0.1, "momentum": 0.8},
                          "training": {"epochs": 3, "batch_size": 64}}) for s in (0, 1)]
    assert structure_key(cfgs[0], _bn_net) != structure_key(cfgs[0])
    result = fit_cohort(cfgs, digits, builder=_bn_net, progress=False)
    assert result.cohorts == 1 and result.statuses == ["done", "done"]
    assert result[0].final["val_accuracy"] > 0.8
    # BatchNormalization's moving statistics were carried from step to step.
    moving_mean = result[0].weights[1][0]
    assert np.abs(moving_mean).sum() > 0
    loaded = keras.saving.load_model(result.save(0, tmp_path / "bn.keras"))
    accuracy = float((loaded.predict(digits.x_val, verbose=0).argmax(1) == digits.y_val).mean())
    assert accuracy == pytest.approx(result[0].final["val_accuracy"], abs=1e-6)


def test_model_l2_with_a_builder_is_an_error(digits: Dataset) -> None:
    with pytest.raises(ConfigError, match="model.l2 applies to the built-in network only"):
        Cohort(parse_config({"model": {"l2": 0.01}}), digits, builder=_bn_net)
