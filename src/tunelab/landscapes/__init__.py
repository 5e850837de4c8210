"""Optimisation landscapes: test functions as data, the tutorial's minimisation, and a race.

The tutorial starts with the Beale function, a test function that "assesses how well the
optimization algorithms perform when in flat regions with very shallow gradients", and
compares optimizers on convergence, precision, robustness and cost. This package makes that a
tool: the 20 standard test functions (pure JAX, so gradients are exact), scipy's ``minimize``
on any of them, and a race of gradient methods (the optimizers tunelab trains with, from
:mod:`tunelab.optim`, vectorised with ``jax.vmap``), scipy methods and Optuna samplers
measured as COCO measures them. And the real thing the Beale function stands for: the loss
landscape of a trained network along filter-normalised random directions (its pure parts
here; ``tunelab.loss_landscape`` evaluates it with the engine).

Example:
    >>> from tunelab.landscapes import minimize
    >>> r = minimize("beale", [4, 4], bounded=True)
    >>> r.fun < 1e-10
    True
"""

from __future__ import annotations

from tunelab.landscapes._catalog import FUNCTIONS, get_function
from tunelab.landscapes._function import Landscape
from tunelab.landscapes._loss import (
    filter_normalized_direction,
    landscape_grid,
    landscape_points,
    plot_loss_landscape,
)
from tunelab.landscapes._metrics import TARGETS, RunSet, ecdf, summarize
from tunelab.landscapes._minimize import METHODS, MinimizeResult, minimize
from tunelab.landscapes._optimizers import (
    GRADIENT_OPTIMIZERS,
    LR_GRID,
    OPTIMIZERS,
    RACE_VARIANTS,
    SAMPLERS,
    SCIPY_METHODS,
    resolve_optimizers,
)
from tunelab.landscapes._plots import plot_ecdf, plot_landscape, plot_race_contour, save_figure
from tunelab.landscapes._problem import Problem, problem_from
from tunelab.landscapes._race import RaceResult, race

__all__ = [
    "FUNCTIONS",
    "GRADIENT_OPTIMIZERS",
    "LR_GRID",
    "METHODS",
    "OPTIMIZERS",
    "RACE_VARIANTS",
    "SAMPLERS",
    "SCIPY_METHODS",
    "TARGETS",
    "Landscape",
    "MinimizeResult",
    "Problem",
    "RaceResult",
    "RunSet",
    "ecdf",
    "filter_normalized_direction",
    "get_function",
    "landscape_grid",
    "landscape_points",
    "minimize",
    "plot_ecdf",
    "plot_landscape",
    "plot_loss_landscape",
    "plot_race_contour",
    "problem_from",
    "race",
    "resolve_optimizers",
    "save_figure",
    "summarize",
]
