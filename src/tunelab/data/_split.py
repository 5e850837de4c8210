"""Seeded, stratified sampling: validation and test splits, and ``limit`` subsamples."""

from __future__ import annotations

import zlib

import numpy as np

from tunelab.errors import DataError

__all__ = ["split_indices", "subsample_indices"]


def _take(y: np.ndarray | None, n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct indices of ``range(n)``; per class in proportion when ``y`` is given."""
    if y is None:
        return np.sort(rng.permutation(n)[:count])
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    quota = counts * (count / n)
    alloc = np.floor(quota).astype(np.int64)
    short = count - int(alloc.sum())
    if short:
        # Largest remainders get the leftover samples; ties are broken at random, not by
        # class order, so no class is always favoured.
        order = rng.permutation(len(classes))
        frac = (quota - alloc)[order]
        alloc[order[np.argsort(-frac, kind="stable")[:short]]] += 1
    # One permutation, then the first `alloc[k]` members of each class in that order.
    perm = rng.permutation(n)
    cls_of_perm = inverse[perm]
    rank = np.empty(n, dtype=np.int64)
    by_class = np.argsort(cls_of_perm, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank[by_class] = np.arange(n) - np.repeat(starts, counts)
    chosen = perm[rank < alloc[cls_of_perm]]
    return np.sort(chosen)


def _rng(seed: int, stream: str) -> np.random.Generator:
    # A separate stream per use: changing the test split never reshuffles the validation one.
    return np.random.default_rng([seed % 2**63, zlib.crc32(stream.encode())])


def split_indices(
    y: np.ndarray, fraction: float, seed: int, *, stratify: bool = True, stream: str = "val"
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(len(y))`` into ``(kept, held_out)`` with ``fraction`` held out.

    Args:
        y: the labels (class indices when ``stratify``).
        fraction: share held out, ``0 < fraction < 1``; rounded to whole samples, at least 1.
        seed: the same seed gives the same split.
        stratify: keep every class's share in both parts (classification).
        stream: names the use (``"val"``, ``"test"``) so each use draws differently.

    Example:
        >>> import numpy as np
        >>> y = np.array([0] * 80 + [1] * 20)
        >>> kept, held = split_indices(y, 0.25, seed=0)
        >>> len(kept), len(held), int((y[held] == 1).sum())
        (75, 25, 5)
    """
    n = len(y)
    if not 0.0 < fraction < 1.0:
        raise DataError(f"a split fraction must satisfy 0 < fraction < 1, got {fraction}")
    count = int(round(n * fraction))
    if n < 2:
        raise DataError(f"cannot split {n} sample(s) into two parts; the data set is too small")
    count = min(max(count, 1), n - 1)
    held = _take(y if stratify else None, n, count, _rng(seed, stream))
    mask = np.ones(n, dtype=bool)
    mask[held] = False
    return np.flatnonzero(mask), held


def subsample_indices(
    y: np.ndarray, limit: int, seed: int, *, stratify: bool = True
) -> np.ndarray:
    """At most ``limit`` indices of ``range(len(y))``, keeping class shares when ``stratify``.

    Example:
        >>> import numpy as np
        >>> y = np.repeat(np.arange(10), 100)
        >>> idx = subsample_indices(y, 50, seed=1)
        >>> len(idx), np.bincount(y[idx]).tolist()
        (50, [5, 5, 5, 5, 5, 5, 5, 5, 5, 5])
    """
    n = len(y)
    if limit < 1:
        raise DataError(f"limit must be a positive number of samples, got {limit}")
    if limit >= n:
        return np.arange(n)
    return _take(y if stratify else None, n, limit, _rng(seed, "limit"))
