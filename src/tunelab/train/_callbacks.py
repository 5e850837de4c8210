"""Keras-named callbacks that act on one slot of a cohort.

Each slot has its own callback objects (``fit_cohort`` copies the ones it is given), and a
callback sees its slot through a :class:`SlotHandle`: the slot's learning rate (read and
write), its weights, stop, export and save. The hooks are Keras's: ``on_train_begin``,
``on_epoch_begin``, ``on_epoch_end`` (with the epoch's logs) and ``on_train_end``, with
epochs counted from 0.

History is always on (the cohort keeps it), and so is divergence handling: a slot whose
loss turns NaN/inf is marked ``diverged`` and its arrays stop changing.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from tunelab._files import write_json, write_text
from tunelab.config import (
    CSVLoggerConfig,
    EarlyStoppingConfig,
    ModelCheckpointConfig,
    ReduceLROnPlateauConfig,
)
from tunelab.errors import ConfigError
from tunelab.optim import EpochSchedule, load_schedule_function

__all__ = [
    "KERAS_CALLBACKS",
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "SlotHandle",
    "from_keras",
    "history_csv",
    "keras_callbacks_section",
    "monitor_mode",
]


class SlotHandle(Protocol):
    """What a callback may see and do with its slot."""

    index: int
    out_dir: Path | None
    learning_rate: float
    lr_scale: float

    @property
    def history(self) -> dict[str, list[float]]: ...

    def stop(self, reason: str = "stopped") -> None: ...

    def get_weights(self) -> Any: ...

    def set_weights(self, weights: Any) -> None: ...

    def save(self, path: str | os.PathLike[str]) -> Path: ...


class Callback:
    """Base class: override the hooks you need. One instance serves one slot.

    Example:
        >>> class Printer(Callback):
        ...     def on_epoch_end(self, slot, epoch, logs):
        ...         print(epoch, round(logs["loss"], 1))
        >>> Printer().on_epoch_end(None, 0, {"loss": 2.31})
        0 2.3
    """

    def on_train_begin(self, slot: SlotHandle) -> None:
        """Called before the slot's first epoch."""

    def on_epoch_begin(self, slot: SlotHandle, epoch: int) -> None:
        """Called before each of the slot's epochs."""

    def on_epoch_end(self, slot: SlotHandle, epoch: int, logs: dict[str, float]) -> None:
        """Called after each of the slot's epochs with its logs (loss, val_loss, ...)."""

    def on_train_end(self, slot: SlotHandle) -> None:
        """Called once the slot is done, stopped early, diverged or stopped."""


def monitor_mode(monitor: str, mode: str) -> str:
    """``"min"`` or ``"max"``: ``auto`` maximises accuracy, minimises losses and distances.

    Example:
        >>> monitor_mode("val_accuracy", "auto"), monitor_mode("val_loss", "auto")
        ('max', 'min')
    """
    if mode in ("min", "max"):
        return mode
    return "max" if "acc" in monitor else "min"


def _monitored(logs: dict[str, float], monitor: str, where: str) -> float | None:
    if monitor not in logs:
        raise ConfigError(
            f"{where}.monitor: {monitor!r} is not logged; logged values are"
            f" {', '.join(sorted(logs))}"
        )
    return logs[monitor]


class LearningRateScheduler(Callback):
    """Keras's ``LearningRateScheduler``: ``lr = schedule(epoch, lr)`` before each epoch.

    ``schedule`` may take ``(epoch)`` or ``(epoch, lr)``, or be ``"module:function"``.

    Example:
        >>> LearningRateScheduler(lambda epoch: 0.1 * 0.5 ** epoch).schedule(2, 1.0)
        0.025
    """

    def __init__(self, schedule: EpochSchedule | Callable[[int], float] | str) -> None:
        self.schedule = load_schedule_function(schedule)

    def on_epoch_begin(self, slot: SlotHandle, epoch: int) -> None:
        slot.learning_rate = self.schedule(epoch, slot.learning_rate)


class _BuiltinSchedule(Callback):
    # A built-in schedule is a function of the epoch; ReduceLROnPlateau's reductions
    # (slot.lr_scale) multiply it instead of being overwritten every epoch.
    def __init__(self, schedule: EpochSchedule) -> None:
        self.schedule = schedule

    def on_epoch_begin(self, slot: SlotHandle, epoch: int) -> None:
        slot.learning_rate = self.schedule(epoch, slot.learning_rate) * slot.lr_scale


