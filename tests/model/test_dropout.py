"""SlotDropout: a dropout whose rate is a variable, its masks drawn from a counter-based hash."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from tunelab.model import SlotDropout
from tunelab.model._dropout import uniform_draw


@pytest.mark.parametrize("rate", [0.0, 0.5, 0.9])
def test_drops_the_configured_fraction_and_keeps_the_mean(rate: float) -> None:
    layer = SlotDropout(rate, seed=3)
    y = np.asarray(layer(np.ones((200, 500), "float32"), training=True))
    assert abs(float((y == 0).mean()) - rate) < 0.01
    assert abs(float(y.mean()) - 1.0) < 0.03


def test_is_the_identity_at_inference() -> None:
    x = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    np.testing.assert_array_equal(np.asarray(SlotDropout(0.7)(x, training=False)), x)


def test_each_call_draws_a_fresh_mask_and_seeds_differ() -> None:
    x = np.ones((64, 256), "float32")
    layer = SlotDropout(0.5, seed=11)
    first, second = (np.asarray(layer(x, training=True)) == 0 for _ in range(2))
    other = np.asarray(SlotDropout(0.5, seed=12)(x, training=True)) == 0
    again = np.asarray(SlotDropout(0.5, seed=11)(x, training=True)) == 0
    np.testing.assert_array_equal(first, again)
    # Independent masks at rate 0.5 agree on about half the units.
    for a, b in ((first, second), (first, other)):
        assert abs(float((a == b).mean()) - 0.5) < 0.02


def test_draws_are_uniform_and_uncorrelated_between_neighbours() -> None:
    u = np.asarray(uniform_draw(np.array([7, 3], "uint32"), (512, 256)))
    counts, _ = np.histogram(u, bins=16, range=(0.0, 1.0))
    assert counts.min() > 0.9 * u.size / 16 and counts.max() < 1.1 * u.size / 16
    for a, b in ((u[:, 1:], u[:, :-1]), (u[1:], u[:-1])):
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.01


def test_a_wider_draw_holds_the_narrower_one_in_its_first_columns() -> None:
    state = np.array([5, 2], "uint32")
    narrow = np.asarray(uniform_draw(state, (3, 4, 32)))
    wide = np.asarray(uniform_draw(state, (3, 4, 128)))
    np.testing.assert_array_equal(wide[..., :32], narrow)


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
