"""Gradient accumulation: a slot's batch as micro-batches, one optimizer update per batch.

With ``training.micro_batch = m`` a cohort steps through its data ``m`` samples at a time,
and a slot of batch size ``B`` (a multiple of ``m``) sums the gradients of ``B / m``
micro-steps, each weighted by its rows, before one optimizer update with their mean: the
update a batch of ``B`` samples makes. Its *period* ``B / m`` is a per-slot value, so every
batch size of a cohort shares one compiled program.

Updates are aligned to the data epoch: micro-step ``t`` (counted from the epoch's start)
closes a batch when ``(t + 1) % period == 0``, and the epoch's last micro-step always closes
one. The batches are then exactly Keras's: ``[0, B), [B, 2B), ...`` of the epoch's order,
with the trailing ``N mod B`` samples as a last, smaller batch (Keras's ``fit`` trains it
as a batch of its own, its loss a mean over its rows; so does a closed partial batch here).
``ceil(ceil(N / m) / period) == ceil(N / B)``: a slot makes as many updates an epoch as Keras.

Example:
    >>> update_positions(first=0, count=10, steps=10, period=4).tolist()
    [3, 7, 9]
    >>> update_positions(first=4, count=4, steps=10, period=4).tolist()  # steps 4..7: 7 closes
    [3]
    >>> update_positions(first=4, count=3, steps=10, period=4).tolist()  # steps 4..6: none does
    []
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Accumulator", "accumulate", "closes", "update_positions", "zero_accumulator"]

#: The sum of row-weighted gradients, the rows, and the row-weighted loss of the open batch.
Accumulator = tuple[Any, Any, Any]


def update_positions(first: int, count: int, steps: int, period: int) -> np.ndarray:
    """Positions within a piece of ``count`` micro-steps from ``first`` where updates happen.

    ``steps``: micro-steps in a whole epoch. Positions past the epoch's end never update.
    """
    t = np.arange(first, first + count)
    hit = (((t + 1) % max(int(period), 1)) == 0) | (t == steps - 1)
    return np.flatnonzero(hit & (t < steps))


def closes(t: Any, steps: int, period: Any) -> Any:
    """Whether micro-step ``t`` closes a batch (traced: ``period`` may be per slot)."""
    return (((t + 1) % period == 0) | (t == steps - 1)) & (t < steps)


def zero_accumulator(params: Any) -> Accumulator:
    """An empty accumulator for one slot's parameters."""
    return (jax.tree.map(jnp.zeros_like, params), jnp.zeros((), jnp.float32),
            jnp.zeros((), jnp.float32))


def accumulate(acc: Accumulator, grads: Any, loss: Any, rows: Any, close: Any
               ) -> tuple[Any, Any, Accumulator]:
    """Add a micro-step; return the batch's mean gradient and loss, and the next accumulator.

    ``grads`` and ``loss`` are the micro-batch's means over its ``rows``; the mean gradient
    is meaningful where ``close`` holds, and the accumulator is then emptied.
    """
    g_sum, w_sum, l_sum = acc
    g_sum = jax.tree.map(lambda a, g: a + rows * g, g_sum, grads)
    w_sum, l_sum = w_sum + rows, l_sum + rows * loss
    scale = 1.0 / jnp.maximum(w_sum, 1.0)
    mean_grads = jax.tree.map(lambda a: a * scale, g_sum)
    empty = jnp.zeros((), jnp.float32)
    nxt = (jax.tree.map(lambda a: jnp.where(close, jnp.zeros_like(a), a), g_sum),
           jnp.where(close, empty, w_sum), jnp.where(close, empty, l_sum))
    return mean_grads, l_sum * scale, nxt
