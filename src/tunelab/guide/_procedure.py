"""A procedure: a list of steps as plain data, read from TOML and checked before anything runs.

A step names the **scientific** hyperparameters it compares (a list of values each), the
**nuisance** hyperparameters it tunes so that every value gets a fair chance (always the
learning rate), settings it holds ``fixed``, and its ``budget``. Everything else stays at the
configuration adopted so far. Budget levels (``quick``, ``standard``, ``thorough``) are tables
that override the procedure's budget, and a step may override its own fields per level.

Example:
    >>> proc = default_procedure("quick")
    >>> [s.name for s in proc.steps if not s.optional]
    ['topology', 'learning_rate', 'optimizer', 'batch_size']
    >>> "optimizer.learning_rate" in proc.step("topology").nuisance
    True
"""

from __future__ import annotations

import copy
import dataclasses
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tunelab.config import PRUNERS, SAMPLERS, RunConfig, parse_config, with_overrides
from tunelab.errors import ConfigError, SpaceError
from tunelab.study import Categorical, Fixed, Int, Space

__all__ = [
    "BUDGET_FIELDS",
    "KINDS",
    "LEVELS",
    "LR_KEY",
    "RANGE_TESTS",
    "STEP_FIELDS",
    "TASK_LOSSES",
    "Budget",
    "Procedure",
    "Step",
    "default_procedure",
    "load_procedure",
    "parse_procedure",
]

LEVELS = ("quick", "standard", "thorough")
KINDS = ("compare", "learning_rate", "batch_size", "cross_validation")
RANGE_TESTS = ("none", "once", "per_value")
LR_KEY = "optimizer.learning_rate"
# A scientific "training.loss" given as this word means: every loss the dataset's task allows.
TASK_LOSSES = "task"
STEP_FIELDS = ("name", "kind", "title", "about", "optional", "range_test", "scientific",
               "nuisance", "fixed", "budget", *LEVELS)
_LEVEL_FIELDS = ("title", "about", "range_test", "scientific", "nuisance", "fixed", "budget")
_TOP_FIELDS = ("procedure", "start", "budget", "steps")
_PROCEDURE_FIELDS = ("name", "description")
_DEFAULT_FILE = "tutorial.toml"


@dataclass(frozen=True)
class Budget:
    """How much work one step may do.

    Attributes:
        trials: Trials per scientific value (each value gets the same nuisance budget).
        epochs: Epochs per trial (the most epochs where early stopping is on).
        seeds: Re-runs per value for the evidence, at least (more when a cohort has room).
        finalists: Values re-run for the evidence: the best ones, the current one always.
        cohort: Configurations trained at once (the cohort width K).
        lr_spread: Learning rates are tried between centre / spread and centre * spread.
        sampler: Optuna sampler for the nuisance values the guide does not set itself.
        pruner: Optuna pruner (``none`` keeps every trial to the end).
        patience: Early-stopping patience in epochs (batch-size step, final training).
        folds: Folds of a cross-validation step.
        min_updates: At least this many minibatch updates per trial: on a small dataset a
            step trains for more than ``epochs`` epochs.
    """

    trials: int = 4
    epochs: int = 20
    seeds: int = 3
    finalists: int = 4
    cohort: int = 16
    lr_spread: float = 4.0
    sampler: str = "tpe"
    pruner: str = "none"
    patience: int = 5
    folds: int = 5
    min_updates: int = 0

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def updated(self, changes: Mapping[str, Any], where: str) -> Budget:
        """A copy with ``changes`` applied, each checked; errors name ``where`` and the key."""
        if not changes:
            raise ConfigError(
                f"{where} is empty; give at least one of {', '.join(self.fields())}, or leave"
                " the table out to keep the budget it would override"
            )
        values = dataclasses.asdict(self)
        for key, value in changes.items():
            if key not in values:
                raise ConfigError(f"{where}: unknown key '{key}'; allowed keys: "
                                  f"{', '.join(self.fields())}")
            values[key] = _budget_value(key, value, f"{where}.{key}")
        return Budget(**values)


BUDGET_FIELDS = Budget.fields()


