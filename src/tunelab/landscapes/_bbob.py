"""COCO's BBOB suite (24 noiseless functions) as race problems, through ``coco-experiment``.

``coco-experiment`` is an optional extra (``pip install 'tunelab[coco]'``). BBOB problems are
compiled C functions: they have no JAX form, so the gradient family cannot run on them; scipy
methods (with finite-difference gradients, each difference counted as an evaluation) and the
samplers can. Instance 1 of each function is used.

COCO does not expose f* directly. Each BBOB optimum value is by definition rounded to 0.01
and each optimum's coordinates to 1e-4, so f* is f at the printed optimum, rounded to 0.01.
The optimum is printed by a child process in a temporary folder (COCO writes it into the
current folder), so nothing is left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence

import numpy as np

from tunelab.errors import ConfigError
from tunelab.landscapes._problem import Problem

__all__ = ["BBOB_NAMES", "bbob_problems", "parse_bbob_functions"]

BBOB_NAMES = (
    "Sphere", "Ellipsoid separable", "Rastrigin separable", "Bueche-Rastrigin", "Linear slope",
    "Attractive sector", "Step ellipsoid", "Rosenbrock original", "Rosenbrock rotated",
    "Ellipsoid", "Discus", "Bent cigar", "Sharp ridge", "Different powers", "Rastrigin",
    "Weierstrass", "Schaffer F7", "Schaffer F7 ill-conditioned", "Griewank-Rosenbrock",
    "Schwefel", "Gallagher 101 peaks", "Gallagher 21 peaks", "Katsuura", "Lunacek bi-Rastrigin",
)

_OPTIMA_SCRIPT = r"""
import json, sys
import numpy as np
import cocoex
cocoex.log_level("error")
wanted = {tuple(w) for w in json.loads(sys.argv[1])}
dims = sorted({d for _, d in wanted})
suite = cocoex.Suite("bbob", "", "instance_indices:1 dimensions:" + ",".join(map(str, dims)))
out = []
for problem in suite:
    if (problem.id_function, problem.dimension) not in wanted:
        continue
    problem._best_parameter("print")
    x = np.atleast_1d(np.loadtxt("._bbob_problem_best_parameter.txt"))
    out.append([problem.id_function, problem.dimension, x.tolist(), round(float(problem(x)), 2)])
print(json.dumps(out))
"""


def _require_cocoex() -> object:
    try:
        import cocoex
    except ImportError as err:
        raise ConfigError(
            "the BBOB suite needs the optional package coco-experiment; install it with "
            "pip install 'tunelab[coco]' (or pip install coco-experiment)"
        ) from err
    return cocoex


def parse_bbob_functions(names: Sequence[str] | None) -> list[int]:
    """BBOB function numbers from names like ``"f1"``, ``"7"``, ``"bbob-f24"``; all 24 if none.

    Raises:
        ConfigError: a name is not a BBOB function number 1-24.

    Example:
        >>> parse_bbob_functions(["f1", "bbob-f08", "15"])
        [1, 8, 15]
    """
    if not names:
        return list(range(1, 25))
    out: list[int] = []
    for raw in names:
        text = raw.strip().lower().removeprefix("bbob").strip("-_ ").removeprefix("f")
        if not text.isdigit() or not 1 <= int(text) <= 24:
            raise ConfigError(
                f"unknown BBOB function {raw!r}; give numbers 1-24 such as f1, f8, f24 "
                f"({', '.join(f'f{i} {n}' for i, n in enumerate(BBOB_NAMES, 1))})"
            )
        if int(text) not in out:
            out.append(int(text))
    return out


def _optima(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[np.ndarray, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-c", _OPTIMA_SCRIPT, json.dumps(pairs)],
            cwd=tmp, capture_output=True, text=True, timeout=300, check=False,
        )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise ConfigError(f"could not read the BBOB optima from coco-experiment: {last}")
    return {(f, d): (np.asarray(x, dtype=np.float64), float(v))
            for f, d, x, v in json.loads(proc.stdout)}


def bbob_problems(functions: Sequence[int], dims: Sequence[int]) -> list[Problem]:
    """The BBOB problems (instance 1) for these function numbers and dimensions.

    Raises:
        ConfigError: coco-experiment is not installed, or a dimension is not one BBOB defines.

    Example:
        >>> bbob_problems([1], [4])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tunelab.errors.ConfigError: BBOB is defined in dimensions 2, 3, 5, ...; got [4] in --dims
    """
    allowed = (2, 3, 5, 10, 20, 40)
    bad = [d for d in dims if d not in allowed]
    if bad:
        raise ConfigError(
            f"BBOB is defined in dimensions {', '.join(map(str, allowed))}; got {bad} in --dims"
        )
    cocoex: object = _require_cocoex()
    pairs = [(f, d) for d in dims for f in functions]
    optima = _optima(pairs)
    log_level = cocoex.log_level  # type: ignore[attr-defined]
    log_level("error")
    suite = cocoex.Suite(  # type: ignore[attr-defined]
        "bbob", "", "instance_indices:1 dimensions:" + ",".join(map(str, sorted(set(dims))))
        + " function_indices:" + ",".join(map(str, sorted(set(functions)))))
    problems: list[Problem] = []
    for f, d in pairs:
        coco_problem = suite.get_problem_by_function_dimension_instance(f, d, 1)
        xopt, fopt = optima[(f, d)]

        def numpy_fn(x: np.ndarray, _p: object = coco_problem, _s: object = suite) -> float:
            return float(_p(np.asarray(x, dtype=np.float64)))  # type: ignore[operator]

        problems.append(Problem(
            name=f"bbob-f{f:02d}",
            title=f"BBOB f{f} {BBOB_NAMES[f - 1]}",
            dim=d,
            lower=np.asarray(coco_problem.lower_bounds, dtype=np.float64),
            upper=np.asarray(coco_problem.upper_bounds, dtype=np.float64),
            f_star=fopt,
            minimizers=xopt.reshape(1, d),
            jax_fn=None,
            numpy_fn=numpy_fn,
            suite="bbob",
        ))
    return problems
