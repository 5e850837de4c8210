"""A problem is one function in one dimension, the unit a race runs optimizers on.

Catalogue functions carry a JAX function (so gradients and vectorised runs work); problems
from other suites (COCO's BBOB) carry only a NumPy-callable function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np

from tunelab.landscapes._function import Landscape

__all__ = ["Problem", "problem_from"]


@dataclass(frozen=True, eq=False)
class Problem:
    """One function in one dimension, with its domain and global minimum.

    Attributes:
        name: function name (``"beale"``, ``"bbob-f01"``).
        title: display name.
        dim: number of variables.
        lower, upper: search domain, arrays of shape ``(dim,)``.
        f_star: the global minimum value.
        minimizers: known global minimisers, shape ``(m, dim)`` (may be empty).
        jax_fn: pure JAX function of one point, or ``None`` (no gradients, no vectorised runs).
        numpy_fn: the function on a NumPy vector, returning a float.
        suite: ``"catalog"`` or ``"bbob"``.

    Example:
        >>> from tunelab.landscapes import get_function
        >>> p = problem_from(get_function("sphere"), dim=3)
        >>> p.dim, p.f_star, p.numpy_fn(np.ones(3))
        (3, 0.0, 3.0)
    """

    name: str
    title: str
    dim: int
    lower: np.ndarray
    upper: np.ndarray
    f_star: float
    minimizers: np.ndarray
    jax_fn: Callable[[jax.Array], jax.Array] | None
    numpy_fn: Callable[[np.ndarray], float] = field(repr=False)
    suite: str = "catalog"

    @property
    def key(self) -> str:
        """``name`` and dimension, e.g. ``"rastrigin-d2"``: unique within a race."""
        return f"{self.name}-d{self.dim}"

    @cached_property
    def value_and_grad(self) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """``x -> (f(x), grad f(x))`` in double precision, compiled once per problem."""
        if self.jax_fn is None:
            raise ValueError(f"{self.title} has no JAX function, so no exact gradient")
        with jax.enable_x64(True):
            compiled = jax.jit(jax.value_and_grad(self.jax_fn))

        def call(x: np.ndarray) -> tuple[float, np.ndarray]:
            with jax.enable_x64(True):
                f, g = compiled(jnp.asarray(x, dtype=jnp.float64))
                return float(f), np.asarray(g, dtype=np.float64)

        return call

    def warm_up(self) -> None:
        """Compile the JAX-backed functions now, so that timed runs do not pay for it."""
        if self.jax_fn is not None:
            middle = (self.lower + self.upper) / 2.0
            self.numpy_fn(middle)
            self.value_and_grad(middle)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` points drawn uniformly in the domain, shape ``(n, dim)``."""
        return rng.uniform(self.lower, self.upper, size=(n, self.dim))


def problem_from(function: Landscape, dim: int | None = None) -> Problem:
    """The problem of a catalogue function in dimension ``dim`` (its own, or 2 if n-dimensional).

    Example:
        >>> from tunelab.landscapes import get_function
        >>> problem_from(get_function("beale")).key
        'beale-d2'
    """
    d = function.resolve_dim(dim)
    bounds = function.bounds(d)
    with jax.enable_x64(True):
        compiled = jax.jit(function.fn)

    def numpy_fn(x: np.ndarray) -> float:
        with jax.enable_x64(True):
            return float(compiled(jnp.asarray(x, dtype=jnp.float64)))

    return Problem(
        name=function.name,
        title=function.title,
        dim=d,
        lower=bounds[:, 0].copy(),
        upper=bounds[:, 1].copy(),
        f_star=function.f_star(d),
        minimizers=function.minimizers(d),
        jax_fn=function.fn,
        numpy_fn=numpy_fn,
    )
