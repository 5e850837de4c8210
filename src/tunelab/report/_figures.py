"""Static figures as PNG bytes, drawn with matplotlib's Agg canvas (no display, no global state).

Training curves plot the values themselves (loss, metric, learning rate per epoch), not their
square roots. A guide step's figures draw its record (:class:`tunelab.runs.StepDecision`) as the
guide wrote it.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tunelab.report._data import TrainingCurves
from tunelab.runs import BatchRow, LossLandscape, StepDecision

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["batch_size_png", "curves_figure", "curves_png", "guide_step_png", "landscape_png",
           "landscape_rows", "pareto_mask"]

# 90 dpi keeps a three-panel figure near 50 kB while staying sharp on a laptop screen.
_DPI = 90
_TRAIN, _VAL, _ACCENT = "#1f77b4", "#d62728", "#2ca02c"
_LABEL_WIDTH = 28  # characters per line of a value's label in a guide step's figure


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, list[Axes]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    # Fixed margins in inches rather than a layout engine: constrained layout measured every
    # tick label twice and took most of the report's drawing time.
    fig.subplots_adjust(left=0.9 / width, right=1 - 0.2 / width, bottom=0.5 / height,
                        top=1 - 0.55 / height, wspace=0.36)
    return fig, list(axes)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _values(history: dict[str, list[float]], key: str) -> list[float] | None:
    values = history.get(key)
    if not values:
        return None
    return [math.nan if v is None else float(v) for v in values]


def _epochs(history: dict[str, list[float]], n: int) -> list[float]:
    epochs = history.get("epoch")
    if epochs and len(epochs) == n and all(e is not None for e in epochs):
        # Keras counts epochs from 0; people count from 1.
        first = float(epochs[0])
        return [float(e) - first + 1 for e in epochs]
    return [float(i + 1) for i in range(n)]


def _plot_pair(ax: Axes, history: dict[str, list[float]], key: str, title: str) -> bool:
    drawn = False
    for name, colour, label in ((key, _TRAIN, "train"), (f"val_{key}", _VAL, "validation")):
        values = _values(history, name)
        if values is None:
            continue
        ax.plot(_epochs(history, len(values)), values, color=colour, marker=".", label=label)
        drawn = True
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(loc="best", fontsize="small")
    return drawn


def curves_png(curves: TrainingCurves) -> bytes:
    """Loss and metric (train and validation) and the learning rate, per epoch, as a PNG.

    Example:
        >>> png = curves_png(TrainingCurves("run", {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}))
        >>> png[:4]
        b'\\x89PNG'
    """
    return _png(curves_figure(curves))


def curves_figure(curves: TrainingCurves) -> Figure:
    """The matplotlib figure behind :func:`curves_png`: one panel per quantity, values as is.

    Panels without data (no metric, no learning rate recorded) are left out.

    Example:
        >>> fig = curves_figure(TrainingCurves("run", {"loss": [1.0, 0.5]}))
        >>> [ax.get_title() for ax in fig.axes]
        ['loss']
    """
    history = curves.history
    metric = curves.metric
    lr_key = "lr" if _values(history, "lr") else "learning_rate"
    panels = ["loss"]
    if metric is not None and (_values(history, metric) or _values(history, f"val_{metric}")):
        panels.append(metric)
    if _values(history, lr_key):
        panels.append(lr_key)
    fig, axes = _figure(3.6 * len(panels), 3.0, len(panels))
    for ax, panel in zip(axes, panels, strict=True):
        if panel == lr_key:
            values = _values(history, lr_key) or []
            ax.plot(_epochs(history, len(values)), values, color=_ACCENT, marker=".")
            ax.set_title("learning rate")
            ax.set_xlabel("epoch")
            if all(v > 0 for v in values if not math.isnan(v)) and len(set(values)) > 1:
                ax.set_yscale("log")
            ax.grid(alpha=0.3)
        else:
            _plot_pair(ax, history, panel, panel.replace("_", " "))
    title = curves.label if curves.value is None else f"{curves.label} (value {curves.value:.4g})"
    fig.suptitle(title)
    return fig


def guide_step_png(step: StepDecision) -> bytes:
    """Each value's mean ± std over replicates: candidate green, current red.

    Example:
        >>> from tunelab.runs import ValueStats
        >>> step = StepDecision(step="topology", current="32", candidate="64", adopted=True,
        ...                     reason="better",
        ...                     values=[ValueStats(label="32", scores=[0.95, 0.94, 0.96]),
        ...                             ValueStats(label="64", scores=[0.97, 0.97, 0.98])])
        >>> guide_step_png(step)[:4]
        b'\\x89PNG'
    """
    # Horizontal: the values' labels ("optimizer SGD · nesterov true · ...") read left of
    # their points, wrapped, instead of colliding under the axis.
    labels = [textwrap.fill(v.label, _LABEL_WIDTH) for v in step.values]
    lines = [label.count("\n") + 1 for label in labels]
    widest = max((len(line) for label in labels for line in label.splitlines()), default=1)
    left = 0.35 + 0.075 * widest
    height = 1.2 + 0.28 * sum(lines) + 0.12 * len(labels)
    fig, (ax,) = _figure(left + 4.2, height)
    fig.subplots_adjust(left=left / (left + 4.2), right=1 - 0.25 / (left + 4.2),
                        bottom=0.55 / height, top=1 - 0.4 / height)
    y = list(range(len(step.values)))[::-1]  # the first value on top, as in the table
    for yi, stats in zip(y, step.values, strict=True):
        colour = (_ACCENT if stats.label == step.candidate else
                  _VAL if stats.label == step.current else _TRAIN)
        ax.errorbar([stats.mean], [yi], xerr=[stats.std if math.isfinite(stats.std) else 0],
                    fmt="o", color=colour, capsize=4)
    ax.set_yticks(y, labels, fontsize="small")
    ax.set_ylim(-0.6, len(y) - 0.4)
    ax.set_xlabel(f"{step.metric} (mean ± std over replicates)")
    ax.set_title(step.step)
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def _times(rows: Sequence[BatchRow]) -> tuple[list[float], str]:
    # The guide weighs a batch size by the time of a whole training run (epochs x seconds per
    # epoch); rows without that time (filled by hand) are drawn per epoch.
    scored = [r for r in rows if math.isfinite(r.accuracy)]
    if scored and all(math.isfinite(r.train_seconds) for r in scored):
        return [r.train_seconds for r in rows], "seconds per training run"
    return [r.seconds_per_epoch for r in rows], "seconds per epoch"


def pareto_mask(rows: Sequence[BatchRow], direction: str = "maximize") -> list[bool]:
    """Which rows are Pareto-optimal: no other row is both faster and at least as accurate.

    Time is a training run's (``train_seconds``) when every scored row has it, else an epoch's;
    a row without a score or a time is never on the front.

    Example:
        >>> rows = [BatchRow(batch_size=32, seconds_per_epoch=1.0, accuracy=0.97),
        ...         BatchRow(batch_size=64, seconds_per_epoch=0.6, accuracy=0.96),
        ...         BatchRow(batch_size=128, seconds_per_epoch=0.7, accuracy=0.95)]
        >>> pareto_mask(rows)
        [True, True, False]
    """
    sign = 1.0 if direction == "maximize" else -1.0
    times, _ = _times(rows)
    points = [(sign * r.accuracy, t) for r, t in zip(rows, times, strict=True)]
    mask = []
    for score, time in points:
        finite = math.isfinite(score) and math.isfinite(time)
        dominated = any(s >= score and t <= time and (s > score or t < time)
                        for s, t in points if math.isfinite(s) and math.isfinite(t))
        mask.append(finite and not dominated)
    return mask


def batch_front(rows: Sequence[BatchRow], direction: str) -> list[bool]:
    """The guide's own Pareto marks when it wrote them, else :func:`pareto_mask`."""
    if any(r.pareto for r in rows):
        return [r.pareto for r in rows]
    return pareto_mask(rows, direction)


