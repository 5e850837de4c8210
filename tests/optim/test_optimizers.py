"""Optimizers named as in Keras: Keras's defaults and Keras's update rules, on optax."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest

from tunelab.config import OptimizerConfig
from tunelab.errors import ConfigError
from tunelab.optim import (
    KERAS_DEFAULTS,
    build_optimizer,
    get_learning_rate,
    optimizer_family,
    optimizer_hyperparams,
    set_learning_rate,
)


@pytest.mark.parametrize("name", list(KERAS_DEFAULTS))
def test_defaults_are_keras_defaults(name: str) -> None:
    keras_config = getattr(keras.optimizers, name)().get_config()
    ours = optimizer_hyperparams(OptimizerConfig(name=name))
    for key, value in ours.items():
        if key == "decay":
            continue  # Keras 2's decay; Keras 3 has none (0 means off)
        assert keras_config[key] == pytest.approx(value), key


def _run_keras(opt: Any, w0: np.ndarray, grads: list[np.ndarray]) -> np.ndarray:
    var = keras.Variable(w0)
    for g in grads:
        opt.apply_gradients([(jnp.asarray(g), var)])
    return np.asarray(var)


def _run_ours(cfg: OptimizerConfig, w0: np.ndarray, grads: list[np.ndarray]) -> np.ndarray:
    opt = build_optimizer(cfg)
    params = [jnp.asarray(w0)]
    state = opt.init(params)
    for g in grads:
        updates, state = opt.update([jnp.asarray(g)], state, params)
        params = optax.apply_updates(params, updates)
    return np.asarray(params[0])


CASES: list[tuple[dict[str, Any], Callable[[], Any]]] = [
    ({"name": "SGD", "learning_rate": 0.1}, lambda: keras.optimizers.SGD(0.1)),
    ({"name": "SGD", "learning_rate": 0.1, "momentum": 0.8},
     lambda: keras.optimizers.SGD(0.1, momentum=0.8)),
    ({"name": "SGD", "learning_rate": 0.1, "momentum": 0.9, "nesterov": True},
     lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)),
    ({"name": "SGD", "learning_rate": 0.1, "momentum": 0.8, "decay": 0.5},
     lambda: keras.optimizers.SGD(
         keras.optimizers.schedules.InverseTimeDecay(0.1, 1, 0.5), momentum=0.8)),
    ({"name": "RMSprop", "learning_rate": 0.01, "rho": 0.8},
     lambda: keras.optimizers.RMSprop(0.01, rho=0.8)),
    ({"name": "RMSprop", "learning_rate": 0.01, "momentum": 0.5},
     lambda: keras.optimizers.RMSprop(0.01, momentum=0.5)),
    ({"name": "Adam", "learning_rate": 0.01}, lambda: keras.optimizers.Adam(0.01)),
    ({"name": "AdamW", "learning_rate": 0.01, "weight_decay": 0.1},
     lambda: keras.optimizers.AdamW(0.01, weight_decay=0.1)),
    ({"name": "Adagrad", "learning_rate": 0.1}, lambda: keras.optimizers.Adagrad(0.1)),
    ({"name": "Adadelta", "learning_rate": 1.0}, lambda: keras.optimizers.Adadelta(1.0)),
    ({"name": "Adamax", "learning_rate": 0.01}, lambda: keras.optimizers.Adamax(0.01)),
    ({"name": "Nadam", "learning_rate": 0.01}, lambda: keras.optimizers.Nadam(0.01)),
]


@pytest.mark.parametrize(("ours", "theirs"), CASES,
                         ids=[f"{c['name']}-{i}" for i, (c, _) in enumerate(CASES)])
def test_updates_match_keras_step_by_step(ours: dict[str, Any], theirs: Callable[[], Any]
                                          ) -> None:
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 4)).astype("float32")
    # Sparse gradients too: weights that rarely get one are where epsilon placement shows.
    grads = [(rng.normal(size=(3, 4)) * (rng.random((3, 4)) < 0.5)).astype("float32")
             for _ in range(6)]
    expected = _run_keras(theirs(), w0, grads)
    np.testing.assert_allclose(_run_ours(OptimizerConfig(**ours), w0, grads), expected,
                               rtol=2e-5, atol=2e-6)


def test_keras2_decay_is_per_update_step() -> None:
    opt = build_optimizer(OptimizerConfig(name="SGD", learning_rate=1.0, decay=0.5))
    params = [jnp.zeros(())]
    state = opt.init(params)
    steps = []
    for _ in range(4):
        updates, state = opt.update([jnp.ones(())], state, params)
        steps.append(-float(updates[0]))
    np.testing.assert_allclose(steps, [1 / (1 + 0.5 * t) for t in range(4)], rtol=1e-6)


def test_learning_rate_lives_in_the_state() -> None:
    opt = build_optimizer(OptimizerConfig(name="Adam", learning_rate=0.01))
    state = opt.init([jnp.zeros(2)])
    assert float(get_learning_rate(state)) == pytest.approx(0.01)
    assert float(get_learning_rate(set_learning_rate(state, 0.5))) == 0.5


def test_family_is_the_structural_part() -> None:
    assert optimizer_family(OptimizerConfig(name="sgd", learning_rate=0.3)) == ("SGD", False)
    assert optimizer_family(OptimizerConfig(name="SGD", nesterov=True)) == ("SGD", True)


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "Adam", "rho": 0.9}, "optimizer.rho does not apply to Adam; it applies to"
                                   " RMSprop, Adadelta"),
    ({"name": "SGD", "epsilon": 1e-3}, "optimizer.epsilon does not apply to SGD"),
    ({"name": "Adam", "momentum": 0.9}, "optimizer.momentum does not apply to Adam"),
    ({"name": "SGD", "weight_decay": 0.1}, "optimizer.weight_decay does not apply to SGD"),
    ({"name": "RMSprop", "nesterov": True}, "optimizer.nesterov applies to SGD only"),
])
def test_values_that_do_not_apply_are_errors_naming_the_key(fields: dict[str, Any],
                                                            message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        optimizer_hyperparams(OptimizerConfig(**fields))


def test_a_learning_rate_must_be_positive() -> None:
    bad = OptimizerConfig.model_construct(name="SGD", learning_rate=-0.1, momentum=None,
                                          nesterov=False, decay=0.0, rho=None, epsilon=None,
                                          beta_1=None, beta_2=None, weight_decay=None)
    with pytest.raises(ConfigError, match="optimizer.learning_rate must be > 0, got -0.1"):
        optimizer_hyperparams(bad)


def test_optim_does_not_import_landscapes() -> None:
    # optim and landscapes share a layer; the landscape race builds its optimizers here,
    # so optim never imports landscapes (no cycle).
    optim = Path(__file__).parents[2] / "src" / "tunelab" / "optim"
    for path in optim.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            assert not any(n.startswith("tunelab.landscapes") for n in names), path
