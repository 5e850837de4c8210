"""The Python fronts of the commands: ``fit`` (``tunelab train``), ``tune``, ``guide``,
``report``, ``minimize`` and ``race`` (``tunelab landscape minimize`` / ``race``).

Each one does what its command does, with the same defaults and the same errors, and takes
data and models as a Keras user holds them: ``data`` is a dataset name or path, ``(x, y)``
arrays, a dict of ``train``/``validation``/``test`` tuples or a ``Dataset``; ``model`` is a
``[model]`` table (the built-in MLP by config), a builder (a ``"package.module:function"``
name, or for ``fit`` a Python function too) or a ``keras.Model`` used as the template of every
slot. In a notebook the progress shows as an HTML block updated in place, and the results
show themselves (``_repr_html_``).

The one difference from the commands: a Python call writes files only where asked. ``fit``
writes its run folder when given ``out`` (or when ``result.report()`` is called); ``tune`` and
``guide`` always have a run folder (their studies live there) and write the report when
``report=True`` or ``result.report()`` is called.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tunelab._notebook import LiveHTML, in_notebook, progress_html
from tunelab.api._results import (
    FitResult,
    GuideResult,
    ReportPage,
    TuneResult,
    promote,
    write_page,
)
from tunelab.config import RunConfig, TuneConfig, load_config, parse_config, with_overrides
from tunelab.errors import ConfigError, SpaceError
from tunelab.runs import RunLayout

__all__ = ["fit", "guide", "minimize", "race", "report", "save_fit_run", "tune"]

#: A template fixes these: searching them is an error (see tunelab.guide's FIXED_BY_TEMPLATE).
_FIXED_BY_TEMPLATE = ("model.units", "model.layers", "model.activation",
                      "model.kernel_initializer", "model.padded_units", "model.builder",
                      "model.template")


def _templates_dir() -> Path:
    """Where ``fit`` keeps templates when it writes no run folder (named by a hash)."""
    return Path(tempfile.gettempdir()) / "tunelab-templates"


def _run_config(config: Any, preset: str | None) -> tuple[RunConfig, str]:
    if config is not None and preset is not None:
        raise ConfigError("give a config or a preset, not both")
    if preset is not None:
        from tunelab.train import load_preset

        return load_preset(preset), preset
    if config is None:
        return RunConfig(), "train"
    if isinstance(config, RunConfig):
        return config, "train"
    if isinstance(config, Mapping):
        return parse_config(dict(config), source="config"), "train"
    path = Path(config)
    loaded = load_config(path)
    assert isinstance(loaded, RunConfig)
    return loaded, path.stem


def _train_overrides(cfg: RunConfig, *, epochs: int | None, batch_size: int | None,
                     optimizer: str | None, learning_rate: float | None,
                     seed: int | None) -> dict[str, Any]:
    """The keys ``tunelab train``'s options set (the same rules: another optimizer family
    starts from its Keras defaults)."""
    out: dict[str, Any] = {}
    if epochs is not None:
        out["training.epochs"] = epochs
    if batch_size is not None:
        out["training.batch_size"] = batch_size
    if seed is not None:
        out["seed"] = seed
    if optimizer is not None:
        from tunelab.config import OptimizerConfig

        try:
            family = OptimizerConfig.model_validate({"name": optimizer}).name
        except ValueError:
            family = optimizer  # validated (and reported) with the overrides
        if family != cfg.optimizer.name:
            out["optimizer"] = {"name": optimizer}
    if learning_rate is not None:
        out["optimizer.learning_rate"] = learning_rate
    return out


def fit(
    config: RunConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    preset: str | None = None,
    data: Any = None,
    model: Any = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    optimizer: str | None = None,
    learning_rate: float | None = None,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
    report: bool = False,
    callbacks: Sequence[Any] | None = None,
    executor: Any = None,
) -> FitResult:
    """Train one configuration, as ``tunelab train`` does.

    Args:
        config: A configuration (a ``RunConfig``, a dict as read from TOML, or a TOML path);
            with neither it nor ``preset``, the defaults: the tutorial's MLP, SGD, digits.
        preset: A shipped preset (``tunelab train --list-presets``), e.g.
            ``"tutorial-rmsprop"``.
        data: The data: a name or path, ``(x, y)`` arrays (validation and test split off as
            for a file), a dict of ``train``/``validation``/``test`` tuples, or a ``Dataset``.
        model: A ``[model]`` table, a builder (``"package.module:function"`` or a function),
            or a ``keras.Model`` template (cloned, re-initialised from the seed).
        epochs, batch_size, optimizer, learning_rate, seed: The options of ``tunelab train``.
        overrides: Any other keys, dotted: ``{"schedule.name": "cosine"}``.
        out: The run folder to write (``config.toml``, ``history.json``, ``model.keras``,
            ``curves.png``); default none (``result.report()`` writes one).
        progress: Show the progress bar (an HTML block in a notebook).
        report: Also write ``report.html`` (needs a run folder: ``out``, else a new one).
        callbacks: ``keras.callbacks`` objects (EarlyStopping, ReduceLROnPlateau,
            LearningRateScheduler, ModelCheckpoint, CSVLogger, TerminateOnNaN; files go in
            ``out``) or :class:`tunelab.train.Callback` objects.
        executor: Where it trains (default: in this process).

    Raises:
        ConfigError: A bad option or key (named), a config and a preset together.
        DataError: Data that cannot be read or whose arrays do not fit together.

    Example:
        >>> import numpy as np
        >>> from sklearn.datasets import load_digits
        >>> x, y = load_digits(return_X_y=True)
        >>> r = fit(data=(x, y), epochs=5, batch_size=32, learning_rate=0.1,
        ...         overrides={"optimizer.momentum": 0.8}, progress=False)
        >>> str(r.status), len(r.history["val_accuracy"]), r.final["val_accuracy"] > 0.5
        ('done', 5, True)
    """
    from tunelab.data import data_label, is_array_data, load_dataset, stage_data
    from tunelab.execute import fit as engine_fit
    from tunelab.model import stage_model

    cfg, _ = _run_config(config, preset)
    run_dir = Path(out) if out is not None else None
    inputs = RunLayout(run_dir).inputs_dir if run_dir is not None else _templates_dir()
    builder = None
    if model is not None:
        if not _is_keras_model(model) and not isinstance(model, str) and callable(model):
            builder = model
        else:
            cfg = with_overrides(cfg, {"model": stage_model(model, inputs)},
                                 source="fit model")
    # After the model (a template sets the whole [model] table), before the data (staged
    # arrays keep the [data] settings given here).
    changes = _train_overrides(cfg, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                               learning_rate=learning_rate, seed=seed)
    changes.update(dict(overrides or {}))
    if changes:
        cfg = with_overrides(cfg, changes, source="fit options")
    dataset: Any
    if data is None or isinstance(data, str | os.PathLike) or run_dir is not None:
        # A run folder must train again from its config.toml: arrays go in with it.
        if data is not None:
            staged = stage_data(data, inputs, cfg.data)
            cfg = with_overrides(cfg, {"data": staged.model_dump(mode="json")},
                                 source="fit data")
        dataset = load_dataset(cfg.data, seed=cfg.seed)
    else:
        dataset = load_dataset(data, seed=cfg.seed, config=cfg.data) if is_array_data(data) \
            else data
        cfg = with_overrides(cfg, {"data.name": data_label(data), "data.path": None},
                             source="fit data")
    from tunelab.train import from_keras

    own = [from_keras(c, "fit(callbacks=)") for c in callbacks or []]
    result = engine_fit(cfg, dataset, out_dir=run_dir, progress=progress,
                        callbacks=own, builder=builder, executor=executor)
    out_result = promote(FitResult, result, data=dataset)
    if run_dir is not None:
        save_fit_run(out_result, run_dir)
        out_result.run_dir = run_dir
    if report:
        out_result.report()
    return out_result


def _is_keras_model(obj: object) -> bool:
    import keras

    return isinstance(obj, keras.Model)


def save_fit_run(result: FitResult, folder: Path) -> None:
    """Write ``result``'s run folder; arrays it trained on from memory are saved with it."""
    from tunelab.data import stage_data
    from tunelab.train import save_run

    layout = RunLayout(folder)
    cfg = result.config
    if result.data is not None and not Path(cfg.data.name).exists() and \
            cfg.data.name not in _known_names():
        staged = stage_data(result.data, layout.inputs_dir)
        result.config = with_overrides(cfg, {"data": staged.model_dump(mode="json")},
                                       source="run folder")
    save_run(result, folder)


