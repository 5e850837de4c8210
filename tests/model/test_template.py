"""A keras.Model as the template of every slot: cloned, re-initialised per seed, exported."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from tunelab.config import ModelConfig, parse_config
from tunelab.data import Dataset, load_dataset
from tunelab.errors import ConfigError
from tunelab.execute import fit, fit_cohort
from tunelab.model import (
    ModelSpec,
    SlotDropout,
    build_model,
    export_model,
    initial_values,
    kernel_indices,
    save_template,
    stage_model,
    template_config,
    template_rates,
)
from tunelab.train import structure_key

SPEC = ModelSpec((64,), "multiclass", 10)


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", seed=0)


def _net(rates: tuple[float, ...] = (0.1,)) -> keras.Model:
    layers: list[keras.layers.Layer] = [keras.Input((64,))]
    for rate in rates:
        layers += [keras.layers.Dense(12, activation="relu"), keras.layers.Dropout(rate)]
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)


def _cfg(tmp_path: Path, net: keras.Model, **model: object) -> ModelConfig:
    return ModelConfig.model_validate({**stage_model(net, tmp_path), **model})


def test_the_training_network_is_the_template_with_slot_dropout(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, _net((0.1, 0.3)))
    assert cfg.dropout == [0.1, 0.3] and cfg.units == [12, 12]
    net = build_model(cfg, SPEC)
    drops = [layer for layer in net.layers if isinstance(layer, SlotDropout)]
    assert [d._initial_rate for d in drops] == [0.1, 0.3]
    assert [tuple(v.shape) for v in net.trainable_variables] == [
        (64, 12), (12,), (12, 12), (12,), (12, 10), (10,)]
    assert kernel_indices(net) == [0, 2, 4]  # where the per-slot L2 acts
    users = build_model(cfg.model_copy(update={"dropout": 0.5}), SPEC, slot_dropout=False)
    assert template_rates(users) == [0.5, 0.5]
    assert not any(type(layer).__module__.startswith("tunelab") for layer in users.layers)


def test_each_seed_reinitialises_the_clone_as_keras_would(tmp_path: Path) -> None:
    net = _net()
    cfg = _cfg(tmp_path, net)
    train_net = build_model(cfg, SPEC)
    tv, _ = initial_values(train_net, cfg, SPEC, seed=7)
    keras.utils.set_random_seed(7)
    reference = keras.models.clone_model(net)  # the same architecture, fresh weights
    for mine, theirs in zip(tv, reference.trainable_variables, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs.value))
    other, _ = initial_values(train_net, cfg, SPEC, seed=8)
    assert not np.array_equal(np.asarray(tv[0]), np.asarray(other[0]))


def test_dropout_and_l2_are_per_slot_values_of_one_cohort(tmp_path: Path,
                                                          digits: Dataset) -> None:
    model = stage_model(_net(), tmp_path)
    base = {"model": model, "training": {"epochs": 2, "batch_size": 64},
            "optimizer": {"learning_rate": 0.1, "momentum": 0.5}}
    cfgs = [parse_config({**base, "model": {**model, "dropout": rate, "l2": l2}})
            for rate, l2 in ((0.0, 0.0), (0.5, 0.0), (0.1, 1e-3))]
    assert len({structure_key(c) for c in cfgs}) == 1
    result = fit_cohort(cfgs, digits, progress=False)
    assert result.cohorts == 1 and result.statuses == ["done"] * 3
    assert len({r.final["val_loss"] for r in result.results}) == 3


def test_the_saved_model_predicts_and_scores_what_tunelab_evaluated(tmp_path: Path,
                                                                      digits: Dataset) -> None:
    model = {**stage_model(_net(), tmp_path), "l2": 1e-3}
    cfg = parse_config({"model": model, "training": {"epochs": 3, "batch_size": 64},
                        "optimizer": {"learning_rate": 0.1, "momentum": 0.5}, "seed": 3})
    result = fit(cfg, digits, progress=False)
    loaded = keras.saving.load_model(result.save(tmp_path / "m.keras"), safe_mode=True)
    assert template_rates(loaded) == [0.1]
    probs = loaded.predict(digits.x_val, verbose=0)
    accuracy = float((probs.argmax(axis=1) == digits.y_val).mean())
    assert accuracy == pytest.approx(result.final["val_accuracy"], abs=1e-6)
    loaded.compile(loss="sparse_categorical_crossentropy")
    # The exported L2 regularizers make Keras's loss the one tunelab trained and reported.
    assert loaded.evaluate(digits.x_val, digits.y_val, verbose=0, batch_size=len(digits.x_val)
                           ) == pytest.approx(result.final["val_loss"], rel=1e-5)


def test_a_template_with_batch_normalisation_carries_its_statistics(tmp_path: Path,
                                                                    digits: Dataset) -> None:
    net = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16),
                            keras.layers.BatchNormalization(), keras.layers.Activation("relu"),
                            keras.layers.Dropout(0.2), keras.layers.Dense(10,
                                                                          activation="softmax")])
    cfg = parse_config({"model": stage_model(net, tmp_path),
                        "training": {"epochs": 2, "batch_size": 64}})
    result = fit(cfg, digits, progress=False)
    assert result.weights is not None
    exported = export_model(cfg.model, SPEC, *result.weights)
    bn = next(layer for layer in exported.layers
              if isinstance(layer, keras.layers.BatchNormalization))
    assert not np.allclose(np.asarray(bn.moving_mean.value), 0.0)  # trained statistics
    acc = float((exported.predict(digits.x_val, verbose=0).argmax(1) == digits.y_val).mean())
    assert acc == pytest.approx(result.final["val_accuracy"], abs=1e-6)


def test_template_config_and_saving() -> None:
    net = _net((0.25,))
    cfg = template_config(net, "t.keras")
    assert cfg == {"template": "t.keras", "units": [], "dropout": 0.25, "l2": 0.0}
    assert ModelConfig.model_validate({"template": "t.keras"}).dropout == []


def test_errors_name_the_key_and_the_fix(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, _net())
    with pytest.raises(ConfigError, match=r"inputs of shape \(64,\).*\(4,\)"):
        build_model(cfg, ModelSpec((4,), "multiclass", 10))
    with pytest.raises(ConfigError, match="gives 10 outputs but this binary task needs 1"):
        build_model(cfg, ModelSpec((64,), "binary", 1))
    with pytest.raises(ConfigError, match="model.dropout: 2 rates, but the template has 1"):
        build_model(cfg.model_copy(update={"dropout": [0.1, 0.2]}), SPEC)
    bare = ModelConfig.model_validate(stage_model(_net(()), tmp_path))
    with pytest.raises(ConfigError, match="no Dropout layer"):
        build_model(bare.model_copy(update={"dropout": 0.2}), SPEC)
    with pytest.raises(ConfigError, match="no such file"):
        build_model(ModelConfig(template=str(tmp_path / "missing.keras")), SPEC)
    with pytest.raises(ValueError, match="must be a .keras file"):
        ModelConfig(template="net.h5")

    class Custom(keras.Model):
        def call(self, x: object) -> object:
            return x

    with pytest.raises(ConfigError, match="subclassed keras.Model"):
        save_template(Custom(), tmp_path)
    with pytest.raises(ConfigError, match="no input shape yet"):
        save_template(keras.Sequential([keras.layers.Dense(3)]), tmp_path)
    with pytest.raises(ConfigError, match="Python function"):
        stage_model(lambda: None, tmp_path)