def batch_size_png(rows: Sequence[BatchRow], mask: Sequence[bool] | None = None) -> bytes:
    """Accuracy against training time for each batch size, the Pareto front joined.

    Args:
        rows: The batch-size step's table.
        mask: Which rows are on the Pareto front; by default the guide's marks (``pareto``),
            else :func:`pareto_mask`.

    Example:
        >>> batch_size_png([BatchRow(batch_size=32, seconds_per_epoch=1.0, accuracy=0.97),
        ...                 BatchRow(batch_size=64, seconds_per_epoch=0.6, accuracy=0.96)])[:4]
        b'\\x89PNG'
    """
    from matplotlib.ticker import MaxNLocator

    fig, (ax,) = _figure(5.0, 3.4)
    on_front = list(mask) if mask is not None else batch_front(rows, "maximize")
    times, unit = _times(rows)
    for row, time, optimal in zip(rows, times, on_front, strict=True):
        std = row.accuracy_std if math.isfinite(row.accuracy_std) else 0.0
        ax.errorbar([time], [row.accuracy], yerr=[std],
                    fmt="o", color=_ACCENT if optimal else _TRAIN, capsize=3)
        ax.annotate(str(row.batch_size), (time, row.accuracy),
                    textcoords="offset points", xytext=(5, 4), fontsize="small")
    front = sorted((t, r.accuracy) for r, t, m in zip(rows, times, on_front, strict=True) if m)
    if len(front) > 1:
        ax.plot([t for t, _ in front], [a for _, a in front],
                color=_ACCENT, linestyle="--", label="Pareto front")
        ax.legend(loc="lower right", fontsize="small")
    ax.margins(x=0.12, y=0.1)  # room for the batch-size labels at the ends
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel(unit)
    ax.set_ylabel("accuracy")
    ax.set_title("batch size: accuracy against training time")
    ax.grid(alpha=0.3)
    return _png(fig)


