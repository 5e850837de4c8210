"""Keras's Adam and Nadam update rules as optax gradient transformations.

optax's ``scale_by_adam`` adds epsilon to the *bias-corrected* root of the second moment;
Keras adds it to the uncorrected one and folds the corrections into the step size, which
changes early updates of weights whose gradients are rare (most of an image's border
pixels). optax's Nadam is Dozat's simplified form; Keras's keeps a momentum schedule
(``mu_t = beta_1 * (1 - 0.5 * 0.96 ** t)``). These two transformations follow Keras 3
line by line so that tunelab trains what Keras would; the learning rate is applied after
them by ``optax.scale_by_learning_rate``, as in every other chain here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

__all__ = ["scale_by_keras_adam", "scale_by_keras_nadam"]


class KerasAdamState(NamedTuple):
    """Step count and the two moments (``u_product`` is Nadam's running momentum product)."""

    count: Any
    mu: Any
    nu: Any
    u_product: Any


def _init(params: Any) -> KerasAdamState:
    return KerasAdamState(count=jnp.zeros([], jnp.int32),
                          mu=optax.tree.zeros_like(params), nu=optax.tree.zeros_like(params),
                          u_product=jnp.ones([], jnp.float32))


def _moments(updates: Any, state: KerasAdamState, b1: Any, b2: Any) -> tuple[Any, Any]:
    mu = jax.tree.map(lambda g, m: m + (g - m) * (1 - b1), updates, state.mu)
    nu = jax.tree.map(lambda g, v: v + (jnp.square(g) - v) * (1 - b2), updates, state.nu)
    return mu, nu


def scale_by_keras_adam(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-7) -> Any:
    """Keras 3's Adam without the learning rate.

    Example:
        >>> t = scale_by_keras_adam()
        >>> u, _ = t.update([jnp.ones(2)], t.init([jnp.zeros(2)]))
        >>> round(float(u[0][0]), 4)
        1.0
    """

    def update(updates: Any, state: KerasAdamState, params: Any = None) -> Any:
        del params
        count = state.count + 1
        step = count.astype(jnp.float32)
        alpha = jnp.sqrt(1 - jnp.power(b2, step)) / (1 - jnp.power(b1, step))
        mu, nu = _moments(updates, state, b1, b2)
        out = jax.tree.map(lambda m, v: m * alpha / (jnp.sqrt(v) + eps), mu, nu)
        return out, KerasAdamState(count, mu, nu, state.u_product)

    return optax.GradientTransformation(_init, update)


def scale_by_keras_nadam(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-7) -> Any:
    """Keras 3's Nadam (with its momentum schedule) without the learning rate.

    Example:
        >>> t = scale_by_keras_nadam()
        >>> u, _ = t.update([jnp.ones(2)], t.init([jnp.zeros(2)]))
        >>> round(float(u[0][0]), 4)
        1.0628
    """

    def update(updates: Any, state: KerasAdamState, params: Any = None) -> Any:
        del params
        count = state.count + 1
        step = count.astype(jnp.float32)
        u_t = b1 * (1.0 - 0.5 * jnp.power(0.96, step))
        u_next = b1 * (1.0 - 0.5 * jnp.power(0.96, step + 1))
        u_product = state.u_product * u_t
        u_product_next = u_product * u_next
        mu, nu = _moments(updates, state, b1, b2)
        v_scale = 1 - jnp.power(b2, step)

        def direction(g: Any, m: Any, v: Any) -> Any:
            m_hat = u_next * m / (1 - u_product_next) + (1 - u_t) * g / (1 - u_product)
            return m_hat / (jnp.sqrt(v / v_scale) + eps)

        out = jax.tree.map(direction, updates, mu, nu)
        return out, KerasAdamState(count, mu, nu, u_product)

    return optax.GradientTransformation(_init, update)
