"""Optimizer names and families; the gradient family is the training optimizers' registry."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from click.testing import CliRunner

from tunelab.config import OPTIMIZERS as TRAINING_OPTIMIZERS
from tunelab.config import OptimizerConfig
from tunelab.errors import ConfigError
from tunelab.landscapes import (
    GRADIENT_OPTIMIZERS,
    OPTIMIZERS,
    RACE_VARIANTS,
    resolve_optimizers,
)
from tunelab.landscapes._optimizers import (
    family_of,
    gradient_config,
    gradient_settings,
    gradient_transform,
)
from tunelab.optim import KERAS_DEFAULTS, build_optimizer, optimizer_hyperparams


def test_every_family_is_there() -> None:
    assert GRADIENT_OPTIMIZERS == ("SGD", "SGD-momentum", "SGD-nesterov", "RMSprop", "Adam",
                                   "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam")
    assert [n for n, f in OPTIMIZERS.items() if f == "scipy"] == [
        "L-BFGS-B", "BFGS", "CG", "Nelder-Mead", "Powell", "TNC"]
    assert [n for n, f in OPTIMIZERS.items() if f == "sampler"] == ["cma-es", "tpe", "random"]
    assert len(OPTIMIZERS) == 19


def test_one_registry_the_training_optimizers_and_named_variants() -> None:
    # Every training optimizer races under its own name; anything else is a variant whose
    # name says which optimizer it is and how it differs.
    assert set(GRADIENT_OPTIMIZERS) == set(TRAINING_OPTIMIZERS) | set(RACE_VARIANTS)
    assert set(KERAS_DEFAULTS) == set(TRAINING_OPTIMIZERS)
    for name, (base, settings) in RACE_VARIANTS.items():
        assert base in KERAS_DEFAULTS and name.startswith(f"{base}-") and settings
    for name in TRAINING_OPTIMIZERS:
        assert gradient_config(name) == OptimizerConfig(name=name)
        assert optimizer_hyperparams(gradient_config(name)) == KERAS_DEFAULTS[name]


def test_adamw_is_the_same_optimizer_in_training_and_in_the_race() -> None:
    assert gradient_settings("AdamW") == {"optimizer": "AdamW", **{
        k: v for k, v in KERAS_DEFAULTS["AdamW"].items() if k != "learning_rate"}}
    assert gradient_settings("AdamW")["weight_decay"] == 0.004
    state = gradient_transform("adamw").init(jnp.zeros(2))
    assert float(state.hyperparams["weight_decay"]) == pytest.approx(0.004)
    sgd = {k: v for k, v in KERAS_DEFAULTS["SGD"].items() if k != "learning_rate"}
    assert gradient_settings("SGD-momentum") == {"optimizer": "SGD", **sgd, "momentum": 0.9}
    assert gradient_settings("sgd_nesterov")["nesterov"] is True


def test_names_families_and_aliases() -> None:
    assert resolve_optimizers(None) == tuple(OPTIMIZERS)
    assert resolve_optimizers(["ADAM", "l-bfgs-b", "CMA-ES", "adam"]) == (
        "Adam", "L-BFGS-B", "cma-es")
    # The race's lower-case names still work, the old `momentum` and `nesterov` included.
    assert resolve_optimizers(["sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adamw",
                               "nadam", "adadelta", "adamax"]) == (
        "SGD", "SGD-momentum", "SGD-nesterov", "RMSprop", "Adagrad", "AdamW", "Nadam",
        "Adadelta", "Adamax")
    assert resolve_optimizers(["sgd momentum", "SGD_Nesterov"]) == ("SGD-momentum",
                                                                   "SGD-nesterov")
    assert resolve_optimizers(["scipy"]) == ("L-BFGS-B", "BFGS", "CG", "Nelder-Mead", "Powell",
                                             "TNC")
    assert resolve_optimizers(["gradient"]) == GRADIENT_OPTIMIZERS
    assert family_of("tpe") == "sampler" and family_of("AdamW") == "gradient"


def test_unknown_optimizer_lists_the_names() -> None:
    with pytest.raises(ConfigError) as err:
        resolve_optimizers(["adamx"])
    text = str(err.value)
    assert "unknown optimizer 'adamx'" in text and "Nadam" in text and "Nelder-Mead" in text
    assert "SGD-nesterov" in text and "any case" in text


@pytest.mark.parametrize("name", GRADIENT_OPTIMIZERS)
def test_learning_rate_lives_in_the_state(name: str) -> None:
    tx = gradient_transform(name)
    state = tx.init(jnp.zeros(2))
    state.hyperparams["learning_rate"] = jnp.asarray(0.5)
    updates, _ = tx.update(jnp.ones(2), state, jnp.zeros(2))
    # Every method moves downhill, and the step grows with the learning rate.
    small = tx.init(jnp.zeros(2))
    small.hyperparams["learning_rate"] = jnp.asarray(0.05)
    small_updates, _ = tx.update(jnp.ones(2), small, jnp.zeros(2))
    assert float(updates[0]) < float(small_updates[0]) < 0


@pytest.mark.parametrize("name", GRADIENT_OPTIMIZERS)
def test_race_updates_are_the_training_updates(name: str) -> None:
    cfg = gradient_config(name).model_copy(update={"learning_rate": 0.05})
    race_tx, train_tx = gradient_transform(name), build_optimizer(cfg)
    race_state = race_tx.init(jnp.full(3, 0.5))
    race_state.hyperparams["learning_rate"] = jnp.asarray(0.05, jnp.float32)
    train_state = train_tx.init(jnp.full(3, 0.5))
    w_race = w_train = jnp.asarray([0.5, -1.0, 2.0])
    for g in ([1.0, -2.0, 0.5], [0.3, 0.0, -1.0], [-0.5, 1.0, 1.0]):
        u, race_state = race_tx.update(jnp.asarray(g), race_state, w_race)
        w_race = optax.apply_updates(w_race, u)
        u, train_state = train_tx.update(jnp.asarray(g), train_state, w_train)
        w_train = optax.apply_updates(w_train, u)
    np.testing.assert_array_equal(np.asarray(w_race), np.asarray(w_train))


def test_gradient_transform_refuses_other_families() -> None:
    with pytest.raises(ConfigError, match="not a gradient optimizer; choose from: SGD,"):
        gradient_transform("BFGS")
    with pytest.raises(ConfigError, match="'Lion' is not a gradient optimizer"):
        gradient_config("Lion")


def test_cli_help_names_every_race_optimizer() -> None:
    from tunelab.cli import main

    result = CliRunner().invoke(main, ["landscape", "race", "--help"], terminal_width=400)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for name in OPTIMIZERS:
        assert name in text, name
