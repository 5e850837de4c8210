"""scipy methods and Optuna samplers held to a budget of evaluations, from the race's starts."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.landscapes import get_function, problem_from
from tunelab.landscapes._blackbox import run_blackbox


@pytest.mark.parametrize(("name", "family"), [("L-BFGS-B", "scipy"), ("BFGS", "scipy"),
                                              ("Nelder-Mead", "scipy"), ("Powell", "scipy"),
                                              ("CG", "scipy"), ("TNC", "scipy"),
                                              ("cma-es", "sampler"), ("tpe", "sampler"),
                                              ("random", "sampler")])
def test_budget_is_respected_and_the_first_point_is_the_start(name: str, family: str) -> None:
    problem = problem_from(get_function("himmelblau"))
    starts = np.array([[4.5, -4.5], [-1.0, 0.5]])
    rs = run_blackbox(problem, name, family, starts, budget=40, seed=1)
    assert rs.optimizer == name and rs.family == family and rs.runs == 2
    assert np.all(rs.evaluations <= 40) and np.all(rs.evaluations >= 1)
    assert np.all(rs.precision >= -1e-12)
    np.testing.assert_allclose(rs.trajectory[0], starts[0])
    assert np.all(rs.trajectory >= problem.lower) and np.all(rs.trajectory <= problem.upper)
    # A hit can only happen within the evaluations spent.
    assert np.all(rs.hits <= rs.evaluations[:, None])


def test_quasi_newton_solves_booth_fast() -> None:
    problem = problem_from(get_function("booth"))
    rs = run_blackbox(problem, "L-BFGS-B", "scipy", np.array([[-8.0, 9.0]]), budget=200, seed=0)
    assert rs.success_rate(2) == 1.0 and rs.hits[0, 2] < 20


def test_samplers_are_repeatable_with_a_seed() -> None:
    problem = problem_from(get_function("matyas"))
    starts = np.array([[3.0, 3.0]])
    a = run_blackbox(problem, "tpe", "sampler", starts, budget=25, seed=7)
    b = run_blackbox(problem, "tpe", "sampler", starts, budget=25, seed=7)
    assert a.precision.tolist() == b.precision.tolist()
