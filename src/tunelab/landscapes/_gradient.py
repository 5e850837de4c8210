"""The gradient family's race, vectorised and compiled.

Every gradient optimizer runs from every start with every learning rate of the grid at once:
the lanes (learning rate x start) of each optimizer are one ``jax.vmap`` over optax's
``update``, all optimizers step together inside one ``lax.scan`` over the steps, and the
function is picked by ``lax.switch`` on an index passed as an argument. So one compiled
program serves every function of a dimension: compile once, call once per function.

Each step evaluates f and its gradient at every lane's point (one evaluation), records the
best value so far and the first step at which each target was reached, then moves every
lane and projects it back into the domain (projected gradient descent: the minimum searched
for is the one inside the domain, and several functions are lower outside it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from tunelab.landscapes._metrics import TARGETS, RunSet
from tunelab.landscapes._optimizers import gradient_transform
from tunelab.landscapes._problem import Problem

__all__ = ["run_gradient"]


def _build(fns: tuple[Callable[[jax.Array], jax.Array], ...], optimizers: tuple[str, ...],
           steps: int, stride: int) -> Any:
    txs = [gradient_transform(name) for name in optimizers]
    branches = [jax.vmap(jax.value_and_grad(fn)) for fn in fns]
    n_opt = len(txs)

    def init(tx: Any, p: jax.Array, lr: jax.Array) -> Any:
        state = tx.init(p)
        state.hyperparams["learning_rate"] = lr.astype(state.hyperparams["learning_rate"].dtype)
        return state

    def run(index: jax.Array, x0: jax.Array, lrs: jax.Array, lo: jax.Array, hi: jax.Array,
            f_star: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        lanes, d = x0.shape
        targets = jnp.asarray(TARGETS, dtype=x0.dtype)
        params = jnp.broadcast_to(x0, (n_opt, lanes, d))
        states = tuple(jax.vmap(lambda p, lr, tx=tx: init(tx, p, lr))(x0, lrs) for tx in txs)
        best = jnp.full((n_opt, lanes), jnp.inf, dtype=x0.dtype)
        hits = jnp.zeros((len(TARGETS), n_opt, lanes), dtype=jnp.int32)

        def step(carry: Any, t: jax.Array) -> tuple[Any, jax.Array]:
            params, states, best, hits = carry
            f, g = lax.switch(index, branches, params.reshape(n_opt * lanes, d))
            f, g = f.reshape(n_opt, lanes), g.reshape(n_opt, lanes, d)
            best = jnp.fmin(best, f)
            reached = best - f_star <= targets[:, None, None]
            hits = jnp.where((hits == 0) & reached, t + 1, hits)
            moved, new_states = [], []
            for o, tx in enumerate(txs):
                updates, state = jax.vmap(tx.update)(g[o], states[o], params[o])
                moved.append(jnp.clip(params[o] + updates, lo, hi))
                new_states.append(state)
            params = jnp.stack(moved)
            return (params, tuple(new_states), best, hits), params[:, ::stride, :]

        carry = (params, states, best, hits)
        (_, _, best, hits), path = lax.scan(step, carry, jnp.arange(steps, dtype=jnp.int32))
        return best, hits, path

    return jax.jit(run)


@lru_cache(maxsize=8)
def _compiled(fns: tuple[Callable[[jax.Array], jax.Array], ...], optimizers: tuple[str, ...],
              steps: int, n_lr: int, n_start: int, dim: int) -> tuple[Any, float]:
    with jax.enable_x64(True):
        jitted = _build(fns, optimizers, steps, n_start)
        lanes = n_lr * n_start
        t0 = time.perf_counter()
        compiled = jitted.lower(
            jnp.int32(0),
            jax.ShapeDtypeStruct((lanes, dim), jnp.float64),
            jax.ShapeDtypeStruct((lanes,), jnp.float64),
            jax.ShapeDtypeStruct((dim,), jnp.float64),
            jax.ShapeDtypeStruct((dim,), jnp.float64),
            jax.ShapeDtypeStruct((), jnp.float64),
        ).compile()
        return compiled, time.perf_counter() - t0


def _choose_lr(sets: list[RunSet]) -> int:
    def score(rs: RunSet) -> tuple[float, ...]:
        rates = [rs.success_rate(i) for i in range(len(TARGETS))]
        finest = max((i for i, r in enumerate(rates) if r > 0), default=None)
        art = rs.average_runtime(finest) if finest is not None else float("inf")
        return (*reversed(rates), -art, -float(np.median(rs.precision)))

    return max(range(len(sets)), key=lambda i: score(sets[i]))


def run_gradient(
    problems: Sequence[Problem],
    optimizers: Sequence[str],
    starts: Mapping[str, np.ndarray],
    *,
    steps: int,
    lr_grid: Sequence[float],
    on_problem: Callable[[Problem], None] | None = None,
) -> tuple[list[RunSet], dict[str, float]]:
    """Run every gradient optimizer on every problem from every start, for every learning rate.

    Args:
        problems: problems with a JAX function.
        optimizers: gradient-family names.
        starts: ``{problem.key: array (starts, dim)}``.
        steps: steps per run (one evaluation each).
        lr_grid: learning rates tried; each optimizer keeps, per problem, the one whose runs
            reached the most targets (then: the fastest, then the best median precision).
        on_problem: called after each problem is done (progress).

    Returns:
        One :class:`RunSet` per (problem, optimizer) at its chosen learning rate, and timings:
        ``compile_s`` (all compilations) and ``run_s`` (all compiled calls).
    """
    opts = tuple(optimizers)
    grid = np.asarray(lr_grid, dtype=np.float64)
    n_lr = grid.size
    out: list[RunSet] = []
    timing = {"compile_s": 0.0, "run_s": 0.0}
    by_dim: dict[int, list[Problem]] = {}
    for p in problems:
        by_dim.setdefault(p.dim, []).append(p)
    for dim, group in by_dim.items():
        fns = tuple(p.jax_fn for p in group if p.jax_fn is not None)
        if len(fns) != len(group):
            raise ValueError("the gradient family needs problems with a JAX function")
        n_start = starts[group[0].key].shape[0]
        compiled, compile_s = _compiled(fns, opts, steps, n_lr, n_start, dim)
        timing["compile_s"] += compile_s
        for index, p in enumerate(group):
            x0 = np.asarray(starts[p.key], dtype=np.float64)
            with jax.enable_x64(True):
                t0 = time.perf_counter()
                best, hits, path = compiled(
                    jnp.int32(index), jnp.asarray(np.tile(x0, (n_lr, 1))),
                    jnp.asarray(np.repeat(grid, n_start)), jnp.asarray(p.lower),
                    jnp.asarray(p.upper), jnp.float64(p.f_star))
                best, hits, path = (np.asarray(a) for a in (best, hits, path))
                wall = time.perf_counter() - t0
            timing["run_s"] += wall
            out.extend(_run_sets(p, opts, grid, x0, best, hits, path, wall, steps))
            if on_problem is not None:
                on_problem(p)
    return out, timing


def _run_sets(p: Problem, opts: tuple[str, ...], grid: np.ndarray, x0: np.ndarray,
              best: np.ndarray, hits: np.ndarray, path: np.ndarray, wall: float,
              steps: int) -> list[RunSet]:
    n_lr, n_start = grid.size, x0.shape[0]
    best = best.reshape(len(opts), n_lr, n_start)
    hits = hits.reshape(len(TARGETS), len(opts), n_lr, n_start)
    sets: list[RunSet] = []
    for o, name in enumerate(opts):
        per_lr = [
            RunSet(p.name, p.dim, name, "gradient",
                   hits=hits[:, o, j, :].T.astype(np.int64),
                   evaluations=np.full(n_start, steps, dtype=np.int64),
                   precision=best[o, j] - p.f_star,
                   wall_s=wall / len(opts), lr=float(grid[j]))
            for j in range(n_lr)
        ]
        chosen = per_lr[_choose_lr(per_lr)]
        j = int(np.flatnonzero(grid == chosen.lr)[0])
        chosen.trajectory = np.concatenate([x0[:1], path[:, o, j, :]], axis=0)
        chosen.details = {
            "lr_grid": grid.tolist(),
            "lr_success": {f"{lr:g}": [rs.success_rate(i) for i in range(len(TARGETS))]
                           for lr, rs in zip(grid, per_lr, strict=True)},
            "lr_median_precision": {f"{lr:g}": float(np.median(rs.precision))
                                    for lr, rs in zip(grid, per_lr, strict=True)},
        }
        sets.append(chosen)
    return sets
