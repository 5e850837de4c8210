"""Configuration -> Keras model, per-slot starting arrays, and users' own builders."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from tunelab.config import ModelConfig
from tunelab.errors import ConfigError
from tunelab.model import (
    ModelSpec,
    SlotDropout,
    build_model,
    initial_values,
    kernel_indices,
    load_builder,
    num_outputs,
)

DIGITS = ModelSpec((64,), "multiclass", 10)


def test_default_is_the_tutorials_mlp() -> None:
    model = build_model(ModelConfig(), DIGITS, slot_dropout=False)
    kinds = [(type(layer).__name__, getattr(layer, "units", None)) for layer in model.layers]
    assert kinds == [("Dense", 64), ("Dropout", None), ("Dense", 64), ("Dense", 10)]
    assert model.layers[1].rate == 0.1
    assert model.layers[-1].activation is keras.activations.softmax
    assert all(layer.activation is keras.activations.relu for layer in model.layers[::2][:2])


def test_training_model_has_a_slot_dropout_after_every_hidden_layer() -> None:
    model = build_model(ModelConfig(units=[8, 8, 8], dropout=0.0), DIGITS)
    assert sum(isinstance(layer, SlotDropout) for layer in model.layers) == 3
    assert kernel_indices(model) == [0, 2, 4, 6]


@pytest.mark.parametrize(("task", "units", "activation"),
                         [("binary", 1, "sigmoid"), ("regression", 3, "linear")])
def test_output_layer_follows_the_task(task: str, units: int, activation: str) -> None:
    model = build_model(ModelConfig(units=[4]), ModelSpec((5,), task, units))
    assert model.layers[-1].units == units
    assert model.layers[-1].activation is keras.activations.get(activation)


def test_num_outputs_per_task() -> None:
    assert num_outputs("multiclass", 10, np.zeros(3)) == 10
    assert num_outputs("binary", 2, np.zeros(3)) == 1
    assert num_outputs("regression", 1, np.zeros((3, 2))) == 2


def test_uniform_initializer_is_keras_random_uniform_005() -> None:
    cfg = ModelConfig()
    model = build_model(cfg, DIGITS)
    tv, ntv = initial_values(model, cfg, DIGITS, seed=0)
    kernel = np.asarray(tv[0])
    assert kernel.shape == (64, 64)
    assert -0.05 <= kernel.min() < -0.04 and 0.04 < kernel.max() <= 0.05
    assert not np.asarray(tv[1]).any()  # zero biases
    np.testing.assert_allclose([np.asarray(v) for v in ntv if np.ndim(v) == 0], [0.1, 0.0])


def test_same_seed_same_arrays_other_seed_other_arrays() -> None:
    cfg = ModelConfig(units=[16])
    model = build_model(cfg, DIGITS)
    a, _ = initial_values(model, cfg, DIGITS, seed=1)
    b, _ = initial_values(model, cfg, DIGITS, seed=1)
    c, _ = initial_values(model, cfg, DIGITS, seed=2)
    np.testing.assert_array_equal(np.asarray(a[0]), np.asarray(b[0]))
    assert not np.allclose(np.asarray(a[0]), np.asarray(c[0]))


@pytest.mark.parametrize(("name", "check"), [
    ("zeros", lambda k: not k.any()),
    ("he_normal", lambda k: abs(k.std() - np.sqrt(2 / 64)) < 0.03),
    ("glorot_uniform", lambda k: np.abs(k).max() <= np.sqrt(6 / (64 + 16))),
    ("lecun_uniform", lambda k: np.abs(k).max() <= np.sqrt(3 / 64)),
    ("normal", lambda k: abs(k.std() - 0.05) < 0.01),
])
def test_initializers_decide_the_starting_arrays(name: str, check) -> None:  # type: ignore[no-untyped-def]
    cfg = ModelConfig(units=[16], kernel_initializer=name)
    model = build_model(cfg, DIGITS)
    tv, _ = initial_values(model, cfg, DIGITS, seed=0)
    assert check(np.asarray(tv[0]))


def _mini(input_shape: tuple[int, ...], num_outputs: int) -> keras.Model:
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(5, activation="tanh"),
                             keras.layers.Dense(num_outputs, activation="softmax")])


def test_a_callable_builder_gets_the_arguments_it_asks_for() -> None:
    model = build_model(ModelConfig(), DIGITS, builder=_mini)
    assert [w.shape for w in model.trainable_weights] == [(64, 5), (5,), (5, 10), (10,)]


def test_a_module_builder_is_imported_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    (tmp_path / "my_nets.py").write_text(textwrap.dedent("""
        import keras
        def tiny(input_shape, num_outputs, task, config):
            assert task == "multiclass" and config.l2 == 0.0
            return keras.Sequential([keras.Input(input_shape),
                                     keras.layers.Dense(num_outputs, activation="softmax")])
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    model = build_model(ModelConfig(builder="my_nets:tiny"), DIGITS)
    assert len(model.layers) == 1
    sys.modules.pop("my_nets", None)


def test_builder_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="model.builder: cannot import module 'no_such_mod'"):
        load_builder("no_such_mod:f")
    with pytest.raises(ConfigError, match="model.builder: module 'math' has no 'nope'"):
        load_builder("math:nope")
    with pytest.raises(ConfigError, match="returned int, not a keras.Model"):
        build_model(ModelConfig(), DIGITS, builder=lambda: 3)
    with pytest.raises(ConfigError, match="gives 7 outputs but this multiclass task needs 10"):
        build_model(ModelConfig(), DIGITS, builder=lambda input_shape: _mini(input_shape, 7))


def test_padded_widths_draw_the_real_kernels_and_mask_the_rest() -> None:
    from tunelab.model import hidden_widths

    real = ModelConfig(units=[16, 8], dropout=0.0, kernel_initializer="glorot_uniform")
    padded = real.model_copy(update={"padded_units": [32, 4]})
    assert hidden_widths(padded) == [32, 8]  # a padding narrower than the layer is ignored
    model = build_model(padded, DIGITS)
    assert [tuple(w.shape) for w in model.trainable_weights][::2] == [(64, 32), (32, 8),
                                                                       (8, 10)]
    tv, ntv = initial_values(model, padded, DIGITS, seed=4)
    want, _ = initial_values(build_model(real, DIGITS), real, DIGITS, seed=4)
    np.testing.assert_array_equal(np.asarray(tv[0])[:, :16], np.asarray(want[0]))
    assert not np.asarray(tv[0])[:, 16:].any() and not np.asarray(tv[2])[16:].any()
    masks = [np.asarray(v) for v in ntv if np.ndim(v) == 1 and np.asarray(v).dtype.kind == "f"]
    assert [m.tolist() for m in masks] == [[1.0] * 16 + [0.0] * 16, [1.0] * 8]
    # The layers name the configured initializer, whatever the zero arrays they hold.
    assert type(model.layers[0].kernel_initializer).__name__ == "GlorotUniform"
