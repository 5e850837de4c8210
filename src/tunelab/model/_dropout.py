"""A dropout layer whose rate is a variable, so each slot of a cohort can have its own.

Keras's own ``Dropout`` keeps its rate as a Python float and branches on it, so the rate
is baked into the compiled program. :class:`SlotDropout` keeps the rate in a
non-trainable variable instead: the engine stacks one rate per slot and feeds it to
``stateless_call`` like any other variable, so configurations that differ only in their
dropout rate share one compiled epoch.

The mask is drawn from a counter-based hash of (seed state, row, column) instead of
JAX's threefry: on the CPU a threefry draw of a hidden layer's activations cost as much as
the layer's matrix product; the hash costs a few per cent of it. The seed state is Keras's
``SeedGenerator`` state ``[seed, counter]``, advanced once per call as Keras advances it, so
successive steps draw fresh masks and slots with different seeds draw different ones.

With ``units`` it also holds a per-slot **unit mask** (a non-trainable ``(units,)``
variable of ones for the slot's real units and zeros for padding), so configurations of
different hidden widths share one network computed at a padded width: padded units output
exactly zero, so they receive no gradient and their (zero) weights never change. A unit's
draw depends on its row and column only, not on the layer's width, so the real units of a
padded layer get the very mask the unpadded layer would draw.

The layer is a training device only. Exported models use standard ``Dropout(rate)``
layers (see :func:`tunelab.model.export_model`), so users never need tunelab to load them.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import keras

__all__ = ["SlotDropout", "uniform_draw"]

_GOLDEN = 0x9E3779B1  # odd multipliers: multiplying by them permutes the 32-bit integers
_COLUMN = 0x85EBCA77


def _mix(h: Any) -> Any:
    """MurmurHash3's 32-bit finaliser: a bijection whose every output bit depends on every
    input bit."""
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def uniform_draw(seed_state: Any, shape: tuple[int, ...]) -> Any:
    """Uniform float32 numbers in [0, 1) for ``shape``, from a ``[seed, counter]`` state.

    Element ``(..., r, c)`` (rows being the leading axes flattened) depends only on the
    state, ``r`` and ``c``: a wider array has the narrower one's numbers in its first
    columns.

    Example:
        >>> import numpy as np
        >>> u = np.asarray(uniform_draw(np.array([1, 0], "uint32"), (200, 50)))
        >>> bool(0 <= u.min() and u.max() < 1), round(float(u.mean()), 1)
        (True, 0.5)
        >>> wide = np.asarray(uniform_draw(np.array([1, 0], "uint32"), (200, 80)))
        >>> bool((wide[:, :50] == u).all())
        True
    """
    state = jnp.asarray(seed_state).astype(jnp.uint32)
    key = _mix(state[0] ^ _mix(state[1] + jnp.uint32(_GOLDEN)))
    width = shape[-1]
    rows = math.prod(shape[:-1])
    row = _mix(key ^ (jnp.arange(rows, dtype=jnp.uint32) * jnp.uint32(_GOLDEN)))
    col = jnp.arange(width, dtype=jnp.uint32) * jnp.uint32(_COLUMN)
    bits = _mix(row[:, None] ^ col[None, :])
    # The top 24 bits, exactly representable in float32: 0 <= u < 1.
    u = (bits >> 8).astype(jnp.float32) * jnp.float32(2.0 ** -24)
    return u.reshape(shape)


class SlotDropout(keras.layers.Layer):
    """Dropout with the rate held in a non-trainable variable.

    Args:
        rate: Initial fraction of inputs to drop, ``0 <= rate < 1``.
        seed: Seed of the layer's random state (the engine overwrites the state per slot).
        units: The (padded) width of the inputs, to hold a unit mask; None for no mask.

    Example:
        >>> import numpy as np
        >>> layer = SlotDropout(0.5, seed=1)
        >>> x = np.ones((4, 1000), "float32")
        >>> y = np.asarray(layer(x, training=True))
        >>> round(float((y == 0).mean()), 1), float(y.max())
        (0.5, 2.0)
    """

    def __init__(self, rate: float = 0.0, seed: int | None = None, units: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"SlotDropout needs 0 <= rate < 1, got {rate=}")
        if units is not None and units < 1:
            raise ValueError(f"SlotDropout needs units >= 1, got {units=}")
        self._initial_rate = float(rate)
        self.seed = seed
        self.units = units
        self.rate = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self._initial_rate),
            trainable=False,
            name="rate",
        )
        self.mask = None if units is None else self.add_weight(
            shape=(units,), initializer="ones", trainable=False, name="mask")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        if self.mask is not None:
            inputs = inputs * keras.ops.cast(self.mask, inputs.dtype)
        if not training:
            return inputs
        keep = 1.0 - keras.ops.cast(self.rate, inputs.dtype)
        draw = uniform_draw(self.seed_generator.next(), inputs.shape)
        # A rate of 0 keeps every unit and divides by 1: the same program serves all rates.
        return keras.ops.where(draw < keep, inputs / keep, keras.ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self._initial_rate, "seed": self.seed,
                "units": self.units}
