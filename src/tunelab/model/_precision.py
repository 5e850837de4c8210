"""bf16 matrix products with float32 accumulation, for the engine's training network.

On CPUs with AVX-512 BF16 (and on GPUs), a matrix product of bfloat16 inputs that
accumulates in float32 runs about twice as fast as a float32 one; the same product with a
bfloat16 *output*, what bfloat16 arrays give by default, is slower than float32 (figures in
FACTS.md / docs/engine.md). :func:`bf16_matmul` casts both inputs to bfloat16 and asks XLA for
a float32 result, in the forward pass and in both products of the backward pass (a custom
gradient: JAX's own would multiply the float32 cotangent by a bfloat16 operand, the slow
mixed path). Weights, optimizer state, losses and every other operation stay float32.

:class:`Bf16Dense` is ``keras.layers.Dense`` with that product. Like ``SlotDropout`` it is a
training device only: exported models are built from standard float32 ``Dense`` layers.

Example:
    >>> import numpy as np
    >>> x = np.ones((2, 3), np.float32); w = np.full((3, 4), 0.5, np.float32)
    >>> np.asarray(bf16_matmul(x, w)).tolist()[0]
    [1.5, 1.5, 1.5, 1.5]
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import keras

__all__ = ["PRECISIONS", "Bf16Dense", "bf16_matmul"]

#: The values of ``training.precision``.
PRECISIONS = ("float32", "bf16")


def _dot(a: Any, b: Any) -> Any:
    return jax.lax.dot_general(a, b, (((a.ndim - 1,), (0,)), ((), ())),
                               preferred_element_type=jnp.float32)


@jax.custom_vjp
def bf16_matmul(x: Any, w: Any) -> Any:
    """``x @ w`` with bfloat16 inputs and a float32 result (``x``: (..., n), ``w``: (n, m))."""
    return _dot(x.astype(jnp.bfloat16), w.astype(jnp.bfloat16))


def _forward(x: Any, w: Any) -> tuple[Any, tuple[Any, Any]]:
    xb, wb = x.astype(jnp.bfloat16), w.astype(jnp.bfloat16)
    return _dot(xb, wb), (xb, wb)


def _backward(saved: tuple[Any, Any], g: Any) -> tuple[Any, Any]:
    xb, wb = saved
    gb = g.astype(jnp.bfloat16)
    dx = _dot(gb, wb.T)
    rows = xb.reshape((-1, xb.shape[-1]))
    dw = _dot(rows.T, gb.reshape((-1, gb.shape[-1])))
    return dx, dw


bf16_matmul.defvjp(_forward, _backward)


class Bf16Dense(keras.layers.Dense):
    """``Dense`` whose product runs in bfloat16 with float32 accumulation (training only)."""

    def call(self, inputs: Any, training: Any = None) -> Any:
        out = bf16_matmul(inputs, self.kernel.value)
        if self.use_bias:
            out = out + self.bias
        return self.activation(out) if self.activation is not None else out
