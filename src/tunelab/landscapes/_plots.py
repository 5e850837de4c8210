"""Figures of landscapes and races: surface and contour, race trajectories, runtime ECDF.

Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot global state), so they
are safe to make from any thread and never open a window. Contour levels are spaced by
quantiles of ``f - f*`` over the grid, so functions whose values span many orders of
magnitude (Beale, Goldstein-Price, Rosenbrock) still show their valleys. Functions of more
than two variables are drawn as the slice through their first global minimum along the
first two coordinates.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from tunelab._files import write_bytes
from tunelab.errors import ConfigError
from tunelab.landscapes._catalog import get_function
from tunelab.landscapes._function import Landscape
from tunelab.landscapes._metrics import RunSet, ecdf
from tunelab.landscapes._problem import Problem, problem_from

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_ecdf", "plot_landscape", "plot_race_contour", "save_figure"]


class RaceResult(Protocol):
    """What the race figures read of a race (``tunelab.landscapes.RaceResult`` has it)."""

    run_sets: list[RunSet]
    problems: list[Problem]
    settings: dict[str, Any]


def _grid(problem: Problem, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import jax
    import jax.numpy as jnp

    xs = np.linspace(problem.lower[0], problem.upper[0], resolution)
    ys = np.linspace(problem.lower[1], problem.upper[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    base = (problem.minimizers[0] if problem.minimizers.size
            else (problem.lower + problem.upper) / 2.0)
    pts = np.tile(base, (gx.size, 1))
    pts[:, 0], pts[:, 1] = gx.ravel(), gy.ravel()
    if problem.jax_fn is not None:
        with jax.enable_x64(True):
            z = np.asarray(jax.jit(jax.vmap(problem.jax_fn))(jnp.asarray(pts)))
    else:
        z = np.array([problem.numpy_fn(p) for p in pts])
    return gx, gy, z.reshape(gx.shape)


def _levels(z: np.ndarray, f_star: float, n: int = 24) -> np.ndarray:
    gap = np.maximum(z - f_star, 0.0)
    finite = gap[np.isfinite(gap)]
    levels = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, n)))
    return levels + f_star if levels.size >= 2 else np.linspace(finite.min(), finite.max() + 1,
                                                                 n) + f_star


def _contour(ax: Axes, problem: Problem, resolution: int) -> None:
    from matplotlib.colors import BoundaryNorm

    gx, gy, z = _grid(problem, resolution)
    levels = _levels(z, problem.f_star)
    # One colour per band: a linear colour scale would spend the whole map on the few
    # highest values of steep functions.
    norm = BoundaryNorm(levels, ncolors=256, extend="both")
    ax.contourf(gx, gy, z, levels=levels, cmap="viridis", norm=norm, extend="both")
    ax.contour(gx, gy, z, levels=levels, colors="k", linewidths=0.3, alpha=0.4)
    if problem.minimizers.size:
        ax.plot(problem.minimizers[:, 0], problem.minimizers[:, 1], "r*", markersize=14,
                markeredgecolor="white", label="global minimum", zorder=5)
    ax.set_xlim(problem.lower[0], problem.upper[0])
    ax.set_ylim(problem.lower[1], problem.upper[1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")


def _slice_note(problem: Problem) -> str:
    return "" if problem.dim == 2 else f" (slice x1-x2 through x*, d={problem.dim})"


def plot_landscape(function: str | Landscape | Problem, *, dim: int | None = None,
                   resolution: int = 160) -> Figure:
    """A 3-D surface and a contour map of a function, its global minima marked.

    Example:
        >>> fig = plot_landscape("beale")
        >>> len(fig.axes) >= 2
        True
    """
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the 3-D projection)

    problem = function if isinstance(function, Problem) else problem_from(
        get_function(function), dim)
    gx, gy, z = _grid(problem, resolution)
    fig = Figure(figsize=(12, 5), layout="constrained")
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    ax3.plot_surface(gx, gy, z, cmap="viridis", linewidth=0, antialiased=True, alpha=0.9)
    if problem.minimizers.size:
        ax3.scatter(problem.minimizers[:, 0], problem.minimizers[:, 1],
                    np.full(problem.minimizers.shape[0], problem.f_star), color="red", s=40,
                    depthshade=False)
    ax3.set_xlabel("x1")
    ax3.set_ylabel("x2")
    ax3.set_zlabel("f")
    ax = fig.add_subplot(1, 2, 2)
    _contour(ax, problem, resolution)
    ax.legend(loc="upper right", fontsize=8)
    fig.suptitle(f"{problem.title}: f* = {problem.f_star:.6g}{_slice_note(problem)}")
    return fig


def plot_race_contour(result: RaceResult, problem: Problem | str, *,
                      resolution: int = 140) -> Figure:
    """Contour map of one raced function with the first run of every optimizer drawn on it.

    Example:
        >>> from tunelab.landscapes import race
        >>> r = race(["booth"], ["adam", "Nelder-Mead"], starts=1, budget=30)
        >>> plot_race_contour(r, "booth").axes[0].get_title()
        'Booth: first run of each optimizer'
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    if isinstance(problem, str):
        matches = [p for p in result.problems if problem in (p.name, p.key)]
        if not matches:
            raise KeyError(f"{problem!r} was not raced; raced: "
                           f"{', '.join(p.key for p in result.problems)}")
        problem = matches[0]
    fig = Figure(figsize=(8, 7), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    _contour(ax, problem, resolution)
    sets = [rs for rs in result.run_sets if rs.function == problem.name and rs.dim == problem.dim]
    cmap = colormaps["tab20"]
    styles = {"gradient": "-", "scipy": "--", "sampler": ":"}
    for i, rs in enumerate(sets):
        path = rs.trajectory
        if path.size == 0:
            continue
        label = rs.optimizer if rs.lr is None else f"{rs.optimizer} (lr {rs.lr:g})"
        ax.plot(path[:, 0], path[:, 1], styles.get(rs.family, "-"), color=cmap(i % 20),
                linewidth=1.2, marker=".", markersize=2, label=label)
    if sets and sets[0].trajectory.size:
        start = sets[0].trajectory[0]
        ax.plot(start[0], start[1], "wo", markeredgecolor="k", markersize=8, label="start",
                zorder=6)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    ax.set_title(f"{problem.title}: first run of each optimizer{_slice_note(problem)}")
    return fig


def plot_ecdf(result: RaceResult) -> Figure:
    """Runtime ECDF: per optimizer, the fraction of (function, target) pairs reached against
    evaluations, over all runs (targets f - f* <= 1e-1, 1e-4, 1e-8).

    Example:
        >>> from tunelab.landscapes import race
        >>> r = race(["sphere"], ["adam", "random"], starts=2, budget=20)
        >>> plot_ecdf(r).axes[0].get_xlabel()
        'evaluations'
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    curves = ecdf(result.run_sets, result.settings["optimizers"])
    budget = int(result.settings["budget"])
    fig = Figure(figsize=(9, 6), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    cmap = colormaps["tab20"]
    styles = {"gradient": "-", "scipy": "--", "sampler": ":"}
    families = {rs.optimizer: rs.family for rs in result.run_sets}
    for i, (name, (x, y)) in enumerate(curves.items()):
        xs = np.concatenate([[1.0], x, [float(budget)]])
        ys = np.concatenate([[0.0], y, [y[-1] if y.size else 0.0]])
        ax.step(xs, ys, where="post", color=cmap(i % 20), linestyle=styles[families[name]],
                label=name)
    ax.set_xscale("log")
    ax.set_xlim(1, max(budget, 2))
    ax.set_ylim(0, 1)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("fraction of (function, target) pairs reached")
    n_fn = len(result.problems)
    ax.set_title(f"Runtime ECDF: {n_fn} function(s), targets 1e-1, 1e-4, 1e-8, "
                 f"{result.settings['starts']} run(s) each")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
    """Write a figure atomically; the format follows the suffix (``.png``, ``.svg``, ``.pdf``).

    Example:
        >>> import tempfile, pathlib
        >>> p = save_figure(plot_landscape("booth", resolution=20),
        ...                 pathlib.Path(tempfile.mkdtemp()) / "booth.png")
        >>> p.read_bytes()[:4]
        b'\\x89PNG'
    """
    target = Path(path)
    fmt = target.suffix.lstrip(".").lower() or "png"
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ConfigError(
            f"cannot write a figure as {target.name!r}; use one of the suffixes "
            f"{', '.join('.' + k for k in sorted(supported))}"
        )
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return write_bytes(target, buf.getvalue())
