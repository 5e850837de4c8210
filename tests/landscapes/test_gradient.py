"""The vectorised gradient race does exactly what a plain loop over starts would do, with the
training optimizers' update rules."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tunelab.landscapes import TARGETS, get_function, problem_from
from tunelab.landscapes._gradient import run_gradient
from tunelab.landscapes._optimizers import gradient_config
from tunelab.optim import build_optimizer


def _plain(problem, tx, x0, steps):  # type: ignore[no-untyped-def]
    """One start, one learning rate, a Python loop: the reference."""
    with jax.enable_x64(True):
        lo, hi = jnp.asarray(problem.lower), jnp.asarray(problem.upper)

        @jax.jit
        def step(x, state):  # type: ignore[no-untyped-def]
            f, g = jax.value_and_grad(problem.jax_fn)(x)
            updates, state = tx.update(g, state, x)
            return jnp.clip(x + updates, lo, hi), state, f

        x = jnp.asarray(x0)
        state = tx.init(x)
        best, hits = np.inf, [0] * len(TARGETS)
        for t in range(steps):
            x, state, f = step(x, state)
            best = min(best, float(f))
            for i, target in enumerate(TARGETS):
                if hits[i] == 0 and best - problem.f_star <= target:
                    hits[i] = t + 1
        return best - problem.f_star, hits


def test_vectorised_runs_match_a_plain_loop() -> None:
    problem = problem_from(get_function("beale"))
    starts = np.array([[1.0, 1.0], [-2.0, 2.5]])
    names = ["SGD", "SGD-nesterov", "Adam", "AdamW", "Nadam"]
    sets, timing = run_gradient([problem], names, {problem.key: starts}, steps=60,
                                lr_grid=[0.01])
    assert timing["compile_s"] > 0 and timing["run_s"] > 0
    by_name = {rs.optimizer: rs for rs in sets}
    for name in names:
        # The reference is the optimizer a training run would build (AdamW's decay included).
        cfg = gradient_config(name).model_copy(update={"learning_rate": 0.01})
        tx = build_optimizer(cfg)
        rs = by_name[name]
        assert rs.lr == 0.01 and rs.evaluations.tolist() == [60, 60]
        for s in range(2):
            precision, hits = _plain(problem, tx, starts[s], 60)
            assert rs.precision[s] == pytest.approx(precision, rel=1e-9, abs=1e-12)
            assert rs.hits[s].tolist() == hits


def test_learning_rate_is_chosen_per_function_and_points_stay_in_the_domain() -> None:
    sphere = problem_from(get_function("sphere"))
    beale = problem_from(get_function("beale"))
    rng = np.random.default_rng(0)
    starts = {p.key: p.sample(rng, 4) for p in (sphere, beale)}
    sets, _ = run_gradient([sphere, beale], ["SGD"], starts, steps=100, lr_grid=[1e-4, 0.1, 5.0])
    on_sphere, on_beale = sets
    # x <- 0.8 x per step at lr 0.1 reaches 1e-8 in 100 steps; 1e-4 crawls; 5.0 diverges.
    assert on_sphere.lr == 0.1 and on_sphere.success_rate(2) == 1.0
    assert on_sphere.details["lr_success"]["0.0001"] == [0.0, 0.0, 0.0]
    assert on_sphere.details["lr_grid"] == [1e-4, 0.1, 5.0]
    for rs, p in ((on_sphere, sphere), (on_beale, beale)):
        path = rs.trajectory
        assert path.shape == (101, 2)
        np.testing.assert_array_equal(path[0], starts[p.key][0])
        assert np.all(path >= p.lower) and np.all(path <= p.upper)
