"""``tune``: run (or resume) a study from a configuration with a search space.

Example:
    >>> import tempfile
    >>> result = tune({"model": {"units": [8], "dropout": 0.0},
    ...                "optimizer": {"learning_rate": 0.1},
    ...                "training": {"epochs": 1, "batch_size": 128},
    ...                "search": {"optimizer.momentum": {"low": 0.0, "high": 0.9}},
    ...                "study": {"trials": 2, "cohort": 2}},
    ...               run_dir=tempfile.mkdtemp(), progress=False)
    >>> result.trials_by_state()
    {'complete': 2}
"""

from __future__ import annotations

import contextlib
import difflib
import os
import socket
import time
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna

from tunelab.config import (
    METRICS,
    RunConfig,
    StudyConfig,
    TuneConfig,
    load_config,
    parse_config,
    with_overrides,
)
from tunelab.execute import Borrowed, Executor, make_executor
from tunelab.runs import RunLayout
from tunelab.study._display import LiveDisplay
from tunelab.study._objective import Objective
from tunelab.study._padding import choose_padding, padder
from tunelab.study._params import Categorical, Fixed, Int
from tunelab.study._recorder import TrialCallback
from tunelab.study._result import StudyResult
from tunelab.study._rundir import RunDir
from tunelab.study._samplers import (
    CohortSampler,
    check_grid,
    make_pruner,
    make_sampler,
    report_points,
    resolve_pruner,
)
from tunelab.study._scheduler import CohortScheduler
from tunelab.study._session import SessionSettings
from tunelab.study._sizing import (
    epochs_trained,
    expected_epochs,
    expected_trials,
    shared_micro_batch,
    structural_names,
)
from tunelab.study._space import Space
from tunelab.study._stats import Progress
from tunelab.study._storage import best_of, counted_trials, make_storage, open_study

__all__ = ["as_tune_config", "study_overrides", "tune"]

ConfigLike = TuneConfig | RunConfig | Mapping[str, Any] | str | os.PathLike[str]


def as_tune_config(config: ConfigLike) -> tuple[TuneConfig, str]:
    """A :class:`TuneConfig` and a name for its source, from a path, dict or config object."""
    if isinstance(config, TuneConfig):
        return config, "<config>"
    if isinstance(config, RunConfig):
        return TuneConfig.model_validate(config.model_dump()), "<config>"
    if isinstance(config, Mapping):
        cfg = parse_config(dict(config), source="<config>", model=TuneConfig)
        assert isinstance(cfg, TuneConfig)
        return cfg, "<config>"
    loaded = load_config(config, model=TuneConfig)
    assert isinstance(loaded, TuneConfig)
    return loaded, str(config)


def study_overrides(settings: Mapping[str, Any], *,
                    caller: str = "tune()") -> dict[str, Any]:
    """Dotted ``study.KEY`` overrides from keyword settings named as :class:`StudyConfig`'s
    fields; a None value means "not given" and is left out.

    The keywords :func:`tune` accepts are StudyConfig's fields, so adding a field adds the
    keyword (and the option of ``tunelab tune``): nothing else lists them.

    Raises:
        TypeError: A keyword is not a field of StudyConfig (naming it, and the nearest).

    Example:
        >>> study_overrides({"trials": 4, "pad_widths": "none", "seed": None})
        {'study.trials': 4, 'study.pad_widths': 'none'}
    """
    fields = StudyConfig.model_fields
    for key in settings:
        if key not in fields:
            near = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise TypeError(
                f"{caller} got an unexpected keyword argument {key!r}: not a [study]"
                f" setting{hint}; the settings are: {', '.join(fields)}"
            )
    return {f"study.{k}": v for k, v in settings.items() if v is not None}


def _max_epochs(space: Space, base: RunConfig) -> int:
    p = space.params.get("training.epochs")
    if isinstance(p, Int):
        return p.high
    if isinstance(p, Categorical | Fixed):
        return max(int(v) for v in p.probe_values())
    return base.training.epochs


def _available_metrics(base: RunConfig) -> list[str]:
    # The engine picks the metrics that fit the task (accuracy for classification, mae for
    # regression...), so any known metric name may appear; a typo is caught here, a metric
    # the task does not record is caught after the first epoch.
    names = ["loss", "val_loss", "lr"]
    for m in dict.fromkeys([*base.training.metrics, *METRICS]):
        names += [m, f"val_{m}"]
    return names


