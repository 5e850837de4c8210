"""One structure's compiled program: the Keras model, one epoch as a scan, and evaluation.

A :class:`Program` is built once per structure (see :func:`structure_key`) and shared by
every cohort of that structure through a module-level cache. Its functions are pure and
take everything as arguments, the dataset included: captured as a constant, the data
would be baked into the program and compiling would take several times longer.

* ``epoch``: one jitted ``lax.scan`` over minibatches. Each step gathers the minibatch
  (one permutation per epoch per replicate group, shared by the group's slots), runs
  ``model.stateless_call`` under ``jax.vmap`` with the slots' stacked variables, and applies
  the slots' optax updates. A slot that is
  not active, or whose loss turns NaN/inf, keeps its arrays unchanged (masked). Slots whose
  arrays outgrow the caches train in chunks, one scan per chunk in turn (``_chunks``).
* ``evaluate``: the slots' loss and metrics on one fixed-size chunk of rows (padded rows
  weigh zero), summed on the host side over as many chunks as a dataset has, so one
  compiled function serves validation and test sets of any size.

Compiled executables are kept per (K, data shapes) and their compile time is measured
apart from training time. JAX's persistent compilation cache is switched on
(``$TUNELAB_CACHE`` or ``~/.cache/tunelab/jax``), so a repeated run skips XLA compilation.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tunelab.config import RunConfig
from tunelab.model import (
    Builder,
    ModelSpec,
    Term,
    build_model,
    dense_targets,
    kernel_indices,
    loss_term,
    metric_term,
)
from tunelab.optim import make_optimizer, optimizer_family, set_learning_rate
from tunelab.train._accumulate import accumulate, closes, zero_accumulator

__all__ = ["Program", "SlotState", "compile_stats", "enable_compilation_cache", "get_program"]

_CACHE_LOCK = threading.Lock()
_CACHE_DIR: Path | None = None


def enable_compilation_cache(path: str | os.PathLike[str] | None = None) -> Path | None:
    """Switch on JAX's persistent compilation cache in a tunelab folder (once per process).

    The folder is ``path``, else ``$TUNELAB_CACHE``, else ``~/.cache/tunelab/jax``. Setting
    ``TUNELAB_CACHE`` to an empty string leaves the cache off.

    Example:
        >>> import tempfile
        >>> first = enable_compilation_cache(tempfile.mkdtemp())
        >>> first.is_dir()
        True
        >>> enable_compilation_cache(tempfile.mkdtemp()) == first  # later calls keep the first
        True
    """
    global _CACHE_DIR
    with _CACHE_LOCK:
        if _CACHE_DIR is not None:
            return _CACHE_DIR
        env = os.environ.get("TUNELAB_CACHE")
        if path is None and env == "":
            return None
        folder = Path(path or env or Path.home() / ".cache" / "tunelab" / "jax").expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None  # a read-only home must not stop training; compiling still works
        jax.config.update("jax_compilation_cache_dir", str(folder))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        _CACHE_DIR = folder
        return folder


@dataclass
class SlotState:
    """The stacked arrays of a cohort: one leading axis of size K on every leaf."""

    trainable: list[Any]
    non_trainable: list[Any]
    opt_state: Any
    accum: Any = ()  # the open batch's sums (``training.micro_batch``; else empty)

    def tree(self) -> tuple[Any, Any, Any, Any]:
        return (self.trainable, self.non_trainable, self.opt_state, self.accum)


@dataclass
class _Stats:
    compiles: int = 0
    seconds: float = 0.0


_STATS = _Stats()


def compile_stats() -> dict[str, float]:
    """How many epoch/eval programs this process compiled, and the seconds it took.

    Example:
        >>> sorted(compile_stats())
        ['compiles', 'seconds']
    """
    return {"compiles": _STATS.compiles, "seconds": _STATS.seconds}


@dataclass
class Program:
    """The Keras model and compiled functions shared by every cohort of one structure."""

    config: RunConfig
    spec: ModelSpec
    builder: Builder | None
    model: Any = field(init=False)
    loss: Term = field(init=False)
    metrics: list[Term] = field(init=False)
    _optimizer: Callable[..., Any] = field(init=False)
    _kernels: list[int] = field(init=False)
    _compiled: dict[tuple[Any, ...], Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        cfg = self.config
        self.model = build_model(cfg.model, self.spec, builder=self.builder)
        self.loss = loss_term(cfg.training.loss, self.spec.task)
        self.metrics = [metric_term(m, self.spec.task) for m in _metric_names(cfg, self.spec)]
        name, nesterov = optimizer_family(cfg.optimizer)
        self._optimizer = make_optimizer(name, nesterov=nesterov)
        uses_builder = self.builder is not None or cfg.model.builder is not None
        self._kernels = [] if uses_builder else kernel_indices(self.model)
        # With ``training.micro_batch`` the program steps through micro-batches and each
        # slot accumulates its own number of them (its period) before an update.
        micro = cfg.training.micro_batch
        self.accumulate = micro is not None
        self.batch_size = int(micro if micro is not None else cfg.training.batch_size)

    # ------------------------------------------------------------------ per-slot pieces
    def optimizer(self, hyperparams: dict[str, float]) -> Any:
        """The slot's optax optimizer (its numbers injected into the state)."""
        return self._optimizer(**hyperparams)

    def _forward(self, tv: Any, ntv: Any, x: Any, training: bool) -> tuple[Any, Any, Any]:
        y_pred, new_ntv, losses = self.model.stateless_call(
            tv, ntv, x, training=training, return_losses=True)
        extra = sum(losses) if losses else jnp.zeros((), jnp.float32)
        return y_pred, new_ntv, extra

    def _penalty(self, tv: Any, l2: Any) -> Any:
        # Keras's L2 regularizer: l2 * sum(w**2) over every Dense kernel.
        if not self._kernels:
            return jnp.zeros((), jnp.float32)
        return l2 * sum(jnp.sum(jnp.square(tv[i])) for i in self._kernels)

    def _terms(self, labels: Any, y_pred: Any, w: Any) -> tuple[Any, Any]:
        targets = dense_targets(labels, self.spec.task, self.spec.num_outputs)
        per_loss = jnp.sum(w * self.loss.fn(labels, targets, y_pred))
        per_metric = jnp.stack([jnp.sum(w * m.fn(labels, targets, y_pred)) for m in self.metrics]
                               ) if self.metrics else jnp.zeros((0,), jnp.float32)
        return per_loss, per_metric

    # ------------------------------------------------------------------ the epoch
    def zero_accum(self, tv: Any) -> Any:
        """One slot's empty accumulator (``()`` when the program does not accumulate)."""
        return zero_accumulator(tv) if self.accumulate else ()

    def _epoch(self, state: tuple[Any, Any, Any, Any], x: Any, y: Any, seeds: Any, epoch: Any,
               first: Any, lr: Any, active: Any, l2: Any, period: Any, *,
               length: int | None = None, use_l2: bool = True) -> tuple[Any, Any]:
        """``length`` steps of epoch ``epoch`` from step ``first`` (default: the whole epoch).

        A piece of an epoch (sub-epoch fidelity) is the same scan over fewer steps; steps past
        the epoch's end, which the last piece can have, change nothing and weigh nothing.
        ``period``: each slot's micro-steps per update (read when the program accumulates).
        """
        n, k = x.shape[0], lr.shape[0]
        groups = seeds.shape[0]  # replicate groups: K = groups x members, slots in group order
        members = k // groups
        bsz = self.batch_size
        steps = -(-n // bsz)
        length = steps if length is None else length
        tv, ntv, opt_state, acc = state
        opt_state = set_learning_rate(opt_state, lr)
        template = self._optimizer_template(opt_state)
        # One order per replicate group, shared by the group's slots: each minibatch is
        # gathered once per group, and the first layer's products for a group's slots become
        # one matrix product (vmap folds the slot axis of the kernels into the output columns
        # when the input is shared).

        def order(seed: Any) -> Any:
            if not self.config.training.shuffle:
                return jnp.arange(n)
            return jax.random.permutation(jax.random.fold_in(jax.random.PRNGKey(seed), epoch), n)

        # A step past the epoch's end slices a clamped window: it is masked (``real``).
        perms = jnp.pad(jax.vmap(order)(seeds), ((0, 0), (0, steps * bsz - n)))

        def slot_step(tv: Any, ntv: Any, opt: Any, acc: Any, alive: Any, l2k: Any,
                      period: Any, idx: Any, w: Any, real: Any, t: Any) -> tuple[Any, ...]:
            xb, yb = x[idx], y[idx]
            count = jnp.maximum(jnp.sum(w), 1.0)

            def objective(params: Any) -> tuple[Any, Any]:
                y_pred, new_ntv, extra = self._forward(params, ntv, xb, training=True)
                loss_sum, metric_sums = self._terms(yb, y_pred, w)
                loss = loss_sum / count
                if self.loss.root:
                    loss = jnp.sqrt(loss)
                if use_l2:  # a pass over every kernel: skipped when no slot needs it
                    loss = loss + self._penalty(params, l2k)
                return loss + extra, (new_ntv, metric_sums)

            (loss, (new_ntv, metric_sums)), grads = jax.value_and_grad(
                objective, has_aux=True)(tv)
            ok = alive & jnp.isfinite(loss) & real
            commit = real  # when the optimizer state moves on
            batch_loss = loss
            if self.accumulate:  # the update of the batch this micro-step closes
                close = closes(t, steps, period)
                grads, batch_loss, acc = accumulate(acc, grads, loss, jnp.sum(w), close)
                commit = close
            updates, new_opt = template.update(grads, opt, tv)
            apply = ok & commit
            # A masked slot's parameters and state (dropout seeds, BatchNorm statistics) stay
            # as they are. Adding a selected update, rather than selecting between new and
            # old arrays, lets XLA update the parameters in place (no copy per step). The
            # optimizer state of a masked slot is left to drift: the slot trains no further
            # until `assign` re-initialises it.
            new_tv = jax.tree.map(lambda p, u: p + jnp.where(apply, u, jnp.zeros_like(u)),
                                  tv, updates)
            new_ntv = jax.tree.map(lambda new, old: jnp.where(ok, new, old), new_ntv, ntv)
            # A step past the epoch's end (``real`` false) leaves a slot as it was.
            new_opt = jax.tree.map(lambda new, old: jnp.where(commit, new, old), new_opt, opt)
            return (new_tv, new_ntv, new_opt, acc, jnp.where(real, ok, alive),
                    loss * jnp.sum(w), metric_sums, batch_loss)

        # One slot runs unbatched: a slot axis of size 1 in the loop costs copies and
        # batched products; the arrays get their axis back after the scan. Several replicate
        # groups run as a vmap over groups (each with its own minibatch) of a vmap over the
        # group's slots (sharing it): the slot axis is split into (groups, members).
        single = k == 1
        grouped = groups > 1
        in_group = jax.vmap(slot_step, in_axes=(0, 0, 0, 0, 0, 0, 0, None, None, None, None))
        if single:
            step = slot_step
        elif grouped:
            step = jax.vmap(in_group, in_axes=(0, 0, 0, 0, 0, 0, 0, 0, None, None, None))
        else:
            step = in_group
        per_slot = (tv, ntv, opt_state, acc, active, l2, period)
        if single:
            per_slot = jax.tree.map(lambda a: a[0], per_slot)
        elif grouped:
            per_slot = jax.tree.map(lambda a: a.reshape((groups, members, *a.shape[1:])),
                                    per_slot)
        tv, ntv, opt_state, acc, alive, l2s, periods = per_slot

        def body(carry: tuple[Any, ...], t: Any) -> tuple[tuple[Any, ...], Any]:
            tv, ntv, opt, acc, alive, loss_acc, metric_acc = carry
            start = t * bsz
            idx = jax.lax.dynamic_slice_in_dim(perms, start, bsz, axis=1)
            idx = idx if grouped else idx[0]
            real = t < steps
            w = (((start + jnp.arange(bsz)) < n) & real).astype(jnp.float32)
            tv, ntv, opt, acc, alive, loss_sum, metric_sums, batch_loss = step(
                tv, ntv, opt, acc, alive, l2s, periods, idx, w, real, t)
            # Each step's loss (NaN once a slot is masked): what a range test reads. When
            # accumulating, the mean over the batch so far (the host keeps the closing steps).
            step_loss = jnp.where(alive, batch_loss, jnp.nan)
            return (tv, ntv, opt, acc, alive, loss_acc + loss_sum, metric_acc + metric_sums
                    ), step_loss

        lead = () if single else ((groups, members) if grouped else (k,))
        carry0 = (tv, ntv, opt_state, acc, alive, jnp.zeros(lead, jnp.float32),
                  jnp.zeros((*lead, len(self.metrics)), jnp.float32))
        carry, step_loss = jax.lax.scan(body, carry0, first + jnp.arange(length))
        if single:
            carry = jax.tree.map(lambda a: a[None], carry)
            step_loss = step_loss[:, None]
        elif grouped:
            carry = jax.tree.map(lambda a: a.reshape((k, *a.shape[2:])), carry)
            step_loss = step_loss.reshape((length, k))
        tv, ntv, opt_state, acc, alive, loss_acc, metric_acc = carry
        # Sums over the piece's rows: the host divides by the rows of the whole epoch.
        stats = {"loss": loss_acc, "metrics": metric_acc, "finite": alive,
                 "step_loss": step_loss}
        return (tv, ntv, opt_state, acc), stats

    def _chunked(self, state: tuple[Any, Any, Any, Any], x: Any, y: Any, seeds: Any,
                 epoch: Any, first: Any, lr: Any, active: Any, l2: Any, period: Any, *,
                 length: int | None = None, use_l2: bool = True) -> tuple[Any, Any]:
        """:meth:`_epoch` over the cohort's chunks in turn (see ``_chunks``).

        ``seeds`` is the chunks' seed table, ``(chunks, groups)``: the slot axis of every
        per-slot array is cut into that many consecutive chunks, each trained by its own
        epoch scan (so its arrays stay in the caches), one after another; a chunk with no
        active slot is passed over. One chunk is the plain epoch.
        """
        count = seeds.shape[0]
        if count == 1:
            return self._epoch(state, x, y, seeds[0], epoch, first, lr, active, l2, period,
                               length=length, use_l2=use_l2)

        def cut(a: Any) -> Any:
            return a.reshape((count, a.shape[0] // count, *a.shape[1:]))

        def one(chunk: tuple[Any, ...]) -> tuple[Any, Any]:
            st, sd, lr_c, act, l2_c, per = chunk

            def run() -> tuple[Any, Any]:
                return self._epoch(st, x, y, sd, epoch, first, lr_c, act, l2_c, per,
                                   length=length, use_l2=use_l2)

            def skip() -> tuple[Any, Any]:
                shapes = jax.eval_shape(run)[1]
                return st, jax.tree.map(
                    lambda a: jnp.zeros(a.shape, a.dtype) if a.dtype == jnp.bool_
                    else jnp.full(a.shape, jnp.nan, a.dtype), shapes)

            return jax.lax.cond(jnp.any(act), run, skip)

        chunks = (jax.tree.map(cut, state), seeds, *(cut(v) for v in (lr, active, l2, period)))
        new_state, stats = jax.lax.map(one, chunks)
        new_state = jax.tree.map(lambda a: a.reshape((-1, *a.shape[2:])), new_state)
        # Per chunk: (chunks, slots, ...), and the step losses (chunks, steps, slots).
        step_loss = jnp.moveaxis(stats.pop("step_loss"), 0, 1)
        stats = jax.tree.map(lambda a: a.reshape((-1, *a.shape[2:])), stats)
        stats["step_loss"] = step_loss.reshape((step_loss.shape[0], -1))
        return new_state, stats

    def _optimizer_template(self, opt_state: Any) -> Any:
        # inject_hyperparams reads every number from the state at update time, so any values
        # of the right names build the update function; the slot's own ones come from state.
        names = list(opt_state.hyperparams)
        return self._optimizer(**{name: 0.0 for name in names})

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self, tv: Any, ntv: Any, x: Any, y: Any, w: Any, l2: Any) -> Any:
        def one(tv: Any, ntv: Any, l2k: Any) -> tuple[Any, Any, Any]:
            y_pred, _, extra = self._forward(tv, ntv, x, training=False)
            loss_sum, metric_sums = self._terms(y, y_pred, w)
            return loss_sum, metric_sums, extra + self._penalty(tv, l2k)

        return _over_slots(one, (0, 0, 0), l2.shape[0])(tv, ntv, l2)

    def _predict(self, tv: Any, ntv: Any, x: Any) -> Any:
        y_pred, _, _ = self._forward(tv, ntv, x, training=False)
        return y_pred

    # ------------------------------------------------------------------ slot bookkeeping
    # Small compiled helpers: done eagerly, each array shape would cost its own compilation.
    @staticmethod
    def _put(stacked: Any, one: Any, slot: Any) -> Any:
        return jax.tree.map(lambda s, v: s.at[slot].set(v.astype(s.dtype)), stacked, one)

    @staticmethod
    def _take(stacked: Any, slot: Any) -> Any:
        return jax.tree.map(lambda s: s[slot], stacked)

    @staticmethod
    def _select(stacked: Any, slots: Any) -> Any:
        return jax.tree.map(lambda s: s[slots], stacked)

    def _init_optimizer(self, hyperparams: dict[str, Any], tv: Any) -> Any:
        return self._optimizer(**hyperparams).init(tv)

    # ------------------------------------------------------------------ compiling
    def compiled(self, kind: str, args: tuple[Any, ...], *, length: int | None = None
                 ) -> tuple[Any, float]:
        """The compiled ``epoch`` (``epoch_no_l2``), ``evaluate``, ``predict``... for ``args``.

        ``length``: the steps of one piece of an epoch (epochs only; default the whole epoch).
        Returns the executable and the seconds spent compiling it now (0 when cached).
        """
        key = (kind, length, jax.tree.structure(args),
               tuple((tuple(a.shape), str(a.dtype)) for a in jax.tree.leaves(args)))
        hit = self._compiled.get(key)
        if hit is not None:
            return hit, 0.0
        enable_compilation_cache()
        functions: dict[str, Callable[..., Any]] = {
            "epoch": functools.partial(self._chunked, length=length),
            "epoch_no_l2": functools.partial(self._chunked, length=length, use_l2=False),
            "evaluate": self._evaluate, "predict": self._predict,
            "put": self._put, "take": self._take, "select": self._select,
            "init_optimizer": self._init_optimizer}
        fn = functions[kind]
        donate: tuple[int, ...] = (0,) if kind in ("epoch", "epoch_no_l2", "put") else ()
        start = time.perf_counter()
        exe = jax.jit(fn, donate_argnums=donate).lower(*args).compile()
        seconds = time.perf_counter() - start
        self._compiled[key] = exe
        _STATS.compiles += 1
        _STATS.seconds += seconds
        return exe, seconds


def _over_slots(fn: Callable[..., Any], in_axes: tuple[int | None, ...], k: int
                ) -> Callable[..., Any]:
    """``jax.vmap(fn)`` over the slot axis; for one slot, ``fn`` on the slot itself.

    A batch axis of size 1 turns every matrix product into a batched one, which XLA's CPU
    backend runs noticeably slower than a plain product at small batch sizes.
    """
    if k != 1:
        return jax.vmap(fn, in_axes=in_axes)

    def single(*args: Any) -> Any:
        inner = [jax.tree.map(lambda a: a[0], arg) if axis == 0 else arg
                 for arg, axis in zip(args, in_axes, strict=True)]
        return jax.tree.map(lambda a: a[None], fn(*inner))

    return single


def _metric_names(cfg: RunConfig, spec: ModelSpec) -> list[str]:
    from tunelab.model import resolve_metrics

    return resolve_metrics(list(cfg.training.metrics), spec.task)


_PROGRAMS: OrderedDict[tuple[Any, ...], Program] = OrderedDict()
_MAX_PROGRAMS = 64  # a long study visits many structures; keep the recent ones


def get_program(key: tuple[Any, ...], cfg: RunConfig, spec: ModelSpec,
                builder: Builder | None) -> Program:
    """The shared :class:`Program` for a structure and data spec, built on first use."""
    full = (key, spec)
    with _CACHE_LOCK:
        program = _PROGRAMS.get(full)
        if program is None:
            program = Program(cfg, spec, builder)
            _PROGRAMS[full] = program
            while len(_PROGRAMS) > _MAX_PROGRAMS:
                _PROGRAMS.popitem(last=False)
        _PROGRAMS.move_to_end(full)
        return program


def repeat(tree: Any, k: int) -> Any:
    """A pytree of K copies of one slot's arrays, stacked on the host (writable numpy)."""
    return jax.tree.map(lambda a: np.repeat(np.asarray(a)[None], k, axis=0), tree)