def _known_names() -> set[str]:
    from tunelab.data import DATASETS

    return set(DATASETS)


def _study_run_dir(out: str | os.PathLike[str] | None, name: str) -> Path:
    return Path(out) if out is not None else RunLayout.default_path(name)


class _NotebookStudy:
    """A study's progress as an HTML block in a notebook."""

    def __init__(self) -> None:
        self.block = LiveHTML(progress_html("tune", 0, None, "starting: loading data and"
                                            " compiling the first cohort"))

    def __call__(self, p: Any) -> None:
        info = f"complete {p.complete} · pruned {p.pruned} · failed {p.failed}"
        if p.best_value is not None:
            info += f" · best {p.metric} {p.best_value:.4f} (trial {p.best_trial})"
        self.block.update(progress_html("tune", min(p.done, p.total), p.total, info,
                                        self.block.seconds))


def tune(
    config: TuneConfig | RunConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    data: Any = None,
    model: Any = None,
    space: Any = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
    report: bool = False,
    run_dir: str | os.PathLike[str] | None = None,
    dataset: str | None = None,
    on_progress: Any = None,
    callbacks: Sequence[Any] | None = None,
    mlflow: str | None = None,
    tensorboard: str | os.PathLike[str] | None = None,
    **study: Any,
) -> TuneResult:
    """Search a space, as ``tunelab tune`` does: an Optuna study trained in cohorts.

    Args:
        config: A configuration with ``[search]`` and ``[study]`` tables (a TOML path, a
            dict, a ``TuneConfig``; a ``RunConfig`` with ``space``); None: the defaults.
        data: The data (a name or path, ``(x, y)``, a dict of splits, a ``Dataset``); arrays
            are saved in ``RUN_DIR/inputs/`` so that every worker and a resume load them.
        model: A ``[model]`` table, a ``"package.module:function"`` builder, or a
            ``keras.Model`` template; a template's search covers what does not change its
            structure (optimizer, learning rate and schedule, ``model.dropout``, ``model.l2``,
            batch size, epochs).
        space: A search space overriding the config's ``[search]``.
        out: The run folder (default ``runs/<study>-<date-time>``); the same folder resumes.
        progress: Show the live progress (an HTML block in a notebook).
        report: Write ``report.html`` at the end.
        run_dir, dataset: The names ``tunelab.study.tune`` gives ``out`` and ``data``.
        on_progress: Also called after every round with a ``tunelab.study.Progress``.
        callbacks: Study callbacks ``f(study, frozen_trial)``, called after each trial is
            told (Optuna's ``optimize(callbacks=)``: optuna-integration's ``MLflowCallback``
            works as is); ``keras.callbacks`` objects (EarlyStopping, ReduceLROnPlateau,
            ModelCheckpoint, CSVLogger, TerminateOnNaN) act on every trial, as ``[callbacks]``.
        mlflow: An MLflow tracking URI: a parent run for the study, a nested run per trial
            (default: the config's ``[tracking]`` table).
        tensorboard: A TensorBoard log folder: per-trial scalars and HParams.
        **study: ``[study]`` keys (``trials``, ``cohort``, ``sampler``, ``pruner``, ...).

    Raises:
        SpaceError: A bad search space, or one that searches what a template fixes.
        ConfigError: A bad setting; TypeError for an unknown keyword.

    Example:
        >>> import tempfile
        >>> r = tune({"training": {"epochs": 1, "batch_size": 128},
        ...           "search": {"optimizer.learning_rate": {"low": 0.01, "high": 0.5,
        ...                                                  "log": True}}},
        ...          trials=2, cohort=2, out=tempfile.mkdtemp(), progress=False)
        >>> r.trials_by_state()
        {'complete': 2}
    """
    from tunelab.data import stage_data
    from tunelab.model import stage_model
    from tunelab.study import Space, as_tune_config
    from tunelab.study import tune as study_tune

    if out is not None and run_dir is not None:
        raise TypeError("tune() got both out= and run_dir= (the same folder); give one")
    if data is not None and dataset is not None:
        raise TypeError("tune() got both data= and dataset=; give one")
    cfg, _ = as_tune_config(config if config is not None else TuneConfig())
    name = study.get("name") or study.get("study_name") or cfg.study.name
    folder = _study_run_dir(out if out is not None else run_dir, str(name))
    inputs = RunLayout(folder).inputs_dir
    if isinstance(data, str | os.PathLike):
        dataset = os.fspath(data)
    elif data is not None:
        staged = stage_data(data, inputs, cfg.data)
        cfg = _tune_overrides(cfg, {"data": staged.model_dump(mode="json")})
    if model is not None:
        cfg = _tune_overrides(cfg, {"model": stage_model(model, inputs)})
    if cfg.model.template is not None:
        searched = Space(space if space is not None else cfg.search, source="space")
        fixed = [n for n in searched.params if n in _FIXED_BY_TEMPLATE]
        if fixed:
            raise SpaceError(
                f"search parameter {fixed[0]!r}: a keras.Model template fixes the network's"
                " structure; search what does not change it: the optimizer and its numbers,"
                " the learning rate and schedule, model.dropout, model.l2,"
                " training.batch_size, training.epochs")
    keras_cbs, study_cbs = _split_callbacks(callbacks)
    if keras_cbs:
        from tunelab.train import keras_callbacks_section

        cfg = _tune_overrides(cfg, {"callbacks": keras_callbacks_section(
            keras_cbs, "tune(callbacks=)")})
    from tunelab.tracking import tracked

    notebook = progress and in_notebook()
    shown = _NotebookStudy() if notebook else None
    listeners = [c for c in (shown, on_progress) if c is not None]

    def notify(p: Any) -> None:
        for listener in listeners:
            listener(p)

    with tracked(mlflow or cfg.tracking.mlflow, tensorboard or cfg.tracking.tensorboard,
                 run_dir=folder, experiment=cfg.tracking.experiment,
                 run_name=str(name)) as trackers:
        result = study_tune(cfg, space=space, run_dir=folder, dataset=dataset,
                            progress=progress and not notebook,
                            on_progress=notify if listeners else None,
                            callbacks=[*study_cbs, *trackers], **study)
    out_result = promote(TuneResult, result)
    if report:
        out_result.report()
    return out_result