def landscape_rows(record: LossLandscape) -> list[dict[str, Any]]:
    """Per split: the loss at the trained weights, the lowest and highest loss on the grid,
    and the mean rise of the loss over the grid (how sharp the minimum is)."""
    rows = []
    for split, values in record.splits.items():
        loss = np.asarray(values.loss, dtype=np.float64)
        finite = loss[np.isfinite(loss)]
        if record.dims == 1:
            centre = float(np.interp(0.0, record.alphas, loss)) if finite.size else math.nan
        else:
            grid = loss.reshape(len(record.alphas), len(record.betas))
            i = int(np.argmin(np.abs(np.asarray(record.alphas))))
            j = int(np.argmin(np.abs(np.asarray(record.betas))))
            centre = float(grid[i, j])
        rows.append({"split": split, "samples": values.samples, "centre": centre,
                     "low": float(finite.min()) if finite.size else math.nan,
                     "high": float(finite.max()) if finite.size else math.nan,
                     "rise": float(finite.mean() - centre) if finite.size else math.nan})
    return rows


def landscape_png(record: LossLandscape) -> bytes:
    """A loss landscape record as a PNG: 1-D, the loss (training solid, validation dashed)
    along the direction; 2-D, contour maps of the training and validation loss.

    Example:
        >>> from tunelab.runs import LandscapeSplit
        >>> rec = LossLandscape(model="model.keras", dims=1, span=1.0, points=3, seed=0,
        ...     alphas=[-1.0, 0.0, 1.0], splits={"train": LandscapeSplit(loss=[2, 1, 2])})
        >>> landscape_png(rec)[:4]
        b'\\x89PNG'
    """
    splits = list(record.splits.items())
    if record.dims == 1:
        with_metric = any(v.metric for _, v in splits)
        fig, axes = _figure(9.0 if with_metric else 5.0, 3.2, 2 if with_metric else 1)
        for split, values in splits:
            colour = _TRAIN if split == "train" else _VAL
            style = "-" if split == "train" else "--"
            axes[0].plot(record.alphas, values.loss, style, color=colour, label=split)
            if with_metric and values.metric:
                axes[1].plot(record.alphas, values.metric, style, color=colour, label=split)
        axes[0].set_title("loss")
        if with_metric:
            axes[1].set_title(record.metric or "metric")
        for ax in axes:
            ax.axvline(0.0, color="0.6", lw=0.8)
            ax.set_xlabel("step along a filter-normalised direction")
            ax.grid(alpha=0.3)
            ax.legend(loc="best", fontsize="small")
        return _png(fig)
    fig, axes = _figure(4.2 * len(splits), 3.6, len(splits))
    gx, gy = np.meshgrid(np.asarray(record.alphas), np.asarray(record.betas), indexing="ij")
    for ax, (split, values) in zip(axes, splits, strict=True):
        z = np.asarray(values.loss, dtype=np.float64).reshape(gx.shape)
        finite = z[np.isfinite(z)]
        levels = np.unique(np.quantile(finite, np.linspace(0, 1, 20))) if finite.size else 10
        ax.contourf(gx, gy, z, levels=levels if np.size(levels) > 1 else 10, cmap="viridis")
        ax.plot([0.0], [0.0], "r*", markersize=12, markeredgecolor="white")
        ax.set_title(f"{split} loss")
        ax.set_xlabel("direction 1")
        ax.set_ylabel("direction 2")
    return _png(fig)
