"""The loss landscape of a trained network: filter-normalised random directions, the grid of
points around the trained weights, and its figures.

The tutorial says the Beale landscape "is analogous to the loss surface of a neural network".
This draws the real one, as Li et al. ("Visualizing the Loss Landscape of Neural Nets",
NeurIPS 2018) do: pick a random direction ``d`` with the shapes of the weights ``w``, rescale
each filter of ``d`` (for a ``Dense`` kernel, the weights into one unit: a column) to the norm
of the same filter of ``w``, and evaluate the loss at ``w + a d`` (1-D) or ``w + a d1 + b d2``
(2-D) on a grid of ``a, b`` in ``[-span, span]``. Biases and other 1-D arrays get a zero
direction (Li et al.'s default, "ignore biasbn"). Filter normalisation removes the scale
invariance of ReLU networks, so landscapes of two networks are comparable: the sharp and the
flat minima of the tutorial's batch 7 and batch 784 runs can share a figure.

This module is pure NumPy and matplotlib: it makes directions and weight sets and draws
:class:`~tunelab.runs.LossLandscape` records. The values are computed by the training engine,
many grid points at once as the slots of one cohort (``tunelab.loss_landscape``).

Example:
    >>> import numpy as np
    >>> w = [np.ones((3, 2)), np.zeros(2)]
    >>> d = filter_normalized_direction(w, np.random.default_rng(0))
    >>> np.linalg.norm(d[0], axis=0).round(6).tolist(), d[1].tolist()
    ([1.732051, 1.732051], [0.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from tunelab.errors import ConfigError
from tunelab.runs import LossLandscape

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "filter_normalized_direction",
    "landscape_grid",
    "landscape_points",
    "plot_loss_landscape",
]


def filter_normalized_direction(weights: Sequence[np.ndarray], rng: np.random.Generator, *,
                                ignore_1d: bool = True) -> list[np.ndarray]:
    """A random Gaussian direction with each filter scaled to its weights' filter norm.

    A filter is a slice along the last axis (a ``Dense`` kernel's column: one unit's incoming
    weights; a convolution's output channel). 1-D arrays (biases, normalisation scales) get a
    zero direction when ``ignore_1d``, else are scaled as a whole.

    Example:
        >>> import numpy as np
        >>> w = [np.arange(6.0).reshape(2, 3)]
        >>> d = filter_normalized_direction(w, np.random.default_rng(1))
        >>> bool(np.allclose(np.linalg.norm(d[0], axis=0), np.linalg.norm(w[0], axis=0)))
        True
    """
    out = []
    for w in weights:
        arr = np.asarray(w, dtype=np.float64)
        d = rng.standard_normal(arr.shape)
        if arr.ndim <= 1:
            if ignore_1d:
                d = np.zeros_like(arr)
            else:
                d *= float(np.linalg.norm(arr)) / max(float(np.linalg.norm(d)), 1e-12)
        else:
            axes = tuple(range(arr.ndim - 1))
            w_norm = np.sqrt(np.sum(arr**2, axis=axes, keepdims=True))
            d_norm = np.sqrt(np.sum(d**2, axis=axes, keepdims=True))
            d *= w_norm / np.maximum(d_norm, 1e-12)
        out.append(d.astype(np.asarray(w).dtype if np.asarray(w).dtype.kind == "f"
                            else np.float32))
    return out


def landscape_grid(span: float, points: int) -> np.ndarray:
    """``points`` coordinates from ``-span`` to ``span`` (0 among them when ``points`` is odd).

    Raises:
        ConfigError: ``span`` is not positive or ``points`` is below 3.

    Example:
        >>> landscape_grid(1.0, 5).tolist()
        [-1.0, -0.5, 0.0, 0.5, 1.0]
    """
    if not span > 0:
        raise ConfigError(f"--span must be > 0, got {span}")
    if points < 3:
        raise ConfigError(f"--points must be at least 3, got {points}")
    return np.linspace(-span, span, points)


def landscape_points(weights: Sequence[np.ndarray], directions: Sequence[Sequence[np.ndarray]],
                     coords: np.ndarray) -> Iterator[list[np.ndarray]]:
    """The weights at every grid point: ``w + sum_i c_i d_i`` for each row ``c`` of
    ``coords`` (shape ``(points, len(directions))``), in row order.

    Example:
        >>> import numpy as np
        >>> pts = list(landscape_points([np.zeros(2)], [[np.ones(2)]], np.array([[-1.], [2.]])))
        >>> [p[0].tolist() for p in pts]
        [[-1.0, -1.0], [2.0, 2.0]]
    """
    base = [np.asarray(w) for w in weights]
    for row in np.atleast_2d(coords):
        point = []
        for i, w in enumerate(base):
            step = sum(float(c) * np.asarray(d[i], dtype=np.float64)
                       for c, d in zip(row, directions, strict=True))
            point.append((w + step).astype(w.dtype))
        yield point


_SPLIT_STYLE = {"train": ("tab:red", "train"), "validation": ("tab:blue", "validation")}


def _values(record: LossLandscape, split: str, what: str = "loss") -> np.ndarray:
    values = getattr(record.splits[split], what)
    arr = np.asarray(values, dtype=np.float64)
    if record.dims == 2:
        return arr.reshape(len(record.alphas), len(record.betas))
    return arr


def plot_loss_landscape(records: Sequence[LossLandscape], labels: Sequence[str] | None = None,
                        *, log: bool = False) -> Figure:
    """Draw loss landscapes: 1-D curves on one axis (training solid, validation dashed; the
    metric below), or per model a 3-D surface and a contour map of the training loss and a
    contour map of the validation loss, in the style of ``tunelab landscape show``.

    Args:
        records: One landscape per model, all 1-D or all 2-D.
        labels: A name per model (default: each record's ``model``).
        log: Draw the loss on a log scale (1-D) or its logarithm (2-D).

    Raises:
        ConfigError: No records, or 1-D and 2-D records mixed.

    Example:
        >>> from tunelab.runs import LandscapeSplit
        >>> rec = LossLandscape(model="m", dims=1, span=1, points=3, seed=0,
        ...     alphas=[-1, 0, 1], splits={"train": LandscapeSplit(loss=[2, 1, 2])})
        >>> len(plot_loss_landscape([rec]).axes)
        1
    """
    from matplotlib.figure import Figure

    if not records:
        raise ConfigError("nothing to draw: give at least one loss landscape")
    dims = {r.dims for r in records}
    if len(dims) != 1:
        raise ConfigError("cannot draw 1-D and 2-D loss landscapes on one figure; give the"
                          " same --dims for every run")
    names = list(labels) if labels is not None else [r.model for r in records]
    if dims == {1}:
        with_metric = any(r.metric and any(s.metric for s in r.splits.values()) for r in records)
        fig = Figure(figsize=(9, 7 if with_metric else 4.5), layout="constrained")
        axes = fig.subplots(2 if with_metric else 1, 1, sharex=True, squeeze=False)[:, 0]
        colours = [f"C{i}" for i in range(10)]
        for i, (rec, name) in enumerate(zip(records, names, strict=True)):
            for split, values in rec.splits.items():
                colour, what = _SPLIT_STYLE.get(split, ("k", split))
                colour = colour if len(records) == 1 else colours[i % 10]
                style = "-" if split == "train" else "--"
                axes[0].plot(rec.alphas, values.loss, style, color=colour,
                             label=f"{name}: {what}" if len(records) > 1 else what)
                if with_metric and values.metric:
                    axes[1].plot(rec.alphas, values.metric, style, color=colour)
        axes[0].axvline(0.0, color="0.6", lw=0.8)
        axes[0].set_ylabel("loss")
        if log:
            axes[0].set_yscale("log")
        axes[0].legend(fontsize=8)
        if with_metric:
            axes[1].axvline(0.0, color="0.6", lw=0.8)
            axes[1].set_ylabel(records[0].metric or "metric")
        axes[-1].set_xlabel("step along a filter-normalised direction (0: the trained weights)")
        title = "loss along one filter-normalised random direction"
        fig.suptitle(title + (f": {names[0]}" if len(records) == 1 else ""))
        return fig
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the 3-D projection)

    from tunelab.landscapes._plots import _levels

    fig = Figure(figsize=(15, 4.6 * len(records)), layout="constrained")
    for i, (rec, name) in enumerate(zip(records, names, strict=True)):
        gx, gy = np.meshgrid(np.asarray(rec.alphas), np.asarray(rec.betas), indexing="ij")
        train = _values(rec, "train")
        shown = np.log10(np.maximum(train, 1e-12)) if log else train
        ax3 = fig.add_subplot(len(records), 3, 3 * i + 1, projection="3d")
        ax3.plot_surface(gx, gy, shown, cmap="viridis", linewidth=0, antialiased=True,
                         alpha=0.9)
        ax3.set_xlabel("direction 1")
        ax3.set_ylabel("direction 2")
        ax3.set_zlabel("log10 loss" if log else "loss")
        ax3.set_title(f"{name}: training loss")
        for j, split in enumerate(("train", "validation")):
            if split not in rec.splits:
                continue
            ax = fig.add_subplot(len(records), 3, 3 * i + 2 + j)
            z = _values(rec, split)
            finite = z[np.isfinite(z)]
            low = float(finite.min()) if finite.size else 0.0
            levels = _levels(np.where(np.isfinite(z), z, np.nan), low)
            ax.contourf(gx, gy, z, levels=levels, cmap="viridis", extend="both")
            ax.contour(gx, gy, z, levels=levels, colors="k", linewidths=0.3, alpha=0.4)
            ax.plot([0.0], [0.0], "r*", markersize=14, markeredgecolor="white",
                    label="trained weights")
            ax.set_xlabel("direction 1")
            ax.set_ylabel("direction 2")
            ax.set_title(f"{name}: {_SPLIT_STYLE.get(split, ('', split))[1]} loss")
            ax.legend(loc="upper right", fontsize=8)
    fig.suptitle("loss around the trained weights along two filter-normalised random"
                 " directions")
    return fig
