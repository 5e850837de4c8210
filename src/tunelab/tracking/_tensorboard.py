"""TensorBoard: per-trial scalars and HParams that TensorBoard's HParams dashboard reads.

:class:`TensorBoardTracker` is a study callback (``f(study, frozen_trial)``): each told trial
gets its own run folder ``<logdir>/trial_<number>`` holding its HParams session (parameters,
trial id) and its per-epoch scalars (``loss``, ``val_loss``, metrics; ``step`` = epoch) plus
the told ``value``. :meth:`TensorBoardTracker.close` writes the experiment at ``<logdir>``:
every parameter's domain and every metric, which is what the dashboard lists as columns.
Event files are written with TensorBoard's own writer and protocol buffers (no TensorFlow).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tunelab.errors import ConfigError
from tunelab.tracking._history import epoch_history, trial_record

__all__ = ["TensorBoardTracker"]


def _modules() -> tuple[Any, Any, Any, Any]:
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.plugins.hparams import summary_v2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ConfigError("tensorboard: the tensorboard package is not installed; pip install"
                          " 'tunelab[tensorboard]'") from None
    return event_pb2, summary_pb2, summary_v2, EventFileWriter


class TensorBoardTracker:
    """Write a study's trials as TensorBoard runs with HParams.

    Args:
        logdir: The folder TensorBoard is pointed at (``tensorboard --logdir LOGDIR``).
        run_dir: The study's run folder, where each trial's ``history.json`` is read.
    """

    def __init__(self, logdir: str | os.PathLike[str], *,
                 run_dir: str | os.PathLike[str] | None = None) -> None:
        self.logdir = Path(logdir)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._pb = _modules()
        self._pending: dict[int, float | None] = {}
        self._params: dict[str, list[Any]] = {}
        self._metrics: set[str] = set()

    def _write(self, number: int, events: list[Any]) -> None:
        writer = self._pb[3](str(self.logdir / f"trial_{number}"))
        for event in events:
            writer.add_event(event)
        writer.close()

    def _scalar(self, tag: str, value: float, step: int) -> Any:
        event_pb2, summary_pb2 = self._pb[0], self._pb[1]
        self._metrics.add(tag)
        return event_pb2.Event(wall_time=time.time(), step=step, summary=summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(value))]))

    def __call__(self, study: Any, frozen: Any) -> None:
        """Write one told trial's HParams session and what it logged."""
        record = trial_record(frozen)
        for key, value in record.params.items():
            self._params.setdefault(key, []).append(value)
        session = self._pb[2].hparams_pb(record.params, trial_id=str(record.number))
        events = [self._pb[0].Event(wall_time=time.time(), step=0, summary=session)]
        if record.values:
            events.append(self._scalar("value", record.values[0], 0))
        self._write(record.number, events)
        self._pending[record.number] = None
        self._flush(final=False)

    def _flush(self, final: bool) -> None:
        for number in sorted(self._pending):
            history = epoch_history(self.run_dir, number)
            if history is None:
                if final:
                    del self._pending[number]
                continue
            events = [self._scalar(key, v, step) for key, values in history.items()
                      if key not in ("epoch",) for step, v in enumerate(values) if v == v]
            self._write(number, events)
            del self._pending[number]

    def close(self) -> None:
        """Write what is left and the experiment (parameter domains, metrics)."""
        self._flush(final=True)
        api = self._pb[2]
        hparams = []
        for name, seen in self._params.items():
            numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in seen)
            if numeric:
                domain = api.RealInterval(float(min(seen)), float(max(seen)))
            else:
                domain = api.Discrete(sorted({v for v in seen}, key=str))
            hparams.append(api.HParam(name, domain))
        metrics = [api.Metric(tag, group=None) for tag in sorted(self._metrics)]
        summary = api.hparams_config_pb(hparams, metrics)
        writer = self._pb[3](str(self.logdir))
        writer.add_event(self._pb[0].Event(wall_time=time.time(), step=0, summary=summary))
        writer.close()
