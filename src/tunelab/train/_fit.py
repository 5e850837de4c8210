"""High-level training: ``fit`` one configuration, ``fit_cohort`` many, with a progress bar.

:func:`fit_cohort` groups configurations by structure and trains each group as one
cohort (at most ``width`` slots at a time, refilling freed slots), so K configurations
that differ only in per-slot values cost one compilation. :func:`fit` is the K = 1 case.
Results keep each configuration's history, status, final metrics (the last epoch's logs
and the test set's), timings and weights, and save the model as a ``.keras`` file that
plain Keras loads.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunelab._files import write_json, write_text
from tunelab.config import RunConfig, save_config
from tunelab.errors import ConfigError
from tunelab.model import Builder, ModelSpec, export_model, save_model
from tunelab.train._callbacks import Callback, history_csv, monitor_mode
from tunelab.train._cohort import Cohort
from tunelab.train._curves import plot_history
from tunelab.train._structure import DatasetLike, structure_key

__all__ = ["CohortResult", "Result", "fit", "fit_cohort", "save_run"]


@dataclass
class Result:
    """One trained configuration.

    Attributes:
        config: The configuration.
        history: Keras-named lists per epoch: ``epoch, loss, <metric>, val_loss,
            val_<metric>, lr, seconds``.
        status: ``done``, ``early_stopped``, ``diverged`` or ``stopped``.
        final: The last epoch's logs plus ``test_loss`` and ``test_<metric>``.
        compile_seconds: Compile time of its cohort (shared by the cohort's slots).
        train_seconds: Training time of its cohort (shared by the cohort's slots).
        dataset: The dataset's name.
    """

    config: RunConfig
    history: dict[str, list[float]]
    status: str
    final: dict[str, float]
    compile_seconds: float
    train_seconds: float
    dataset: str
    spec: ModelSpec
    weights: tuple[list[np.ndarray], list[np.ndarray]] = field(repr=False)
    builder: Builder | None = field(default=None, repr=False)
    tag: Any = None

    def model(self) -> Any:
        """The trained model, built from standard Keras layers."""
        return export_model(self.config.model, self.spec, *self.weights, builder=self.builder)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the model as a ``.keras`` file (atomically); plain Keras loads it."""
        return save_model(self.model(), path)

    def summary(self) -> dict[str, Any]:
        """Plain data for a JSON file: status, final metrics, timings and history."""
        return {"dataset": self.dataset, "status": self.status, "final": self.final,
                "compile_seconds": self.compile_seconds, "train_seconds": self.train_seconds,
                "history": self.history}


@dataclass
class CohortResult:
    """Every configuration of a :func:`fit_cohort` call, in the order given."""

    results: list[Result]
    compile_seconds: float
    train_seconds: float
    cohorts: int

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> Result:
        return self.results[index]

    @property
    def histories(self) -> list[dict[str, list[float]]]:
        return [r.history for r in self.results]

    @property
    def statuses(self) -> list[str]:
        return [r.status for r in self.results]

    @property
    def finals(self) -> list[dict[str, float]]:
        return [r.final for r in self.results]

    def save(self, slot: int, path: str | os.PathLike[str]) -> Path:
        """Save configuration ``slot``'s model as a ``.keras`` file."""
        return self.results[slot].save(path)

    def best(self, monitor: str = "val_loss", mode: str = "auto") -> Result:
        """The configuration with the best final ``monitor`` (NaN never wins)."""
        sign = -1.0 if monitor_mode(monitor, mode) == "max" else 1.0

        def score(r: Result) -> float:
            value = r.final.get(monitor, math.nan)
            return sign * value if math.isfinite(value) else math.inf

        return min(self.results, key=score)


def _load_data(config: RunConfig) -> DatasetLike:
    from tunelab.data import load_dataset

    return load_dataset(config.data, seed=config.seed)


class _Progress:
    def __init__(self, enabled: bool, total: int, monitor: str, mode: str) -> None:
        self.monitor, self.mode = monitor, monitor_mode(monitor, mode)
        self.best: float | None = None
        self._bar: Any = None
        if enabled:
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

    def update(self, advance: int, alive: int, width: int, logs: dict[int, dict[str, float]]
               ) -> None:
        for log in logs.values():
            value = log.get(self.monitor)
            if value is None or not math.isfinite(value):
                continue
            if (self.best is None or (value > self.best if self.mode == "max"
                                      else value < self.best)):
                self.best = value
        if self._bar is not None:
            best = "-" if self.best is None else f"{self.best:.4f}"
            self._bar.update(self._task, advance=advance,
                             info=f"slots alive {alive}/{width}  best {self.monitor} {best}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _collect(cohort: Cohort, slot: int, data: DatasetLike,
             tests: dict[int, dict[str, float]]) -> Result:
    cfg = cohort.config(slot)
    assert cfg is not None
    history = cohort.history(slot)
    final = {k: v[-1] for k, v in history.items() if v and k not in ("epoch", "seconds")}
    final.update(tests.get(slot, {}))
    return Result(config=cfg, history=history, status=cohort.status(slot), final=final,
                  compile_seconds=cohort.compile_seconds, train_seconds=cohort.train_seconds,
                  dataset=str(data.name), spec=cohort.spec, weights=cohort.weights(slot),
                  builder=cohort.builder, tag=cohort.tag(slot))


def fit_cohort(
    configs: Sequence[RunConfig],
    data: DatasetLike | None = None,
    *,
    width: int | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] | None = None,
    builder: Builder | None = None,
    on_epoch: Callable[[Cohort, dict[int, dict[str, float]]], None] | None = None,
) -> CohortResult:
    """Train K configurations, grouped by structure into cohorts trained at once.

    Args:
        configs: The configurations.
        data: The dataset; by default loaded from the first configuration's ``data``.
        width: Slots per cohort (default: all configurations of a structure at once).
        out_dir: Folder for callbacks' files; configuration ``i`` writes to ``out_dir/i``.
        progress: Show a progress bar.
        callbacks: Extra callbacks, copied for every configuration.
        builder: A Python callable that builds the model (instead of ``model.builder``).
        on_epoch: Called after every cohort epoch with the cohort and its logs.

    Example:
        >>> from tunelab.config import parse_config
        >>> from tunelab.data import load_dataset
        >>> base = {"training": {"epochs": 2, "batch_size": 128}}
        >>> cfgs = [parse_config({**base, "optimizer": {"learning_rate": lr}})
        ...         for lr in (0.01, 0.1)]
        >>> res = fit_cohort(cfgs, load_dataset("digits"), progress=False)
        >>> res.statuses, res.cohorts
        (['done', 'done'], 1)
    """
    if not configs:
        raise ConfigError("fit_cohort needs at least one configuration")
    data = data if data is not None else _load_data(configs[0])
    groups: dict[Any, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(structure_key(cfg, builder), []).append(i)
    results: dict[int, Result] = {}
    extra = list(callbacks or [])
    total = sum(int(c.training.epochs) for c in configs)
    metrics = list(configs[0].training.metrics)
    monitor = f"val_{metrics[0]}" if metrics and data.task != "regression" else "val_loss"
    bar = _Progress(progress, total, monitor, "auto")
    compile_s = train_s = 0.0
    try:
        for members in groups.values():
            k = min(width or len(members), len(members))
            cohort = Cohort(configs[members[0]], data, width=k, builder=builder)
            queue = list(members)

            def refill(cohort: Cohort = cohort, queue: list[int] = queue) -> None:
                for slot in cohort.free_slots:
                    if not queue:
                        return
                    i = queue.pop(0)
                    folder = Path(out_dir) / str(i) if out_dir is not None else None
                    cohort.assign(slot, configs[i], tag=i, out_dir=folder,
                                  callbacks=[copy.deepcopy(cb) for cb in extra])

            refill()
            while cohort.running_slots:
                logs = cohort.run_epoch()
                finished = [s for s in logs if cohort.status(s) != "running"]
                skipped = sum(configs[cohort.tag(s)].training.epochs - cohort.epoch(s)
                              for s in finished)
                bar.update(len(logs) + skipped, len(cohort.running_slots), k, logs)
                if on_epoch is not None:
                    on_epoch(cohort, logs)
                tests = cohort.evaluate("test") if finished else {}
                for s in finished:
                    results[cohort.tag(s)] = _collect(cohort, s, data, tests)
                refill()
            compile_s += cohort.compile_seconds
            train_s += cohort.train_seconds
    finally:
        bar.close()
    return CohortResult([results[i] for i in range(len(configs))], compile_s, train_s,
                        len(groups))


def fit(
    config: RunConfig,
    data: DatasetLike | None = None,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] | None = None,
    builder: Builder | None = None,
) -> Result:
    """Train one configuration (a cohort of one) and return its :class:`Result`.

    Args:
        config: The configuration.
        data: The dataset; by default loaded from ``config.data`` with ``config.seed``.
        out_dir: Folder for callbacks' files (checkpoints, CSV log).
        progress: Show a progress bar.
        callbacks: Extra callbacks (:class:`Callback` instances).
        builder: A Python callable that builds the model (instead of ``model.builder``).

    Example:
        >>> from tunelab.config import parse_config
        >>> cfg = parse_config({"training": {"epochs": 5, "batch_size": 32},
        ...                     "optimizer": {"learning_rate": 0.1, "momentum": 0.8}})
        >>> result = fit(cfg, progress=False)
        >>> result.status, len(result.history["val_accuracy"]), result.final["val_accuracy"] > 0.5
        ('done', 5, True)
    """
    data = data if data is not None else _load_data(config)
    cohort = Cohort(config, data, width=1, builder=builder)
    folder = Path(out_dir) if out_dir is not None else None
    cohort.assign(0, config, tag=0, out_dir=folder, callbacks=list(callbacks or []))
    metrics = cohort.metric_names
    monitor = f"val_{metrics[0]}" if metrics else "val_loss"
    bar = _Progress(progress, int(config.training.epochs), monitor, "auto")
    try:
        while cohort.running_slots:
            logs = cohort.run_epoch()
            skipped = 0 if cohort.status(0) == "running" else (
                config.training.epochs - cohort.epoch(0))
            bar.update(len(logs) + skipped, len(cohort.running_slots), 1, logs)
    finally:
        bar.close()
    return _collect(cohort, 0, data, cohort.evaluate("test"))


def save_run(result: Result, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write a run folder: ``config.toml``, ``history.json``, ``history.csv``,
    ``model.keras`` and ``curves.png``. Every file is written atomically.

    Example:
        >>> import tempfile
        >>> from tunelab.config import parse_config
        >>> r = fit(parse_config({"training": {"epochs": 1}}), progress=False)
        >>> sorted(save_run(r, tempfile.mkdtemp()))
        ['config', 'curves', 'history', 'history_csv', 'model']
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "config": save_config(result.config, folder / "config.toml"),
        "history": write_json(folder / "history.json", result.summary()),
        "history_csv": write_text(folder / "history.csv", history_csv(result.history)),
        "model": result.save(folder / "model.keras"),
        "curves": plot_history(result.history, folder / "curves.png",
                               title=f"{result.dataset}: {result.config.optimizer.name}"),
    }
