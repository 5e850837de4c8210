"""A step's study: learning-rate centres (range tests), the queued balanced design, and the
Optuna study run through tunelab's cohort scheduler (``tunelab.study.tune``).

The study lives in the step's folder (``study.db``, SQLite in write-ahead-log mode, so a
commit costs one sync instead of several). Resuming opens the same study: finished trials
are kept and the queue is only filled up to the design, never twice.

Example:
    >>> from tunelab.guide._procedure import default_procedure
    >>> from tunelab.config import RunConfig
    >>> plan = plan_step(default_procedure("quick").step("learning_rate"), RunConfig(),
    ...                  "multiclass")
    >>> len(plan.values), plan.incumbent.label
    (6, 'schedule constant')
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunelab.config import RunConfig
from tunelab.guide._design import (
    Value,
    active_value,
    config_value,
    design,
    enqueue_params,
    lr_grid,
    midpoints,
    scientific_values,
    with_current,
)
from tunelab.guide._evidence import reduce_of
from tunelab.guide._losses import expand_losses
from tunelab.guide._lr_range import RangeTest, lr_range_test, plot_range_test
from tunelab.guide._procedure import LR_KEY, Step, step_base
from tunelab.runs import RangeTests, RunLayout, read_record, write_record
from tunelab.study import Float, Space

__all__ = ["StepPlan", "learning_rate_centres", "plan_step", "run_study", "trial_protocol"]

GUIDE_INDEX = "guide_index"


@dataclass
class StepPlan:
    """What a step compares and where it starts from."""

    step: Step
    base: RunConfig
    space: Space
    scientific: Space
    values: list[Value]
    incumbent: Value | None
    tests: dict[str, RangeTest] = field(default_factory=dict)

    def config(self, value: Value) -> RunConfig:
        """``base`` with a scientific value set."""
        return self.space.apply(self.base, value.params)


def _with_early_stopping(base: RunConfig, metric: str, patience: int,
                         own: Mapping[str, Any] | None = None) -> RunConfig:
    # Every trial keeps its best checkpoint, as the tutorial's callbacks do: the best epoch
    # varies less from seed to seed than the last one, which sharpens every comparison.
    # The monitor is the metric the guide compares, so the checkpoint kept is the one scored
    # (the validation loss often bottoms out epochs before the accuracy stops improving).
    # A user's EarlyStopping (guide(callbacks=)) takes its place in every arm alike.
    from tunelab.config import with_overrides

    rule = dict(own) if own is not None else {
        "monitor": metric, "patience": patience, "restore_best_weights": True}
    return with_overrides(base, {"callbacks.early_stopping": rule}, source="early stopping")


def trial_protocol(step: Step, cfg: RunConfig, metric: str, train_samples: int,
                   early_stopping: Mapping[str, Any] | None = None) -> RunConfig:
    """``cfg`` trained as ``step`` trains its trials (its epochs, fixed settings and early
    stopping on the compared metric, keeping the best weights; ``early_stopping``: the
    user's rule instead)."""
    return _with_early_stopping(step_base(step, cfg, train_samples), metric,
                                step.budget.patience, early_stopping)


def plan_step(step: Step, current: RunConfig, task: str, metric: str = "val_accuracy",
              train_samples: int = 0, early_stopping: Mapping[str, Any] | None = None
              ) -> StepPlan:
    """The values a step compares (the current one among them) and its base configuration
    (trained as :func:`trial_protocol` trains)."""
    base = _with_early_stopping(step_base(step, current, train_samples), metric,
                                step.budget.patience, early_stopping)
    sci_spec = expand_losses(step.scientific, task)
    names = list(Space(sci_spec, source=f"step {step.name}").params)
    now = config_value(current, names, task)
    sci_spec = with_current(sci_spec, Space(sci_spec, source=f"step {step.name}"), now)
    scientific = Space(sci_spec, source=f"step {step.name}")
    space = Space({**sci_spec, **step.nuisance}, source=f"step {step.name}")
    values = scientific_values(scientific)
    current_value = active_value(scientific, now)
    incumbent = next((v for v in values if v.label == current_value.label), None)
    return StepPlan(step, base, space, scientific, values, incumbent)


def _current_lr(cfg: RunConfig) -> float:
    from tunelab.optim import optimizer_hyperparams

    return float(optimizer_hyperparams(cfg.optimizer)["learning_rate"])


def _test_config(plan: StepPlan, value: Value) -> RunConfig:
    extra = midpoints(plan.space, value.params, skip=(LR_KEY,))
    return plan.space.apply(plan.base, {**value.params, **extra})


def _test_key(cfg: RunConfig) -> str:
    """What a range test depends on. SGD with and without Nesterov, and Adam and AdamW, share
    one test: their good rates are alike, and every range test costs a compilation."""
    data = cfg.model_dump(mode="json", include={"seed", "data", "model"})
    opt = cfg.optimizer.model_dump(mode="json", exclude={"nesterov", "weight_decay"})
    opt["name"] = {"AdamW": "Adam"}.get(opt["name"], opt["name"])
    data.update(optimizer=opt, batch_size=cfg.training.batch_size, loss=cfg.training.loss)
    return json.dumps(data, sort_keys=True)


def learning_rate_centres(plan: StepPlan, data: Any, folder: Path, current: RunConfig,
                          cache_path: Path | None = None,
                          on_test: Callable[[int, int], None] | None = None,
                          executor: Any = None) -> dict[str, float]:
    """The learning rate each value's trials centre on, range tests run (or reloaded) here.

    ``once``: one range test of the current value; ``per_value``: one per distinct
    configuration; ``none``: the current rate (a batch-size step scales it by the square
    root of the batch-size ratio). Results are cached in ``cache_path`` (any step reuses
    them) and the step's own are listed in its ``lr_range.json``. The tests train through
    ``executor`` like everything else.
    """
    step = plan.step
    lr_now = _current_lr(current)
    if step.range_test == "none":
        if step.kind != "batch_size":
            return {v.label: lr_now for v in plan.values}
        b0 = current.training.batch_size
        return {v.label: lr_now * math.sqrt(plan.config(v).training.batch_size / b0)
                for v in plan.values}
    chosen = plan.values if step.range_test == "per_value" else \
        [plan.incumbent or plan.values[0]]
    cache_path = cache_path or folder / "range_tests.json"
    cache = read_record(cache_path, RangeTests) or RangeTests()
    tests: dict[str, RangeTest] = {}
    keys: dict[str, str] = {}
    for i, value in enumerate(chosen):
        cfg = _test_config(plan, value)
        key = _test_key(cfg)
        keys[value.label] = key
        if key in tests:
            continue
        if key in cache.tests:
            tests[key] = cache.tests[key]
            continue
        if on_test is not None:
            on_test(i, len(chosen))
        result = lr_range_test(cfg, data, executor=executor)
        name = "lr_range.png" if step.range_test == "once" else f"lr_range-{len(tests) + 1}.png"
        plot_range_test(result, folder / name, f"Learning-rate range test · {value.label}")
        result = result.model_copy(update={"value": value.label,
                                           "plot": f"{folder.name}/{name}"})
        tests[key] = result
        cache.tests[key] = result
        write_record(cache_path, cache)
    plan.tests = tests
    write_record(RunLayout.lr_range_json(folder), RangeTests(tests=tests))
    if step.range_test == "once":
        centre = tests[keys[chosen[0].label]].suggested
        return {v.label: centre for v in plan.values}
    return {v.label: tests[keys[v.label]].suggested for v in plan.values}


def _prepare_storage(folder: Path) -> str:
    """The step's SQLite URL. The database itself is made by ``make_storage``, whole or not at
    all (a file opened here first would be a database without Optuna's unique index on study
    names if a Ctrl-C stopped the table creation)."""
    folder.mkdir(parents=True, exist_ok=True)
    return RunLayout(folder).default_storage()


def _queue(url: str, plan: StepPlan, direction: Any, lrs: dict[str, list[float]] | None
           ) -> int:
    """Queue the design's trials that the study does not hold yet; return the design size."""
    import optuna

    from tunelab.study import make_storage

    trials = design(plan.values, plan.step.budget.trials, lrs)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(storage=make_storage(url), study_name=plan.step.name,
                                    directions=[direction], load_if_exists=True)
        present = {t.user_attrs.get(GUIDE_INDEX) for t in study.get_trials(deepcopy=False)}
        for j, (value, extra) in enumerate(trials):
            if j not in present:
                study.enqueue_trial(enqueue_params(plan.space, value, extra),
                                    user_attrs={GUIDE_INDEX: j, "guide_value": value.label})
    return len(trials)


def study_width(plan: StepPlan, cohort: int, key_fn: Callable[[RunConfig], Hashable]) -> int:
    """Slots per cohort: the budget's width, or fewer when no structure has that many trials."""
    per_key: dict[Hashable, int] = {}
    for value in plan.values:
        key = key_fn(plan.config(value))
        per_key[key] = per_key.get(key, 0) + plan.step.budget.trials
    return max(1, min(cohort, max(per_key.values(), default=1)))


def run_study(plan: StepPlan, folder: Path, *, metric: str, direction: str, seed: int,
              width: int, lr_by_value: dict[str, float] | None,
              on_progress: Callable[[Any], None] | None = None, executor: Any = None) -> Any:
    """Queue the design and run (or resume) the step's study; return its ``StudyResult``."""
    from tunelab.study import tune

    step = plan.step
    lrs = None
    param = plan.space.params.get(LR_KEY)
    if lr_by_value is not None and isinstance(param, Float):
        lrs = {label: lr_grid(c, step.budget.lr_spread, step.budget.trials, param.low,
                              param.high) for label, c in lr_by_value.items()}
    url = _prepare_storage(folder)
    total = _queue(url, plan, direction, lrs)
    config = {**plan.base.model_dump(mode="json", exclude_none=True), "study": {
        "name": step.name, "trials": total, "sampler": step.budget.sampler,
        "pruner": step.budget.pruner, "cohort": width, "objective": metric,
        "direction": direction, "reduce": reduce_of(plan.base), "seed": seed,
    }}
    return tune(config, space=plan.space, run_dir=folder, progress=False,
                on_progress=on_progress, executor=executor)
