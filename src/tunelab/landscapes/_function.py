"""A test function as plain data: a pure JAX function, its domain, its global minima and f*.

Functions defined for any number of variables (Rastrigin, Ackley, Sphere, Rosenbrock,
Styblinski-Tang) store their domain and minimiser per coordinate; :meth:`Landscape.bounds`,
:meth:`Landscape.minimizers` and :meth:`Landscape.f_star` expand them for a dimension.
Values are computed in double precision: the race measures targets down to 1e-8 and some
functions (Eggholder, Cross-in-tray) need more range or digits than float32 has.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from tunelab.errors import ConfigError

__all__ = ["Landscape", "as_point", "normalize_name"]

Array = jax.Array


def normalize_name(name: str) -> str:
    """Canonical spelling of a function or optimizer name: lower case, words joined by '-'.

    Example:
        >>> normalize_name("Bukin N.6"), normalize_name("three_hump camel")
        ('bukin-n6', 'three-hump-camel')
    """
    text = name.strip().lower().replace(".", "")
    return re.sub(r"[\s_\-]+", "-", text)


@dataclass(frozen=True)
class Landscape:
    """One optimisation test function.

    Attributes:
        name: registry key, e.g. ``"beale"``.
        title: display name, e.g. ``"Beale"``.
        fn: pure JAX function of one point ``x`` of shape ``(d,)``, returning a scalar.
        dim: number of variables, or ``None`` when the function is defined for any number.
        lower, upper: search domain per coordinate (one entry per coordinate, or a single
            entry for an n-dimensional function, repeated for every coordinate).
        minima: every global minimiser (for an n-dimensional function: one coordinate value,
            repeated).
        fmin: the global minimum value; for an n-dimensional function whose minimum grows
            with n (``fmin_per_dim``), the value per coordinate.
        formula: the formula, as text.
        smooth: whether the function is differentiable at its minima.
        fmin_per_dim: ``f*`` is ``fmin * dim`` (Styblinski-Tang).

    Example:
        >>> from tunelab.landscapes import get_function
        >>> beale = get_function("beale")
        >>> beale.dim, beale.f_star(), beale.value([3.0, 0.5])
        (2, 0.0, 0.0)
    """

    name: str
    title: str
    fn: Callable[[Array], Array]
    dim: int | None
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    minima: tuple[tuple[float, ...], ...]
    fmin: float
    formula: str
    smooth: bool = True
    fmin_per_dim: bool = False

    def __post_init__(self) -> None:
        width = 1 if self.dim is None else self.dim
        if len(self.lower) != width or len(self.upper) != width:
            raise ConfigError(
                f"{self.name}: the domain needs {width} lower and upper bound(s), "
                f"got {len(self.lower)} and {len(self.upper)}"
            )
        check_bounds(list(zip(self.lower, self.upper, strict=True)), what=self.name)
        for m in self.minima:
            if len(m) != width:
                raise ConfigError(f"{self.name}: minimum {m} needs {width} coordinate(s)")

    def resolve_dim(self, dim: int | None = None) -> int:
        """The dimension to use: the function's own, or ``dim`` (default 2) if it has none.

        Raises:
            ConfigError: ``dim`` is given and differs from a fixed dimension, or is below 1
                (2 for Rosenbrock, which couples neighbouring coordinates).
        """
        if self.dim is not None:
            if dim is not None and dim != self.dim:
                raise ConfigError(
                    f"{self.title} is defined in {self.dim} dimensions only, got dimension {dim}"
                )
            return self.dim
        d = 2 if dim is None else int(dim)
        least = 2 if self.name == "rosenbrock" else 1
        if d < least:
            raise ConfigError(f"{self.title} needs dimension >= {least}, got {d}")
        return d

    def bounds(self, dim: int | None = None) -> np.ndarray:
        """Search domain as an array of shape ``(d, 2)``: one ``(low, high)`` row per coordinate."""
        d = self.resolve_dim(dim)
        lo = np.asarray(self.lower, dtype=np.float64)
        hi = np.asarray(self.upper, dtype=np.float64)
        if self.dim is None:
            lo, hi = np.full(d, lo[0]), np.full(d, hi[0])
        return np.stack([lo, hi], axis=1)

    def minimizers(self, dim: int | None = None) -> np.ndarray:
        """Every global minimiser, as an array of shape ``(m, d)``."""
        d = self.resolve_dim(dim)
        pts = np.asarray(self.minima, dtype=np.float64)
        if self.dim is None:
            pts = np.repeat(pts, d, axis=1)
        return pts

    def f_star(self, dim: int | None = None) -> float:
        """The global minimum value in dimension ``dim``."""
        d = self.resolve_dim(dim)
        return float(self.fmin * d) if self.fmin_per_dim else float(self.fmin)

    def value(self, x: Sequence[float] | np.ndarray) -> float:
        """``f(x)`` in double precision, for one point given as numbers.

        Raises:
            ConfigError: ``x`` has the wrong number of coordinates.
        """
        point = as_point(self, x)
        with jax.enable_x64(True):
            return float(self.fn(jnp.asarray(point, dtype=jnp.float64)))

    def __call__(self, x: Array) -> Array:
        return self.fn(x)


def check_bounds(bounds: Sequence[tuple[float, float]], *, what: str) -> None:
    """Raise :class:`ConfigError` unless every bound is a finite pair with ``low <= high``.

    Example:
        >>> check_bounds([(0.0, 1.0)], what="bounds")
    """
    for i, (lo, hi) in enumerate(bounds):
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ConfigError(f"{what}: bound {i} must be finite, got low={lo}, high={hi}")
        if lo > hi:
            raise ConfigError(
                f"{what}: `low <= high` must hold for bound {i} (coordinate x{i + 1}), "
                f"got low={lo}, high={hi}; swap them"
            )


def as_point(function: Landscape, x: Sequence[float] | np.ndarray, *, dim: int | None = None
             ) -> np.ndarray:
    """``x`` as a float64 vector of the function's dimension, or a clear error.

    For an n-dimensional function the length of ``x`` is its dimension (``dim`` if given).

    Example:
        >>> from tunelab.landscapes import get_function
        >>> as_point(get_function("beale"), [4, 4])
        array([4., 4.])
    """
    try:
        point = np.asarray(x, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"x0 must be numbers, got {x!r}") from err
    expected = function.dim if function.dim is not None else dim
    if expected is not None and point.size != expected:
        raise ConfigError(
            f"x0 has {point.size} coordinate(s) but {function.title} takes {expected}; "
            f"give {expected} comma-separated numbers, e.g. --x0 "
            + ",".join(["1"] * expected)
        )
    function.resolve_dim(point.size if function.dim is None else None)
    if not np.all(np.isfinite(point)):
        raise ConfigError(f"x0 must be finite, got {point.tolist()}")
    return point
