"""SlotDropout: a dropout whose rate is a variable, masking like keras.layers.Dropout."""

from __future__ import annotations

import jax
import keras
import numpy as np
import pytest

from tunelab.model import SlotDropout


@pytest.mark.parametrize("rate", [0.0, 0.5, 0.9])
def test_drops_the_configured_fraction_and_keeps_the_mean(rate: float) -> None:
    layer = SlotDropout(rate, seed=3)
    y = np.asarray(layer(np.ones((200, 500), "float32"), training=True))
    assert abs(float((y == 0).mean()) - rate) < 0.01
    assert abs(float(y.mean()) - 1.0) < 0.03


def test_is_the_identity_at_inference() -> None:
    x = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    np.testing.assert_array_equal(np.asarray(SlotDropout(0.7)(x, training=False)), x)


def test_masks_exactly_as_keras_dropout_with_the_same_seed_state() -> None:
    x = np.random.default_rng(1).normal(size=(16, 32)).astype("float32")
    ours, theirs = SlotDropout(0.3, seed=11), keras.layers.Dropout(0.3, seed=11)
    np.testing.assert_allclose(np.asarray(ours(x, training=True)),
                               np.asarray(theirs(x, training=True)), rtol=1e-6)


def test_rate_is_a_variable_read_under_vmap() -> None:
    layer = SlotDropout(0.0, seed=0)
    layer.build((None, 1000))
    x = np.ones((1, 1000), "float32")
    ntv = [v.value for v in layer.non_trainable_variables]
    rate_pos = [i for i, v in enumerate(layer.non_trainable_variables) if v is layer.rate][0]

    def call(rate: jax.Array) -> jax.Array:
        values = list(ntv)
        values[rate_pos] = rate
        out, _ = layer.stateless_call([], values, x, training=True)
        return (out == 0).mean()

    fractions = jax.vmap(call)(np.asarray([0.0, 0.5, 0.9], "float32"))
    np.testing.assert_allclose(np.asarray(fractions), [0.0, 0.5, 0.9], atol=0.05)


def test_rejects_rates_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="0 <= rate < 1"):
        SlotDropout(1.0)
