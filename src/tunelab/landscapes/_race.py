"""The optimizer race: every optimizer on every function from the same seeded starts.

Starts are drawn uniformly in each function's domain from ``seed`` and the function's name,
so a function gets the same starts whichever other functions race with it, and every
optimizer starts from the same points. Measures are COCO's (see ``_metrics``).
"""

from __future__ import annotations

import csv
import io
import math
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunelab._files import write_bytes, write_json, write_text
from tunelab.errors import ConfigError
from tunelab.landscapes._blackbox import SCIPY_OPTIONS, run_blackbox
from tunelab.landscapes._catalog import FUNCTIONS, get_function
from tunelab.landscapes._gradient import run_gradient
from tunelab.landscapes._metrics import TARGETS, RunSet, summarize
from tunelab.landscapes._optimizers import (
    GRADIENT_OPTIMIZERS,
    LR_GRID,
    family_of,
    gradient_settings,
    resolve_optimizers,
)
from tunelab.landscapes._problem import Problem, problem_from

__all__ = ["RaceResult", "race"]

Progress = Callable[[str, int], None]


@dataclass
class RaceResult:
    """What a race measured.

    Attributes:
        run_sets: one :class:`RunSet` per (problem, optimizer), in race order.
        problems: the problems raced.
        settings: the race's settings (functions, optimizers, starts, budget, seed, ...).
        timing: seconds spent: ``total_s``, and for the gradient family ``gradient_compile_s``
            and ``gradient_run_s``. The wall time of each run set excludes compilation.

    Example:
        >>> r = race(["booth"], ["adam", "L-BFGS-B"], starts=2, budget=50)
        >>> [row["optimizer"] for row in r.table]
        ['Adam', 'L-BFGS-B']
    """

    run_sets: list[RunSet]
    problems: list[Problem]
    settings: dict[str, Any]
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def table(self) -> list[dict[str, Any]]:
        """One row of measures per (function, dimension, optimizer)."""
        return [summarize(rs) for rs in self.run_sets]

    def summary(self) -> list[dict[str, Any]]:
        """One row per optimizer over all functions: mean success rate at each target, the
        number of functions it solved to 1e-8 at least once, evaluations and wall time."""
        rows: list[dict[str, Any]] = []
        for name in self.settings["optimizers"]:
            sets = [rs for rs in self.run_sets if rs.optimizer == name]
            if not sets:
                continue
            row: dict[str, Any] = {"optimizer": name, "family": sets[0].family,
                                   "functions": len(sets)}
            for i, t in enumerate(TARGETS):
                row[f"success_{_label(t)}"] = float(np.mean([rs.success_rate(i) for rs in sets]))
            row["solved_1e-8"] = sum(rs.success_rate(len(TARGETS) - 1) > 0 for rs in sets)
            row["evaluations"] = int(sum(int(rs.evaluations.sum()) for rs in sets))
            row["wall_s"] = float(sum(rs.wall_s for rs in sets))
            rows.append(row)
        return rows

    def to_json(self) -> dict[str, Any]:
        """Settings, timing, the table, the summary and each run's raw measures."""
        return {
            "settings": self.settings,
            "timing": self.timing,
            "targets": list(TARGETS),
            "table": [_jsonable(r) for r in self.table],
            "summary": self.summary(),
            "runs": [
                {"function": rs.function, "dim": rs.dim, "optimizer": rs.optimizer,
                 "hits": rs.hits.tolist(), "evaluations": rs.evaluations.tolist(),
                 "precision": rs.precision.tolist(), **rs.details}
                for rs in self.run_sets
            ],
        }

    def to_csv(self) -> str:
        """The table as CSV text (an infinite aRT is written ``inf``)."""
        rows = self.table
        buf = io.StringIO()
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
        return buf.getvalue()

    def trajectories(self) -> dict[str, np.ndarray]:
        """``{"<function>-d<dim>/<optimizer>": points}``: the first run of each optimizer."""
        return {f"{rs.function}-d{rs.dim}/{rs.optimizer}": rs.trajectory for rs in self.run_sets}

    def save(self, out_dir: str | Path, *, plots: bool = True) -> dict[str, Path]:
        """Write ``race.json``, ``race.csv``, ``trajectories.npz`` and, with ``plots``, one
        contour plot per function (``contour-<function>-d<dim>.png``) and ``ecdf.png``.
        Every file is written atomically. Returns ``{what: path}``."""
        out = Path(out_dir)
        written = {
            "json": write_json(out / "race.json", self.to_json()),
            "csv": write_text(out / "race.csv", self.to_csv()),
        }
        buf = io.BytesIO()
        np.savez(buf, **self.trajectories())  # type: ignore[arg-type]
        written["trajectories"] = write_bytes(out / "trajectories.npz", buf.getvalue())
        if plots:
            from tunelab.landscapes._plots import plot_ecdf, plot_race_contour, save_figure

            for p in self.problems:
                fig = plot_race_contour(self, p)
                written[f"contour:{p.key}"] = save_figure(fig, out / f"contour-{p.key}.png")
            written["ecdf"] = save_figure(plot_ecdf(self), out / "ecdf.png")
        return written


def _label(t: float) -> str:
    return f"{t:.0e}".replace("e-0", "e-")


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()}


def _starts(problem: Problem, seed: int, n: int) -> np.ndarray:
    key = zlib.crc32(problem.key.encode())
    rng = np.random.default_rng(np.random.SeedSequence([seed, key]))
    return problem.sample(rng, n)


