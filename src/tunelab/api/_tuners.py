"""Keras Tuner's tuners on tunelab: an Optuna study whose trials train in cohorts.

A search asks the study for a round of trials; each trial's ``build(hp)`` gives a compiled
model, read by :func:`tunelab.model.read_compiled` into a template (its structure) and
per-slot values (Dropout rates, the optimizer's learning rate and constants); the user's
``fit`` is run only to read the arguments it chooses. The round's runs go to
:func:`tunelab.execute.train_runs`, the one training path: runs of one structure share a
cohort. Each trial's score is its objective's best epoch (averaged over
``executions_per_trial``), told to the study, which lives in
``<directory>/<project_name>/study.log``, an Optuna journal file (``optuna-dashboard
study.log`` opens it; a search started again with ``overwrite=False`` goes on from the
trials already there).

==================== ============================================================
Keras Tuner          here
==================== ============================================================
RandomSearch         Optuna ``RandomSampler``, one round of every trial
BayesianOptimization Optuna ``TPESampler`` (multivariate, constant liar), rounds of
                     ``num_initial_points`` trials
GridSearch           every combination of the explored space's values, in order,
                     enqueued on the study
Hyperband            Optuna ``HyperbandPruner`` (``max_epochs``, ``factor``): trials
                     pruned at its rungs while they train
==================== ============================================================
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tunelab._files import write_json
from tunelab.api._hyperparameters import HyperParameters, optuna_source
from tunelab.api._kt_fit import FitArgs, recorded_fit, search_dataset
from tunelab.errors import ConfigError, TrialError, TunelabError
from tunelab.train import Callback

__all__ = ["BayesianOptimization", "GridSearch", "HyperModel", "Hyperband", "Objective",
           "Oracle", "RandomSearch", "Trial", "Tuner"]

_TASKS = {"sparse_categorical_crossentropy": "multiclass",
          "categorical_crossentropy": "multiclass", "binary_crossentropy": "binary",
          "mse": "regression", "mae": "regression"}
_EXPLORE_BUILDS = 64


class Objective:
    """What a search optimises: a logged metric and a direction (``"min"`` or ``"max"``).

    Example:
        >>> Objective("val_accuracy", "max")
        Objective(name="val_accuracy", direction="max")
    """

    def __init__(self, name: str, direction: str) -> None:
        if direction not in ("min", "max"):
            raise ConfigError(f"Objective({name!r}): direction must be 'min' or 'max', got"
                              f" {direction!r}")
        self.name, self.direction = name, direction

    def __repr__(self) -> str:
        return f'Objective(name="{self.name}", direction="{self.direction}")'

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` beats ``b``."""
        return a > b if self.direction == "max" else a < b


def _objective(value: Any) -> Objective:
    if value is None:
        return Objective("val_loss", "min")
    if isinstance(value, Objective):
        return value
    if isinstance(value, str):
        direction = "max" if any(w in value for w in ("acc", "auc", "precision", "recall")) \
            else "min"
        return Objective(value, direction)
    if isinstance(value, list | tuple):
        raise ConfigError("objective: several objectives are not supported; give one")
    raise ConfigError(f"objective: expected a metric name or kt.Objective, got"
                      f" {type(value).__name__}")