def _budget_value(key: str, value: Any, where: str) -> Any:
    if key in ("sampler", "pruner"):
        allowed = SAMPLERS if key == "sampler" else PRUNERS
        if not isinstance(value, str) or value.lower() not in allowed:
            raise ConfigError(f"{where}: expected one of {', '.join(allowed)}, got {value!r}")
        return value.lower()
    if key == "lr_spread":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
            raise ConfigError(f"{where}: must be a number >= 1, got {value!r}")
        return float(value)
    least = {"seeds": 2, "finalists": 2, "folds": 2, "patience": 0,
             "min_updates": 0}.get(key, 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{where}: must be an integer >= {least}, got {value!r}")
    return value


@dataclass(frozen=True)
class Step:
    """One step of a procedure, at one budget level.

    Attributes:
        name: Unique name (also the name of the step's Optuna study).
        kind: ``compare`` (a study, then evidence), ``learning_rate`` (range test first),
            ``batch_size`` (early stopping, throughput and the accuracy/time trade-off) or
            ``cross_validation`` (k-fold check of the configuration adopted so far).
        title: A short human title.
        scientific: The values compared, in search-space syntax (lists of choices).
        nuisance: What is tuned for every value (search-space syntax), the learning rate always.
        fixed: Dotted settings held for this step (they stay in the adopted configuration).
        budget: The step's :class:`Budget`.
        range_test: ``none``, ``once`` (centre the learning rate on one range test) or
            ``per_value`` (one range test per scientific value).
        optional: Run only when asked for by name (``--steps``).
        about: What the step does, in a sentence or two.
    """

    name: str
    kind: str = "compare"
    title: str = ""
    scientific: dict[str, Any] = field(default_factory=dict)
    nuisance: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    budget: Budget = field(default_factory=Budget)
    range_test: str = "none"
    optional: bool = False
    about: str = ""

    @property
    def compares(self) -> bool:
        """Whether the step compares scientific values (every kind but cross-validation)."""
        return self.kind != "cross_validation"

    def space(self, task: str | None = None, *, source: str = "") -> Space:
        """The step's search space: scientific and nuisance parameters together.

        ``training.loss = "task"`` becomes the losses ``task`` allows (multiclass when None).
        """
        spec = {**expand_losses(self.scientific, task), **self.nuisance}
        return Space(spec, source=source or f"step {self.name}")

    def scientific_space(self, task: str | None = None) -> Space:
        """Only the scientific parameters (what one compared value is made of)."""
        return Space(expand_losses(self.scientific, task), source=f"step {self.name}")

    def to_dict(self) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in dataclasses.asdict(self).items()
               if k != "budget"}
        out["budget"] = dataclasses.asdict(self.budget)
        return out


def task_losses(task: str | None) -> list[str]:
    """The losses a task allows (sparse cross-entropy left out: it is the same function).

    Example:
        >>> task_losses("binary")
        ['binary_crossentropy', 'mse', 'rmse', 'mae']
    """
    from tunelab.model import LOSSES_BY_TASK

    allowed = LOSSES_BY_TASK.get(task or "multiclass", LOSSES_BY_TASK["multiclass"])
    return [loss for loss in allowed if loss != "sparse_categorical_crossentropy"]


def expand_losses(spec: Mapping[str, Any], task: str | None) -> dict[str, Any]:
    """``spec`` with a ``training.loss = "task"`` entry replaced by the task's losses."""
    out = dict(spec)
    value = out.get("training.loss")
    if value == TASK_LOSSES:
        out["training.loss"] = task_losses(task)
    elif isinstance(value, Mapping) and value.get("choices") == TASK_LOSSES:
        out["training.loss"] = {**value, "choices": task_losses(task)}
    return out


