"""bf16 products with float32 accumulation: the product, its gradient, and training parity."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from tunelab.config import parse_config
from tunelab.data import load_dataset
from tunelab.errors import ConfigError
from tunelab.execute import train_runs
from tunelab.guide import compare
from tunelab.model import bf16_matmul
from tunelab.runs import ValueStats


def test_the_product_and_its_gradient_match_float32_to_bf16_rounding() -> None:
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(32, 64)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(64, 16)), jnp.float32)
    exact = x @ w
    got = bf16_matmul(x, w)
    assert got.dtype == jnp.float32
    # bfloat16 keeps 8 bits of mantissa: a relative error of about 2^-8 per input.
    assert float(jnp.max(jnp.abs(got - exact))) < 0.05 * float(jnp.max(jnp.abs(exact)))

    def f32(a: jax.Array, b: jax.Array) -> jax.Array:
        return jnp.sum(jnp.tanh(a @ b))

    def bf16(a: jax.Array, b: jax.Array) -> jax.Array:
        return jnp.sum(jnp.tanh(bf16_matmul(a, b)))

    gx, gw = jax.grad(f32, argnums=(0, 1))(x, w)
    hx, hw = jax.grad(bf16, argnums=(0, 1))(x, w)
    assert hx.dtype == jnp.float32 and hw.dtype == jnp.float32
    for exact_g, approx_g in ((gx, hx), (gw, hw)):
        err = float(jnp.linalg.norm(approx_g - exact_g) / jnp.linalg.norm(exact_g))
        assert err < 0.03


def test_training_in_bf16_matches_float32_on_the_same_replicates(tmp_path: object) -> None:
    data = load_dataset("digits", seed=0)
    base = {"model": {"units": [64, 64], "dropout": 0.1},
            "optimizer": {"name": "SGD", "learning_rate": 0.1, "momentum": 0.8},
            "training": {"epochs": 8, "batch_size": 32}}
    seeds = [1, 2, 3, 4]
    scores = {}
    for precision in ("float32", "bf16"):
        cfg = parse_config({**base, "training": {**base["training"], "precision": precision}})
        results = train_runs([cfg.model_copy(update={"seed": s}) for s in seeds], data,
                             cohorts="replicate")
        scores[precision] = ValueStats(label=precision, replicates=seeds, scores=[
            r.history["val_accuracy"][-1] for r in results])
        if precision == "bf16":
            model = results[0].model()  # exported in float32, standard layers
            assert all(type(layer) in (keras.layers.Dense, keras.layers.Dropout,
                                       keras.layers.InputLayer) for layer in model.layers)
            assert all(w.dtype == "float32" for w in model.weights)
    # Parity within noise: the paired test finds no difference either way.
    assert not compare(scores["float32"], scores["bf16"], "maximize", 1 / 288).better
    assert not compare(scores["bf16"], scores["float32"], "maximize", 1 / 288).better
    assert abs(scores["bf16"].mean - scores["float32"].mean) < 0.01


def test_bf16_is_for_the_built_in_network() -> None:
    from tunelab.execute import fit

    cfg = parse_config({"model": {"builder": "keras.applications:MobileNet"},
                        "training": {"precision": "bf16"}})
    with pytest.raises(ConfigError, match="training.precision = 'bf16' applies to the built-in"):
        fit(cfg, load_dataset("digits"), progress=False)
