"""``run_guide``: the whole procedure, step after step, resumable, ending in a tuned model.

Example:
    >>> import tempfile
    >>> from tunelab.guide import parse_procedure
    >>> proc = parse_procedure({"start": {"model": {"units": [16]}, "training":
    ...     {"batch_size": 64}, "data": {"limit": 300}}, "steps": [{"name": "width",
    ...     "scientific": {"model.units": [[16], [32]]},
    ...     "nuisance": {"optimizer.learning_rate": {"low": 0.01, "high": 1.0, "log": True}},
    ...     "budget": {"trials": 2, "epochs": 2, "seeds": 2, "cohort": 4}}]}, budget="quick")
    >>> result = run_guide(proc, run_dir=tempfile.mkdtemp(), progress=False)
    >>> [s.step for s in result.decisions.steps]
    ['width']
    >>> (result.run_dir / "best.keras").is_file()
    True
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from rich.console import Console

from tunelab._interrupt import latched, raise_if_interrupted
from tunelab.config import RunConfig, with_overrides
from tunelab.errors import ConfigError
from tunelab.guide._display import GuideDisplay
from tunelab.guide._final import cross_validate, train_final
from tunelab.guide._procedure import Procedure, default_procedure, load_procedure
from tunelab.guide._record import GuideRun
from tunelab.guide._step import GuideContext, run_step
from tunelab.guide._template import stage_model, template_procedure
from tunelab.runs import Decisions, FinalResult, GuideSettings, RunLayout, read_record

__all__ = ["GUIDE_CALLBACKS", "GuideResult", "guide_callbacks", "run_guide"]

Event = Callable[[str, dict[str, Any]], None]


@dataclass
class GuideResult:
    """What a guide run gives back.

    Attributes:
        run_dir: The run folder.
        decisions: ``decisions.json``: every step's values, test, decision and reason, and
            whether tuning helped.
        final: ``final.json``: the final model's protocol and test evaluation.
        config: The configuration best.keras holds (``final.toml``): the adopted one when
            the tuning check confirmed it, else the start (``final.shipped`` says which).
    """

    run_dir: Path
    decisions: Decisions
    final: FinalResult
    config: RunConfig

    @property
    def test_accuracy(self) -> float | None:
        """The test accuracy of ``best.keras`` (None for a regression task)."""
        return self.final.test_accuracy


def _procedure(procedure: Procedure | str | os.PathLike[str] | None, budget: str) -> Procedure:
    if procedure is None:
        return default_procedure(budget)
    if isinstance(procedure, Procedure):
        return procedure
    return load_procedure(procedure, budget)


def run_guide(
    procedure: Procedure | str | os.PathLike[str] | None = None,
    *,
    dataset: Any = None,
    model: Any = None,
    budget: str = "standard",
    steps: Sequence[str] | None = None,
    cohort: int | None = None,
    seed: int | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    executor: str = "local",
    workers: int = 1,
    progress: bool = True,
    console: Console | None = None,
    on_event: Event | None = None,
    callbacks: Sequence[Any] | None = None,
) -> GuideResult:
    """Run the procedure (the tutorial's by default), or continue it in ``run_dir``.

    Args:
        procedure: A :class:`Procedure`, a procedure TOML file, or None for the tutorial's.
        dataset: The dataset (overrides the procedure's ``[start.data]``): a name or path,
            arrays as a Keras user holds them (``(x, y)``, split as a file is, or a dict of
            ``train``/``validation``/``test`` tuples), or a prepared ``Dataset``. Arrays are
            saved once in ``RUN_DIR/inputs/`` so that every worker and a resumed run load them.
        model: The network (overrides the procedure's ``[start.model]``): a ``[model]``
            table (the built-in MLP by config), a ``"package.module:function"`` builder, or a
            ``keras.Model`` used as the template of every slot (saved in ``RUN_DIR/inputs/``;
            steps that compare its structure, such as the topology's widths, compare what
            does not change it or are left out; see :func:`template_procedure`).
        budget: ``quick``, ``standard`` or ``thorough`` (ignored for a Procedure object,
            which is already resolved).
        steps: Names of the steps to run (default: every step not marked optional).
        cohort: Configurations trained at once (overrides the budget's ``cohort``).
        seed: The run's seed (data split, searches); default the procedure's.
        run_dir: The run folder (default ``runs/guide-<dataset>-<budget>``). Running again
            on the same folder continues the run: finished steps are reloaded, the current
            step's study resumes after its last finished trial.
        executor: Where every training of the run happens (studies, re-runs, range tests,
            the final model): ``local`` or ``processes``.
        workers: Worker processes for ``executor = "processes"``.
        progress: Show the live display.
        console: Where the display and the decisions go (default standard error).
        on_event: Called with ``(event, data)``: ``trial``, ``evidence``, ``decision``, ...
        callbacks: ``keras.callbacks`` objects acting on every training run of the guide,
            every arm alike (see :func:`guide_callbacks`); they are part of the run's
            settings, so a continued run must give the same ones.

    Raises:
        ConfigError: A bad procedure, option, or callback (before anything trains), or a run
            folder started with other settings.
        KeyboardInterrupt: After Ctrl-C, once the finished trials are recorded.
    """
    from tunelab.data import data_label, load_dataset, stage_data
    from tunelab.execute import make_executor
    from tunelab.study import metric_direction
    from tunelab.train import enable_compilation_cache, structure_key

    own = guide_callbacks(callbacks or [])
    proc = _procedure(procedure, budget)
    start = proc.start
    overrides: dict[str, Any] = {}
    if seed is not None:
        overrides["seed"] = seed
    if own:
        overrides["callbacks"] = own
    if overrides:
        start = with_overrides(start, overrides, source="guide options")
    if cohort is not None and cohort < 1:
        raise ConfigError(f"cohort: must be >= 1, got {cohort}")
    label = data_label(start.data.name if dataset is None else dataset)
    folder = Path(run_dir) if run_dir is not None else RunLayout.default_path(
        f"guide-{label}-{proc.level}", dated=False)
    inputs = GuideRun(folder).inputs_dir
    if dataset is not None:
        staged = stage_data(dataset, inputs, start.data)
        start = with_overrides(start, {"data": staged.model_dump(mode="json")},
                               source="guide data")
    if model is not None:
        start = with_overrides(start, {"model": stage_model(model, inputs)},
                               source="guide model")
    if start.model.template is not None:
        proc, dropped = template_procedure(proc.model_copy(update={"start": start}))
        start = proc.start
        asked = [n for n in (steps or []) if n in dropped]
        if asked:
            raise ConfigError(f"step {asked[0]!r} compares {dropped[asked[0]]}, which a"
                              " keras.Model template fixes; leave it out of --steps")
    if own:
        proc = proc.model_copy(update={"start": start})
    chosen = proc.selected(steps)
    if not chosen:
        raise ConfigError(f"{proc.source}: no step to run; name steps with --steps")
    run = GuideRun(folder)
    settings = GuideSettings(dataset=start.data.model_dump(mode="json"), budget=proc.level,
                             seed=start.seed, steps=[s.name for s in chosen],
                             procedure=proc.to_dict(), cohort=cohort)
    pool = make_executor(executor, workers)
    run.start(settings, tomli_w.dumps(proc.to_dict()))
    emit: Event = on_event or (lambda event, data: None)
    display = GuideDisplay(console, live=progress)
    session = time.monotonic()
    with latched(), display, pool:
        data = load_dataset(start.data, seed=start.seed)
        enable_compilation_cache()
        metric = guide_metric(start, str(data.task))
        direction = metric_direction(metric)
        resolution = 1.0 / len(data.x_val) if metric.endswith("accuracy") and len(data.x_val) \
            else 0.0
        ctx = GuideContext(run=run, data=data, task=str(data.task), metric=metric,
                           direction=direction, resolution=resolution, seed=start.seed,
                           cohort=cohort, display=display, emit=emit, key_fn=structure_key,
                           executor=pool, early_stopping=own.get("early_stopping"))
        decisions = run.decisions().model_copy(update={
            "dataset": str(data.name), "task": str(data.task), "metric": metric,
            "direction": direction, "budget": proc.level, "procedure": proc.name})
        done = {s.step: s for s in decisions.steps}
        display.begin(len(chosen), f"tunelab guide · {data.name} · {proc.level} budget ·"
                      f" {len(chosen)} steps · {run.path}")
        current = start
        for i, step in enumerate(chosen):
            raise_if_interrupted()
            index = proc.steps.index(step) + 1
            if step.name in done:
                current = RunConfig.model_validate(done[step.name].config)
                display.note(f"step {i + 1}/{len(chosen)} · {step.name}: finished before,"
                             " reloaded")
                continue
            display.step(i, len(chosen), step.name, step.title)
            emit("step", {"step": step.name, "index": i})
            step_dir = run.step_dir(index, step.name)
            if step.compares:
                record, current = run_step(ctx, index, step, current)
            else:
                step_dir.mkdir(parents=True, exist_ok=True)
                began = time.monotonic()
                try:
                    record = cross_validate(ctx, step, current, "the configuration adopted")
                finally:
                    run.add_seconds(step_dir, time.monotonic() - began)
            record = record.model_copy(update={"seconds": run.step_seconds(step_dir)})
            decisions.steps = [*decisions.steps, record]
            run.save_decisions(decisions)
            display.decision(record)
            emit("decision", record.model_dump(mode="json"))
        display.finish_steps(len(chosen))
        final = read_record(run.final_json, FinalResult)
        if final is None or final.tuning is None or not run.best_model.is_file():
            last = next((s for s in reversed(chosen) if s.compares), chosen[-1])
            final, current = train_final(ctx, start, current, last)
        else:
            shipped = final.tuning.adopted if final.shipped == "adopted" else final.tuning.start
            current = RunConfig.model_validate(shipped.config)
        assert final.tuning is not None
        total = sum(s.seconds for s in decisions.steps)
        decisions = decisions.model_copy(update={
            "tuning": final.tuning,
            "test_accuracy": final.test.get("test_accuracy", float("nan")),
            "test_loss": final.test.get("test_loss", float("nan")),
            "baseline_test_accuracy": final.baseline_test.get("test_accuracy", float("nan")),
            "wall_seconds": round(total + final.seconds, 3),
            "session_seconds": round(time.monotonic() - session, 3)})
        run.save_decisions(decisions)
        display.note(f"[bold]did tuning help?[/] {final.tuning.summary}")
        emit("final", final.model_dump(mode="json"))
    return GuideResult(run.path, decisions, final, current)


#: What a Keras callback given to a guide becomes: the ``[callbacks]`` keys it may set.
GUIDE_CALLBACKS = ("early_stopping", "reduce_lr_on_plateau")


def guide_callbacks(callbacks: Sequence[Any]) -> dict[str, Any]:
    """``keras.callbacks`` objects as the ``[callbacks]`` every training run of a guide gets.

    A guide compares arms, so a callback acts on every arm alike: ``EarlyStopping`` takes the
    place of the guide's own early stopping (on the compared metric, best weights kept) in
    every trial, re-run and final model, and ``ReduceLROnPlateau`` acts in all of them (the
    learning-rate range tests sweep the rate themselves, without it). ``TerminateOnNaN`` is
    always in effect. Callbacks writing files per run (``CSVLogger``, ``ModelCheckpoint``,
    ``TensorBoard``) are refused: the guide keeps every trial's history and the final model
    itself, and ``guide(tensorboard=DIR)`` logs the trials.

    Raises:
        ConfigError: A callback a guide cannot honour, named.

    Example:
        >>> import keras
        >>> guide_callbacks([keras.callbacks.EarlyStopping(monitor="val_loss", patience=2),
        ...                  keras.callbacks.TerminateOnNaN()])["early_stopping"]["patience"]
        2
        >>> guide_callbacks([keras.callbacks.CSVLogger("log.csv")])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tunelab.errors.ConfigError: guide(callbacks=): callbacks.csv_logger writes files per run...
    """
    from tunelab.train import keras_callbacks_section

    where = "guide(callbacks=)"
    if any(type(c).__name__ == "TensorBoard" for c in callbacks):
        raise ConfigError(f"{where}: TensorBoard writes files per run; give"
                          " guide(tensorboard=DIR), which logs every trial of every step")
    section = keras_callbacks_section(callbacks, where)
    other = [k for k in section if k not in GUIDE_CALLBACKS]
    if other:
        raise ConfigError(f"{where}: callbacks.{other[0]} writes files per run, which a guide"
                          f" does not take (it takes {', '.join(GUIDE_CALLBACKS)}); every"
                          " trial's history.json and the final best.keras are in the run folder")
    return section


def guide_metric(start: RunConfig, task: str) -> str:
    """What every step compares: validation accuracy, else the first metric on validation data.

    Never the loss: a step may compare losses, and one loss's values say nothing about
    another's.

    Example:
        >>> guide_metric(RunConfig(), "multiclass"), guide_metric(RunConfig(), "regression")
        ('val_accuracy', 'val_mae')
    """
    from tunelab.model import resolve_metrics

    names = resolve_metrics(list(start.training.metrics), task)
    if "accuracy" in names:
        return "val_accuracy"
    return f"val_{names[0]}" if names else "val_loss"
