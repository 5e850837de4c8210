"""``tunelab tune`` (run or resume a study), ``tunelab trials`` and ``tunelab best``."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tunelab.cli._reporting import report_option, write_run_report
from tunelab.config import EXECUTORS, PRUNERS, SAMPLERS
from tunelab.errors import ConfigError

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from tunelab.study import StudyResult

__all__ = ["best", "trials", "tune"]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


@click.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dataset", default=None, help="Dataset name or path (overrides data.name).")
@click.option("--trials", type=click.IntRange(min=1), default=None,
              help="Total trials in the study (a resumed study counts its finished ones).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds after which no new trial starts.")
@click.option("--epoch-budget", type=click.IntRange(min=1), default=None,
              help="Training epochs for the whole study, summed over trials; trials running"
                   " when it is spent end with the epochs they trained.")
@click.option("--sampler", type=click.Choice(SAMPLERS, case_sensitive=False), default=None,
              help="Search algorithm (default tpe).")
@click.option("--pruner", type=click.Choice(PRUNERS, case_sensitive=False), default=None,
              help="Early stopping of poor trials (default auto: asha, none if multi-objective).")
@click.option("--cohort", type=click.IntRange(min=1), default=None,
              help="Configurations trained at once per worker (default 8).")
@click.option("--executor", type=click.Choice(EXECUTORS, case_sensitive=False), default=None,
              help="Where cohorts train: in this process, or in worker processes.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes for --executor processes.")
@click.option("--storage", default=None,
              help="Optuna storage URL (default sqlite:///RUN_DIR/study.db).")
@click.option("--seed", type=int, default=None, help="Sampler seed (default: the config's).")
@click.option("--objective", multiple=True,
              help="Metric to optimise; repeat for several (e.g. val_accuracy and seconds).")
@click.option("--study-name", default=None, help="Optuna study name (default tunelab).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder (default runs/<study>-<date-time>); an existing one resumes.")
@click.option("--quiet", is_flag=True, help="No live progress display.")
@report_option
def tune(config: Path, dataset: str | None, trials: int | None, timeout: float | None,
         epoch_budget: int | None, sampler: str | None, pruner: str | None, cohort: int | None,
         executor: str | None, workers: int | None, storage: str | None, seed: int | None,
         objective: tuple[str, ...], study_name: str | None, out: Path | None, quiet: bool,
         make_report: bool) -> None:
    """Search the [search] space of CONFIG.toml: an Optuna study trained in cohorts.

    CONFIG.toml is a training configuration (as for `tunelab train`) with a [search] table
    of parameters and an optional [study] table (trials, sampler, pruner, objective, ...);
    the options here override [study]. Running the same command on the same --out folder
    resumes: finished trials are kept, interrupted ones are retried. Ctrl-C stops cleanly.
    """
    import time

    from tunelab.study import tune as run_tune

    run_dir = out or Path("runs") / f"{study_name or 'tunelab'}-{time.strftime('%Y%m%d-%H%M%S')}"
    click.echo(f"Study in {run_dir} (run again with --out {run_dir} to resume)", err=True)
    try:
        result = run_tune(
            config, run_dir=run_dir, dataset=dataset, trials=trials, timeout=timeout,
            epoch_budget=epoch_budget, sampler=sampler, pruner=pruner, cohort=cohort,
            executor=executor, workers=workers,
            storage=storage, seed=seed, objective=list(objective) or None,
            study_name=study_name, progress=not quiet,
        )
    except KeyboardInterrupt:
        click.echo(f"Interrupted. Finished trials are kept in {run_dir}; run the same command"
                   f" with --out {run_dir} to resume.", err=True)
        sys.exit(130)
    _summary(result)
    if make_report:
        write_run_report(run_dir)


def _summary(result: StudyResult) -> None:
    states = result.trials_by_state()
    click.echo(f"Run folder: {result.run_dir}")
    click.echo("Trials: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
    obj = result.objective
    if obj.multi:
        front = result.best_trials
        click.echo(f"Pareto front ({', '.join(obj.metrics)}): {len(front)} trials: "
                   + ", ".join(f"#{t.number} {[_fmt(v) for v in t.values]}" for t in front))
    elif result.best_trial is not None:
        t = result.best_trial
        click.echo(f"Best {obj.metrics[0]}: {_fmt(t.values[0])} (trial {t.number})")
        for k, v in t.params.items():
            click.echo(f"  {k} = {v}")
    else:
        click.echo("No trial completed.")
    s = result.stats
    if s is not None and s.cohort_epochs:
        click.echo(
            f"Compile {s.compile_seconds:.1f} s, train {s.train_seconds:.1f} s "
            f"({100 * s.compile_share:.0f}% compiling); mean cohort width "
            f"{s.mean_cohort_width:.2f} of {s.width}; {s.cohorts} cohorts; "
            f"wall {s.wall_seconds:.1f} s"
        )
    click.echo(f"Best configuration: tunelab best {result.run_dir} --out best.toml")


def _value_of(trial: FrozenTrial, column: str, metrics: list[str]) -> Any:
    if column == "number":
        return trial.number
    if column == "state":
        from tunelab.study import trial_state

        return trial_state(trial)
    if column in metrics and trial.values is not None:
        return trial.values[metrics.index(column)]
    if column in ("epochs", "seconds"):
        return trial.user_attrs.get(column)
    return trial.params.get(column)


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--sort", "sort", default=None,
              help="Column to sort by (number, state, a metric, epochs, seconds or a parameter);"
              " default: the first objective, best first.")
@click.option("--state", "states", multiple=True,
              type=click.Choice(["complete", "pruned", "failed", "diverged", "interrupted",
                                 "running", "waiting"]),
              help="Show only trials in this state (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most N rows.")
def trials(run_dir: Path, sort: str | None, states: tuple[str, ...], limit: int | None) -> None:
    """Show the trials of the study in RUN_DIR as a table."""
    from rich.console import Console
    from rich.table import Table

    from tunelab.study import open_run, trial_state

    result = open_run(run_dir)
    metrics = result.objective.metrics
    rows = result.study.get_trials(deepcopy=False)
    if states:
        rows = [t for t in rows if trial_state(t) in states]
    params = list(dict.fromkeys(k for t in rows for k in t.params))
    columns = ["number", "state", *metrics, "epochs", "seconds", *params]
    key = sort or metrics[0]
    if key not in columns:
        raise ConfigError(f"--sort: no column {key!r}; choose one of: {', '.join(columns)}")
    descending = key in metrics and result.objective.directions[metrics.index(key)] == "maximize"

    def order(t: FrozenTrial) -> tuple[int, Any]:
        v = _value_of(t, key, metrics)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return (1, 0)
        if isinstance(v, int | float):
            return (0, -v if descending else v)
        return (0, str(v))

    rows = sorted(rows, key=order)[:limit]
    table = Table(title=f"{result.study.study_name}: {len(rows)} trials", show_lines=False)
    last = [p.rsplit(".", 1)[-1] for p in params]
    # Parameters are shown by their last name part when that is unambiguous.
    header = {p: (short if last.count(short) == 1 else p) for p, short in zip(params, last,
                                                                              strict=True)}
    for c in [*columns, "reason"]:
        table.add_column(header.get(c, c), justify="right" if c in (
            "number", "epochs", "seconds", *metrics) else "left")
    for t in rows:
        cells = [_value_of(t, c, metrics) for c in columns]
        reason = t.user_attrs.get("reason", "")
        table.add_row(*["" if v is None else _fmt(v) for v in cells], str(reason))
    Console(width=max(120, Console().width)).print(table)


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the TOML here (default: standard output).")
@click.option("--trial", "number", type=click.IntRange(min=0), default=None,
              help="Another trial's configuration instead of the best one.")
def best(run_dir: Path, out: Path | None, number: int | None) -> None:
    """Print the best configuration of the study in RUN_DIR as TOML.

    The result is a plain training configuration: `tunelab train BEST.toml` trains it.
    With several objectives, the Pareto trial best on the first objective is chosen
    (use --trial N for another; `tunelab trials` lists them).
    """
    from tunelab.config import dump_config, save_config
    from tunelab.study import open_run

    result = open_run(run_dir)
    if number is None:
        chosen = result.best_trial
        if chosen is None:
            raise ConfigError(f"{run_dir}: no trial has completed yet; run tunelab tune first")
        if result.objective.multi:
            click.echo(f"Several objectives: trial {chosen.number} is the Pareto trial best on"
                       f" {result.objective.metrics[0]}; --trial N picks another.", err=True)
        number = chosen.number
    elif number >= len(result.study.trials):
        raise ConfigError(f"--trial: the study has trials 0..{len(result.study.trials) - 1}")
    cfg = result.config_of(number)
    if out is None:
        click.echo(f"# trial {number} of {run_dir}", nl=True)
        click.echo(dump_config(cfg), nl=False)
    else:
        save_config(cfg, out)
        click.echo(f"Wrote {out} (trial {number}); train it with: tunelab train {out}", err=True)
