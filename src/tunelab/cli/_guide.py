"""``tunelab guide``: the tutorial's step-by-step tuning procedure, run for real."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import click

from tunelab.cli._reporting import write_run_report
from tunelab.config import EXECUTORS

__all__ = ["guide"]

_LEVELS = ("quick", "standard", "thorough")


def _steps(value: tuple[str, ...]) -> list[str] | None:
    names = [n.strip() for part in value for n in part.split(",") if n.strip()]
    return names or None


@click.command()
@click.option("--dataset", default=None,
              help="Dataset name or path (default: the procedure's, digits for the tutorial's).")
@click.option("--procedure", "procedure", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="A procedure TOML file (default: the tutorial's four steps).")
@click.option("--budget", type=click.Choice(_LEVELS), default="standard", show_default=True,
              help="How much search and evidence each step gets.")
@click.option("--steps", "steps", multiple=True,
              help="Steps to run, by name, comma-separated or repeated (default: every step"
              " not marked optional; e.g. --steps topology,initialization).")
@click.option("--cohort", type=click.IntRange(min=1), default=None,
              help="Configurations trained at once (default: the budget's).")
@click.option("--seed", type=int, default=None,
              help="The run's seed: data split, searches, final model (default 0).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder (default runs/guide-<dataset>-<budget>); the same command on"
              " the same folder continues an interrupted run.")
@click.option("--executor", type=click.Choice(EXECUTORS, case_sensitive=False),
              default="local", show_default=True,
              help="Where every training of the run happens: studies, re-runs, range tests"
              " and the final model.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (--executor processes) or Ray actors (--executor ray).")
@click.option("--ray-address", "ray_address", default=None, envvar="RAY_ADDRESS",
              help="The Ray cluster to join with --executor ray (host:port or ray://...;"
              " env RAY_ADDRESS); default: a local Ray starts.")
@click.option("--quiet", is_flag=True, help="No live progress display.")
@click.option("--no-report", "no_report", is_flag=True, help="Do not write report.html.")
@click.option("--mlflow", "mlflow", default=None, metavar="URI",
              help="At the end, log to MLflow: a parent run, a nested run per trial, the"
                   " decisions and the final model.")
@click.option("--tensorboard", "tensorboard", default=None, metavar="DIR",
              help="At the end, write TensorBoard scalars and HParams per step and trial.")
def guide(dataset: str | None, procedure: Path | None, budget: str, steps: tuple[str, ...],
          cohort: int | None, seed: int | None, out: Path | None, executor: str, workers: int,
          ray_address: str | None, quiet: bool, no_report: bool, mlflow: str | None,
          tensorboard: str | None) -> None:
    """Tune a network step by step, the tutorial's way, with evidence for every change.

    Each step is an Optuna study that compares the step's scientific values (topology,
    learning-rate schedule, optimizer and loss, batch size), every value with its learning
    rate tuned. The best configurations are re-run over several seeds to pick a challenger,
    which is confirmed on fresh seeds beside the current value run with its learning rate: a
    value is credited only when it beats both (one-sided paired t test, alpha 0.05). The run
    ends by checking the adopted configuration against the start on fresh seeds: best.keras
    and final.toml hold the adopted one when it is better, else the start (adopted.toml then
    keeps the adopted one). The run folder ends with decisions.json, final.toml, best.keras
    (evaluated on the test split in final.json) and report.html. Interrupt it and run the
    same command again: it continues after the last finished trial.
    """
    from rich.console import Console

    from tunelab.guide import run_guide

    console = Console(stderr=True)
    if ray_address:
        os.environ["RAY_ADDRESS"] = ray_address  # the guide's Ray executor joins it
    try:
        result = run_guide(procedure, dataset=dataset, budget=budget, steps=_steps(steps),
                           cohort=cohort, seed=seed, run_dir=out, executor=executor,
                           workers=workers, progress=not quiet, console=console)
    except KeyboardInterrupt:
        where = f" --out {out}" if out else ""
        click.echo(f"\nInterrupted. Finished steps and trials are kept; run the same command"
                   f"{where} again to continue where it stopped.", err=True)
        sys.exit(130)
    if mlflow or tensorboard:
        from tunelab.tracking import log_guide

        log_guide(result.run_dir, mlflow=mlflow, tensorboard=tensorboard,
                  name=f"guide {Path(result.run_dir).name}")
    if not no_report:
        write_run_report(result.run_dir)
    _summary(result)


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return "—" if not math.isfinite(x) else f"{x:.4f}"
    return "—" if x is None else str(x)


def _summary(result: Any) -> None:
    from rich.console import Console

    from tunelab.guide._display import summary_table
    from tunelab.runs import RunLayout

    out = Console(highlight=False)
    out.print(summary_table(result.decisions, result.final))
    final = result.final
    run = result.run_dir
    members = final.members_test.get("test_accuracy", [])
    if final.test.get("test_accuracy") is not None:
        out.print(f"Test accuracy of best.keras: {_fmt(final.test['test_accuracy'])} (test loss"
                  f" {_fmt(final.test.get('test_loss'))}; {final.protocol.rationale})")
        if members:
            out.print(f"  its {len(members)} members alone: "
                      + ", ".join(_fmt(m) for m in members))
        base = final.baseline_test.get("test_accuracy")
        if final.shipped == "start":
            adopted = RunLayout(run).adopted_toml
            out.print("  best.keras is the starting configuration: tuning did not beat it"
                      " beyond the noise" + (f" (the adopted one is in {adopted})"
                                             if adopted.is_file() else ""))
        elif base is not None:
            out.print(f"  the starting configuration by the same protocol: {_fmt(base)}")
    elif final.test.get("test_loss") is not None:
        out.print(f"Test loss of best.keras: {_fmt(final.test['test_loss'])}")
    if final.tuning is not None:
        out.print(f"Did tuning help? {final.tuning.summary}")
    wall = result.decisions.wall_seconds
    if math.isfinite(wall):
        out.print(f"Time: {wall:.0f} s over all steps and the final training")
    out.print(f"Run folder: {run} — final.toml (tunelab train {run / 'final.toml'}),"
              f" best.keras, decisions.json" + (", report.html" if (run / "report.html")
                                                 .is_file() else ""))
