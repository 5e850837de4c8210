"""MLflow: a parent run per study, a nested run per trial, the best model as an artifact.

:class:`MLflowTracker` is an Optuna-style study callback (``f(study, frozen_trial)``, called
after each trial is told): at the first trial it opens the parent run (named after the
study), and each trial becomes a nested run with its parameters, its state and value, and its
per-epoch metrics (``step`` = epoch, read from the run folder's ``history.json`` once the
study has written it). :meth:`MLflowTracker.close` logs what is left, ``best.keras`` with the
best trial's run and the parent, and any extra files (the guide's decisions) with the parent.
It talks to the server through ``MlflowClient``, so it leaves MLflow's global active run alone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tunelab.errors import ConfigError
from tunelab.tracking._history import epoch_history, trial_record

__all__ = ["MLflowTracker"]

_STATUS = {"complete": "FINISHED", "pruned": "KILLED", "fail": "FAILED"}


def _client(uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ConfigError("mlflow: the mlflow package is not installed; pip install"
                          " 'tunelab[mlflow]'") from None
    return MlflowClient(tracking_uri=uri)


class MLflowTracker:
    """Log a study to MLflow.

    Args:
        uri: The tracking URI (``http://host:port``, ``sqlite:///mlflow.db``, a folder).
        experiment: The MLflow experiment (created if missing; default ``"tunelab"``).
        run_name: The parent run's name (default: the study's name).
        run_dir: The study's run folder, where each trial's ``history.json`` is read.

    Raises:
        ConfigError: mlflow is not installed, or the server cannot be reached (named).
    """

    def __init__(self, uri: str, *, experiment: str | None = None, run_name: str | None = None,
                 run_dir: str | os.PathLike[str] | None = None) -> None:
        self.uri, self.experiment = uri, experiment or "tunelab"
        self.run_name = run_name
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.client = _client(uri)
        self.parent_id: str | None = None
        self.trial_runs: dict[tuple[str, int], str] = {}
        self._pending: set[tuple[str, int]] = set()
        self._best: tuple[float, int] | None = None
        self._direction = "minimize"
        self.label = ""  # a prefix of trial run names (a guide's step)

    def _experiment_id(self) -> str:
        try:
            found = self.client.get_experiment_by_name(self.experiment)
            if found is not None:
                return str(found.experiment_id)
            return str(self.client.create_experiment(self.experiment))
        except Exception as err:
            raise ConfigError(f"mlflow: cannot reach the tracking server at {self.uri!r}"
                              f" ({type(err).__name__}: {str(err)[:200]})") from None

    def start(self, name: str, params: dict[str, Any] | None = None) -> str:
        """Open the parent run (once); return its id."""
        if self.parent_id is None:
            run = self.client.create_run(self._experiment_id(), run_name=self.run_name or name,
                                         tags={"tunelab.kind": "study"})
            self.parent_id = run.info.run_id
            for key, value in (params or {}).items():
                self.client.log_param(self.parent_id, key, str(value)[:500])
        return self.parent_id

    def __call__(self, study: Any, frozen: Any) -> None:
        """Log one told trial as a nested run (Optuna's callback signature)."""
        from mlflow.entities import Metric, Param

        parent = self.start(str(study.study_name))
        self._direction = study.direction.name.lower() if len(study.directions) == 1 \
            else "minimize"
        record = trial_record(frozen)
        run = self.client.create_run(
            self.client.get_run(parent).info.experiment_id,
            run_name=f"{self.label} trial {record.number}".strip(),
            tags={"mlflow.parentRunId": parent, "tunelab.trial": str(record.number),
                  "tunelab.state": record.state, **({"tunelab.step": self.label}
                                                    if self.label else {})})
        now = int(time.time() * 1000)
        params = [Param(k, str(v)[:500]) for k, v in record.params.items()]
        metrics = [Metric(f"last_{k}", v, now, 0) for k, v in record.last.items()]
        metrics += [Metric("value" if i == 0 else f"value_{i}", float(v), now, 0)
                    for i, v in enumerate(record.values)]
        self.client.log_batch(run.info.run_id, metrics=metrics, params=params)
        self.trial_runs[self._key(record.number)] = run.info.run_id
        self._pending.add(self._key(record.number))
        if record.values:
            value = float(record.values[0])
            better = self._best is None or (value > self._best[0] if self._direction ==
                                            "maximize" else value < self._best[0])
            if better:
                self._best = (value, record.number)
        self._flush(final=False)
        self.client.set_terminated(run.info.run_id, status=_STATUS.get(record.state, "FAILED"))

    def _key(self, number: int) -> tuple[str, int]:
        return (str(self.run_dir), number)

    def _flush(self, final: bool) -> None:
        """Log the epoch histories the run folder holds now (all that are left at the end)."""
        from mlflow.entities import Metric

        for key in sorted(self._pending):
            folder, number = key
            history = epoch_history(folder if folder != "None" else None, number)
            if history is None:
                if final:
                    self._pending.discard(key)
                continue
            now = int(time.time() * 1000)
            metrics = [Metric(key, value, now, step)
                       for key, values in history.items() if key not in ("epoch",)
                       for step, value in enumerate(values) if value == value]
            for start in range(0, len(metrics), 900):  # MLflow's batch limit is 1000
                self.client.log_batch(self.trial_runs[key], metrics=metrics[start:start + 900])
            self._pending.discard(key)

    def close(self, best_model: str | os.PathLike[str] | None = None,
              artifacts: list[Any] | tuple[()] = (), status: str = "FINISHED",
              best_run: bool = True) -> None:
        """Log what is left, ``best_model`` (with the parent, and with the best trial's run
        when ``best_run``) and ``artifacts`` (with the parent), and end the parent run."""
        if self.parent_id is None:
            return
        self._flush(final=True)
        if best_model is not None and Path(best_model).is_file():
            self.client.log_artifact(self.parent_id, os.fspath(best_model))
            if self._best is not None and best_run:
                run_id = self.trial_runs.get(self._key(self._best[1]))
                if run_id is not None:
                    self.client.log_artifact(run_id, os.fspath(best_model))
                    self.client.set_tag(self.parent_id, "tunelab.best_trial", str(self._best[1]))
                    self.client.log_metric(self.parent_id, "best_value", self._best[0])
        for path in artifacts:
            if Path(path).is_file():
                self.client.log_artifact(self.parent_id, os.fspath(path))
        self.client.set_terminated(self.parent_id, status=status)