@dataclass(frozen=True)
class Procedure:
    """A procedure at one budget level: where it starts and its steps, in order.

    Attributes:
        name: The procedure's name.
        description: What it is.
        start: The configuration the first step starts from.
        steps: The steps, in order (optional ones included; see :meth:`selected`).
        level: The budget level the steps were resolved for.
        source: The file it came from (named in errors).
        budget: The procedure's own budget at that level (before steps override it).
    """

    name: str
    description: str
    start: RunConfig
    steps: tuple[Step, ...]
    level: str
    source: str
    budget: Budget = field(default_factory=Budget)

    def step(self, name: str) -> Step:
        """The step called ``name``.

        Raises:
            ConfigError: There is no such step (the message lists the names).
        """
        for s in self.steps:
            if s.name == name:
                return s
        raise ConfigError(f"{self.source}: no step named {name!r}; steps: "
                          f"{', '.join(s.name for s in self.steps)}")

    def selected(self, names: Sequence[str] | None = None) -> list[Step]:
        """The steps to run, in procedure order: ``names``, or every non-optional step."""
        if not names:
            return [s for s in self.steps if not s.optional]
        wanted = {self.step(n).name for n in names}
        return [s for s in self.steps if s.name in wanted]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (TOML-ready) of the resolved procedure."""
        return {
            "procedure": {"name": self.name, "description": self.description,
                          "level": self.level},
            "start": self.start.model_dump(mode="json", exclude_none=True),
            "budget": dataclasses.asdict(self.budget),
            "steps": [s.to_dict() for s in self.steps],
        }


def _table(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a table, got {raw!r}")
    return dict(raw)


def _unknown(table: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise ConfigError(f"{where}: unknown key '{extra[0]}'; allowed keys: "
                          f"{', '.join(allowed)}")


def _budget_for(raw: Any, base: Budget, level: str, where: str) -> Budget:
    """Apply a budget table (common keys, then the level's own table) to ``base``."""
    table = _table(raw, where)
    common = {k: v for k, v in table.items() if k not in LEVELS}
    budget = base.updated(common, where) if common or not table else base
    if level in table:
        budget = budget.updated(_table(table[level], f"{where}.{level}"), f"{where}.{level}")
    for other in LEVELS:
        if other in table:
            _table(table[other], f"{where}.{other}")
    return budget


def _check_space(step: Step, start: RunConfig, where: str) -> None:
    try:
        space = step.space(source=where)
        space.check(step_base(step, start))
    except SpaceError as exc:
        raise ConfigError(str(exc)) from None
    both = sorted(set(step.scientific) & set(step.nuisance))
    if both:
        raise ConfigError(f"{where}: '{both[0]}' is both scientific and nuisance; a step"
                          " compares a hyperparameter or tunes it, not both")
    for name in step.scientific:
        param = space.params[name]
        if not isinstance(param, Categorical | Fixed | Int):
            raise ConfigError(
                f"{where}.scientific: '{name}' is a continuous range; scientific"
                " hyperparameters are compared value by value: give a list of choices"
            )


def step_epochs(budget: Budget, train_samples: int, batch_size: int) -> int:
    """Epochs per trial: the budget's, or more when that many epochs of a small dataset would
    make fewer than ``min_updates`` minibatch updates.

    Example:
        >>> step_epochs(Budget(epochs=5, min_updates=700), 1150, 32)
        20
        >>> step_epochs(Budget(epochs=5, min_updates=700), 48000, 32)
        5
    """
    per_epoch = max(1, -(-train_samples // max(batch_size, 1)))
    return max(budget.epochs, -(-budget.min_updates // per_epoch))


def step_base(step: Step, start: RunConfig, train_samples: int = 0) -> RunConfig:
    """``start`` with the step's fixed settings and epochs, optimizer-specific values cleared
    when the step searches the optimizer (momentum means nothing to Adam)."""
    epochs = step_epochs(step.budget, train_samples, start.training.batch_size) \
        if train_samples else step.budget.epochs
    cfg = with_overrides(start, {"training.epochs": epochs, **step.fixed},
                         source=f"step {step.name}: fixed")
    searched = set(step.scientific) | set(step.nuisance)
    if "optimizer.name" in searched:
        cleared = {k: None for k in ("momentum", "rho", "epsilon", "beta_1", "beta_2",
                                     "weight_decay")}
        cfg = with_overrides(cfg, {**{f"optimizer.{k}": v for k, v in cleared.items()},
                                   "optimizer.nesterov": False}, source=f"step {step.name}")
    return cfg


def _step(raw: Any, i: int, start: RunConfig, budget: Budget, level: str, source: str) -> Step:
    where = f"{source}: steps[{i}]"
    table = _table(raw, where)
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: every step needs a name = \"...\"")
    where = f"{source}: steps[{i}] ({name})"
    _unknown(table, STEP_FIELDS, where)
    kind = table.get("kind", "compare")
    if kind not in KINDS:
        raise ConfigError(f"{where}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    fields = {k: v for k, v in table.items() if k not in LEVELS}
    if level in table:
        over = _table(table[level], f"{where}.{level}")
        _unknown(over, _LEVEL_FIELDS, f"{where}.{level}")
        fields.update({k: v for k, v in over.items() if k != "budget"})
    step_budget = budget
    for key, sub in (("budget", table.get("budget")),
                     (f"{level}.budget", _table(table.get(level, {}), where).get("budget"))):
        if sub is not None:
            step_budget = step_budget.updated(_table(sub, f"{where}.{key}"), f"{where}.{key}")
    default_test = "once" if kind == "learning_rate" else "none"
    range_test = fields.get("range_test", default_test)
    if range_test not in RANGE_TESTS:
        raise ConfigError(f"{where}.range_test: expected one of {', '.join(RANGE_TESTS)},"
                          f" got {range_test!r}")
    optional = fields.get("optional", False)
    if not isinstance(optional, bool):
        raise ConfigError(f"{where}.optional: expected true or false, got {optional!r}")
    for key in ("title", "about"):
        if not isinstance(fields.get(key, ""), str):
            raise ConfigError(f"{where}.{key}: expected a string, got {fields[key]!r}")
    step = Step(
        name=name, kind=kind, title=fields.get("title", "") or name,
        scientific=_table(fields.get("scientific", {}), f"{where}.scientific"),
        nuisance=_table(fields.get("nuisance", {}), f"{where}.nuisance"),
        fixed=_table(fields.get("fixed", {}), f"{where}.fixed"),
        budget=step_budget, range_test=range_test, optional=optional,
        about=fields.get("about", ""),
    )
    if not step.compares:
        if step.scientific or step.nuisance:
            raise ConfigError(f"{where}: a cross_validation step checks the configuration"
                              " adopted so far; it takes no scientific or nuisance table")
        step_base(step, start)
        return step
    if not step.scientific:
        raise ConfigError(f"{where}: no scientific hyperparameters; a step compares values:"
                          " add [steps.scientific] with a list of choices")
    if LR_KEY not in step.nuisance:
        raise ConfigError(
            f"{where}: no learning rate to tune; every step that compares values must tune"
            f" '{LR_KEY}' as a nuisance hyperparameter, e.g. under [steps.nuisance]:"
            f" \"{LR_KEY}\" = {{ low = 0.001, high = 1.0, log = true }}")
    _check_space(step, start, where)
    return step


def parse_procedure(raw: Mapping[str, Any], source: str = "<procedure>",
                    budget: str = "standard") -> Procedure:
    """Check a procedure given as plain data (as read from TOML) and resolve it for ``budget``.

    Every budget level is checked, so a mistake in a level not asked for is found too.

    Raises:
        ConfigError: naming ``source``, the step and the key at fault, and how to fix it.

    Example:
        >>> proc = parse_procedure({"steps": [{"name": "width",
        ...     "scientific": {"model.units": [[32], [64]]},
        ...     "nuisance": {"optimizer.learning_rate": {"low": 0.01, "high": 0.5, "log": True}},
        ...     "budget": {"trials": 2}}]}, budget="quick")
        >>> proc.steps[0].budget.trials, proc.level
        (2, 'quick')
    """
    if budget not in LEVELS:
        raise ConfigError(f"budget: expected one of {', '.join(LEVELS)}, got {budget!r}")
    top = _table(raw, source)
    _unknown(top, _TOP_FIELDS, source)
    info = _table(top.get("procedure", {}), f"{source}: [procedure]")
    _unknown(info, _PROCEDURE_FIELDS, f"{source}: [procedure]")
    start = parse_config(_table(top.get("start", {}), f"{source}: [start]"),
                         source=f"{source}: [start]")
    steps_raw = top.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise ConfigError(f"{source}: no steps; give at least one [[steps]] table")
    resolved: list[Step] = []
    chosen = Budget()
    for level in LEVELS:
        base_budget = _budget_for(top["budget"], Budget(), level, f"{source}: [budget]") \
            if "budget" in top else Budget()
        steps = [_step(s, i, start, base_budget, level, source) for i, s in enumerate(steps_raw)]
        if level == budget:
            resolved, chosen = steps, base_budget
    names = [s.name for s in resolved]
    for n in names:
        if names.count(n) > 1:
            raise ConfigError(f"{source}: two steps are named {n!r}; step names must differ")
    return Procedure(
        name=str(info.get("name", Path(source).stem)),
        description=str(info.get("description", "")),
        start=start, steps=tuple(resolved), level=budget, source=source, budget=chosen,
    )


def load_procedure(path: str | os.PathLike[str], budget: str = "standard") -> Procedure:
    """Read a procedure TOML file and resolve it for a budget level.

    Raises:
        ConfigError: The file is missing or not TOML, or a step is wrong (the message names
            the file, the step and the key).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "p.toml"
        >>> _ = p.write_text('[[steps]]\\nname = "w"\\n[steps.scientific]\\n'
        ...     '"model.units" = [[32], [64]]\\n[steps.nuisance]\\n'
        ...     '"optimizer.learning_rate" = { low = 0.01, high = 0.5, log = true }\\n')
        >>> load_procedure(p).steps[0].name
        'w'
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such procedure file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise ConfigError(f"{p}: not a UTF-8 TOML file") from None
    return parse_procedure(raw, source=str(p), budget=budget)


def default_procedure(budget: str = "standard") -> Procedure:
    """The tutorial's procedure (shipped with tunelab as ``tutorial.toml``) for a budget level.

    Example:
        >>> default_procedure("thorough").step("topology").budget.trials >= 4
        True
    """
    text = resources.files("tunelab.guide").joinpath(_DEFAULT_FILE).read_text(encoding="utf-8")
    return parse_procedure(tomllib.loads(text), source=f"tunelab:{_DEFAULT_FILE}", budget=budget)
