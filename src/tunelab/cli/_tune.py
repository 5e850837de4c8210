"""``tunelab tune`` (run or resume a study), ``tunelab trials`` and ``tunelab best``.

The options of ``tunelab tune`` that set ``[study]`` keys are derived from
:class:`~tunelab.config.StudyConfig` (:func:`study_options`): one option per field, named
``--`` and the key with ``-`` for ``_`` (``name`` is ``--study-name``), typed, ranged and
described by the field. Adding a field to StudyConfig adds its option.
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, get_args, get_origin

import click
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

from tunelab.cli._reporting import report_option, write_run_report
from tunelab.config import OneOf, StudyConfig
from tunelab.errors import ConfigError
from tunelab.runs import RunLayout
from tunelab.study import TrialStateName

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from tunelab.study import StudyResult

__all__ = ["best", "study_options", "trials", "tune"]

F = TypeVar("F", bound=Callable[..., Any])

#: Option names that are not the field's own (``--name`` alone would be ambiguous).
RENAMED = {"name": "--study-name"}
#: The parameters ``tunelab tune`` has besides the [study] keys.
_OWN = ("config", "dataset", "out", "quiet", "make_report")
#: ``tunelab trials --state`` words that were renamed: the old word still works, with a note.
DEPRECATED_STATES = {"interrupted": TrialStateName.RETRIED}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def option_name(key: str) -> str:
    """The ``tunelab tune`` option that sets the ``[study]`` key ``key``.

    Example:
        >>> option_name("epoch_budget"), option_name("name")
        ('--epoch-budget', '--study-name')
    """
    return RENAMED.get(key, "--" + key.replace("_", "-"))


def _bounds(field: FieldInfo) -> dict[str, Any]:
    """click range arguments from a field's ``ge``/``gt``/``le``/``lt`` constraints."""
    out: dict[str, Any] = {}
    for c in field.metadata:  # pydantic keeps each constraint as an object named by it
        if getattr(c, "ge", None) is not None:
            out["min"] = c.ge
        if getattr(c, "gt", None) is not None:
            out["min"], out["min_open"] = c.gt, True
        if getattr(c, "le", None) is not None:
            out["max"] = c.le
        if getattr(c, "lt", None) is not None:
            out["max"], out["max_open"] = c.lt, True
    return out


def _choices(field: FieldInfo) -> tuple[str, ...] | None:
    for c in field.metadata:
        if isinstance(c, AfterValidator) and isinstance(c.func, OneOf):
            return c.func.allowed
    return None


def _option_type(where: str, field: FieldInfo) -> tuple[Any, bool]:
    """The click type of a field's option, and whether it repeats (a list field).

    Raises:
        TypeError: The field's type has no command-line form (naming the field).
    """
    ann = field.annotation
    args = get_args(ann) if get_origin(ann) in (Union, types.UnionType) else (ann,)
    kinds = [a for a in args if a is not type(None)]
    many = any(get_origin(a) is list for a in kinds)
    kinds = [get_args(a)[0] if get_origin(a) is list else a for a in kinds]
    kind = kinds[0] if len(set(kinds)) == 1 else None
    choices = _choices(field)
    if get_origin(kind) is Literal:
        return click.Choice([str(v) for v in get_args(kind)]), many
    if kind is str:
        return (click.STRING if choices is None
                else click.Choice(choices, case_sensitive=False)), many
    if kind is bool and not many:
        return bool, False
    if kind is int:
        bounds = _bounds(field)
        return (click.IntRange(**bounds) if bounds else click.INT), many
    if kind is float:
        bounds = _bounds(field)
        return (click.FloatRange(**bounds) if bounds else click.FLOAT), many
    raise TypeError(
        f"{where}: a field of type {ann} has no command-line option; give it a"
        " str, int, float, bool or Literal type (or a list of one), or a name in RENAMED"
        " and handle it in tunelab tune"
    )


def _help(field: FieldInfo, many: bool) -> str:
    """The field's description as an option's help: a sentence, its default, repetition."""
    text = (field.description or "").strip().rstrip(".")
    text = text[:1].upper() + text[1:]
    default = field.get_default()
    if default is not None:
        text += f"; default: {default}"
    text += "." if text else ""
    return f"{text} Repeat for several." if many else text