def _catalog_problems(functions: Iterable[str] | None, dim: int | None) -> list[Problem]:
    names = list(functions or FUNCTIONS)
    chosen = []
    for n in names:
        fn = get_function(n)
        if fn not in chosen:
            chosen.append(fn)
    return [problem_from(fn, dim if fn.dim is None else None) for fn in chosen]


def race(
    functions: Sequence[str] | None = None,
    optimizers: Sequence[str] | None = None,
    *,
    starts: int = 5,
    budget: int = 200,
    seed: int = 0,
    dim: int = 2,
    suite: str = "catalog",
    dims: Sequence[int] = (2,),
    lr_grid: Sequence[float] = LR_GRID,
    progress: Progress | None = None,
) -> RaceResult:
    """Race optimizers on test functions from the same seeded starts, and measure them.

    Args:
        functions: function names (default: all 20); for ``suite="bbob"``, BBOB numbers such as
            ``"f1"`` (default: all 24).
        optimizers: optimizer or family names, any case (default: every optimizer; for BBOB
            every scipy method and sampler). The gradient family is tunelab's training
            optimizers at their Keras defaults (see ``_optimizers``).
        starts: runs per (function, optimizer), each from its own uniform start in the domain.
        budget: evaluations per run (a gradient step is one evaluation of f and its gradient).
        seed: seeds the starts and the samplers.
        dim: dimension of the n-dimensional catalogue functions.
        suite: ``"catalog"`` (the 20 test functions) or ``"bbob"`` (COCO's suite, needs the
            ``coco`` extra).
        dims: dimensions for the BBOB suite.
        lr_grid: learning rates tried for each gradient optimizer on each function.
        progress: called as ``progress(description, done)`` after each unit of work, with
            ``done`` units of the total first announced as ``progress("total", total)``.

    Raises:
        ConfigError: unknown function or optimizer, or a count below 1.
    """
    for what, value in (("starts", starts), ("budget", budget), ("dim", dim)):
        if int(value) < 1:
            raise ConfigError(f"--{what} must be at least 1, got {value}")
    if not lr_grid or any(not (lr > 0) for lr in lr_grid):
        raise ConfigError(f"the learning-rate grid needs positive values, got {list(lr_grid)}")
    t_start = time.perf_counter()
    if suite == "catalog":
        problems = _catalog_problems(functions, dim)
        names = resolve_optimizers(optimizers)
    elif suite == "bbob":
        from tunelab.landscapes._bbob import bbob_problems, parse_bbob_functions

        numbers = parse_bbob_functions(functions)
        if any(int(d) < 1 for d in dims):
            raise ConfigError(f"--dims must be positive, got {list(dims)}")
        names = resolve_optimizers(optimizers or ["scipy", "sampler"])
        gradient = [n for n in names if family_of(n) == "gradient"]
        if gradient:
            raise ConfigError(
                f"the gradient family ({', '.join(gradient)}) needs JAX functions and BBOB "
                "problems are compiled C code; choose scipy methods or samplers for --suite bbob"
            )
        problems = bbob_problems(numbers, [int(d) for d in dims])
    else:
        raise ConfigError(f"unknown suite {suite!r}; choose catalog or bbob")

    grad_names = [n for n in names if family_of(n) == "gradient"]
    other = [n for n in names if family_of(n) != "gradient"]
    start_points = {p.key: _starts(p, seed, int(starts)) for p in problems}
    total = (len(problems) if grad_names else 0) + len(problems) * len(other) * int(starts)
    done = 0
    if progress is not None:
        progress("total", total)

    sets: dict[tuple[str, str], RunSet] = {}
    timing: dict[str, float] = {}
    if grad_names:
        def on_problem(p: Problem) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(f"gradient family on {p.title}", done)

        grad_sets, grad_timing = run_gradient(problems, grad_names, start_points,
                                              steps=int(budget), lr_grid=lr_grid,
                                              on_problem=on_problem)
        timing["gradient_compile_s"] = grad_timing["compile_s"]
        timing["gradient_run_s"] = grad_timing["run_s"]
        for rs in grad_sets:
            sets[(f"{rs.function}-d{rs.dim}", rs.optimizer)] = rs
    for p in problems:
        if other:
            p.warm_up()
        for name in other:
            def on_run(p: Problem = p, name: str = name) -> None:
                nonlocal done
                done += 1
                if progress is not None:
                    progress(f"{name} on {p.title}", done)

            sets[(p.key, name)] = run_blackbox(p, name, family_of(name), start_points[p.key],
                                               budget=int(budget), seed=seed, on_run=on_run)
    ordered = [sets[(p.key, n)] for p in problems for n in names]
    timing["total_s"] = time.perf_counter() - t_start
    settings = {
        "suite": suite,
        "functions": [p.name for p in problems],
        "dims": sorted({p.dim for p in problems}),
        "optimizers": list(names),
        "starts": int(starts),
        "budget": int(budget),
        "seed": int(seed),
        "lr_grid": [float(v) for v in lr_grid] if grad_names else [],
        "scipy_options": {n: SCIPY_OPTIONS[n] for n in other if n in SCIPY_OPTIONS},
        "gradient_optimizers": [n for n in GRADIENT_OPTIMIZERS if n in grad_names],
        "gradient_settings": {n: gradient_settings(n) for n in grad_names},
    }
    return RaceResult(ordered, problems, settings, timing)
