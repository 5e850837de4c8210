"""Training a cohort's epoch in pieces of slots that fit the processor's caches.

A step of a cohort reads and writes every slot's parameters, gradients and optimizer state.
While the slots' arrays together fit in the caches, a wider cohort shares each step's fixed
costs between more slots and trains each for less; once they do not, every step streams them
from memory and a slot trains *slower* in a wide cohort than alone (``bench/cohort_width.py``
measures it per network, batch size and width; ``docs/results.md`` has the figures).

So the engine trains a cohort's epoch in *chunks*: runs of consecutive slots whose arrays
together stay within :data:`CHUNK_BYTES`, trained one after another inside the one compiled
epoch program. A cohort stays one cohort to everything that drives it (its slots, its data
order, its evaluation); only the epoch's arithmetic is split, and a chunk whose slots all
idle is skipped. Chunks keep replicate groups whole (several groups per chunk), or cut a
group into equal parts (each on the group's data order), so every slot sees the minibatches
it would see in one piece.

Example:
    >>> plan = chunking(width=12, groups=1, slot_bytes=3_000_000)  # a Dense 256-128 slot
    >>> plan.width, plan.groups, plan.count
    (2, 1, 6)
    >>> chunking(width=12, groups=1, slot_bytes=50_000).count  # a small network: one piece
    1
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

__all__ = ["CHUNK_BYTES", "Chunking", "chunking", "slot_bytes"]

#: The bytes a chunk's slots may hold together: parameters, their gradients, the non-trainable
#: arrays and the optimizer state, summed over the chunk's slots. One figure for every network:
#: timing chunk widths of 1 to 32 slots on networks of 64-64 to 256-128 units (Fashion-MNIST,
#: batch sizes 32 and 128), a smaller budget helped the 256-128 network further but cost the
#: 128-128 and 64-64 ones more; ``bench/cohort_width.py`` measures this budget's chunks against
#: whole cohorts.
CHUNK_BYTES = 8 * 2**20


@dataclass(frozen=True)
class Chunking:
    """How a cohort's epoch is split.

    Attributes:
        width: Slots per chunk (it divides the cohort's width).
        groups: Replicate groups (data orders) per chunk.
        members: Slots of one group in a chunk.
        cohort_width: The cohort's width.
    """

    width: int
    groups: int
    members: int
    cohort_width: int

    @property
    def count(self) -> int:
        """Chunks per epoch."""
        return self.cohort_width // self.width

    def seed_table(self, data_seeds: Any) -> np.ndarray:
        """The data-order seeds by chunk: ``(count, groups)``, one row per chunk.

        Example:
            >>> chunking(width=4, groups=2, slot_bytes=1, limit=1).seed_table([7, 9]).tolist()
            [[7], [7], [9], [9]]
        """
        seeds = np.asarray(data_seeds)
        per_group = self.cohort_width // len(seeds)
        if self.width < per_group:  # a group cut in parts: each part reads its group's order
            seeds = np.repeat(seeds, per_group // self.width)
        return seeds.reshape(self.count, -1)


def chunking(*, width: int, groups: int, slot_bytes: int,
             limit: int | None = None) -> Chunking:
    """The widest chunk within ``limit`` bytes (default :data:`CHUNK_BYTES`) that divides the
    cohort and keeps its groups.

    A chunk holds whole replicate groups, or an equal part of one group; it is at least one
    slot whatever its size.

    Example:
        >>> c = chunking(width=18, groups=6, slot_bytes=2_000_000)  # 6 replicates x 3 arms
        >>> c.width, c.groups, c.members, c.count
        (3, 1, 3, 6)
        >>> c = chunking(width=9, groups=1, slot_bytes=2_000_000)
        >>> c.width, c.count
        (3, 3)
        >>> chunking(width=4, groups=2, slot_bytes=100).width  # everything fits
        4
    """
    if width < 1 or groups < 1 or width % groups:
        raise ValueError(f"a cohort of width {width} cannot hold {groups} replicate groups")
    members = width // groups
    fits = max(1, (CHUNK_BYTES if limit is None else limit) // max(1, int(slot_bytes)))
    best = 1
    for c in range(1, width + 1):
        if c > fits:
            break
        if width % c == 0 and (c % members == 0 or members % c == 0):
            best = c
    return Chunking(width=best, groups=max(1, best // members),
                    members=min(best, members), cohort_width=width)


def slot_bytes(trainable: Any, non_trainable: Any, opt_state: Any, accum: Any = ()) -> int:
    """Bytes one slot's step touches: its arrays (one slot's, without a slot axis), and a
    gradient as large as its trainable arrays.

    Example:
        >>> import numpy as np
        >>> slot_bytes([np.zeros((10, 10), np.float32)], [], [np.zeros((10, 10), np.float32)])
        1200
    """
    def size(tree: Any) -> int:
        return sum(int(np.prod(a.shape)) * np.dtype(a.dtype).itemsize
                   for a in jax.tree.leaves(tree))

    return 2 * size(trainable) + size(non_trainable) + size(opt_state) + size(accum)