def _split_callbacks(callbacks: Sequence[Any] | None) -> tuple[list[Any], list[Any]]:
    """``keras.callbacks`` objects (per trial) apart from study callbacks (per study)."""
    import keras

    from tunelab.train import Callback

    per_trial, per_study = [], []
    for callback in callbacks or []:
        if isinstance(callback, keras.callbacks.Callback | Callback):
            per_trial.append(callback)
        elif callable(callback):
            per_study.append(callback)
        else:
            raise ConfigError(f"tune(callbacks=): expected f(study, trial) or a"
                              f" keras.callbacks object, got {type(callback).__name__}")
    return per_trial, per_study


def _tune_overrides(cfg: TuneConfig, changes: dict[str, Any]) -> TuneConfig:
    changed = with_overrides(cfg, changes, source="tune options")
    assert isinstance(changed, TuneConfig)
    return changed


class _NotebookGuide:
    """The guide's progress as an HTML block in a notebook (steps and trials)."""

    def __init__(self) -> None:
        self.block = LiveHTML(progress_html("guide", 0, None, "starting"))
        self.step = ""

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "step":
            self.step = str(info.get("step", ""))
            self.block.update(progress_html(f"guide · {self.step}", 0, None, "starting",
                                            self.block.seconds))
        elif event in ("trial", "evidence"):
            what = "trials" if event == "trial" else "re-runs"
            self.block.update(progress_html(f"guide · {info.get('step', self.step)}",
                                            float(info.get("done", 0)),
                                            float(info.get("total", 0)) or None, what,
                                            self.block.seconds))
        elif event == "final":
            self.block.update(progress_html("guide", 1, 1, "final model trained",
                                            self.block.seconds))