class HyperModel:
    """Keras Tuner's ``HyperModel``: override ``build(hp)``; ``fit`` may choose arguments.

    Example:
        >>> class Net(HyperModel):
        ...     def build(self, hp):
        ...         return hp.Int("units", 8, 16, step=8)
        >>> Net().build(HyperParameters())
        8
    """

    def __init__(self, name: str | None = None, tunable: bool = True) -> None:
        self.name, self.tunable = name, tunable

    def build(self, hp: HyperParameters) -> Any:
        """Build and compile a ``keras.Model`` for ``hp``."""
        raise NotImplementedError("a HyperModel subclass must define build(hp)")

    def fit(self, hp: HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        """Train ``model``: ``model.fit(*args, **kwargs)``; override to choose arguments."""
        return model.fit(*args, **kwargs)


class _FunctionModel(HyperModel):
    def __init__(self, build: Callable[[HyperParameters], Any]) -> None:
        super().__init__(getattr(build, "__name__", None))
        self._build = build

    def build(self, hp: HyperParameters) -> Any:
        return self._build(hp)


@dataclass
class Trial:
    """One trial's record: its values, score and state.

    Attributes:
        trial_id: Keras Tuner's id (the number, zero-padded).
        number: The Optuna trial number.
        hyperparameters: Its :class:`HyperParameters` (space and values).
        score: The objective's best epoch, averaged over executions (None: no score).
        status: ``COMPLETED``, ``STOPPED`` (pruned), ``INVALID`` (diverged) or ``FAILED``.
        best_step: The epoch of the best score (first execution).
        metrics: The best epoch's logs of the best execution.
    """

    trial_id: str
    number: int
    hyperparameters: HyperParameters
    score: float | None
    status: str
    best_step: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    message: str | None = None

    def display_hyperparameters(self) -> None:
        """Print the values, one per line."""
        if not self.hyperparameters.values:
            print("default configuration")
        for name, value in self.hyperparameters.values.items():
            print(f"{name}:", value)

    def summary(self) -> None:
        """Print the trial as Keras Tuner does."""
        print(f"Trial {self.trial_id} summary")
        print("Hyperparameters:")
        self.display_hyperparameters()
        if self.score is not None:
            print(f"Score: {self.score}")
        if self.message is not None:
            print(self.message)


class Oracle:
    """The study behind a tuner: its space, its trials, the best ones."""

    def __init__(self, objective: Objective, max_trials: int | None) -> None:
        self.objective, self.max_trials = objective, max_trials
        self.hyperparameters = HyperParameters()
        self.trials: dict[str, Trial] = {}

    def get_space(self) -> HyperParameters:
        """The space explored so far."""
        return self.hyperparameters.copy()

    def get_best_trials(self, num_trials: int = 1) -> list[Trial]:
        """The ``num_trials`` trials with the best scores, best first."""
        scored = [t for t in self.trials.values() if t.score is not None
                  and math.isfinite(t.score)]
        sign = -1.0 if self.objective.direction == "max" else 1.0
        scored.sort(key=lambda t: (sign * float(t.score or 0.0), t.number))
        return scored[:num_trials]


def _seed(base: int | None, number: int, execution: int) -> int:
    state = np.random.SeedSequence([0 if base is None else int(base) & 0xFFFFFFFF, number,
                                    execution]).generate_state(1)
    return int(state[0]) % (2**31 - 1)


@dataclass
class _Planned:
    trial: Any
    hp: HyperParameters
    config: dict[str, Any]
    fit: FitArgs
    task: str
    outputs: int


class Tuner:
    """The search loop every tuner shares; subclasses choose the sampler and pruner.

    Args:
        hypermodel: A ``HyperModel`` or a function ``build(hp) -> compiled keras.Model``.
        objective: A logged metric name (``"val_accuracy"``) or :class:`Objective`;
            default ``"val_loss"``.
        max_trials: Trials in all (a resumed project counts those already done).
        executions_per_trial: Models trained per trial (different seeds); the score is
            their mean.
        seed: Makes the search repeatable.
        directory, project_name: The project folder ``directory/project_name``.
        overwrite: Start afresh instead of going on from the project's trials.
        max_consecutive_failed_trials: Stop after this many trials in a row whose build or
            fit raised.
        mlflow: An MLflow tracking URI: a parent run per search, a nested run per trial
            (its hyperparameters, state, score and per-epoch metrics), as ``tune(mlflow=)``.
        tensorboard: A TensorBoard log folder: per-trial scalars and HParams.

    Raises:
        ConfigError: An argument tunelab does not take (named), or a model the engine cannot
            train (named, before the search starts).
    """

    _sampler_name = "random"

    def __init__(self, hypermodel: Any = None, objective: Any = None,
                 max_trials: int | None = 10, executions_per_trial: int = 1,
                 seed: int | None = None, directory: str | None = None,
                 project_name: str | None = None, overwrite: bool = False,
                 max_consecutive_failed_trials: int = 3, mlflow: str | None = None,
                 tensorboard: str | os.PathLike[str] | None = None, **kwargs: Any) -> None:
        ignored = {"tuner_id", "logger", "max_model_size", "tune_new_entries",
                   "allow_new_entries", "max_retries_per_trial"}
        unknown = sorted(set(kwargs) - ignored)
        if unknown:
            raise ConfigError(f"{type(self).__name__}: argument {unknown[0]!r} is not supported"
                              " by tunelab.keras_tuner")
        if hypermodel is None:
            raise ConfigError(f"{type(self).__name__}: give a hypermodel (a HyperModel or a"
                              " function build(hp))")
        self.hypermodel = hypermodel if isinstance(hypermodel, HyperModel) else \
            _FunctionModel(hypermodel)
        if not isinstance(hypermodel, HyperModel) and not callable(hypermodel):
            raise ConfigError("hypermodel: expected a HyperModel or a function build(hp)")
        if executions_per_trial < 1:
            raise ConfigError(f"executions_per_trial must be >= 1, got {executions_per_trial}")
        self.oracle = Oracle(_objective(objective), max_trials)
        self.executions_per_trial = int(executions_per_trial)
        self.seed = seed
        self.max_consecutive_failed_trials = int(max_consecutive_failed_trials)
        self.directory = Path(directory or ".")
        self.project_name = project_name or "untitled_project"
        if overwrite and self.project_dir.exists():
            shutil.rmtree(self.project_dir)
        self.project_dir.mkdir(parents=True, exist_ok=True)
        self._study: Any = None
        self.mlflow, self.tensorboard = mlflow, tensorboard
        self._trackers: list[Any] = []
        self._explore()
        self._reload()

    # ------------------------------------------------------------------ the project
    @property
    def project_dir(self) -> Path:
        """``directory/project_name``."""
        return self.directory / self.project_name

    @property
    def storage_url(self) -> str:
        """Where the project's Optuna study lives: the journal file ``study.log`` (Optuna's
        ``JournalStorage``; ``optuna-dashboard study.log`` opens it), or ``study.db`` where an
        earlier tunelab made the project with SQLite: that project goes on in its database.

        A journal file opens in milliseconds; a new SQLite study database costs about a
        second (SQLAlchemy's import and the schema), which a short search feels.
        """
        from tunelab.runs import RunLayout

        layout = RunLayout(self.project_dir)
        if layout.study_db.is_file():
            return layout.default_storage()
        return layout.journal_storage()

    def _trial_dir(self, number: int) -> Path:
        return self.project_dir / "trials" / str(number)

    def _trial_id(self, number: int) -> str:
        width = len(str(max(1, (self.oracle.max_trials or 1) - 1)))
        return str(number).zfill(width)

    def _sampler(self) -> Any:
        import optuna

        return optuna.samplers.RandomSampler(seed=self.seed)

    def _pruner(self) -> Any:
        import optuna

        return optuna.pruners.NopPruner()

    def _open_study(self) -> Any:
        import optuna

        from tunelab.study import make_storage

        if self._study is None:
            direction: Literal["maximize", "minimize"] = \
                "maximize" if self.oracle.objective.direction == "max" else "minimize"
            storage = make_storage(self.storage_url)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                self._study = optuna.create_study(
                    storage=storage, study_name=self.project_name, direction=direction,
                    sampler=self._sampler(), pruner=self._pruner(), load_if_exists=True)
        return self._study

    def _reload(self) -> None:
        """Read the trials a previous search of this project left."""
        study = self._open_study()
        for frozen in study.get_trials(deepcopy=False):
            attrs = frozen.user_attrs
            if "kt_status" not in attrs:
                continue
            hp = self.oracle.get_space()
            hp.values = dict(attrs.get("kt_values", {}))
            trial = Trial(self._trial_id(frozen.number), frozen.number, hp,
                          attrs.get("kt_score"), attrs["kt_status"],
                          int(attrs.get("kt_best_step", 0)), dict(attrs.get("kt_metrics", {})),
                          attrs.get("kt_message"))
            self.oracle.trials[trial.trial_id] = trial

    # ------------------------------------------------------------------ the space
    def _explore(self) -> None:
        """Build with the defaults, then with each value of every choice, to learn the
        space and check every model before the search starts."""
        space = self.oracle.hyperparameters
        tried: set[tuple[str, str]] = set()
        todo: list[dict[str, Any]] = [{}]
        builds = 0
        while todo and builds < _EXPLORE_BUILDS:
            values = todo.pop(0)
            hp = HyperParameters()
            hp.values.update(values)
            model = self.hypermodel.build(hp)
            builds += 1
            self._check_model(model, "build(hp)")
            space.merge(hp.space)
            for p in hp.space:
                choices = getattr(p, "values", None) if type(p).__name__ == "Choice" else (
                    [False, True] if type(p).__name__ == "Boolean" else None)
                for v in choices or []:
                    key = (p.name, json.dumps(v, default=str))
                    if key not in tried and hp.is_active(p.name):
                        tried.add(key)
                        if hp.values.get(p.name) == v:
                            continue  # this very build had it
                        todo.append({**{k: hp.values[k] for k in hp.values if k != p.name},
                                     p.name: v})

    def _check_model(self, model: Any, where: str) -> Any:
        from tunelab.model import read_compiled

        read = read_compiled(model, where=where)
        names = {"loss"} | set(read.metric_names.values()) | set(read.metrics)
        wanted = self.oracle.objective.name
        bare = wanted[4:] if wanted.startswith("val_") else wanted
        if bare not in names:
            logged = sorted({*names, *(f"val_{n}" for n in names)})
            raise ConfigError(f"objective: {wanted!r} is not logged by this model; it logs"
                              f" {', '.join(logged)}")
        return read

    def _history_key(self, read: Any) -> str:
        wanted = self.oracle.objective.name
        val = wanted.startswith("val_")
        bare = wanted[4:] if val else wanted
        ours = next((k for k, v in read.metric_names.items() if v == bare), bare)
        return ("val_" if val else "") + ours

    # ------------------------------------------------------------------ one trial
    def _plan(self, trial: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> _Planned:
        from tunelab.model import save_template

        hp = HyperParameters(optuna_source(trial))
        where = f"trial {trial.number}"
        model = self.hypermodel.build(hp)
        read = self._check_model(model, f"{where}: build(hp)")
        fit = recorded_fit(self.hypermodel, hp, model, args, kwargs, where)
        self.oracle.hyperparameters.merge(hp.space)
        path = save_template(read.template, self.project_dir / "inputs")
        config = {
            "model": {"template": str(path), "units": [], "dropout": read.rates, "l2": 0.0},
            "optimizer": read.optimizer,
            "training": {"epochs": fit.epochs, "batch_size": fit.batch_size,
                         "loss": read.loss, "metrics": read.metrics, "shuffle": fit.shuffle},
            "data": {"name": "search", "scale": "none", "flatten": False},
        }
        trial.set_user_attr("kt_values", hp.values)
        return _Planned(trial, hp, {"config": config, "key": self._history_key(read)}, fit,
                        _TASKS[read.loss], int(read.template.output_shape[-1]))

    def _callbacks(self, planned: _Planned) -> list[Any]:
        from tunelab.train import from_keras

        return [from_keras(cb, where=f"trial {planned.trial.number}: callbacks")
                for cb in planned.fit.callbacks]

    # ------------------------------------------------------------------ the search
    def _round_size(self, left: int) -> int:
        return left

    def _budget(self) -> int | None:
        return self.oracle.max_trials

    def _before_ask(self, study: Any, count: int) -> None:
        """Called before ``count`` trials are asked (a grid enqueues its next points)."""

    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """Search: ``search(x, y, epochs=, validation_data=|validation_split=, batch_size=,
        callbacks=)``, the arguments ``model.fit`` takes.

        Raises:
            ConfigError: An argument or a model tunelab cannot train (named).
            TrialError: ``max_consecutive_failed_trials`` trials in a row failed.
        """
        from tunelab.execute import LocalExecutor

        FitArgs.parse(fit_args, fit_kwargs)  # bad arguments fail before any trial
        # The user's fit, with the defaults, before any trial: one that trains on its own is
        # refused before the search starts.
        defaults = HyperParameters()
        recorded_fit(self.hypermodel, defaults, self.hypermodel.build(defaults), fit_args,
                     fit_kwargs, "search")
        from tunelab.tracking import tracked

        executor = LocalExecutor()  # one for the whole search: its cohorts' programs stay
        executor.start()
        try:
            with tracked(self.mlflow, self.tensorboard, run_dir=self.project_dir,
                         run_name=self.project_name) as self._trackers:
                self._search(executor, fit_args, fit_kwargs)
                if self.mlflow and self.oracle.get_best_trials(1):
                    from tunelab.model import save_model

                    # What MLflow logs with the best trial's run and the parent.
                    save_model(self.get_best_models(1)[0], self.project_dir / "best.keras")
        finally:
            self._trackers = []
            executor.close()

    def _tell(self, trial: Any, value: float | None = None, state: str = "COMPLETE") -> None:
        """Tell the study how ``trial`` ended, and every tracker (as Optuna's callbacks)."""
        study = self._open_study()
        frozen = study.tell(trial, value, state=_state(state))
        for tracker in self._trackers:
            tracker(study, frozen)

    def _search(self, executor: Any, fit_args: Sequence[Any], fit_kwargs: dict[str, Any]
                ) -> None:
        study = self._open_study()
        failed_in_row = 0
        while True:
            budget = self._budget()
            done = len(self.oracle.trials)
            left = (budget - done) if budget is not None else 0
            if left <= 0:
                break
            planned: list[_Planned] = []
            count = self._round_size(left)
            self._before_ask(study, count)
            for _ in range(count):
                trial = study.ask()
                try:
                    planned.append(self._plan(trial, fit_args, fit_kwargs))
                except TunelabError:
                    self._tell(trial, state="FAIL")
                    raise
                except Exception as err:  # the user's build or fit raised
                    failed_in_row += 1
                    self._record(trial, HyperParameters(), None, "FAILED", {}, 0,
                                 f"{type(err).__name__}: {err}")
                    self._tell(trial, state="FAIL")
                    if failed_in_row >= self.max_consecutive_failed_trials:
                        raise TrialError(
                            f"{failed_in_row} trials in a row failed; the last: trial"
                            f" {trial.number}: {type(err).__name__}: {err}") from err
            if planned:
                failed_in_row = 0
                self._train(planned, executor)

    def _train(self, planned: list[_Planned], executor: Any) -> None:
        from tunelab.config import parse_config
        from tunelab.execute import Run, train_runs

        groups: dict[tuple[str, int], list[_Planned]] = {}
        for p in planned:
            groups.setdefault((p.task, p.outputs), []).append(p)
        for (task, outputs), members in groups.items():
            data = search_dataset(members[0].fit, task, outputs)
            runs: list[Run] = []
            owners: list[_Planned] = []
            for p in members:
                for e in range(self.executions_per_trial):
                    cfg = parse_config({**p.config["config"],
                                        "seed": _seed(self.seed, p.trial.number, e)},
                                       source=f"trial {p.trial.number}")
                    folder = self._trial_dir(p.trial.number) / f"execution{e}"
                    keep = _BestWeights(p.config["key"], self.oracle.objective)
                    runs.append(Run(cfg, out_dir=folder,
                                    callbacks=[*self._callbacks(p), *self._extra(p, e), keep]))
                    owners.append(p)
            results = train_runs(runs, data, executor=executor)
            for p in members:
                mine = [r for r, o in zip(results, owners, strict=True) if o is p]
                self._finish(p, mine)

    def _extra(self, planned: _Planned, execution: int) -> list[Any]:
        return []

    def _finish(self, p: _Planned, results: list[Any]) -> None:
        key = p.config["key"]
        direction = self.oracle.objective.direction
        bests: list[tuple[float, int, Any]] = []
        for r in results:
            curve = [float(v) for v in r.history.get(key, [])]
            finite = [(v, i) for i, v in enumerate(curve) if math.isfinite(v)]
            if not finite:
                continue
            value, step = (max if direction == "max" else min)(finite)
            bests.append((value, step, r))
        pruned = any(str(r.status) == "stopped" for r in results)
        if not bests:
            self._record(p.trial, p.hp, None, "INVALID", {}, 0, "every execution diverged")
            self._tell(p.trial, state="FAIL")
            return
        score = float(np.mean([b[0] for b in bests]))
        best = (max if direction == "max" else min)(bests, key=lambda b: b[0])
        metrics = {k: float(v[best[1]]) for k, v in best[2].history.items()
                   if k not in ("epoch", "seconds") and len(v) > best[1]}
        folder = self._trial_dir(p.trial.number)
        folder.mkdir(parents=True, exist_ok=True)
        weights = best[2].model().get_weights()
        _save_arrays(folder / "weights.npz", weights)
        # The best execution's curves, where a tracker reads a trial's epochs.
        write_json(folder / "history.json", {k: [float(x) for x in v]
                                             for k, v in best[2].history.items()})
        p.trial.set_user_attr("last", {k: float(v[-1]) for k, v in best[2].history.items()
                                       if k not in ("epoch", "seconds") and v})
        status = "STOPPED" if pruned else "COMPLETED"
        self._record(p.trial, p.hp, score, status, metrics, bests[0][1], None)
        if pruned:
            self._tell(p.trial, state="PRUNED")
        else:
            self._tell(p.trial, score)

    def _record(self, trial: Any, hp: HyperParameters, score: float | None, status: str,
                metrics: dict[str, float], best_step: int, message: str | None) -> None:
        trial.set_user_attr("kt_values", hp.values)
        trial.set_user_attr("kt_score", score)
        trial.set_user_attr("kt_status", status)
        trial.set_user_attr("kt_metrics", metrics)
        trial.set_user_attr("kt_best_step", best_step)
        if message:
            trial.set_user_attr("kt_message", message)
        record = Trial(self._trial_id(trial.number), trial.number, hp, score, status,
                       best_step, metrics, message)
        self.oracle.trials[record.trial_id] = record

    # ------------------------------------------------------------------ results
    def search_space_summary(self, extended: bool = False) -> None:
        """Print the search space as Keras Tuner does."""
        print("Search space summary")
        space = self.oracle.get_space().space
        print(f"Default search space size: {len(space)}")
        for p in space:
            config = p.get_config()
            name = config.pop("name")
            print(f"{name} ({type(p).__name__})")
            print(config)

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the best trials as Keras Tuner does."""
        print("Results summary")
        print(f"Results in {self.project_dir}")
        print(f"Showing {num_trials} best trials")
        print(f"{self.oracle.objective}")
        for trial in self.oracle.get_best_trials(num_trials):
            print()
            trial.summary()

    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """The values of the best trials, best first."""
        return [t.hyperparameters for t in self.oracle.get_best_trials(num_trials)]

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The best trials' models, built by ``build(hp)`` (compiled as it compiles them)
        and holding the weights of the best epoch of the trial's best execution."""
        out = []
        for trial in self.oracle.get_best_trials(num_models):
            hp = HyperParameters()
            hp.values = dict(trial.hyperparameters.values)
            model = self.hypermodel.build(hp)
            path = self._trial_dir(trial.number) / "weights.npz"
            with np.load(path, allow_pickle=False) as saved:
                model.set_weights([saved[f"a{i}"] for i in range(len(saved.files))])
            out.append(model)
        return out

    @property
    def remaining_trials(self) -> int | None:
        """Trials left in the budget."""
        budget = self._budget()
        return None if budget is None else max(0, budget - len(self.oracle.trials))


def _state(name: str) -> Any:
    import optuna

    return getattr(optuna.trial.TrialState, name)


def _save_arrays(path: Path, arrays: Sequence[Any]) -> None:
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    try:
        named: dict[str, Any] = {f"a{i}": np.asarray(a) for i, a in enumerate(arrays)}
        np.savez(tmp, **named)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class RandomSearch(Tuner):
    """Keras Tuner's ``RandomSearch``: every trial at random, trained in one round.

    Example:
        >>> import keras, tempfile, numpy as np
        >>> def build(hp):
        ...     m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, "softmax")])
        ...     m.compile(keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
        ...               "sparse_categorical_crossentropy", metrics=["accuracy"])
        ...     return m
        >>> tuner = RandomSearch(build, "val_accuracy", max_trials=3, seed=0,
        ...                      directory=tempfile.mkdtemp())
        >>> x = np.random.default_rng(0).random((60, 4)); y = (x[:, 0] * 3).astype(int)
        >>> tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)
        >>> len(tuner.oracle.trials), 0 < tuner.get_best_hyperparameters()[0]["lr"] < 0.1
        (3, True)
    """


class BayesianOptimization(Tuner):
    """Keras Tuner's ``BayesianOptimization`` as Optuna's TPE (multivariate, constant liar):
    rounds of ``num_initial_points`` trials (default 4), each round asked before it trains.
    """

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int = 10,
                 num_initial_points: int | None = None, alpha: float = 1e-4,
                 beta: float = 2.6, seed: int | None = None, **kwargs: Any) -> None:
        self.num_initial_points = int(num_initial_points or 4)
        super().__init__(hypermodel, objective, max_trials, seed=seed, **kwargs)

    def _sampler(self) -> Any:
        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=self.seed, multivariate=True,
                                              constant_liar=True, group=True,
                                              n_startup_trials=self.num_initial_points)

    def _round_size(self, left: int) -> int:
        return min(left, self.num_initial_points)


