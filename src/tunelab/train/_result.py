"""What training gives back: a :class:`Result` per configuration, and the run folder it saves.

Results keep each configuration's history, status, final metrics (the last epoch's logs and
the test set's), timings and weights, and save the model as a ``.keras`` file that plain
Keras loads. ``tunelab.execute.fit`` and ``fit_cohort`` (the fronts of the one training path)
return them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunelab._files import write_text
from tunelab.config import RunConfig, save_config
from tunelab.errors import TrialError
from tunelab.model import Builder, ModelSpec, export_model, save_model
from tunelab.runs import RunLayout, RunSummary, SlotStatus, write_record
from tunelab.train._callbacks import history_csv, monitor_mode
from tunelab.train._curves import plot_history

__all__ = ["CohortResult", "Result", "save_run"]


@dataclass
class Result:
    """One trained configuration.

    Attributes:
        config: The configuration.
        history: Keras-named lists per epoch: ``epoch, loss, <metric>, val_loss,
            val_<metric>, lr, seconds``.
        status: ``done``, ``early_stopped``, ``diverged`` or ``stopped``.
        weights: The (trainable, non-trainable) arrays; None when they were not collected.
        step_losses: Every update step's loss (runs that recorded them).
        cohort: Which cohort of its call trained it (runs of one cohort share its timings).
        final: The last epoch's logs plus ``test_loss`` and ``test_<metric>``.
        compile_seconds: Compile time of its cohort (shared by the cohort's slots).
        train_seconds: Training time of its cohort (shared by the cohort's slots).
        dataset: The dataset's name.
    """

    config: RunConfig
    history: dict[str, list[float]]
    status: SlotStatus
    final: dict[str, float]
    compile_seconds: float
    train_seconds: float
    dataset: str
    spec: ModelSpec
    weights: tuple[list[np.ndarray], list[np.ndarray]] | None = field(default=None, repr=False)
    builder: Builder | None = field(default=None, repr=False)
    tag: Any = None
    step_losses: list[float] = field(default_factory=list, repr=False)
    cohort: int = 0

    def model(self) -> Any:
        """The trained model, built from standard Keras layers."""
        if self.weights is None:
            raise TrialError("this result was trained without collecting its weights")
        return export_model(self.config.model, self.spec, *self.weights, builder=self.builder)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the model as a ``.keras`` file (atomically); plain Keras loads it."""
        return save_model(self.model(), path)

    def summary(self) -> RunSummary:
        """The ``history.json`` record: status, final metrics, timings and history."""
        return RunSummary(dataset=self.dataset, status=str(self.status), final=self.final,
                          compile_seconds=self.compile_seconds,
                          train_seconds=self.train_seconds, history=self.history)


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
    def statuses(self) -> list[SlotStatus]:
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


def save_run(result: Result, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write a run folder: ``config.toml``, ``history.json``, ``history.csv``,
    ``model.keras`` and ``curves.png``. Every file is written atomically.

    Example:
        >>> import tempfile
        >>> from tunelab.config import parse_config
        >>> from tunelab.execute import fit
        >>> r = fit(parse_config({"training": {"epochs": 1}}), progress=False)
        >>> sorted(save_run(r, tempfile.mkdtemp()))
        ['config', 'curves', 'history', 'history_csv', 'model']
    """
    run = RunLayout(out_dir)
    run.path.mkdir(parents=True, exist_ok=True)
    return {
        "config": save_config(result.config, run.config_toml),
        "history": write_record(run.history_json, result.summary()),
        "history_csv": write_text(run.history_csv, history_csv(result.history)),
        "model": result.save(run.model),
        "curves": plot_history(result.history, run.curves_png,
                               title=f"{result.dataset}: {result.config.optimizer.name}"),
    }
