"""``fit`` one configuration and ``fit_cohort`` many: fronts of :func:`train_runs`, with a bar.

:func:`fit_cohort` groups configurations by structure and trains each group as one cohort
(at most ``width`` slots at a time, refilling freed slots), so K configurations that differ
only in per-slot values cost one compilation. :func:`fit` is the K = 1 case: a cohort of one,
through the same executor interface as everything else that trains.

Example:
    >>> from tunelab.config import parse_config
    >>> result = fit(parse_config({"training": {"epochs": 2, "batch_size": 64}}), progress=False)
    >>> str(result.status), len(result.history["loss"])
    ('done', 2)
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tunelab._notebook import LiveHTML, in_notebook, progress_html
from tunelab.config import RunConfig
from tunelab.data import ArrayData
from tunelab.errors import ConfigError
from tunelab.execute._base import Executor
from tunelab.execute._run import Run, RunsProgress, train_runs
from tunelab.model import Builder
from tunelab.train import Callback, CohortResult, DatasetLike, Result, structure_key
from tunelab.train._callbacks import monitor_mode

__all__ = ["fit", "fit_cohort"]


def _load_data(config: RunConfig, data: Any = None) -> DatasetLike:
    """``data`` as a dataset: None loads the configuration's ``data`` section; a name, a path,
    ``(x, y)`` arrays or a dict of splits are loaded as ``tunelab.data.load_dataset`` does
    (prepared by the configuration's ``data`` settings); a dataset object is used as it is."""
    from tunelab.data import is_array_data, load_dataset

    if data is None:
        return load_dataset(config.data, seed=config.seed)
    if is_array_data(data):
        return load_dataset(data, seed=config.seed, config=config.data)
    if isinstance(data, str | os.PathLike):
        cfg = config.data.model_copy(update={"name": os.fspath(data), "path": None})
        return load_dataset(cfg, seed=config.seed)
    return data


class _Progress:
    """A progress bar over epochs, with the best monitored value so far: rich in a terminal,
    an HTML block updated in place in a Jupyter notebook."""

    def __init__(self, enabled: bool, total: int, monitor: str) -> None:
        self.monitor, self.mode = monitor, monitor_mode(monitor, "auto")
        self.best: float | None = None
        self.total = total
        self._bar: Any = None
        self._html: LiveHTML | None = None
        if enabled and in_notebook():
            self._html = LiveHTML(progress_html("training", 0, total, "compiling"))
        elif enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(TextColumn("[bold]training"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("epochs"),
                                 TimeElapsedColumn(), TextColumn("{task.fields[info]}"))
            self._task = self._bar.add_task("train", total=total, info="")
            self._bar.start()

    def __call__(self, p: RunsProgress) -> None:
        for log in p.logs.values():
            value = log.get(self.monitor)
            if value is None or not math.isfinite(value):
                continue
            if (self.best is None or (value > self.best if self.mode == "max"
                                      else value < self.best)):
                self.best = value
        best = "-" if self.best is None else f"{self.best:.4f}"
        info = f"slots alive {p.running}/{p.width}  best {self.monitor} {best}"
        if self._bar is not None:
            self._bar.update(self._task, completed=p.epochs_done, info=info)
        if self._html is not None:
            self._html.update(progress_html("training", p.epochs_done, self.total, info,
                                            self._html.seconds))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _monitor(config: RunConfig, data: DatasetLike) -> str:
    metrics = list(config.training.metrics)
    return f"val_{metrics[0]}" if metrics and data.task != "regression" else "val_loss"


def fit_cohort(
    configs: Sequence[RunConfig],
    data: DatasetLike | ArrayData | str | os.PathLike[str] | None = None,
    *,
    width: int | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] | None = None,
    builder: Builder | None = None,
    executor: Executor | None = None,
    on_epoch: Callable[[RunsProgress], None] | None = None,
) -> CohortResult:
    """Train K configurations, grouped by structure into cohorts trained at once.

    Args:
        configs: The configurations.
        data: The dataset: a dataset object, a name or path, ``(x, y)`` arrays or a dict of
            ``train``/``validation``/``test`` tuples; by default the first configuration's
            ``data``.
        width: Slots per cohort (default: all configurations of a structure at once).
        out_dir: Folder for callbacks' files; configuration ``i`` writes to ``out_dir/i``.
        progress: Show a progress bar.
        callbacks: Extra callbacks, copied for every configuration.
        builder: A Python callable that builds the model (instead of ``model.builder``).
        executor: Where the cohorts train (default: in this process).
        on_epoch: Called after every cohort epoch with a :class:`RunsProgress`.

    Example:
        >>> from tunelab.config import parse_config
        >>> from tunelab.data import load_dataset
        >>> base = {"training": {"epochs": 2, "batch_size": 128}}
        >>> cfgs = [parse_config({**base, "optimizer": {"learning_rate": lr}})
        ...         for lr in (0.01, 0.1)]
        >>> res = fit_cohort(cfgs, load_dataset("digits"), progress=False)
        >>> [str(s) for s in res.statuses], res.cohorts
        (['done', 'done'], 1)
    """
    if not configs:
        raise ConfigError("fit_cohort needs at least one configuration")
    data = _load_data(configs[0], data)
    extra = list(callbacks or [])
    runs = [Run(cfg, out_dir=Path(out_dir) / str(i) if out_dir is not None else None,
                callbacks=[copy.deepcopy(cb) for cb in extra])
            for i, cfg in enumerate(configs)]
    bar = _Progress(progress, sum(int(c.training.epochs) for c in configs),
                    _monitor(configs[0], data))
    def tick(p: RunsProgress) -> None:
        bar(p)
        if on_epoch is not None:
            on_epoch(p)

    try:
        results = train_runs(runs, data, executor=executor, width=width, builder=builder,
                             on_epoch=tick)
    finally:
        bar.close()
    per_cohort = {r.cohort: (r.compile_seconds, r.train_seconds) for r in results}
    return CohortResult(results, sum(c for c, _ in per_cohort.values()),
                        sum(t for _, t in per_cohort.values()),
                        len({structure_key(c, builder) for c in configs}))


def fit(
    config: RunConfig,
    data: DatasetLike | ArrayData | str | os.PathLike[str] | None = None,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] | None = None,
    builder: Builder | None = None,
    executor: Executor | None = None,
) -> Result:
    """Train one configuration (a cohort of one) and return its :class:`Result`.

    Args:
        config: The configuration.
        data: The dataset: a dataset object, a name or path, ``(x, y)`` arrays (split as a
            file is) or a dict of ``train``/``validation``/``test`` tuples; by default loaded
            from ``config.data`` with ``config.seed``.
        out_dir: Folder for callbacks' files (checkpoints, CSV log).
        progress: Show a progress bar.
        callbacks: Extra callbacks (:class:`Callback` instances).
        builder: A Python callable that builds the model (instead of ``model.builder``).
        executor: Where it trains (default: in this process).

    Example:
        >>> from tunelab.config import parse_config
        >>> cfg = parse_config({"training": {"epochs": 5, "batch_size": 32},
        ...                     "optimizer": {"learning_rate": 0.1, "momentum": 0.8}})
        >>> result = fit(cfg, progress=False)
        >>> str(result.status), len(result.history["val_accuracy"])
        ('done', 5)
        >>> result.final["val_accuracy"] > 0.5
        True
    """
    data = _load_data(config, data)
    run = Run(config, out_dir=out_dir, callbacks=list(callbacks or []))
    bar = _Progress(progress, int(config.training.epochs), _monitor(config, data))
    try:
        (result,) = train_runs([run], data, executor=executor, builder=builder, on_epoch=bar)
    finally:
        bar.close()
    return result
