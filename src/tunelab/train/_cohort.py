"""The cohort: K slots of one structure trained together, epoch by epoch, on the host's call.

A :class:`Cohort` holds the stacked arrays of its slots and the host-side state of each
slot (configuration, epoch counter, epoch budget, learning rate, history, callbacks,
status). :meth:`Cohort.run_epoch` trains every running slot for one epoch with one call of
the compiled epoch, evaluates them on the validation set, appends to their histories and
runs their callbacks. Slots are independent: each has its own epoch counter and budget, a
slot freed by pruning, early stopping, divergence or reaching its budget can be refilled
with :meth:`Cohort.assign`, and K = 1 is the same code path.

Example:
    >>> from sklearn.datasets import load_digits
    >>> from types import SimpleNamespace
    >>> from tunelab.config import parse_config
    >>> x, y = load_digits(return_X_y=True)
    >>> x = (x / 16).astype("float32"); y = y.astype("int32")
    >>> data = SimpleNamespace(x_train=x[:1200], y_train=y[:1200], x_val=x[1200:1500],
    ...     y_val=y[1200:1500], x_test=x[1500:], y_test=y[1500:], task="multiclass",
    ...     num_classes=10, input_shape=(64,), name="digits")
    >>> cfg = parse_config({"training": {"epochs": 2, "batch_size": 64}})
    >>> cohort = Cohort(cfg, data, width=2)
    >>> cohort.assign(0, cfg); cohort.assign(1, cfg.model_copy(update={"seed": 1}))
    >>> sorted(cohort.run_epoch())
    [0, 1]
    >>> _ = cohort.run_epoch(); str(cohort.status(0)), cohort.free_slots
    ('done', [0, 1])
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tunelab.config import RunConfig
from tunelab.errors import ConfigError, TrialError
from tunelab.model import Builder, export_model, initial_values, save_model
from tunelab.optim import epoch_schedule, optimizer_hyperparams, step_decay, step_growth
from tunelab.runs import SlotStatus
from tunelab.train._accumulate import update_positions
from tunelab.train._arrays import DataShape, device_data, evaluation_rows
from tunelab.train._callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    ModelCheckpoint,
    ReduceLROnPlateau,
    _BuiltinSchedule,
)
from tunelab.train._chunks import Chunking, chunking, slot_bytes
from tunelab.train._precompile import compile_program
from tunelab.train._program import SlotState, enable_compilation_cache, get_program, repeat
from tunelab.train._slot import _Slot
from tunelab.train._structure import DatasetLike, check_data, model_spec, structure_key

__all__ = ["Cohort"]

_EVAL_LIMIT = 32_768  # slots x rows of one evaluation call (see Cohort._pieces)


class Cohort:
    """K slots of one structure, trained one epoch at a time.

    Args:
        template: A configuration whose structure (see :func:`structure_key`) every slot
            shares; it is not trained itself.
        data: The dataset (any :class:`DatasetLike`).
        width: K, the number of slots.
        builder: A Python callable building the model, instead of ``model.builder``.
        replicates: Seeds of replicate groups sharing the cohort: slots are split into
            ``len(replicates)`` equal groups in order, group ``g``'s slots train
            configurations of seed ``replicates[g]`` and share that seed's data order (default:
            one group, the template's seed).
        parts: Pieces an epoch is trained in (sub-epoch fidelity; see :meth:`run_part`).
    """

    def __init__(self, template: RunConfig, data: DatasetLike, width: int = 1, *,
                 builder: Builder | None = None, replicates: Sequence[int] | None = None,
                 parts: int = 1) -> None:
        if width < 1:
            raise ConfigError(f"a cohort needs width >= 1, got {width=}")
        if parts < 1:
            raise ConfigError(f"a cohort needs parts >= 1 (pieces per epoch), got {parts=}")
        seeds = [int(template.seed)] if not replicates else [int(r) for r in replicates]
        if width % len(seeds):
            raise ConfigError(f"a cohort of {len(seeds)} replicate groups needs a width that"
                              f" is a multiple of {len(seeds)}, got {width=}")
        check_data(template, data, builder)
        enable_compilation_cache()
        self.data = data
        self.template = template
        self.width = int(width)
        self.builder = builder
        self.key = structure_key(template, builder)
        self.spec = model_spec(data)
        self.program = get_program(self.key, template, self.spec, builder)
        self.metric_names = [m.name for m in self.program.metrics]
        self.compile_seconds = 0.0
        self.train_seconds = 0.0
        # Every slot of a replicate group sees the same minibatches: the order of the
        # cohort's epoch E is drawn from the group's seed and E (the engine docs, "data
        # order"). Without ``replicates`` there is one group, with the template's seed.
        self.replicates = seeds
        self._data_seeds = np.asarray([r & 0xFFFFFFFF for r in seeds], np.uint32)
        self._members = self.width // len(seeds)
        self.parts = int(parts)
        self.pieces_run = 0  # pieces trained by the cohort: data epoch and piece of the next
        arrays = device_data(data, self.spec.input_shape)
        self._x, self._y, self._splits = arrays.x, arrays.y, arrays.splits
        self._rows, self._chunk = arrays.rows, arrays.chunk
        self._n = int(self._x.shape[0])
        self.steps_per_epoch = -(-self._n // self.program.batch_size)
        self.piece_steps = -(-self.steps_per_epoch // self.parts)
        tv, ntv = initial_values(self.program.model, template.model, self.spec, template.seed,
                                 builder=builder)
        # The same numbers a slot's assign gives its optimizer: one compiled initialisation.
        opt_state = self._init_optimizer(_slot_hyper(template), list(tv))
        # The stacked arrays stay on the host until the cohort first trains or reads them:
        # the slots assigned before then are written into them in place, and no program is
        # compiled to put them (a cohort filled once, as most are, never compiles one).
        one = (list(tv), list(ntv), opt_state, self.program.zero_accum(list(tv)))
        self._slot_bytes = slot_bytes(*one)
        self._chunking()
        self._host: SlotState | None = SlotState(*repeat(one, self.width))
        self._state: SlotState | None = None
        self._slots = [_Slot(self, i) for i in range(self.width)]

    # ------------------------------------------------------------------ slots
    def _slot(self, slot: int) -> _Slot:
        if not 0 <= slot < self.width:
            raise TrialError(
                f"slot {slot} does not exist; this cohort has slots 0..{self.width - 1}")
        return self._slots[slot]

    @property
    def running_slots(self) -> list[int]:
        """Slots that are training."""
        return [s.index for s in self._slots if s.status == SlotStatus.RUNNING]

    @property
    def free_slots(self) -> list[int]:
        """Slots that can take a new configuration (empty or finished)."""
        return [s.index for s in self._slots if s.status != SlotStatus.RUNNING]

    def status(self, slot: int) -> SlotStatus:
        """One of ``empty, running, done, early_stopped, diverged, stopped``."""
        return self._slot(slot).status

    def stop_reason(self, slot: int) -> str | None:
        """Why a slot was stopped (``cohort.stop``'s reason), else None."""
        return self._slot(slot).reason

    def tag(self, slot: int) -> Any:
        """The tag given to :meth:`assign` (a trial, a number: anything)."""
        return self._slot(slot).tag

    def config(self, slot: int) -> RunConfig | None:
        """The configuration a slot trains (None for an empty slot)."""
        return self._slot(slot).config

    def epoch(self, slot: int) -> int:
        """How many epochs the slot has trained since it was assigned."""
        return self._slot(slot).epoch

    def history(self, slot: int) -> dict[str, list[float]]:
        """The slot's history: Keras's keys, one value per epoch."""
        return {k: list(v) for k, v in self._slot(slot).history.items()}

    def learning_rate(self, slot: int) -> float:
        """The slot's base learning rate for its next epoch."""
        return self._slot(slot).learning_rate

    def set_learning_rate(self, slot: int, value: float) -> None:
        """Change a slot's base learning rate from its next epoch on."""
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"optimizer.learning_rate must be a finite number >= 0, got {value}")
        self._slot(slot).learning_rate = float(value)

    def _log_keys(self) -> list[str]:
        keys = ["epoch", "loss", *self.metric_names]
        if self._splits["val"]:
            keys += ["val_loss", *(f"val_{m}" for m in self.metric_names)]
        return [*keys, "lr", "seconds"]

    def _callbacks(self, cfg: RunConfig, extra: Sequence[Callback]) -> list[Callback]:
        logged = set(self._log_keys())
        out: list[Callback] = []
        sched = epoch_schedule(cfg.schedule, optimizer_hyperparams(cfg.optimizer)["learning_rate"],
                               cfg.training.epochs)
        if sched is not None:
            out.append(_BuiltinSchedule(sched))
        section = cfg.callbacks
        built: list[tuple[str, Any, Any]] = [
            ("early_stopping", section.early_stopping, EarlyStopping),
            ("reduce_lr_on_plateau", section.reduce_lr_on_plateau, ReduceLROnPlateau),
            ("model_checkpoint", section.model_checkpoint, ModelCheckpoint),
        ]
        for name, conf, cls in built:
            if conf is None:
                continue
            monitor = {"acc": "accuracy", "val_acc": "val_accuracy"}.get(conf.monitor,
                                                                         conf.monitor)
            if monitor not in logged:
                raise ConfigError(
                    f"callbacks.{name}.monitor: {conf.monitor!r} is not logged; choose one of"
                    f" {', '.join(k for k in self._log_keys() if k not in ('epoch', 'seconds'))}"
                )
            out.append(cls(conf.model_copy(update={"monitor": monitor})))
        if section.csv_logger is not None:
            out.append(CSVLogger(section.csv_logger))
        return out + list(extra)

    def assign(self, slot: int, cfg: RunConfig, tag: Any = None, *,
               out_dir: str | os.PathLike[str] | None = None,
               callbacks: Sequence[Callback] = (), record_steps: bool = False,
               report_at: Sequence[int] = ()) -> None:
        """(Re)initialise ``slot`` in place to train ``cfg`` from epoch 0.

        ``record_steps`` keeps the loss of every update step (:meth:`step_losses`), as a
        learning-rate range test reads it. ``report_at``: positions, counted in pieces since
        the slot started (``parts`` to an epoch), where :meth:`run_part` also reports the
        slot's validation values in mid-epoch.

        Raises:
            TrialError: when ``cfg`` does not share the cohort's structure.
            ConfigError: when ``cfg`` has a bad value (the message names the key).
        """
        s = self._slot(slot)
        if len(self.replicates) > 1 and int(cfg.seed) != self.replicates[slot // self._members]:
            raise TrialError(
                f"slot {slot} belongs to replicate {self.replicates[slot // self._members]}"
                f" (slots {slot // self._members * self._members}.."
                f"{(slot // self._members + 1) * self._members - 1}); a configuration with"
                f" seed {cfg.seed} goes in that replicate's slots")
        if structure_key(cfg, self.builder) != self.key:
            theirs = structure_key(cfg, self.builder)
            diff = [mine[0] for mine, other in zip(self.key, theirs, strict=True)
                    if mine != other]
            raise TrialError(
                f"slot {slot}: this configuration differs from the cohort's structure in"
                f" {', '.join(diff)}; train it in a cohort of its own"
            )
        check_data(cfg, self.data, self.builder)
        points = frozenset(int(p) for p in report_at)
        if any(p < 1 for p in points):
            raise ConfigError(f"report_at: positions are pieces after the start (>= 1), got"
                              f" {sorted(points)}")
        hyper = _slot_hyper(cfg)
        decay = hyper["decay"]
        cbs = self._callbacks(cfg, callbacks)
        folder = Path(out_dir) if out_dir is not None else None
        needs_folder = [name for name in ("model_checkpoint", "csv_logger")
                        if getattr(cfg.callbacks, name) is not None]
        if needs_folder and folder is None:
            raise ConfigError(
                f"callbacks.{needs_folder[0]} needs an output folder; pass out_dir"
                " (tunelab train --out RUN_DIR)"
            )
        tv, ntv = initial_values(self.program.model, cfg.model, self.spec, cfg.seed,
                                 builder=self.builder)
        opt_state = self._init_optimizer(hyper, list(tv))
        # Everything is checked: only now does the slot change.
        self._put(slot, (list(tv), list(ntv)), opt_state)
        s.out_dir, s.callbacks = folder, cbs
        s.config, s.tag, s.status, s.reason, s._pending = cfg, tag, SlotStatus.RUNNING, None, None
        s.epoch, s.budget, s.iterations = 0, int(cfg.training.epochs), 0
        s.learning_rate, s.lr_scale, s.decay = hyper["learning_rate"], 1.0, decay
        s.growth, s.record_steps, s.step_losses = hyper["growth"], bool(record_steps), []
        s.l2 = float(cfg.model.l2)
        s.period = int(cfg.training.batch_size) // self.program.batch_size
        s.piece, s.report_at, s.sums = 0, points, None
        s._history = {k: [] for k in self._log_keys()}
        try:
            for cb in s.callbacks:
                cb.on_train_begin(s)
        except BaseException:
            s.status, s.config = SlotStatus.EMPTY, None
            raise

    def stop(self, slot: int, reason: str = "stopped") -> None:
        """Stop a running slot now (e.g. ``"pruned"``); it becomes free for a refill."""
        s = self._slot(slot)
        if s.status != SlotStatus.RUNNING:
            return
        self._finish(s, SlotStatus.EARLY_STOPPED if reason == "early_stopped"
                     else SlotStatus.STOPPED, reason)

    def step_losses(self, slot: int) -> list[float]:
        """The loss of every update step since ``assign`` (``record_steps`` slots only)."""
        return list(self._slot(slot).step_losses)

    def _finish(self, s: _Slot, status: SlotStatus, reason: str | None) -> None:
        s.status, s.reason, s._pending = status, reason, None
        for cb in s.callbacks:
            cb.on_train_end(s)

    # ------------------------------------------------------------------ arrays
    @property
    def state(self) -> SlotState:
        """The slots' stacked arrays on the device (put there at the first use)."""
        if self._host is not None:
            # Waited for here, so that an epoch's clock never counts the transfer.
            tree = jax.block_until_ready(jax.device_put(self._host.tree()))
            self._state, self._host = SlotState(*tree), None
        assert self._state is not None
        return self._state

    @state.setter
    def state(self, value: SlotState) -> None:
        self._state, self._host = value, None

    def _run(self, kind: str, *args: Any) -> Any:
        exe, seconds = self.program.compiled(kind, args)
        self.compile_seconds += seconds
        return exe(*args)

    def _init_optimizer(self, hyper: dict[str, float], tv: list[Any]) -> Any:
        values = {k: np.float32(v) for k, v in hyper.items()}
        return self._run("init_optimizer", values, [jnp.asarray(a) for a in tv])

    def _get(self, slot: int) -> tuple[list[Any], list[Any]]:
        st = self.state
        if self.width == 1:  # the slot is the whole array: no program to compile
            tv, ntv = jax.tree.map(lambda a: a[0], jax.device_get(
                (st.trainable, st.non_trainable)))
        else:
            tv, ntv = self._run("take", (st.trainable, st.non_trainable), np.int32(slot))
        return list(tv), list(ntv)

    def _put(self, slot: int, weights: Any, opt_state: Any = None) -> None:
        tv, ntv = weights
        one = ([jnp.asarray(a) for a in tv], [jnp.asarray(a) for a in ntv])
        if opt_state is not None:  # a fresh start: the optimizer and an empty open batch
            fresh = (opt_state, self.program.zero_accum(one[0]))
        if self._host is not None:  # not yet on the device: write the slot's rows in place
            host = self._host

            def write(stacked: Any, value: Any) -> None:
                jax.tree.map(lambda s, v: s.__setitem__(slot, np.asarray(v, s.dtype)),
                             stacked, value)

            write((host.trainable, host.non_trainable), one)
            if opt_state is not None:
                write((host.opt_state, host.accum), fresh)
            return
        st = self.state
        if self.width == 1:
            # One slot is the whole stacked array: it is replaced, not written into, so no
            # program is compiled for it (a cohort of one structure per trial, as a search
            # whose every trial is its own model has, would pay one per structure).
            def whole(stacked: Any, value: Any) -> Any:
                return jax.device_put(jax.tree.map(
                    lambda s, v: np.asarray(v, s.dtype)[None], stacked, value))

            st.trainable, st.non_trainable = whole((st.trainable, st.non_trainable), one)
            if opt_state is not None:
                st.opt_state, st.accum = whole((st.opt_state, st.accum), fresh)
            return
        st.trainable, st.non_trainable = self._run(
            "put", (st.trainable, st.non_trainable), one, np.int32(slot))
        if opt_state is not None:
            st.opt_state, st.accum = self._run("put", (st.opt_state, st.accum), fresh,
                                               np.int32(slot))

    def narrow(self, slots: Sequence[int]) -> None:
        """Keep only ``slots``, in this order: slot ``slots[i]`` becomes slot ``i``.

        The cohort's width becomes ``len(slots)``; the kept slots go on training exactly as
        they were (their arrays, optimizer state, history and callbacks move with them). A
        cohort whose running slots have thinned out trains the rest at a narrower width
        (a new compiled shape, cached like any other) instead of computing idle slots.

        Raises:
            TrialError: A slot does not exist, is given twice, or a running slot is left out.
        """
        keep = [int(i) for i in slots]
        if len(self.replicates) > 1:
            raise TrialError("a cohort of several replicate groups cannot be narrowed")
        for i in keep:
            self._slot(i)
        if not keep or len(set(keep)) != len(keep):
            raise TrialError(f"narrow needs distinct existing slots, got {keep}")
        dropped = [i for i in self.running_slots if i not in keep]
        if dropped:
            raise TrialError(f"narrow would drop running slots {dropped}; stop them first")
        self.state = SlotState(*self._run("select", self.state.tree(), np.asarray(keep, np.int32)))
        self._slots = [self._slots[i] for i in keep]
        for new, s in enumerate(self._slots):
            s.index = new
        self.width = len(keep)
        self._chunking()

    def _chunking(self) -> None:
        """How an epoch splits into slot chunks that fit the caches (see ``_chunks``), and
        the data-order seeds of each chunk."""
        self.chunks: Chunking = chunking(width=self.width, groups=len(self.replicates),
                                         slot_bytes=self._slot_bytes)
        self._chunk_seeds = self.chunks.seed_table(self._data_seeds)

    def _vector(self, attr: str, dtype: Any) -> np.ndarray:
        return np.asarray([getattr(s, attr) for s in self._slots], dtype=dtype)

    # ------------------------------------------------------------------ training
    def run_epoch(self) -> dict[int, dict[str, float]]:
        """Train every running slot for one epoch; return each one's logs.

        Logs hold ``epoch`` (counted from 0), ``loss`` and the metrics (means over the
        epoch's batches, as Keras reports them), ``val_loss`` and ``val_<metric>``, ``lr``
        (the rate the epoch's last update used) and ``seconds`` (the cohort's epoch time).
        A cohort trained in pieces (``parts`` > 1) trains them with :meth:`run_part`.
        """
        if self.parts != 1:
            raise TrialError(f"this cohort trains epochs in {self.parts} pieces; call run_part")
        return self.run_part()

    def run_part(self) -> dict[int, dict[str, float]]:
        """Train every running slot for the next piece of its epoch; return the reports.

        With ``parts`` = P an epoch is P pieces of ``piece_steps`` update steps (the last
        piece of the cohort's data epoch may be shorter), and a slot's epoch is P pieces from
        where it started: a slot assigned in mid-epoch reads the cohort's data order from
        there on (each of its epochs has as many steps as a whole one). A slot at the end of
        its epoch gets the logs of :meth:`run_epoch` (history, callbacks, status as there); a
        slot at one of its ``report_at`` positions gets its validation values so far, without
        ``epoch``: ``progress`` (epochs trained, a fraction), ``loss`` and the metrics as
        means over the epoch's pieces so far, ``val_*``, and ``seconds`` spent in it.
        """
        running = [s for s in self._slots if s.status == SlotStatus.RUNNING]
        if not running:
            return {}
        for s in running:
            if s.piece == 0:
                s.sums = None
                for cb in s.callbacks:
                    cb.on_epoch_begin(s, s.epoch)
        epoch, piece = divmod(self.pieces_run, self.parts)
        first = piece * self.piece_steps
        real = max(0, min(self.piece_steps, self.steps_per_epoch - first))
        bsz = self.program.batch_size
        rows = max(0, min(self._n, (first + real) * bsz) - first * bsz)
        whole = self.parts == 1
        active = self._vector("status", object) == SlotStatus.RUNNING
        args = (self.state.tree(), self._x, self._y, self._chunk_seeds, np.int32(epoch),
                np.int32(first), self._vector("learning_rate", np.float32), active,
                self._vector("l2", np.float32), self._vector("period", np.int32))
        uses_l2 = any(s.l2 > 0 for s in running)
        # Everything this piece runs is compiled before the clock starts, so ``seconds`` is
        # the piece's own time (training and validation), the first one's included.
        exe, compile_s = self.program.compiled("epoch" if uses_l2 else "epoch_no_l2", args,
                                               length=None if whole else self.piece_steps)
        ends = [s for s in running if s.piece + 1 == self.parts]
        reports = [s for s in running if s.piece + 1 < self.parts
                   and s.epoch * self.parts + s.piece + 1 in s.report_at]
        evaluate = bool(ends or reports)
        if evaluate:
            compile_s += self._compile_evaluation("val")
        self.compile_seconds += compile_s
        start = time.perf_counter()
        tree, stats = exe(*args)
        self.state = SlotState(*tree)
        val = self._evaluate("val")[0] if evaluate else {}
        stats = jax.device_get(stats)
        seconds = time.perf_counter() - start
        self.train_seconds += seconds
        self.pieces_run += 1
        out: dict[int, dict[str, float]] = {}
        for s in running:
            k = s.index
            # The piece's update steps: every micro-step, or the ones closing a batch.
            updates = (update_positions(first, real, self.steps_per_epoch, s.period)
                       if self.program.accumulate else np.arange(real))
            if s.record_steps:
                s.step_losses += [float(v) for v in stats["step_loss"][updates, k]]
            loss, metrics = float(stats["loss"][k]), np.asarray(stats["metrics"][k], np.float64)
            before = s.sums if s.sums is not None else (0.0, 0.0, 0, 0.0)
            s.sums = (before[0] + loss, before[1] + metrics, before[2] + rows,
                      before[3] + seconds)
            s.piece += 1
            finite = bool(stats["finite"][k]) and math.isfinite(loss)
            if finite:
                s.iterations += len(updates)
            if s.piece == self.parts or not finite:
                out[k] = self._end_epoch(s, finite, val)
            elif s in reports:
                out[k] = self._mid_epoch(s, val)
        return out

    def _mid_epoch(self, s: _Slot, val: dict[str, np.ndarray]) -> dict[str, float]:
        assert s.sums is not None
        loss_sum, metric_sums, rows, seconds = s.sums
        rows = max(rows, 1)
        logs: dict[str, float] = {"progress": s.epoch + s.piece / self.parts,
                                  "loss": loss_sum / rows}
        for j, name in enumerate(self.metric_names):
            logs[name] = self._finish_metric(j, float(metric_sums[j]) / rows)
        for key, values in val.items():
            logs[f"val_{key}"] = float(values[s.index])
        logs["seconds"] = seconds
        return logs

    def _pieces(self, split: str) -> list[tuple[Any, Any, Any]]:
        """The split's evaluation chunks, cut to :func:`evaluation_rows` rows each.

        Pieces of one split all have one shape: one compilation.
        """
        chunks = self._splits[split]
        if not chunks:
            return []
        rows = int(chunks[0][0].shape[0])
        size = evaluation_rows(self.width, rows)
        if size == rows:
            return list(chunks)
        return [(xc[i:i + size], yc[i:i + size], wc[i:i + size]) for xc, yc, wc in chunks
                for i in range(0, rows, size)]

    def compile(self, *, l2: bool = False) -> float:
        """Compile the programs an epoch (or a piece of one) and its validation run, now.

        ``l2``: the variant with an L2 penalty (a slot with ``model.l2 > 0``). Training then
        finds them compiled. Returns the seconds spent (0 when they already were). It may
        run in another thread while a cohort of another structure trains;
        ``bench/compile_overlap.py`` measures whether that pays. Before the data is read,
        :func:`tunelab.train.compile_cohort` compiles the same from shapes.
        """
        seconds = compile_program(
            self.program, self.template, DataShape.of(self.data), self.width,
            groups=len(self.replicates), piece_steps=None if self.parts == 1
            else self.piece_steps, l2=l2, builder=self.builder)
        self.compile_seconds += seconds
        return seconds

    def _compile_evaluation(self, split: str) -> float:
        """Compile the evaluation of ``split`` for the current shapes; return the seconds."""
        pieces = self._pieces(split)
        if not pieces:
            return 0.0
        st = self.state
        xc, yc, wc = pieces[0]  # every piece has the same shape
        args = (st.trainable, st.non_trainable, xc, yc, wc, self._vector("l2", np.float32))
        return self.program.compiled("evaluate", args)[1]

    def _end_epoch(self, s: _Slot, finite: bool, val: dict[str, np.ndarray]
                   ) -> dict[str, float]:
        assert s.sums is not None
        loss_sum, metric_sums, n, seconds = s.sums
        s.piece, s.sums = 0, None
        n = max(n, 1)
        diverged = not finite
        done = max(s.iterations - 1, 0)
        lr = s.learning_rate * s.growth ** done / (1.0 + s.decay * done)
        logs: dict[str, float] = {"epoch": s.epoch, "loss": loss_sum / n}
        for j, name in enumerate(self.metric_names):
            logs[name] = self._finish_metric(j, float(metric_sums[j]) / n)
        for key, values in val.items():
            logs[f"val_{key}"] = float(values[s.index])
        for key in self._log_keys():  # a slot diverged in mid-epoch has no validation yet
            logs.setdefault(key, math.nan)
        logs["lr"] = float(lr)
        logs["seconds"] = seconds
        for key in s.history:
            s.history[key].append(logs[key])
        for cb in s.callbacks:
            cb.on_epoch_end(s, s.epoch, logs)
        s.epoch += 1
        if diverged:
            self._finish(s, SlotStatus.DIVERGED, "loss is not finite")
        elif s._pending is not None:
            reason = s._pending
            self._finish(s, SlotStatus.EARLY_STOPPED if reason == "early_stopped"
                         else SlotStatus.STOPPED, reason)
        elif s.epoch >= s.budget:
            self._finish(s, SlotStatus.DONE, None)
        return logs

    def _finish_metric(self, j: int, mean: float) -> float:
        return math.sqrt(mean) if self.program.metrics[j].root and mean >= 0 else mean

    def _evaluate(self, split: str) -> tuple[dict[str, np.ndarray], float]:
        chunks = self._pieces(split)
        if not chunks:
            return {}, 0.0
        st = self.state
        l2 = self._vector("l2", np.float32)
        parts = []
        compile_s = 0.0
        for xc, yc, wc in chunks:
            args = (st.trainable, st.non_trainable, xc, yc, wc, l2)
            exe, c = self.program.compiled("evaluate", args)
            compile_s += c
            parts.append(exe(*args))
        parts = jax.device_get(parts)
        loss_sum = sum(p[0] for p in parts)
        metric_sums = sum(p[1] for p in parts)
        penalty = parts[0][2]  # the same for every chunk
        n = max(float(self._rows[split]), 1.0)
        mean_loss = loss_sum / n
        if self.program.loss.root:
            mean_loss = np.sqrt(np.maximum(mean_loss, 0.0))
        out = {"loss": mean_loss + penalty}
        for j, name in enumerate(self.metric_names):
            value = metric_sums[:, j] / n
            out[name] = np.sqrt(np.maximum(value, 0.0)) if self.program.metrics[j].root else value
        return out, compile_s

    def evaluate(self, split: str = "test") -> dict[int, dict[str, float]]:
        """Every non-empty slot's loss and metrics on ``"val"`` or ``"test"`` data now.

        Keys are prefixed with the split: ``test_loss``, ``test_accuracy``...
        """
        if split not in self._splits:
            raise ConfigError(f"split must be 'val' or 'test', got {split!r}")
        values, compile_s = self._evaluate(split)
        self.compile_seconds += compile_s
        return {s.index: {f"{split}_{k}": float(v[s.index]) for k, v in values.items()}
                for s in self._slots if s.status != SlotStatus.EMPTY}

    def predict(self, slot: int, x: Any) -> np.ndarray:
        """The slot's predictions (inference mode) for ``x``, as a NumPy array."""
        tv, ntv = self._get(slot)
        xs = np.asarray(x, np.float32).reshape((-1, *self.spec.input_shape))
        outs = []
        for start in range(0, len(xs), self._chunk):
            part = xs[start:start + self._chunk]
            pad = self._chunk - len(part)
            padded = np.concatenate([part, np.zeros((pad, *part.shape[1:]), np.float32)])
            args = (tv, ntv, jnp.asarray(padded))
            exe, c = self.program.compiled("predict", args)
            self.compile_seconds += c
            outs.append(np.asarray(exe(*args))[:len(part)])
        return np.concatenate(outs) if outs else np.zeros((0, self.spec.num_outputs), np.float32)

    # ------------------------------------------------------------------ export
    def weights(self, slot: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The slot's (trainable, non-trainable) arrays, copied to NumPy."""
        tv, ntv = self._get(slot)
        return [np.asarray(a) for a in tv], [np.asarray(a) for a in ntv]

    def export(self, slot: int) -> Any:
        """The slot as a ``keras.Model`` of standard layers (loadable without tunelab)."""
        s = self._slot(slot)
        if s.config is None:
            raise TrialError(f"slot {slot} is empty; assign a configuration first")
        tv, ntv = self.weights(slot)
        return export_model(s.config.model, self.spec, tv, ntv, builder=self.builder)

    def save(self, slot: int, path: str | os.PathLike[str]) -> Path:
        """Save the slot as a ``.keras`` file, atomically."""
        return save_model(self.export(slot), path)


def _slot_hyper(cfg: RunConfig) -> dict[str, float]:
    """A slot's optimizer numbers: the optimizer's own, the schedule's step decay and growth."""
    hyper = optimizer_hyperparams(cfg.optimizer)
    hyper["decay"] = step_decay(cfg.schedule, cfg.optimizer)
    hyper["growth"] = step_growth(cfg.schedule)
    return hyper
