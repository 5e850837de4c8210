"""Runs of scipy methods and Optuna samplers: one run per start, within a budget of evaluations.

Every evaluation goes through a tracker that counts it, keeps the best value, notes when each
target is first reached, and stops the run (by raising) once the budget is spent, so that
every optimizer is held to the same budget whatever its own stopping rules.

All methods search the function's domain. scipy methods that accept bounds get them;
BFGS and CG, which do not, see ``f`` composed with the projection onto the domain. scipy's
stopping tolerances are tightened so that a run stops on its budget or on true convergence,
not at scipy's default ``ftol`` (which, being relative, stops at ``f - f*`` of about 2e-6 on
Eggholder where ``|f*|`` is 960). Samplers draw within the domain; their first trial is the
start, the same start the other families use.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.optimize

from tunelab.landscapes._metrics import TARGETS, RunSet
from tunelab.landscapes._problem import Problem

__all__ = ["SCIPY_OPTIONS", "run_blackbox"]

#: The options each scipy method runs with in a race (the budget is enforced separately).
SCIPY_OPTIONS: dict[str, dict[str, float]] = {
    "L-BFGS-B": {"ftol": 1e-15, "gtol": 1e-12},
    "BFGS": {"gtol": 1e-12},
    "CG": {"gtol": 1e-12},
    "TNC": {"ftol": 1e-15, "xtol": 1e-15, "gtol": 1e-12},
    "Nelder-Mead": {"xatol": 1e-12, "fatol": 1e-15},
    "Powell": {"xtol": 1e-12, "ftol": 1e-15},
}
_WITH_BOUNDS = {"L-BFGS-B", "TNC", "Nelder-Mead", "Powell"}
_WITH_GRADIENT = {"L-BFGS-B", "BFGS", "CG", "TNC"}


class _BudgetSpent(Exception):
    """Raised inside an optimizer's objective when the run has spent its budget."""


class _Tracker:
    def __init__(self, problem: Problem, budget: int) -> None:
        self.f_star = problem.f_star
        self.budget = budget
        self.n = 0
        self.best = float("inf")
        self.hits = np.zeros(len(TARGETS), dtype=np.int64)
        self.improvements: list[np.ndarray] = []

    def check(self) -> None:
        if self.n >= self.budget:
            raise _BudgetSpent

    def record(self, x: np.ndarray, f: float) -> None:
        self.n += 1
        if f < self.best:
            self.best = f
            self.improvements.append(np.array(x, dtype=np.float64))
            for i, t in enumerate(TARGETS):
                if self.hits[i] == 0 and f - self.f_star <= t:
                    self.hits[i] = self.n


def _scipy_run(problem: Problem, method: str, x0: np.ndarray, tracker: _Tracker,
               path: list[np.ndarray]) -> None:
    lo, hi = problem.lower, problem.upper
    project = method not in _WITH_BOUNDS
    exact = method in _WITH_GRADIENT and problem.jax_fn is not None

    def fun(x: np.ndarray) -> Any:
        tracker.check()
        z = np.clip(x, lo, hi) if project else np.asarray(x, dtype=np.float64)
        if exact:
            f, g = problem.value_and_grad(z)
            if project:
                g = np.where((x >= lo) & (x <= hi), g, 0.0)
            tracker.record(z, f)
            return f, g
        f = problem.numpy_fn(z)
        tracker.record(z, f)
        return f

    def callback(xk: np.ndarray) -> None:
        path.append(np.clip(np.array(xk, dtype=np.float64), lo, hi))

    bounds = np.stack([lo, hi], axis=1) if not project else None
    options: dict[str, Any] = {**SCIPY_OPTIONS[method], "maxiter": 10 * tracker.budget}
    if method in {"L-BFGS-B", "TNC"}:
        options["maxfun"] = 10 * tracker.budget
    if method in {"Nelder-Mead", "Powell"}:
        options["maxfev"] = 10 * tracker.budget
    if method == "TNC":
        del options["maxiter"]
    scipy.optimize.minimize(fun, x0, method=method, jac=True if exact else None, bounds=bounds,
                            callback=callback, options=options)


def _sampler_run(problem: Problem, name: str, x0: np.ndarray, tracker: _Tracker,
                 seed: int) -> None:
    import optuna

    params = {f"x{i}": float(v) for i, v in enumerate(x0)}
    sampler: optuna.samplers.BaseSampler
    if name == "cma-es":
        sampler = optuna.samplers.CmaEsSampler(x0=params, seed=seed,
                                               warn_independent_sampling=False)
    elif name == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.enqueue_trial(params)
    lo, hi = problem.lower, problem.upper

    def objective(trial: optuna.Trial) -> float:
        x = np.array([trial.suggest_float(f"x{i}", lo[i], hi[i]) for i in range(problem.dim)])
        tracker.check()
        f = problem.numpy_fn(x)
        tracker.record(x, f)
        return f

    study.optimize(objective, n_trials=tracker.budget, gc_after_trial=False)


def run_blackbox(problem: Problem, optimizer: str, family: str, starts: np.ndarray, *,
                 budget: int, seed: int, on_run: Callable[[], None] | None = None) -> RunSet:
    """Run a scipy method or an Optuna sampler once from each start.

    Args:
        problem: the problem.
        optimizer: a name from ``SCIPY_METHODS`` or ``SAMPLERS``.
        family: ``"scipy"`` or ``"sampler"``.
        starts: array ``(runs, dim)`` of starting points (the samplers' first trial).
        budget: evaluations per run.
        seed: seeds the samplers (run ``i`` uses a seed derived from ``seed`` and ``i``).
        on_run: called after each run (progress).

    Returns:
        The :class:`RunSet`; the first run's path is its trajectory.
    """
    import optuna

    runs = starts.shape[0]
    hits = np.zeros((runs, len(TARGETS)), dtype=np.int64)
    evaluations = np.zeros(runs, dtype=np.int64)
    precision = np.zeros(runs, dtype=np.float64)
    trajectory = np.zeros((0, problem.dim))
    seeds = np.random.SeedSequence(seed).generate_state(runs)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    try:
        for r in range(runs):
            tracker = _Tracker(problem, budget)
            path: list[np.ndarray] = [np.array(starts[r], dtype=np.float64)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    if family == "scipy":
                        _scipy_run(problem, optimizer, starts[r], tracker, path)
                    else:
                        _sampler_run(problem, optimizer, starts[r], tracker, int(seeds[r]))
                except _BudgetSpent:
                    pass
            hits[r] = tracker.hits
            evaluations[r] = tracker.n
            precision[r] = tracker.best - problem.f_star
            if r == 0:
                points = path if family == "scipy" else tracker.improvements
                trajectory = np.asarray(points, dtype=np.float64).reshape(-1, problem.dim)
            if on_run is not None:
                on_run()
    finally:
        optuna.logging.set_verbosity(verbosity)
    return RunSet(problem.name, problem.dim, optimizer, family, hits=hits,
                  evaluations=evaluations, precision=precision,
                  wall_s=time.perf_counter() - t0, trajectory=trajectory)
