"""``tunelab landscape``: list and show test functions, minimise one, race optimizers on them,
and draw the loss landscape of a trained model."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from tunelab.cli._reporting import report_option, write_run_report
from tunelab.errors import ConfigError

__all__ = ["landscape"]


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


def _numbers(text: str, option: str, cast: type = float) -> list[Any]:
    try:
        return [cast(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        kind = "integers" if cast is int else "numbers"
        raise ConfigError(
            f"{option} must be comma-separated {kind}, e.g. {option} "
            f"{'2,5' if cast is int else '4,4'}; got {text!r}"
        ) from err


def _console() -> Any:
    from rich.console import Console

    return Console(width=max(170, Console().width))


def _fmt(v: float | None, spec: str = ".3g") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return format(v, spec)


@click.group()
def landscape() -> None:
    """Optimisation landscapes: the tutorial's Beale function and 19 more test functions.

    List them, draw one, minimise one with scipy as the tutorial does, or race gradient
    methods (the optimizers tunelab trains with), scipy methods and Optuna samplers on them,
    measured as COCO does. And the real thing: `tunelab landscape model RUN_DIR` draws the
    loss landscape of a trained model.
    """


@landscape.command("list")
def list_functions() -> None:
    """List the test functions: dimension, search domain, global minima and f*."""
    from rich.table import Table

    from tunelab.landscapes import FUNCTIONS

    table = Table(title="test functions (n: any dimension; shown for n = 2)")
    for col in ("name", "function", "dim", "domain", "minima", "f*", "smooth"):
        table.add_column(col, justify="right" if col in ("dim", "minima", "f*") else "left")
    for fn in FUNCTIONS.values():
        b = fn.bounds()
        same = bool((b[:, 0] == b[0, 0]).all() and (b[:, 1] == b[0, 1]).all())
        domain = (f"[{b[0, 0]:g}, {b[0, 1]:g}]^{fn.dim or 'n'}" if same
                  else " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in b))
        f_star = f"{fn.fmin:.7g}" + (" n" if fn.fmin_per_dim else "")
        table.add_row(fn.name, fn.title, "n" if fn.dim is None else str(fn.dim), domain,
                      str(len(fn.minima)), f_star, "yes" if fn.smooth else "no")
    _console().print(table)


@landscape.command("show")
@click.argument("name")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Image to write (.png, .svg, .pdf); default NAME.png.")
def show(name: str, out: str | None) -> None:
    """Describe function NAME and draw its 3-D surface and contour map, minima marked."""
    from tunelab.landscapes import get_function, plot_landscape, save_figure

    fn = get_function(name)
    target = Path(out) if out else Path(f"{fn.name}.png")
    b = fn.bounds()
    click.echo(f"{fn.title} ({fn.name})")
    click.echo(f"  f(x) = {fn.formula}")
    click.echo(f"  dimension: {'any (drawn for 2)' if fn.dim is None else fn.dim}")
    click.echo("  domain: " + " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in b))
    for m in fn.minimizers():
        click.echo(f"  global minimum at ({', '.join(f'{v:.6g}' for v in m)})")
    per_dim = f" (= n x {fn.fmin:.10g})" if fn.fmin_per_dim else ""
    click.echo(f"  f* = {fn.f_star():.10g}{per_dim}")
    path = save_figure(plot_landscape(fn), target)
    click.echo(f"wrote {path}")


@landscape.command("minimize")
@click.argument("name")
@click.option("--x0", "x0", required=True, metavar="X1,X2,...",
              help="Start point, comma-separated (its length sets the dimension of an "
              "n-dimensional function).")
@click.option("--method", default="L-BFGS-B", show_default=True,
              help="scipy.optimize.minimize method (L-BFGS-B, BFGS, CG, Nelder-Mead, Powell, "
              "TNC, SLSQP, COBYLA, COBYQA, trust-constr).")
@click.option("--bounded", is_flag=True, help="Search within the function's domain.")
def minimize_cmd(name: str, x0: str, method: str, bounded: bool) -> None:
    """Minimise function NAME from X0 with scipy.optimize.minimize, as the tutorial does.

    Gradients are exact (JAX). Example: tunelab landscape minimize beale --x0 4,4 --bounded
    """
    from rich.table import Table

    from tunelab.landscapes import minimize

    r = minimize(name, _numbers(x0, "--x0"), method=method, bounded=bounded)
    table = Table(title=f"{r.method} on {r.function} from ({', '.join(f'{v:g}' for v in r.x0)})"
                  + (" within its domain" if r.bounds else ""))
    table.add_column("")
    table.add_column("value")
    table.add_row("x", "(" + ", ".join(f"{v:.10g}" for v in r.x) + ")")
    table.add_row("f(x)", f"{r.fun:.6e}")
    table.add_row("f*", f"{r.f_star:.10g}")
    table.add_row("f(x) - f*", f"{r.error:.3e}")
    table.add_row("iterations", "-" if r.nit is None else str(r.nit))
    table.add_row("evaluations", str(r.nfev))
    table.add_row("success", str(r.success))
    table.add_row("message", r.message)
    _console().print(table)


def _race_table(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title="race: success rate at f - f* <= target; aRT: evaluations per success; "
                  "final f - f*: median and quartiles")
    cols = ("function", "d", "optimizer", "lr", "ok 1e-1", "ok 1e-4", "ok 1e-8", "aRT 1e-1",
            "aRT 1e-4", "aRT 1e-8", "f-f* med", "q1", "q3", "evals", "wall s")
    for c in cols:
        table.add_column(c, justify="left" if c in ("function", "optimizer") else "right",
                         no_wrap=True)
    last = None
    for r in rows:
        fn = r["function"] if (r["function"], r["dim"]) != last else ""
        last = (r["function"], r["dim"])
        table.add_row(
            fn, str(r["dim"]) if fn else "", r["optimizer"], _fmt(r["lr"], "g"),
            f"{r['success_1e-1']:.0%}", f"{r['success_1e-4']:.0%}", f"{r['success_1e-8']:.0%}",
            _fmt(r["art_1e-1"], ".0f"), _fmt(r["art_1e-4"], ".0f"), _fmt(r["art_1e-8"], ".0f"),
            _fmt(r["precision_median"], ".1e"), _fmt(r["precision_q1"], ".1e"),
            _fmt(r["precision_q3"], ".1e"), f"{r['evaluations_mean']:.0f}", f"{r['wall_s']:.2f}",
        )
    return table


def _summary_table(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title="per optimizer over all functions: mean success rate; functions solved "
                  "to 1e-8 at least once")
    for c in ("optimizer", "family", "functions", "ok 1e-1", "ok 1e-4", "ok 1e-8",
              "solved 1e-8", "evaluations", "wall s"):
        table.add_column(c, justify="left" if c in ("optimizer", "family") else "right")
    for r in rows:
        table.add_row(r["optimizer"], r["family"], str(r["functions"]),
                      f"{r['success_1e-1']:.0%}", f"{r['success_1e-4']:.0%}",
                      f"{r['success_1e-8']:.0%}", str(r["solved_1e-8"]), str(r["evaluations"]),
                      f"{r['wall_s']:.2f}")
    return table


@landscape.command("race")
@click.option("--functions", "functions", multiple=True, metavar="NAME[,NAME...]",
              help="Functions to race (default: all 20; with --suite bbob: f1..f24).")
@click.option("--optimizers", "optimizers", multiple=True, metavar="NAME[,NAME...]",
              help="Optimizers or families, any case: gradient (tunelab's training optimizers"
              " at their Keras defaults: SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax,"
              " Nadam; and SGD-momentum, SGD-nesterov: SGD with momentum 0.9, plain or Nesterov),"
              " scipy (L-BFGS-B, BFGS, CG, Nelder-Mead, Powell, TNC), sampler (cma-es, tpe,"
              " random). Default: all.")
@click.option("--starts", default=5, show_default=True, type=int,
              help="Runs per function and optimizer, from uniform random starts.")
@click.option("--budget", default=200, show_default=True, type=int,
              help="Evaluations per run (a gradient step is one evaluation).")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the starts and the samplers.")
@click.option("--dim", default=2, show_default=True, type=int,
              help="Dimension of the n-dimensional functions (Rastrigin, Ackley, Sphere, "
              "Rosenbrock, Styblinski-Tang).")
@click.option("--out", "out", type=click.Path(file_okay=False), default="landscape-race",
              show_default=True, help="Folder for race.json, race.csv, trajectories.npz and "
              "the plots.")
@click.option("--suite", type=click.Choice(["catalog", "bbob"]), default="catalog",
              show_default=True, help="catalog: the 20 test functions; bbob: COCO's BBOB "
              "functions (needs the coco extra).")
@click.option("--dims", default="2", show_default=True, metavar="D[,D...]",
              help="Dimensions for --suite bbob (2, 3, 5, 10, 20, 40).")
@report_option
def race_cmd(functions: tuple[str, ...], optimizers: tuple[str, ...], starts: int, budget: int,
             seed: int, dim: int, out: str, suite: str, dims: str, make_report: bool) -> None:
    """Race optimizers on test functions from the same seeded starts.

    Reports, as COCO does, the success rate at targets f - f* <= 1e-1, 1e-4, 1e-8, the
    average runtime to each target, the final precision, evaluations and wall time. Each
    gradient optimizer's learning rate is picked per function from a log grid
    (1e-4 ... 1) and reported. Writes a table (CSV, JSON), a contour plot per function with
    the first run of each optimizer, and a runtime ECDF plot.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tunelab.landscapes import race

    dim_list = _numbers(dims, "--dims", int)
    # The bar starts when the race announces its size, after the race has checked its
    # arguments, so that a bad option prints one clean error line.
    bar = Progress(TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=Console(stderr=True), transient=True)
    task = bar.add_task("racing", total=None)
    started = False

    def progress(what: str, done: int) -> None:
        nonlocal started
        if what == "total":
            started = True
            bar.start()
            bar.update(task, total=done)
        else:
            bar.update(task, completed=done, description=what[:40])

    try:
        result = race(_split(functions) or None, _split(optimizers) or None, starts=starts,
                      budget=budget, seed=seed, dim=dim, suite=suite, dims=dim_list,
                      progress=progress)
        bar.update(task, description="writing tables and plots")
        written = result.save(out)
    finally:
        if started:
            bar.stop()
    console = _console()
    console.print(_race_table(result.table))
    console.print(_summary_table(result.summary()))
    t = result.timing
    extra = (f" (gradient family: compile {t['gradient_compile_s']:.1f} s, run "
             f"{t['gradient_run_s']:.1f} s)" if "gradient_compile_s" in t else "")
    click.echo(f"race took {t['total_s']:.1f} s{extra}")
    click.echo(f"wrote {len(written)} files to {Path(out)}: race.json, race.csv, "
               "trajectories.npz, ecdf.png, contour-*.png")
    if make_report:
        write_run_report(out)