class EarlyStopping(Callback):
    """Keras's ``EarlyStopping`` for one slot (``restore_best_weights`` at the slot's end).

    Example:
        >>> EarlyStopping(EarlyStoppingConfig(monitor="val_accuracy")).mode
        'max'
    """

    def __init__(self, config: EarlyStoppingConfig | None = None, **kwargs: Any) -> None:
        self.config = config or EarlyStoppingConfig(**kwargs)
        self.mode = monitor_mode(self.config.monitor, self.config.mode)
        self.wait = 0
        self.best: float = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_weights: Any = None
        self.stopped_epoch: int | None = None

    def _better(self, value: float, reference: float) -> bool:
        delta = self.config.min_delta
        if self.mode == "min":
            return value + delta < reference
        return value - delta > reference

    def on_train_begin(self, slot: SlotHandle) -> None:
        self.wait, self.best_epoch, self.best_weights, self.stopped_epoch = 0, None, None, None
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, slot: SlotHandle, epoch: int, logs: dict[str, float]) -> None:
        current = _monitored(logs, self.config.monitor, "callbacks.early_stopping")
        if current is None:
            return
        if self.config.restore_best_weights and self.best_weights is None:
            self.best_weights = slot.get_weights()
        self.wait += 1
        if math.isfinite(current) and self._better(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.config.restore_best_weights:
                self.best_weights = slot.get_weights()
            baseline = self.config.baseline
            if baseline is None or self._better(current, baseline):
                self.wait = 0
            return
        if self.wait >= self.config.patience and epoch > 0:
            self.stopped_epoch = epoch
            slot.stop("early_stopped")

    def on_train_end(self, slot: SlotHandle) -> None:
        if self.config.restore_best_weights and self.best_weights is not None:
            slot.set_weights(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Keras's ``ReduceLROnPlateau`` for one slot; it also scales a running schedule.

    Example:
        >>> ReduceLROnPlateau(factor=0.5).config.factor
        0.5
    """

    def __init__(self, config: ReduceLROnPlateauConfig | None = None, **kwargs: Any) -> None:
        self.config = config or ReduceLROnPlateauConfig(**kwargs)
        self.mode = monitor_mode(self.config.monitor, self.config.mode)
        self.on_train_begin(None)  # type: ignore[arg-type]

    def on_train_begin(self, slot: SlotHandle) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def _better(self, value: float) -> bool:
        delta = self.config.min_delta
        return value < self.best - delta if self.mode == "min" else value > self.best + delta

    def on_epoch_end(self, slot: SlotHandle, epoch: int, logs: dict[str, float]) -> None:
        current = _monitored(logs, self.config.monitor, "callbacks.reduce_lr_on_plateau")
        if current is None or not math.isfinite(current):
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.config.patience:
                old = slot.learning_rate
                if old > self.config.min_lr:
                    new = max(old * self.config.factor, self.config.min_lr)
                    slot.lr_scale *= new / old
                    slot.learning_rate = new
                    self.cooldown_counter = self.config.cooldown
                    self.wait = 0


class ModelCheckpoint(Callback):
    """Keras's ``ModelCheckpoint``, done right: atomic writes, NaN is never the best, and
    the best value so far is kept in ``<file>.json`` so that it survives a resume.

    Example:
        >>> ModelCheckpoint(ModelCheckpointConfig(monitor="val_accuracy")).mode
        'max'
    """

    def __init__(self, config: ModelCheckpointConfig | None = None, **kwargs: Any) -> None:
        self.config = config or ModelCheckpointConfig(**kwargs)
        self.mode = monitor_mode(self.config.monitor, self.config.mode)
        self.best: float | None = None
        self.path: Path | None = None

    def _sidecar(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.path.name + ".json")

    def on_train_begin(self, slot: SlotHandle) -> None:
        if slot.out_dir is None:
            raise ConfigError(
                "callbacks.model_checkpoint needs an output folder; pass out_dir"
                " (tunelab train --out RUN_DIR)"
            )
        self.path = Path(slot.out_dir) / self.config.filename
        self.best = None
        sidecar = self._sidecar()
        if sidecar.exists():
            try:
                saved = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                saved = {}
            value = saved.get("best")
            same = saved.get("monitor") == self.config.monitor and saved.get("mode") == self.mode
            if same and isinstance(value, int | float) and math.isfinite(value):
                self.best = float(value)

    def _improves(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, slot: SlotHandle, epoch: int, logs: dict[str, float]) -> None:
        current = _monitored(logs, self.config.monitor, "callbacks.model_checkpoint")
        assert self.path is not None
        if self.config.save_best_only:
            if current is None or not self._improves(current):
                return
            self.best = current
        slot.save(self.path)
        write_json(self._sidecar(), {"monitor": self.config.monitor, "mode": self.mode,
                                     "best": self.best, "epoch": epoch,
                                     "value": current, "file": self.path.name})


def history_csv(history: dict[str, list[float]]) -> str:
    """A history as CSV text: one row per epoch, Keras's column names.

    Example:
        >>> print(history_csv({"epoch": [0], "loss": [0.5]}).strip())
        epoch,loss
        0,0.5
    """
    keys = list(history)
    rows = len(history.get("epoch", next(iter(history.values()), [])))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for i in range(rows):
        writer.writerow([_cell(history[k][i]) if i < len(history[k]) else "" for k in keys])
    return buffer.getvalue()


def _cell(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


class CSVLogger(Callback):
    """Keras's ``CSVLogger``: the slot's history as CSV, rewritten atomically every epoch.

    Example:
        >>> CSVLogger(CSVLoggerConfig(filename="log.csv")).config.filename
        'log.csv'
    """

    def __init__(self, config: CSVLoggerConfig | None = None, **kwargs: Any) -> None:
        self.config = config or CSVLoggerConfig(**kwargs)

    def on_train_begin(self, slot: SlotHandle) -> None:
        if slot.out_dir is None:
            raise ConfigError(
                "callbacks.csv_logger needs an output folder; pass out_dir"
                " (tunelab train --out RUN_DIR)"
            )

    def on_epoch_end(self, slot: SlotHandle, epoch: int, logs: dict[str, float]) -> None:
        assert slot.out_dir is not None
        write_text(Path(slot.out_dir) / self.config.filename, history_csv(slot.history))


def _keras_mode(cb: Any) -> str:
    mode = str(getattr(cb, "mode", "auto"))
    return mode if mode in ("min", "max") else "auto"


def _keras_file(path: Any, what: str, where: str) -> str:
    name = os.fspath(path)
    if "{" in name:
        raise ConfigError(f"{where}: {what}({name!r}): a file name with placeholders is not"
                          " supported; each slot writes one file in its own folder")
    return Path(name).name


def _refuse_keras(where: str, cb: Any, what: str) -> ConfigError:
    return ConfigError(f"{where}: keras.callbacks.{type(cb).__name__} {what} is not supported"
                       " per slot; leave it out")


def _keras_early_stopping(cb: Any, where: str) -> Callback:
    if getattr(cb, "start_from_epoch", 0):
        raise _refuse_keras(where, cb, "with start_from_epoch")
    return EarlyStopping(EarlyStoppingConfig(
        monitor=cb.monitor, patience=int(cb.patience), min_delta=abs(float(cb.min_delta)),
        mode=_keras_mode(cb), baseline=cb.baseline,
        restore_best_weights=bool(cb.restore_best_weights)))


def _keras_reduce_lr(cb: Any, where: str) -> Callback:
    return ReduceLROnPlateau(ReduceLROnPlateauConfig(
        monitor=cb.monitor, factor=float(cb.factor), patience=int(cb.patience),
        min_delta=abs(float(cb.min_delta)), mode=_keras_mode(cb), cooldown=int(cb.cooldown),
        min_lr=float(cb.min_lr)))


def _keras_checkpoint(cb: Any, where: str) -> Callback:
    if getattr(cb, "save_weights_only", False):
        raise _refuse_keras(where, cb, "with save_weights_only=True")
    if getattr(cb, "save_freq", "epoch") != "epoch":
        raise _refuse_keras(where, cb, f"with save_freq={cb.save_freq!r}")
    if getattr(cb, "initial_value_threshold", None) is not None:
        raise _refuse_keras(where, cb, "with initial_value_threshold")
    return ModelCheckpoint(ModelCheckpointConfig(
        monitor=cb.monitor, mode=_keras_mode(cb), save_best_only=bool(cb.save_best_only),
        filename=_keras_file(cb.filepath, "ModelCheckpoint", where)))


def _keras_csv(cb: Any, where: str) -> Callback:
    if getattr(cb, "sep", ",") != "," or getattr(cb, "append", False):
        raise _refuse_keras(where, cb, "with another separator or append=True")
    return _KerasCSVLogger(CSVLoggerConfig(filename=_keras_file(cb.filename, "CSVLogger",
                                                                where)))


class _KerasCSVLogger(CSVLogger):
    """CSVLogger in Keras's layout: ``epoch``, then the logged values sorted by name (the
    learning rate and epoch time tunelab also records are left out, as Keras's logs have
    neither)."""

    def on_epoch_end(self, slot: SlotHandle, epoch: int, logs: dict[str, float]) -> None:
        assert slot.out_dir is not None
        history = slot.history
        keys = sorted(k for k in history if k not in ("epoch", "lr", "seconds"))
        rows = {"epoch": history.get("epoch", list(range(epoch + 1))),
                **{k: history[k] for k in keys}}
        write_text(Path(slot.out_dir) / self.config.filename, history_csv(rows))


def _keras_schedule(cb: Any, where: str) -> Callback:
    schedule = cb.schedule
    return LearningRateScheduler(lambda epoch, lr: float(schedule(epoch, lr)))


class _KerasTensorBoard(Callback):
    """Keras's ``TensorBoard`` epoch scalars for one slot: ``epoch_<name>`` in ``train/`` and
    (without ``val_``) in ``validation/``, plus ``epoch_learning_rate``, step = epoch, in
    ``<slot folder>/<log_dir's name>/``. Written with TensorBoard's own writer."""

    def __init__(self, name: str) -> None:
        self.name = name

    def on_train_begin(self, slot: SlotHandle) -> None:
        if slot.out_dir is None:
            raise ConfigError("callbacks: TensorBoard needs an output folder; pass out_dir"
                              " (tunelab train --out RUN_DIR)")
        try:
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError:
            raise ConfigError("callbacks: keras.callbacks.TensorBoard needs the tensorboard"
                              " package; pip install 'tunelab[tensorboard]'") from None
        folder = Path(slot.out_dir) / self.name
        self.writers = {part: EventFileWriter(str(folder / part))
                        for part in ("train", "validation")}

    def on_epoch_end(self, slot: SlotHandle, epoch: int, logs: dict[str, float]) -> None:
        import time

        from tensorboard.compat.proto import event_pb2, summary_pb2

        values = {k: v for k, v in logs.items() if k not in ("epoch", "seconds", "lr")}
        values["learning_rate"] = slot.learning_rate
        for part, pairs in (("train", [(k, v) for k, v in values.items()
                                       if not k.startswith("val_")]),
                            ("validation", [(k[4:], v) for k, v in values.items()
                                            if k.startswith("val_")])):
            summary = summary_pb2.Summary(value=[
                summary_pb2.Summary.Value(tag=f"epoch_{k}", simple_value=float(v))
                for k, v in pairs])
            self.writers[part].add_event(event_pb2.Event(wall_time=time.time(), step=epoch,
                                                         summary=summary))
            self.writers[part].flush()

    def on_train_end(self, slot: SlotHandle) -> None:
        for writer in getattr(self, "writers", {}).values():
            writer.close()


def _keras_tensorboard(cb: Any, where: str) -> Callback:
    for key, default in (("histogram_freq", 0), ("write_images", False),
                         ("embeddings_freq", 0), ("update_freq", "epoch")):
        if getattr(cb, key, default) != default:
            raise _refuse_keras(where, cb, f"with {key}={getattr(cb, key)!r} (epoch scalars"
                                           " only)")
    return _KerasTensorBoard(Path(os.fspath(cb.log_dir)).name or "logs")


def _keras_nothing(cb: Any, where: str) -> Callback:
    # History is always kept; a slot whose loss turns NaN/inf always stops (TerminateOnNaN's
    # effect, per slot); a progress bar is tunelab's own.
    return Callback()


#: Keras callback class name -> its per-slot translation. The one list of what is supported.
KERAS_CALLBACKS: dict[str, Callable[[Any, str], Callback]] = {
    "EarlyStopping": _keras_early_stopping,
    "ReduceLROnPlateau": _keras_reduce_lr,
    "LearningRateScheduler": _keras_schedule,
    "ModelCheckpoint": _keras_checkpoint,
    "CSVLogger": _keras_csv,
    "TensorBoard": _keras_tensorboard,
    "TerminateOnNaN": _keras_nothing,
    "History": _keras_nothing,
    "ProgbarLogger": _keras_nothing,
}


def from_keras(callback: Any, where: str = "callbacks") -> Callback:
    """A ``keras.callbacks`` object as a tunelab :class:`Callback` acting on one slot.

    Each translation keeps the Keras object's own arguments (monitor, mode, patience,
    min_delta, factor, cooldown, save_best_only, ...); files are written in the slot's folder
    under the Keras file's name. A tunelab :class:`Callback` passes as it is. One call per
    slot: the result holds the slot's state.

    Raises:
        ConfigError: A Keras callback (or an argument of one) tunelab cannot honour per
            slot, named; the supported ones are :data:`KERAS_CALLBACKS`.

    Example:
        >>> import keras
        >>> cb = from_keras(keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=2))
        >>> type(cb).__name__, cb.config.patience, cb.mode
        ('EarlyStopping', 2, 'max')
        >>> from_keras(keras.callbacks.RemoteMonitor())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tunelab.errors.ConfigError: callbacks: keras.callbacks.RemoteMonitor is not supported...
    """
    if isinstance(callback, Callback):
        return callback
    import keras

    if not isinstance(callback, keras.callbacks.Callback):
        raise ConfigError(f"{where}: expected a keras.callbacks or tunelab.train callback, got"
                          f" {type(callback).__name__}")
    kind = type(callback)
    translate = KERAS_CALLBACKS.get(kind.__name__)
    if translate is None or kind.__module__.split(".")[0] != "keras":
        raise ConfigError(f"{where}: keras.callbacks.{kind.__name__} is not supported per slot;"
                          f" tunelab honours {', '.join(KERAS_CALLBACKS)} (or a"
                          " tunelab.train.Callback)")
    return translate(callback, where)


def keras_callbacks_section(callbacks: Sequence[Any], where: str = "callbacks"
                            ) -> dict[str, Any]:
    """``keras.callbacks`` objects as the ``[callbacks]`` table every trial of a study reads.

    A study's trials are configurations (they travel to worker processes and a resume reads
    them back), so its Keras callbacks become settings: EarlyStopping, ReduceLROnPlateau,
    ModelCheckpoint and CSVLogger keep their arguments; TerminateOnNaN is always in effect.

    Raises:
        ConfigError: A callback that has no setting (a LearningRateScheduler: give
            ``schedule.function``), or one :func:`from_keras` refuses.

    Example:
        >>> import keras
        >>> keras_callbacks_section([keras.callbacks.EarlyStopping(patience=3)])
        {'early_stopping': {'monitor': 'val_loss', 'patience': 3, 'min_delta': 0.0, \
'mode': 'auto', 'baseline': None, 'restore_best_weights': False}}
    """
    sections = {EarlyStopping: "early_stopping", ReduceLROnPlateau: "reduce_lr_on_plateau",
                ModelCheckpoint: "model_checkpoint", CSVLogger: "csv_logger"}
    out: dict[str, Any] = {}
    for callback in callbacks:
        own = from_keras(callback, where)
        if type(own) is Callback:
            continue
        key = next((k for cls, k in sections.items() if isinstance(own, cls)), None)
        if key is None:
            raise ConfigError(f"{where}: {type(callback).__name__} has no setting a study's"
                              " trials can carry (for a LearningRateScheduler give [schedule]"
                              " name or function = 'module:function'; for TensorBoard,"
                              " tune(tensorboard=DIR))")
        out[key] = own.config.model_dump(mode="json")  # type: ignore[attr-defined]
    return out
