"""Optimizer names, families and the optax transformations behind the gradient family."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

from tunelab.errors import ConfigError
from tunelab.landscapes import GRADIENT_OPTIMIZERS, OPTIMIZERS, resolve_optimizers
from tunelab.landscapes._optimizers import family_of, gradient_transform


def test_every_family_is_there() -> None:
    assert GRADIENT_OPTIMIZERS == ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam",
                                   "adamw", "nadam")
    assert [n for n, f in OPTIMIZERS.items() if f == "scipy"] == [
        "L-BFGS-B", "BFGS", "CG", "Nelder-Mead", "Powell", "TNC"]
    assert [n for n, f in OPTIMIZERS.items() if f == "sampler"] == ["cma-es", "tpe", "random"]


def test_names_families_and_aliases() -> None:
    assert resolve_optimizers(None) == tuple(OPTIMIZERS)
    assert resolve_optimizers(["ADAM", "l-bfgs-b", "CMA-ES", "adam"]) == (
        "adam", "L-BFGS-B", "cma-es")
    assert resolve_optimizers(["scipy"]) == ("L-BFGS-B", "BFGS", "CG", "Nelder-Mead", "Powell",
                                             "TNC")
    assert family_of("tpe") == "sampler"


def test_unknown_optimizer_lists_the_names() -> None:
    with pytest.raises(ConfigError) as err:
        resolve_optimizers(["adamx"])
    text = str(err.value)
    assert "unknown optimizer 'adamx'" in text and "nadam" in text and "Nelder-Mead" in text


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


def test_gradient_transform_refuses_other_families() -> None:
    with pytest.raises(ConfigError, match="not a gradient optimizer"):
        gradient_transform("BFGS")