def guide(
    procedure: Any = None,
    *,
    data: Any = None,
    model: Any = None,
    budget: str = "standard",
    steps: Sequence[str] | str | None = None,
    cohort: int | None = None,
    seed: int | None = None,
    out: str | os.PathLike[str] | None = None,
    executor: str = "local",
    workers: int = 1,
    progress: bool = True,
    report: bool = False,
    mlflow: str | None = None,
    tensorboard: str | os.PathLike[str] | None = None,
    callbacks: Sequence[Any] | None = None,
) -> GuideResult:
    """Tune step by step, the tutorial's way, as ``tunelab guide`` does.

    Args:
        procedure: A procedure TOML file or ``Procedure`` (default: the tutorial's four steps).
        data: The data (default the procedure's: digits): a name or path, ``(x, y)``, a dict
            of splits or a ``Dataset``.
        model: A ``[model]`` table, a ``"package.module:function"`` builder, or a
            ``keras.Model`` template (steps then compare what does not change its structure:
            the topology step compares its dropout rates).
        budget: ``quick``, ``standard`` (the default, as the command's) or ``thorough``.
        steps: The steps to run, by name (a list, or comma-separated).
        cohort, seed, executor, workers: As the command's options.
        out: The run folder (default ``runs/guide-<dataset>-<budget>``); the same folder
            continues an interrupted run.
        progress: Show the live display (an HTML block in a notebook).
        report: Write ``report.html`` at the end.
        mlflow: An MLflow tracking URI: when the guide ends, a parent run for it with a
            nested run per trial of every step, its decisions and final model as artifacts.
        tensorboard: A TensorBoard log folder: per step, per-trial scalars and HParams.
        callbacks: ``keras.callbacks`` objects acting on every training run alike (every
            arm of every comparison): ``EarlyStopping`` in place of the guide's own,
            ``ReduceLROnPlateau``, ``TerminateOnNaN`` (``tunelab.guide.guide_callbacks``).

    Raises:
        ConfigError: A bad procedure, option or callback (before anything trains), or a run
            folder started with other settings.

    Example:
        >>> import tempfile
        >>> from tunelab.guide import parse_procedure
        >>> proc = parse_procedure({"start": {"model": {"units": [16]}, "training":
        ...     {"batch_size": 64}, "data": {"limit": 300}}, "steps": [{"name": "width",
        ...     "scientific": {"model.units": [[16], [32]]}, "nuisance":
        ...     {"optimizer.learning_rate": {"low": 0.01, "high": 1.0, "log": True}},
        ...     "budget": {"trials": 2, "epochs": 2, "seeds": 2, "cohort": 4}}]}, budget="quick")
        >>> r = guide(proc, out=tempfile.mkdtemp(), progress=False)
        >>> [s.step for s in r.decisions.steps], "<table" in r._repr_html_()
        (['width'], True)
    """
    from rich.console import Console

    from tunelab.guide import run_guide

    names = [n.strip() for n in steps.split(",")] if isinstance(steps, str) else steps
    notebook = progress and in_notebook()
    console = Console(stderr=not notebook, force_jupyter=notebook or None)
    result = run_guide(procedure, dataset=data, model=model, budget=budget,
                       steps=list(names) if names else None, cohort=cohort, seed=seed,
                       run_dir=out, executor=executor, workers=workers,
                       progress=progress and not notebook, console=console,
                       on_event=_NotebookGuide() if notebook else None, callbacks=callbacks)
    out_result = promote(GuideResult, result)
    if mlflow or tensorboard:
        from tunelab.tracking import log_guide

        log_guide(result.run_dir, mlflow=mlflow, tensorboard=tensorboard,
                  name=f"guide {Path(result.run_dir).name}")
    if report:
        out_result.report()
    return out_result