def study_options(model: type[BaseModel] = StudyConfig,
                  taken: Iterable[str] = _OWN) -> Callable[[F], F]:
    """A decorator adding one click option per field of ``model`` (StudyConfig).

    Each option is named by :func:`option_name`, passes its value as the field's name (None
    when not given, an empty tuple for a list field), and shows the field's default; its type
    and range come from the field's type and constraints.

    Raises:
        TypeError: A field has no command-line form, or its name is one of ``taken`` (the
            command's own parameters).

    Example:
        >>> @click.command()
        ... @study_options()
        ... def show(**study: object) -> None:
        ...     click.echo(sorted(k for k, v in study.items() if v not in (None, ())))
        >>> from click.testing import CliRunner
        >>> print(CliRunner().invoke(show, ["--cohort", "4", "--pad-widths", "none"]).output)
        ['cohort', 'pad_widths']
        <BLANKLINE>
    """
    taken = set(taken)
    decorators = []
    for key, field in model.model_fields.items():
        where = f"{model.__name__}.{key}"
        if key in taken:
            raise TypeError(f"{where}: the name is taken by an option of tunelab tune"
                            f" ({', '.join(sorted(taken))}); rename the field")
        kind, many = _option_type(where, field)
        flag = option_name(key)
        decls = [f"{flag}/--no-{flag[2:]}" if kind is bool else flag, key]
        decorators.append(click.option(
            *decls, type=None if kind is bool else kind, multiple=many,
            default=None, help=_help(field, many),
        ))

    def apply(f: F) -> F:
        for decorate in reversed(decorators):
            f = decorate(f)
        return f

    return apply


def _given(study: dict[str, Any]) -> dict[str, Any]:
    """The [study] options given on the command line (a repeated one as a list)."""
    out = {}
    for key, value in study.items():
        if value is None or value == ():
            continue
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


@click.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dataset", default=None, help="Dataset name or path (overrides data.name).")
@study_options()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder (default runs/<study>-<date-time>); an existing one resumes.")
@click.option("--quiet", is_flag=True, help="No live progress display.")
@click.option("--mlflow", "mlflow", default=None, metavar="URI",
              help="Also log to MLflow: a parent run, a nested run per trial ([tracking]).")
@click.option("--tensorboard", "tensorboard", default=None, metavar="DIR",
              help="Also write TensorBoard scalars and HParams per trial ([tracking]).")
@report_option
def tune(config: Path, dataset: str | None, out: Path | None, quiet: bool, make_report: bool,
         mlflow: str | None, tensorboard: str | None, **study: Any) -> None:
    """Search the [search] space of CONFIG.toml: an Optuna study trained in cohorts.

    CONFIG.toml is a training configuration (as for `tunelab train`) with a [search] table
    of parameters and an optional [study] table (trials, sampler, pruner, objective, ...);
    every [study] key is an option here too (--KEY, with - for _; name is --study-name), and
    options override the file. Running the same command on the same --out folder resumes:
    finished trials are kept, unfinished ones are retried. Ctrl-C stops cleanly.
    """

    from tunelab.study import as_tune_config
    from tunelab.study import tune as run_tune
    from tunelab.tracking import tracked

    settings = _given(study)
    tracking = as_tune_config(config)[0].tracking
    name = settings.get("name") or StudyConfig.model_fields["name"].get_default()
    run_dir = out or RunLayout.default_path(name)
    click.echo(f"Study in {run_dir} (run again with --out {run_dir} to resume)", err=True)
    try:
        with tracked(mlflow or tracking.mlflow, tensorboard or tracking.tensorboard,
                     run_dir=run_dir, experiment=tracking.experiment,
                     run_name=str(name)) as trackers:
            if trackers:
                settings["callbacks"] = trackers
            result = run_tune(config, run_dir=run_dir, dataset=dataset, progress=not quiet,
                              **settings)
    except KeyboardInterrupt:
        click.echo(f"Interrupted. Finished trials are kept in {run_dir}; run the same command"
                   f" with --out {run_dir} to resume.", err=True)
        sys.exit(130)
    for note in result.notes:
        click.echo(note, err=True)
    _summary(result)
    if make_report and result.last_session:
        write_run_report(run_dir)
    elif make_report:
        click.echo("Other sessions of this study are still running; the last one to finish"
                   " writes report.html.", err=True)


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
        cohorts = f"{s.cohorts} cohort" + ("" if s.cohorts == 1 else "s")
        click.echo(
            f"Compile {s.compile_seconds:.1f} s, train {s.train_seconds:.1f} s "
            f"({100 * s.compile_share:.0f}% compiling); mean cohort width "
            f"{s.mean_cohort_width:.2f} of {s.width}; {cohorts}; "
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


class _StateChoice(click.Choice):
    """A state of :class:`TrialStateName`; a renamed word still works, with a note."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.lower() in DEPRECATED_STATES:
            new = DEPRECATED_STATES[value.lower()].value
            click.echo(f"Note: --state {value} is now called {new}.", err=True)
            value = new
        return super().convert(value, param, ctx)


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--sort", "sort", default=None,
              help="Column to sort by (number, state, a metric, epochs, seconds or a parameter);"
              " default: the first objective, best first.")
@click.option("--state", "states", multiple=True,
              type=_StateChoice([s.value for s in TrialStateName], case_sensitive=False),
              help="Show only trials in this state (repeatable; 'retried': stopped"
                   " unfinished and run again).")
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