@landscape.command("model")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--trial", type=click.IntRange(min=0), default=None,
              help="For a tune run folder: this trial's model instead of the best one.")
@click.option("--dims", type=click.Choice(["1", "2"]), default="1", show_default=True,
              help="1: the loss along one direction; 2: a surface over two.")
@click.option("--points", type=click.IntRange(min=3), default=None,
              help="Grid points per direction (default 41 for 1-D, 21 for 2-D).")
@click.option("--span", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="The grid runs from -SPAN to SPAN along each direction.")
@click.option("--compare", "compare", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Another run folder drawn on the same figure (repeatable), e.g. the batch"
              " 784 run beside the batch 7 run.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random directions.")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Evaluate on at most this many training rows (default: all).")
@click.option("--log", "log", is_flag=True, help="Draw the loss on a log scale.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Image to write (.png, .svg, .pdf); default RUN_DIR/landscape.png"
              " (landscape-2d.png, landscape-compare.png).")
def model_cmd(run_dir: Path, trial: int | None, dims: str, points: int | None, span: float,
              compare: tuple[Path, ...], seed: int, samples: int | None, log: bool,
              out: Path | None) -> None:
    """Draw the loss landscape of the trained model in RUN_DIR (Li et al., 2018).

    The loss around the trained weights along filter-normalised random directions, on the
    run's training and validation data, evaluated by the training engine many grid points
    at once: the real surface the tutorial's Beale function stands for. RUN_DIR is a train
    folder (model.keras), a tune folder (the best trial, or --trial N) or a guide folder
    (best.keras; an ensemble draws its first member). Writes the figure and the values
    (landscape.json, landscape-2d.json) into each run folder.

    \b
    Examples:
      tunelab landscape model runs/sgd
      tunelab landscape model runs/sgd --dims 2 --points 25
      tunelab landscape model runs/batch-7 --compare runs/batch-784
    """
    from rich.table import Table

    from tunelab.api import loss_landscape

    click.echo("evaluating the loss on the grid (many points at once, through the engine)...",
               err=True)
    result = loss_landscape(run_dir, compare=list(compare), trial=trial, dims=int(dims),
                            points=points, span=span, seed=seed, samples=samples, out=out,
                            log=log)
    table = Table(title=f"loss landscape ({dims}-D, span {span:g}, seed {seed})")
    for col in ("model", "split", "samples", "loss at the weights", "lowest", "highest",
                "mean rise"):
        table.add_column(col, justify="left" if col in ("model", "split") else "right")
    for row in result.rows():
        table.add_row(row["model"], row["split"], str(row["samples"]), _fmt(row["centre"], ".4g"),
                      _fmt(row["low"], ".4g"), _fmt(row["high"], ".4g"),
                      _fmt(row["rise"], ".4g"))
    _console().print(table)
    seconds = sum(r.seconds for r in result.records)
    click.echo(f"evaluated {sum(len(r.splits['train'].loss) for r in result.records)} grid"
               f" points in {seconds:.1f} s")
    for path in result.records_paths:
        click.echo(f"wrote {path}")
    if result.figure_path is not None:
        click.echo(f"wrote {result.figure_path}")
