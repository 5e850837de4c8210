"""A dropout layer whose rate is a variable, so each slot of a cohort can have its own.

Keras's own ``Dropout`` keeps its rate as a Python float and branches on it, so the rate
is baked into the compiled program. :class:`SlotDropout` keeps the rate in a
non-trainable variable instead: the engine stacks one rate per slot and feeds it to
``stateless_call`` like any other variable, so configurations that differ only in their
dropout rate share one compiled epoch.

The mask is drawn exactly as ``keras.random.dropout`` draws it on JAX (a uniform draw
below the keep probability, from a ``SeedGenerator``), so for the same seed state the
layer drops the same units as ``keras.layers.Dropout`` with the same rate.

With ``units`` it also holds a per-slot **unit mask** (a non-trainable ``(units,)``
variable of ones for the slot's real units and zeros for padding), so configurations of
different hidden widths share one network computed at a padded width: padded units output
exactly zero, so they receive no gradient and their (zero) weights never change. Its
dropout draw is taken at the real width's positions of a flat draw, which (JAX's threefry
being counter based) gives the real units the very mask an unpadded layer would draw.

The layer is a training device only. Exported models use standard ``Dropout(rate)``
layers (see :func:`tunelab.model.export_model`), so users never need tunelab to load them.
"""

from __future__ import annotations

from typing import Any

import keras

__all__ = ["SlotDropout"]


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
        if self.mask is None:
            draw = keras.random.uniform(keras.ops.shape(inputs), seed=self.seed_generator)
        else:
            draw = self._real_width_draw(inputs)
        # A rate of 0 keeps every unit and divides by 1: the same program serves all rates.
        return keras.ops.where(draw < keep, inputs / keep, keras.ops.zeros_like(inputs))

    def _real_width_draw(self, inputs: Any) -> Any:
        # Element (r, c) of an unpadded (rows, real) draw is element r * real + c of a flat
        # draw of any length >= rows * real: read those positions out of a padded-size draw.
        shape = keras.ops.shape(inputs)
        width = shape[-1]
        rows = 1
        for d in shape[:-1]:
            rows *= d
        flat = keras.random.uniform((rows * width,), seed=self.seed_generator)
        real = keras.ops.cast(keras.ops.sum(self.mask), "int32")
        index = (keras.ops.arange(rows, dtype="int32")[:, None] * real
                 + keras.ops.arange(width, dtype="int32")[None, :])
        return keras.ops.reshape(keras.ops.take(flat, keras.ops.reshape(index, (-1,))), shape)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self._initial_rate, "seed": self.seed,
                "units": self.units}