def report(run_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None
           ) -> ReportPage:
    """Write the HTML report of a run folder, as ``tunelab report`` does; shown inline in a
    notebook.

    A ``train`` or ``guide`` folder's report includes the 1-D loss slice of its final model
    (computed once, into ``landscape.json``).

    Raises:
        ConfigError: Not a run folder, or a damaged record in it (named).

    Example:
        >>> import tempfile, pathlib, json
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "history.json").write_text(json.dumps({"loss": [1.0, 0.6, 0.5]}))
        >>> report(d).path.name
        'report.html'
    """
    folder = Path(run_dir)
    if out is None:
        return write_page(folder)
    from tunelab.api._landscape import write_final_slice
    from tunelab.report import write_report

    if folder.is_dir():
        write_final_slice(folder)
    return ReportPage(write_report(folder, out))


def minimize(function: str = "beale", x0: Sequence[float] = (4.0, 4.0), *,
             method: str = "L-BFGS-B", bounded: bool = False,
             bounds: Sequence[tuple[float, float]] | None = None) -> Any:
    """Minimise a test function with scipy, as ``tunelab landscape minimize`` does.

    By default the tutorial's: the Beale function from (4, 4), L-BFGS-B.

    Example:
        >>> r = minimize("beale", (4, 4), bounded=True)
        >>> [round(v, 3) for v in r.x]
        [3.0, 0.5]
    """
    from tunelab.landscapes import minimize as run

    return run(function, list(x0), method=method, bounded=bounded, bounds=bounds)


def race(functions: Sequence[str] | str | None = None,
         optimizers: Sequence[str] | str | None = None, *, starts: int = 5,
         budget: int = 200, seed: int = 0, dim: int = 2, suite: str = "catalog",
         dims: Sequence[int] = (2,), out: str | os.PathLike[str] | None = None) -> Any:
    """Race optimizers on test functions, as ``tunelab landscape race`` does.

    The same seeded starts for every optimizer; ``out`` also writes the tables and plots.

    Example:
        >>> r = race("beale", "Adam,L-BFGS-B", starts=2, budget=50)
        >>> sorted({row["optimizer"] for row in r.table})
        ['Adam', 'L-BFGS-B']
    """
    from tunelab.landscapes import race as run

    def names(value: Sequence[str] | str | None) -> list[str] | None:
        if value is None:
            return None
        items = [value] if isinstance(value, str) else list(value)
        return [p.strip() for v in items for p in v.split(",") if p.strip()] or None

    result = run(names(functions), names(optimizers), starts=starts, budget=budget,
                 seed=seed, dim=dim, suite=suite, dims=list(dims))
    if out is not None:
        result.save(Path(out))
    return result