def _task(base: RunConfig, cfg: TuneConfig) -> str | None:
    """The task when an ``auto`` objective depends on it (loads the dataset's description)."""
    if "auto" not in cfg.study.objectives():
        return None
    if base.data.task != "auto" or base.training.loss != "auto":
        return None
    from tunelab.data import load_dataset

    return str(load_dataset(base.data, seed=base.seed).task)


def tune(
    config: ConfigLike,
    *,
    space: Space | Mapping[str, Any] | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    dataset: str | None = None,
    study_name: str | None = None,
    progress: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    callbacks: Sequence[TrialCallback] | None = None,
    **study_keys: Any,
) -> StudyResult:
    """Run a study, or resume it when ``run_dir`` already holds it.

    Args:
        config: A TOML path, a dict, a :class:`TuneConfig`, or a :class:`RunConfig` (then give
            ``space``). Its ``[search]`` is the space, its ``[study]`` the settings below.
        space: A search space overriding ``config``'s ``[search]``.
        run_dir: The run folder (default ``runs/<study name>-<date-time>``); running again on
            the same folder resumes the study.
        dataset: Override ``data.name``.
        study_name: Override ``study.name`` (the same as ``name=``).
        progress: Show a live progress display on standard error.
        on_progress: Also call this after every round with a :class:`Progress`.
        callbacks: Functions ``f(study, frozen_trial)`` called in order right after each trial
            is told COMPLETE, PRUNED or FAIL, as ``optuna.Study.optimize(callbacks=...)``
            calls them (so trackers written for that contract work here).
        **study_keys: Override the ``[study]`` keys of the same names: every field of
            :class:`~tunelab.config.StudyConfig` (``trials``, ``cohort``, ``sampler``,
            ``pad_widths``, ...); None leaves a key as the configuration has it.

    Returns:
        A :class:`StudyResult`; ``result.study`` is the Optuna study.

    Raises:
        SpaceError: The search space is invalid, or differs from the stored study's.
        ConfigError: A setting is invalid, or a resume does not match the stored study.
        TypeError: A keyword is not a ``[study]`` key.
        KeyboardInterrupt: After Ctrl-C, once unfinished trials are recorded for a resume.
    """
    if study_name is not None:
        if study_keys.get("name") not in (None, study_name):
            raise TypeError("tune() got both name= and study_name= (the same setting); give one")
        study_keys = {**study_keys, "name": study_name}
    # An executor object (a guide lends its own) trains this study and stays open after it.
    lent = study_keys.pop("executor") if isinstance(study_keys.get("executor"), Executor) \
        else None
    overrides = study_overrides(study_keys)
    cfg, source = as_tune_config(config)
    if space is not None:
        the_space = space if isinstance(space, Space) else Space(space, source="space")
    else:
        the_space = Space(cfg.search, source=f"{source} [search]")
    # The canonical form: plain data that tune.toml stores and a resume parses back.
    cfg = cfg.model_copy(update={"search": the_space.spec()})
    if dataset is not None:
        overrides["data.name"] = dataset
    if overrides:
        changed = with_overrides(cfg, overrides, source=f"{source} (options)")
        assert isinstance(changed, TuneConfig)
        cfg = changed
    settings = cfg.study
    micro = shared_micro_batch(the_space) if settings.share_batch_sizes else None
    if micro is not None and cfg.training.model_dump().get("micro_batch") is None:
        shared = with_overrides(cfg, {"training.micro_batch": micro},
                                source=f"{source} (study.share_batch_sizes)")
        assert isinstance(shared, TuneConfig)
        cfg = shared
    base = cfg.base()
    the_space.check(base)
    check_grid(the_space, settings.sampler)

    obj = Objective.from_config(settings, base, _task(base, cfg))
    obj.check_names(_available_metrics(base))
    run = RunDir(run_dir or RunLayout.default_path(settings.name))
    run.make()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seed_value = settings.seed if settings.seed is not None else base.seed
    base_sampler = make_sampler(settings.sampler, seed=seed_value, space=the_space,
                                n_objectives=len(obj.metrics), cohort=settings.cohort)
    cohort_sampler = CohortSampler(base_sampler)
    the_pruner = make_pruner(
        settings.pruner, n_objectives=len(obj.metrics), max_epochs=_max_epochs(the_space, base),
        reduction_factor=settings.reduction_factor, min_resource=settings.min_resource,
        percentile=settings.percentile, startup_trials=settings.startup_trials,
        warmup_epochs=settings.warmup_epochs, parts=settings.pieces(),
    )
    # Sessions started together on one folder create the storage's tables one at a time.
    with warnings.catch_warnings(), run.lock():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study, _ = open_study(
            storage=make_storage(settings.storage, default=run.default_storage(),
                                 heartbeat_interval=settings.heartbeat_interval,
                                 grace_period=settings.grace_period),
            name=settings.name, directions=obj.directions, sampler=cohort_sampler,
            pruner=the_pruner, space=the_space, base=base, metric_names=obj.metrics,
            source=str(run.path), parts=settings.pieces(),
        )
    salt = _session_salt(run, study, settings.storage)
    if salt:
        # A resumed study must not replay the random draws of its first session, nor two
        # sessions sharing the study draw the same trials.
        cohort_sampler.base = make_sampler(
            settings.sampler, seed=seed_value + salt, space=the_space,
            n_objectives=len(obj.metrics), cohort=settings.cohort)
    run.write_tune(cfg)
    notes = []
    if not obj.multi:
        note = run.repair_best(best_of(study), obj.metrics[0])
        if note is not None:
            notes.append(note)

    target = settings.trials
    if settings.sampler == "grid":
        target = min(target, the_space.grid_size())
    budget = max(0, target - counted_trials(study))

    from tunelab.train import structure_key

    max_epochs = _max_epochs(the_space, base)
    pruner_name = resolve_pruner(settings.pruner, len(obj.metrics))
    per_trial = expected_epochs(max_epochs, pruner_name, settings.reduction_factor,
                                settings.min_resource)
    # Padding is chosen for the trials the session can expect: an epoch budget may pay for
    # fewer than `trials` (it still stops the study itself, whatever the trials started).
    expected = expected_trials(budget, settings.epoch_budget,
                               epochs_trained(study) if settings.epoch_budget else 0, per_trial)
    policy = choose_padding(settings.pad_widths, the_space, base, trials=expected,
                            cohort=settings.cohort,
                            structural=structural_names(the_space, base, structure_key))
    session = SessionSettings(
        trials=budget, width=settings.cohort, total=target, timeout=settings.timeout,
        max_epochs=max_epochs, epoch_budget=settings.epoch_budget, expected_epochs=per_trial,
        parts=settings.pieces(),
        report_at=tuple(report_points(
            pruner_name, parts=settings.pieces(),
            max_epochs=max_epochs, reduction_factor=settings.reduction_factor,
            min_resource=settings.min_resource, warmup_epochs=settings.warmup_epochs)),
        shared=True, fix_structure=settings.sampler != "grid",
        depth_first=settings.depth_first,
    )
    scheduler = CohortScheduler(
        study=study, sampler=cohort_sampler, space=the_space, base=base, objective=obj,
        executor=Borrowed(lent) if lent is not None
        else make_executor(settings.executor, settings.workers, address=settings.ray_address),
        run_dir=run, settings=session, key_fn=structure_key,
        pad=padder(policy, the_space, base), callbacks=list(callbacks or ()),
    )
    display: Any = LiveDisplay(target) if progress else contextlib.nullcontext()
    with display:
        watchers = [c for c in (display if progress else None, on_progress) if c is not None]

        def notify(p: Progress) -> None:
            for watcher in watchers:
                watcher(p)

        scheduler.on_progress = notify
        try:
            stats = scheduler.run()
        finally:
            when = time.strftime("%Y-%m-%d %H:%M:%S")
            with run.lock():  # sessions sharing the folder append one at a time
                run.append_stats({**scheduler.stats.as_dict(), "time": when})
    if not obj.multi:
        # The file follows the storage: another session's trial may have become the best.
        run.follow_best(lambda: best_of(study), obj.metrics[0])
    ledger = scheduler.ledger
    return StudyResult(
        study=study, run_dir=run.path, space=the_space, base=base, objective=obj,
        stats=stats, sessions=run.read_stats(), notes=notes,
        last_session=ledger is None or not ledger.others_running(),
    )


def _session_salt(run: RunDir, study: optuna.Study, storage: str | None) -> int:
    """What a session adds to the sampler's seed: 0 for the first session of a new study in
    its own folder (the seed alone decides its trials), else a number told apart by the
    trials the study holds, the sessions that opened the folder before this one, and, on a
    storage outside the folder, this machine and folder (sessions elsewhere share it)."""
    salt = len(study.trials) + 7919 * run.register_session()
    if storage is not None:
        where = f"{socket.gethostname()}:{run.path.resolve()}"
        salt += zlib.crc32(where.encode()) % 100_003
    return salt
