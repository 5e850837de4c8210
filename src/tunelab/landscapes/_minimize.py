"""The tutorial's ``scipy.optimize.minimize`` on a test function, with exact JAX gradients.

The tutorial calls ``minimize(objective, x0, bounds=bnds)``: L-BFGS-B with gradients from
finite differences. Here the gradient comes from JAX (exact, one evaluation instead of three),
and everything else is scipy's default. On Beale from (4, 4) within its domain it reaches
(3, 0.5) with f about 2e-12, so scipy's default tolerances are kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.optimize

from tunelab.errors import ConfigError
from tunelab.landscapes._catalog import get_function
from tunelab.landscapes._function import Landscape, as_point, check_bounds, normalize_name
from tunelab.landscapes._problem import problem_from

__all__ = ["BOUNDED_METHODS", "GRADIENT_METHODS", "METHODS", "MinimizeResult", "minimize"]

#: scipy methods offered (those that need no Hessian).
METHODS = ("L-BFGS-B", "BFGS", "CG", "Nelder-Mead", "Powell", "TNC", "SLSQP", "COBYLA",
           "COBYQA", "trust-constr")
#: Methods that use the gradient (given exactly by JAX).
GRADIENT_METHODS = frozenset({"L-BFGS-B", "BFGS", "CG", "TNC", "SLSQP", "trust-constr"})
#: Methods that accept bounds.
BOUNDED_METHODS = frozenset({"L-BFGS-B", "Nelder-Mead", "Powell", "TNC", "SLSQP", "COBYLA",
                             "COBYQA", "trust-constr"})


@dataclass(frozen=True)
class MinimizeResult:
    """What one ``scipy.optimize.minimize`` run found.

    Attributes:
        function: function name.
        method: scipy method.
        x0: the start.
        x: the point found.
        fun: f(x).
        f_star: the function's global minimum, for comparison.
        nit: iterations (``None`` if the method does not count them).
        nfev: function evaluations (each with its gradient, for gradient methods).
        success: scipy's verdict.
        message: scipy's message.
        bounds: the box searched, or ``None``.
    """

    function: str
    method: str
    x0: tuple[float, ...]
    x: tuple[float, ...]
    fun: float
    f_star: float
    nit: int | None
    nfev: int
    success: bool
    message: str
    bounds: tuple[tuple[float, float], ...] | None

    @property
    def error(self) -> float:
        """``f(x) - f*``."""
        return self.fun - self.f_star

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return {**asdict(self), "error": self.error}

    def _repr_html_(self) -> str:
        """The run as a small table (what ``tunelab landscape minimize`` prints)."""
        import html

        rows = [("x", "(" + ", ".join(f"{v:.10g}" for v in self.x) + ")"),
                ("f(x)", f"{self.fun:.6e}"), ("f*", f"{self.f_star:.10g}"),
                ("f(x) - f*", f"{self.error:.3e}"),
                ("iterations", "-" if self.nit is None else str(self.nit)),
                ("evaluations", str(self.nfev)), ("success", str(self.success)),
                ("message", self.message)]
        start = ", ".join(f"{v:g}" for v in self.x0)
        body = "".join(f"<tr><td>{k}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return (f"<div><b>{html.escape(self.method)} on {html.escape(self.function)} from"
                f" ({start}){' within its domain' if self.bounds else ''}</b>"
                f"<table>{body}</table></div>")


def _method(name: str) -> str:
    lookup = {normalize_name(m): m for m in METHODS}
    lookup.update({"lbfgsb": "L-BFGS-B", "neldermead": "Nelder-Mead"})
    key = normalize_name(name)
    if key not in lookup:
        raise ConfigError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}")
    return lookup[key]


def minimize(
    function: str | Landscape,
    x0: Sequence[float] | np.ndarray,
    *,
    method: str = "L-BFGS-B",
    bounded: bool = False,
    bounds: Sequence[tuple[float, float]] | None = None,
    options: Mapping[str, Any] | None = None,
) -> MinimizeResult:
    """Minimise a test function with ``scipy.optimize.minimize``, as the tutorial does.

    Args:
        function: a name from :data:`FUNCTIONS` or a :class:`Landscape`.
        x0: the start; its length is the dimension of an n-dimensional function.
        method: a scipy method from :data:`METHODS` (any case).
        bounded: search within the function's domain.
        bounds: search within these ``(low, high)`` pairs instead (implies ``bounded``).
        options: passed to scipy as ``options=`` (tolerances, ``maxiter``...).

    Raises:
        ConfigError: unknown function or method, ``x0`` of the wrong length or outside the
            bounds, bounds with ``low > high``, or bounds given to a method that takes none.

    Example:
        >>> r = minimize("beale", [4, 4], bounded=True)
        >>> [round(v, 4) for v in r.x], r.fun < 1e-10, r.success
        ([3.0, 0.5], True, True)
    """
    fn = get_function(function)
    m = _method(method)
    start = as_point(fn, x0)
    problem = problem_from(fn, dim=start.size)
    box: np.ndarray | None = None
    if bounds is not None:
        pairs = [tuple(map(float, b)) for b in bounds]
        if len(pairs) != problem.dim or any(len(p) != 2 for p in pairs):
            raise ConfigError(
                f"bounds need one (low, high) pair per coordinate: {problem.dim} pair(s), "
                f"got {list(bounds)!r}"
            )
        check_bounds([(p[0], p[1]) for p in pairs], what="bounds")
        box = np.asarray(pairs, dtype=np.float64)
    elif bounded:
        box = np.stack([problem.lower, problem.upper], axis=1)
    if box is not None:
        if m not in BOUNDED_METHODS:
            raise ConfigError(
                f"method {m} does not accept bounds; use one of "
                f"{', '.join(sorted(BOUNDED_METHODS))}, or search without bounds"
            )
        outside = np.flatnonzero((start < box[:, 0]) | (start > box[:, 1]))
        if outside.size:
            i = int(outside[0])
            raise ConfigError(
                f"x0 coordinate {i + 1} = {start[i]} lies outside the bounds "
                f"[{box[i, 0]}, {box[i, 1]}]; start inside them"
            )
    if m in GRADIENT_METHODS:
        res = scipy.optimize.minimize(problem.value_and_grad, start, method=m, jac=True,
                                      bounds=box, options=dict(options or {}))
    else:
        res = scipy.optimize.minimize(problem.numpy_fn, start, method=m, bounds=box,
                                      options=dict(options or {}))
    nit = getattr(res, "nit", None)
    return MinimizeResult(
        function=fn.name,
        method=m,
        x0=tuple(float(v) for v in start),
        x=tuple(float(v) for v in np.atleast_1d(res.x)),
        fun=float(res.fun),
        f_star=problem.f_star,
        nit=None if nit is None else int(nit),
        nfev=int(res.nfev),
        success=bool(res.success),
        message=str(res.message),
        bounds=None if box is None else tuple((float(a), float(b)) for a, b in box),
    )
