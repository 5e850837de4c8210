"""The learning-rate range test: an exponential sweep of the rate, stopped when the loss blows up.

Starting from the configuration's initial weights, the rate grows by the same factor at every
minibatch, from ``start_lr`` to ``end_lr``. The loss (averaged over ``seeds`` copies trained at
once, then smoothed with an exponential moving average) first falls, then rises; the sweep
ends at the first step whose smoothed loss exceeds ``stop_factor`` (4) times the best so far,
or is not finite. The suggested rate is the rate at the lowest smoothed loss divided by 10:
the loss still falls fast there, well below where training becomes unstable.

The sweep is an ordinary cohort of the engine, sent through the executor like every other
training: the copies are its slots, the rate follows the per-step ``range_test`` schedule
inside the optimizer state (``lr * growth ** step``), and every update step's loss comes back
with the result. So it trains the model exactly as the study will (builders, padded widths,
the compiled epoch). One epoch of the sweep is ``steps`` minibatches drawn from the training
data without replacement (the whole training set, more than once, when it has fewer rows).

Example:
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> from tunelab.config import parse_config
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(512, 1)).astype("float32")
    >>> y = (3 * x[:, 0]).astype("float32")
    >>> data = SimpleNamespace(x_train=x, y_train=y, x_val=x[:0], y_val=y[:0], x_test=x[:0],
    ...     y_test=y[:0], task="regression", num_classes=1, input_shape=(1,), name="line")
    >>> cfg = parse_config({"model": {"units": [], "dropout": []},
    ...     "optimizer": {"name": "SGD"}, "training": {"batch_size": 32, "loss": "mse"}})
    >>> result = lr_range_test(cfg, data, seeds=1)
    >>> result.stop_reason.startswith("the loss passed 4x")
    True
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from tunelab._files import write_bytes
from tunelab.config import RunConfig, with_overrides
from tunelab.errors import ConfigError
from tunelab.runs import RangeTestRecord

__all__ = ["RangeTest", "lr_range_test", "plot_range_test"]

#: A range test's record (see :class:`tunelab.runs.RangeTestRecord`).
RangeTest = RangeTestRecord


def _smooth(values: list[float], beta: float) -> list[float]:
    out, avg = [], 0.0
    for i, v in enumerate(values):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def _sweep_data(data: Any, rows: int, seed: int) -> Any:
    """The training rows of one sweep epoch (a random subset when the data has more)."""
    x, y = np.asarray(data.x_train), np.asarray(data.y_train)
    if rows < len(x):
        pick = np.sort(np.random.default_rng([seed & 0xFFFFFFFF, 11]).choice(len(x), rows,
                                                                              replace=False))
        x, y = x[pick], y[pick]
    return SimpleNamespace(x_train=x, y_train=y, x_val=x[:0], y_val=y[:0], x_test=x[:0],
                           y_test=y[:0], task=data.task, num_classes=data.num_classes,
                           input_shape=tuple(x.shape[1:]),
                           name=f"{data.name} (range test)")


def lr_range_test(
    config: RunConfig,
    data: Any,
    *,
    start_lr: float = 1e-6,
    end_lr: float = 10.0,
    steps: int = 200,
    stop_factor: float = 4.0,
    smoothing: float = 0.9,
    seeds: int = 3,
    executor: Any = None,
) -> RangeTest:
    """Sweep the learning rate exponentially and suggest one.

    Args:
        config: The configuration to test (its model, optimizer, loss and batch size; its
            schedule, decay and callbacks are left out: the sweep sets the rate itself).
        data: A dataset (``x_train``, ``y_train``, ``task``, ``num_classes``...).
        start_lr, end_lr: The first and the last rate of the sweep.
        steps: Minibatch steps from ``start_lr`` to ``end_lr``.
        stop_factor: Stop once the smoothed loss exceeds this many times its best.
        smoothing: The moving average's factor (0 = no smoothing).
        seeds: Copies with different initial weights, trained at once; their losses are averaged.
        executor: Where the sweep trains (default: in this process).

    Raises:
        ConfigError: A bad range or factor, or a batch size larger than the training data.
    """
    from tunelab.execute import Run, train_runs

    if not 0 < start_lr < end_lr:
        raise ConfigError(f"range test: 0 < start_lr < end_lr must hold, got {start_lr=},"
                          f" {end_lr=}")
    if stop_factor <= 1 or steps < 10 or seeds < 1:
        raise ConfigError(f"range test: need stop_factor > 1, steps >= 10 and seeds >= 1, got"
                          f" {stop_factor=}, {steps=}, {seeds=}")
    n = int(np.shape(data.x_train)[0])
    batch = int(config.training.batch_size)
    if batch > n:
        raise ConfigError(f"training.batch_size: {batch} is larger than the {n} training samples")
    rows = steps * batch
    per_epoch = -(-min(rows, n) // batch)
    epochs = -(-steps // per_epoch)
    growth = (end_lr / start_lr) ** (1.0 / (steps - 1))
    cfg = with_overrides(config, {
        "optimizer.decay": 0.0, "optimizer.learning_rate": start_lr,
        "schedule": {"name": "range_test", "growth": growth}, "callbacks": {},
        "training.epochs": epochs}, source="range test")
    runs = [Run(cfg.model_copy(update={"seed": cfg.seed + k}), record_steps=True)
            for k in range(seeds)]
    results = train_runs(runs, _sweep_data(data, rows, config.seed), executor=executor,
                         collect=False)
    per_copy = np.full((seeds, steps), np.inf)
    for k, result in enumerate(results):
        got = np.asarray(result.step_losses[:steps], dtype=float)
        per_copy[k, :len(got)] = got
    rates = start_lr * growth ** np.arange(steps)
    raw: list[float] = []
    smooth: list[float] = []
    reason = f"reached the last rate {end_lr:g}"
    for t in range(steps):
        v = per_copy[:, t]
        mean = float(np.mean(v)) if np.all(np.isfinite(v)) else math.inf
        raw.append(mean)
        if not math.isfinite(mean):
            smooth.append(math.inf)
            reason = "the loss became nan or inf"
            break
        smooth = _smooth(raw, smoothing)
        if len(raw) > 5 and smooth[-1] > stop_factor * min(smooth):
            reason = f"the loss passed {stop_factor:g}x its best"
            break
    m = len(raw)
    lr_list = [float(r) for r in rates[:m]]
    finite = [i for i in range(m) if math.isfinite(smooth[i])]
    low = min(finite, key=lambda i: smooth[i]) if finite else 0
    steepest = low
    w = max(2, m // 20)  # slopes over a window: single steps are too noisy to compare
    if low > 2 * w:
        logs = np.log(rates[:m])
        slopes = [(smooth[i + w] - smooth[i - w]) / (logs[i + w] - logs[i - w])
                  for i in range(w, low - w + 1)]
        steepest = w + int(np.argmin(slopes))
    return RangeTest(
        learning_rates=lr_list, losses=[float(s) for s in smooth], raw_losses=raw,
        suggested=float(f"{lr_list[low] / 10:.4g}"), min_loss_lr=lr_list[low],
        steepest_lr=lr_list[steepest], stop_reason=reason, batch_size=batch, seeds=seeds,
    )


def plot_range_test(result: RangeTest, path: str | os.PathLike[str], title: str = "") -> Path:
    """Draw loss against learning rate (log scale) with the suggestion marked; write a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    lrs = result.learning_rates
    raw = [v if math.isfinite(v) else np.nan for v in result.raw_losses]
    smooth = [v if math.isfinite(v) else np.nan for v in result.losses]
    ax.plot(lrs, raw, color="#bbbbbb", lw=1, label="loss per step")
    ax.plot(lrs, smooth, color="#d62728", lw=2, label="smoothed loss")
    ax.axvline(result.min_loss_lr, color="#555555", ls=":",
               label=f"lowest loss {result.min_loss_lr:.3g}")
    ax.axvline(result.suggested, color="#1f77b4", ls="--",
               label=f"suggested {result.suggested:.3g}")
    ax.set_xscale("log")
    finite = [v for v in smooth if np.isfinite(v)]
    if finite:
        ax.set_ylim(min(finite) * 0.9, max(finite) * 1.1 if max(finite) > 0 else 1.0)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title(title or "Learning-rate range test")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return write_bytes(path, buffer.getvalue())
