"""The learning-rate range test: an exponential sweep of the rate, stopped when the loss blows up.

Starting from the configuration's initial weights, the rate grows by the same factor at every
minibatch, from ``start_lr`` to ``end_lr``. The loss (averaged over ``seeds`` copies trained at
once, then smoothed with an exponential moving average) first falls, then rises; the sweep
stops at the first step whose smoothed loss exceeds ``stop_factor`` (4) times the best so far,
or is not finite. The suggested rate is the rate at the lowest smoothed loss divided by 10:
the loss still falls fast there, well below where training becomes unstable.

The sweep runs in chunks of minibatches: one jitted ``lax.scan`` per chunk, the copies under
``jax.vmap``, and the host checks the stopping rule between chunks.

Example:
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> from tunelab.config import parse_config
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(512, 1)).astype("float32")
    >>> data = SimpleNamespace(x_train=x, y_train=(3 * x[:, 0]).astype("float32"),
    ...     task="regression", num_classes=1, name="line")
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunelab._files import write_bytes
from tunelab.config import RunConfig, with_overrides
from tunelab.errors import ConfigError

__all__ = ["RangeTest", "lr_range_test", "plot_range_test"]

_CHUNK = 25


@dataclass
class RangeTest:
    """What a range test measured and what it suggests.

    Attributes:
        learning_rates: The rate of every minibatch step, until the stop.
        losses: The smoothed loss at every step.
        raw_losses: The loss at every step (mean over the copies), unsmoothed.
        suggested: The suggested learning rate (``min_loss_lr / 10``).
        min_loss_lr: The rate at the lowest smoothed loss.
        steepest_lr: The rate where the smoothed loss fell fastest (per log-rate).
        stop_reason: Why the sweep ended.
        batch_size: The minibatch size of the sweep.
        seeds: The copies averaged.
    """

    learning_rates: list[float]
    losses: list[float]
    raw_losses: list[float]
    suggested: float
    min_loss_lr: float
    steepest_lr: float
    stop_reason: str
    batch_size: int = 0
    seeds: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RangeTest:
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})

    def summary(self) -> str:
        """One line: the suggestion, where the loss was lowest, and why it stopped."""
        return (f"suggested learning rate {self.suggested:.3g} (lowest loss at"
                f" {self.min_loss_lr:.3g}, steepest fall at {self.steepest_lr:.3g};"
                f" {len(self.learning_rates)} steps, {self.stop_reason})")


def _smooth(values: list[float], beta: float) -> list[float]:
    out, avg = [], 0.0
    for i, v in enumerate(values):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return out


class _Sweep:
    """The model, loss and optimizer of one configuration, stepped under vmap over copies."""

    def __init__(self, cfg: RunConfig, data: Any, seeds: int) -> None:
        import jax
        import jax.numpy as jnp
        import optax

        from tunelab.model import (
            ModelSpec,
            build_model,
            dense_targets,
            initial_values,
            kernel_indices,
            loss_term,
            num_outputs,
        )
        from tunelab.optim import build_optimizer, set_learning_rate

        task = str(data.task)
        y = np.asarray(data.y_train)
        self.x = jnp.asarray(np.asarray(data.x_train, np.float32))
        self.y = jnp.asarray(y.astype(np.float32 if task == "regression" else np.int32))
        spec = ModelSpec(tuple(int(d) for d in self.x.shape[1:]), task,
                         num_outputs(task, int(data.num_classes), y))
        model = build_model(cfg.model, spec)
        loss = loss_term(cfg.training.loss, task)
        kernels = kernel_indices(model) if cfg.model.builder is None else []
        l2 = float(cfg.model.l2)
        opt = build_optimizer(cfg.optimizer)
        states = []
        for k in range(seeds):
            tv, ntv = initial_values(model, cfg.model, spec, cfg.seed + k)
            tv = [jnp.asarray(a) for a in tv]
            states.append((tv, [jnp.asarray(a) for a in ntv], opt.init(tv)))
        self.state = jax.tree.map(lambda *a: jnp.stack(a), *states)

        def one(tv: Any, ntv: Any, ost: Any, xb: Any, yb: Any, lr: Any) -> tuple[Any, ...]:
            ost = set_learning_rate(ost, lr)

            def objective(params: Any) -> tuple[Any, Any]:
                pred, new_ntv, extra = model.stateless_call(params, ntv, xb, training=True,
                                                            return_losses=True)
                targets = dense_targets(yb, spec.task, spec.num_outputs)
                value = jnp.mean(loss.fn(yb, targets, pred))
                if loss.root:
                    value = jnp.sqrt(value)
                if extra:
                    value = value + sum(extra)
                if kernels and l2:
                    value = value + l2 * sum(jnp.sum(jnp.square(params[i])) for i in kernels)
                return value, new_ntv

            (value, new_ntv), grads = jax.value_and_grad(objective, has_aux=True)(tv)
            updates, new_ost = opt.update(grads, ost, tv)
            return optax.apply_updates(tv, updates), new_ntv, new_ost, value

        def chunk(state: Any, x: Any, y: Any, idx: Any, lrs: Any) -> tuple[Any, Any]:
            def body(carry: Any, t: Any) -> tuple[Any, Any]:
                tv, ntv, ost = carry

                def per_copy(tv: Any, ntv: Any, ost: Any, ids: Any) -> tuple[Any, ...]:
                    return one(tv, ntv, ost, x[ids], y[ids], lrs[t])

                tv, ntv, ost, value = jax.vmap(per_copy)(tv, ntv, ost, idx[:, t])
                return (tv, ntv, ost), value

            carry, values = jax.lax.scan(body, state, jnp.arange(lrs.shape[0]))
            return carry, values

        self._chunk = jax.jit(chunk)

    def run(self, idx: np.ndarray, lrs: np.ndarray) -> np.ndarray:
        """Train on the minibatches ``idx`` (copies x steps x batch) at rates ``lrs``."""
        import jax.numpy as jnp

        self.state, values = self._chunk(self.state, self.x, self.y, jnp.asarray(idx),
                                         jnp.asarray(lrs, jnp.float32))
        return np.asarray(values)  # steps x copies


def _batches(n: int, batch: int, steps: int, seeds: int, seed: int) -> np.ndarray:
    """Minibatch indices (copies x steps x batch): a fresh permutation per pass, per copy."""
    per_pass = max(n // batch, 1)
    out = np.empty((seeds, steps, batch), np.int32)
    for k in range(seeds):
        rng = np.random.default_rng([seed & 0xFFFFFFFF, k])
        rows: list[np.ndarray] = []
        while len(rows) < steps:
            perm = rng.permutation(n)
            rows += [perm[i * batch:(i + 1) * batch] for i in range(per_pass)]
        out[k] = np.stack(rows[:steps])
    return out


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
) -> RangeTest:
    """Sweep the learning rate exponentially and suggest one.

    Args:
        config: The configuration to test (its model, optimizer, loss and batch size; its
            schedule and decay are left out: the sweep sets the rate itself).
        data: A dataset (``x_train``, ``y_train``, ``task``, ``num_classes``).
        start_lr, end_lr: The first and the last rate of the sweep.
        steps: Minibatch steps from ``start_lr`` to ``end_lr``.
        stop_factor: Stop once the smoothed loss exceeds this many times its best.
        smoothing: The moving average's factor (0 = no smoothing).
        seeds: Copies with different initial weights, trained at once; their losses are averaged.

    Raises:
        ConfigError: A bad range or factor, or a batch size larger than the training data.
    """
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
    cfg = with_overrides(config, {"optimizer.decay": 0.0, "schedule.name": "constant"},
                         source="range test")
    sweep = _Sweep(cfg, data, seeds)
    rates = start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))
    idx = _batches(n, batch, steps, seeds, config.seed)
    raw: list[float] = []
    smooth: list[float] = []
    reason = f"reached the last rate {end_lr:g}"
    for start in range(0, steps, _CHUNK):
        stop = min(start + _CHUNK, steps)
        lrs = np.full(_CHUNK, rates[stop - 1], np.float32)
        lrs[:stop - start] = rates[start:stop]
        chunk_idx = np.concatenate([idx[:, start:stop], idx[:, :_CHUNK - (stop - start)]], 1)
        values = sweep.run(chunk_idx, lrs)[:stop - start]
        done = False
        for v in values:
            mean = float(np.mean(v)) if np.all(np.isfinite(v)) else math.inf
            raw.append(mean)
            if not math.isfinite(mean):
                smooth.append(math.inf)
                reason = "the loss became nan or inf"
                done = True
                break
            smooth = _smooth(raw, smoothing)
            best = min(smooth)
            if len(raw) > 5 and smooth[-1] > stop_factor * best:
                reason = f"the loss passed {stop_factor:g}x its best"
                done = True
                break
        if done:
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