class GridSearch(Tuner):
    """Keras Tuner's ``GridSearch``: every combination of the explored space's values (a
    ``Float`` needs a ``step``) in order, each enqueued on the study; ``max_trials`` caps it."""

    def __init__(self, hypermodel: Any = None, objective: Any = None,
                 max_trials: int | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(hypermodel, objective, max_trials, seed=seed, **kwargs)
        self._points()  # a value without a finite grid fails before the search

    def _points(self) -> list[dict[str, Any]]:
        space = self.oracle.hyperparameters.space
        grids = [p.grid() for p in space]
        return [dict(zip([p.name for p in space], combo, strict=True))
                for combo in itertools.product(*grids)]

    def _budget(self) -> int | None:
        size = len(self._points())
        return size if self.oracle.max_trials is None else min(size, self.oracle.max_trials)

    def _before_ask(self, study: Any, count: int) -> None:
        seen = {json.dumps(t.hyperparameters.values, sort_keys=True, default=str)
                for t in self.oracle.trials.values()}
        queued = 0
        for point in self._points():
            if queued == count:
                break
            if json.dumps(point, sort_keys=True, default=str) in seen:
                continue
            study.enqueue_trial(point, skip_if_exists=True)
            queued += 1


class Hyperband(Tuner):
    """Keras Tuner's ``Hyperband``: as many trials as its brackets start (``max_epochs``,
    ``factor``, ``hyperband_iterations``), each trained for up to ``max_epochs`` epochs and
    pruned at the rungs of Optuna's ``HyperbandPruner`` while it trains."""

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_epochs: int = 100,
                 factor: int = 3, hyperband_iterations: int = 1, seed: int | None = None,
                 **kwargs: Any) -> None:
        if max_epochs < 1 or factor < 2:
            raise ConfigError(f"Hyperband: max_epochs >= 1 and factor >= 2 must hold, got"
                              f" max_epochs={max_epochs}, factor={factor}")
        self.max_epochs, self.factor = int(max_epochs), int(factor)
        self.hyperband_iterations = int(hyperband_iterations)
        trials = hyperband_trials(self.max_epochs, self.factor) * self.hyperband_iterations
        super().__init__(hypermodel, objective, kwargs.pop("max_trials", None) or trials,
                         seed=seed, **kwargs)

    def _pruner(self) -> Any:
        import optuna

        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=self.max_epochs,
                                              reduction_factor=self.factor)

    def _plan(self, trial: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> _Planned:
        planned = super()._plan(trial, args, kwargs)
        planned.config["config"]["training"]["epochs"] = self.max_epochs
        return planned

    def _extra(self, planned: _Planned, execution: int) -> list[Any]:
        if execution:
            return []
        return [_RungReporter(planned.trial, planned.config["key"])]


def hyperband_trials(max_epochs: int, factor: int) -> int:
    """The configurations one Hyperband iteration starts: per bracket ``s`` (0 to
    ``floor(log_factor(max_epochs))``), ``ceil((s_max + 1) / (s + 1) * factor ** s)``.

    Example:
        >>> hyperband_trials(9, 3), hyperband_trials(27, 3)
        (17, 49)
    """
    s_max = 0
    while factor ** (s_max + 1) <= max_epochs:
        s_max += 1
    return sum(math.ceil((s_max + 1) / (s + 1) * factor ** s) for s in range(s_max + 1))


class _BestWeights(Callback):
    """Keeps the slot's weights of its best epoch (by the objective) and puts them back at its
    end, so a trial's model is its best epoch's, as Keras Tuner's checkpoint is."""

    def __init__(self, key: str, objective: Objective) -> None:
        self.key, self.objective = key, objective
        self.best: float | None = None
        self.weights: Any = None

    def on_epoch_end(self, slot: Any, epoch: int, logs: dict[str, float]) -> None:
        value = logs.get(self.key)
        if value is None or not math.isfinite(value):
            return
        if self.best is None or self.objective.better(value, self.best):
            self.best, self.weights = value, slot.get_weights()

    def on_train_end(self, slot: Any) -> None:
        if self.weights is not None:
            slot.set_weights(self.weights)


class _RungReporter(Callback):
    """Reports a slot's objective to its Optuna trial each epoch; stops the slot when the
    pruner says so. (Runs in this process: the local executor.)"""

    def __init__(self, trial: Any, key: str) -> None:
        self.trial, self.key = trial, key

    def on_epoch_end(self, slot: Any, epoch: int, logs: dict[str, float]) -> None:
        value = logs.get(self.key)
        if value is None or not math.isfinite(value):
            return
        self.trial.report(float(value), epoch + 1)
        if self.trial.should_prune():
            slot.stop("pruned")
