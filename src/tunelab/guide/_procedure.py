"""A procedure: a list of steps as plain data, read from TOML and checked before anything runs.

A step names the **scientific** hyperparameters it compares (a list of values each), the
**nuisance** hyperparameters it tunes so that every value gets a fair chance (always the
learning rate), settings it holds ``fixed``, and its ``budget``. Everything else stays at the
configuration adopted so far. Budget levels (``quick``, ``standard``, ``thorough``) are tables
that override the procedure's budget, and a step may override its own fields per level.

A file is checked in two passes. Its shape (keys, types, ranges) is checked by pydantic
models that forbid unknown keys; their errors go through :func:`tunelab.config.config_error`,
as a run configuration's do, so they name the file, the step, the key and what was expected.
Then each step is resolved at every level and checked against the configuration it would
start from (search-space names and values, a learning rate to tune), so that a mistake in a
level not asked for is found too.

Example:
    >>> proc = default_procedure("quick")
    >>> [s.name for s in proc.steps if not s.optional]
    ['topology', 'learning_rate', 'optimizer', 'batch_size']
    >>> "optimizer.learning_rate" in proc.step("topology").nuisance
    True
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional, Self, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from tunelab.config import (
    OPTIMIZER_KEYS,
    PRUNERS,
    SAMPLERS,
    RunConfig,
    config_error,
    read_toml,
    with_overrides,
)
from tunelab.errors import ConfigError, SpaceError
from tunelab.guide._losses import expand_losses
from tunelab.study import Categorical, Fixed, Int, Space

__all__ = [
    "BUDGET_FIELDS",
    "KINDS",
    "LEVELS",
    "LR_KEY",
    "STEP_FIELDS",
    "Budget",
    "Procedure",
    "Step",
    "default_procedure",
    "load_procedure",
    "parse_procedure",
]

Level = Literal["quick", "standard", "thorough"]
Kind = Literal["compare", "learning_rate", "batch_size", "cross_validation"]
RangeTestMode = Literal["none", "once", "per_value"]

LEVELS: tuple[str, ...] = get_args(Level)
KINDS: tuple[str, ...] = get_args(Kind)
LR_KEY = "optimizer.learning_rate"
_DEFAULT_FILE = "tutorial.toml"


class _Strict(BaseModel):
    # TOML has exact types: `trials = "3"`, `trials = 2.5` or `optional = 1` is a mistake to
    # report, not a value to convert.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _one_of(allowed: tuple[str, ...], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value.lower() not in allowed:
            raise ValueError(f"expected {what}, one of {', '.join(allowed)}")
        return value.lower()

    return AfterValidator(check)


_AtLeast0 = Annotated[int, Field(ge=0)]
_AtLeast1 = Annotated[int, Field(ge=1)]
_AtLeast2 = Annotated[int, Field(ge=2)]
_Spread = Annotated[float, Field(ge=1.0)]
_Alpha = Annotated[float, Field(gt=0.0, le=0.5)]
_Sampler = Annotated[str, _one_of(SAMPLERS, "a sampler")]
_Pruner = Annotated[str, _one_of(PRUNERS, "a pruner")]
_Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Budget(_Strict):
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
        alpha: The one-sided level of every test that adopts a change (the share of steps
            that may credit a change that made no difference).
        sequential: Confirm in two looks: ``seeds`` fresh replicates, then, when undecided
            and the challenger is ahead, as many more, with ``alpha`` split between the
            looks; False: one look at ``seeds`` replicates.

    Example:
        >>> Budget(trials=2).trials, Budget().seeds
        (2, 3)
    """

    trials: _AtLeast1 = 4
    epochs: _AtLeast1 = 20
    seeds: _AtLeast2 = 3
    finalists: _AtLeast2 = 4
    cohort: _AtLeast1 = 16
    lr_spread: _Spread = 4.0
    sampler: _Sampler = "tpe"
    pruner: _Pruner = "none"
    patience: _AtLeast0 = 5
    folds: _AtLeast2 = 5
    min_updates: _AtLeast0 = 0
    alpha: _Alpha = 0.05
    sequential: bool = True

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The budget's field names, in order.

        Example:
            >>> Budget.fields()[:3]
            ('trials', 'epochs', 'seeds')
        """
        return tuple(cls.model_fields)

    def updated(self, changes: Mapping[str, Any], where: str = "budget") -> Budget:
        """A copy with ``changes`` applied, each checked as a budget table in a file is.

        Raises:
            ConfigError: ``changes`` is empty, names an unknown field or holds a value out of
                range; the message starts with ``where`` and names the key.

        Example:
            >>> Budget().updated({"trials": 2, "sampler": "Random"}).sampler
            'random'
        """
        try:
            table = _BudgetTable.model_validate(dict(changes))
        except ValidationError as exc:
            raise config_error(exc, _BudgetTable, where) from None
        return table.apply(self)


BUDGET_FIELDS = Budget.fields()


def _fields(model: type[BaseModel], *, optional: bool = False) -> dict[str, Any]:
    """``model``'s fields, constraints kept, for :func:`pydantic.create_model` (each one
    optional, defaulting to None, with ``optional``)."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        kind: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata \
            else field.annotation
        out[name] = (Optional[kind], None) if optional else (kind, field)  # noqa: UP045
    return out


def _per_level(table: Any) -> dict[str, Any]:
    """A field per budget level (``quick``, ``standard``, ``thorough``) holding ``table``."""
    return {level: (Optional[table], None) for level in LEVELS}  # noqa: UP045


class _BudgetTableBase(_Strict):
    """A budget table in a file: some of the budget's fields, overriding the budget below.

    Its fields are :class:`Budget`'s, each optional (:data:`_BudgetTable`).
    """

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError(
                f"an empty table; give at least one of {', '.join(BUDGET_FIELDS)}, or leave"
                " the table out to keep the budget it would override"
            )
        return self

    def apply(self, base: Budget) -> Budget:
        """``base`` with this table's fields (level tables, if any, are not applied)."""
        own = self.model_dump(include=set(BUDGET_FIELDS), exclude_unset=True, exclude_none=True)
        return base.model_copy(update=own)


if TYPE_CHECKING:
    _BudgetTable = _BudgetTableBase
else:
    _BudgetTable = create_model("_BudgetTable", __base__=_BudgetTableBase,
                                **_fields(Budget, optional=True))


class _TopBudgetBase(_BudgetTable):
    """The procedure's ``[budget]``: fields for every level, then a table per level."""

    def at(self, level: str) -> Budget:
        budget = self.apply(Budget())
        table: _BudgetTable | None = getattr(self, level)
        return budget if table is None else table.apply(budget)


if TYPE_CHECKING:
    _TopBudget = _TopBudgetBase
else:
    _TopBudget = create_model("_TopBudget", __base__=_TopBudgetBase, **_per_level(_BudgetTable))


class _LevelTable(_Strict):
    """A step's ``[steps.<level>]`` table: what the step changes at that budget level."""

    title: str | None = None
    about: str | None = None
    range_test: RangeTestMode | None = None
    scientific: dict[str, Any] | None = None
    nuisance: dict[str, Any] | None = None
    fixed: dict[str, Any] | None = None
    budget: _BudgetTable | None = None


class _StepTableBase(_LevelTable):
    """One ``[[steps]]`` table as written, before it is resolved for a level (with a
    :class:`_LevelTable` per budget level: :data:`_StepTable`)."""

    name: _Name
    kind: Kind = "compare"
    optional: bool = False

    def resolved(self, level: str, budget: Budget) -> Step:
        """The step at ``level``: the level's table over the step's own, budgets stacked."""
        over: _LevelTable = getattr(self, level) or _LevelTable()

        def pick(key: str) -> Any:
            value = getattr(over, key)
            return getattr(self, key) if value is None else value

        for table in (self.budget, over.budget):
            if table is not None:
                budget = table.apply(budget)
        default_test = "once" if self.kind == "learning_rate" else "none"
        return Step(
            name=self.name, kind=self.kind, title=pick("title") or self.name,
            scientific=pick("scientific") or {}, nuisance=pick("nuisance") or {},
            fixed=pick("fixed") or {}, budget=budget,
            range_test=pick("range_test") or default_test, optional=self.optional,
            about=pick("about") or "",
        )



if TYPE_CHECKING:
    _StepTable = _StepTableBase
else:
    _StepTable = create_model("_StepTable", __base__=_StepTableBase, **_per_level(_LevelTable))

STEP_FIELDS: tuple[str, ...] = tuple(_StepTable.model_fields)
"""The keys a ``[[steps]]`` table may hold."""


class _ProcedureInfo(_Strict):
    name: str | None = None
    description: str = ""


class _ProcedureFile(_Strict):
    """A procedure file's top level; each step is checked on its own (errors name it)."""

    procedure: _ProcedureInfo = Field(default_factory=_ProcedureInfo)
    start: RunConfig = Field(default_factory=RunConfig)
    budget: _TopBudget | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list, validate_default=True)

    @field_validator("steps")
    @classmethod
    def _some_steps(cls, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not steps:
            raise ValueError("got no steps; give at least one [[steps]] table")
        return steps


class Step(BaseModel):
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

    Example:
        >>> step = Step(name="width", scientific={"model.units": [[32], [64]]})
        >>> step.kind, step.compares, step.budget.trials
        ('compare', True, 4)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Kind = "compare"
    title: str = ""
    scientific: dict[str, Any] = Field(default_factory=dict)
    nuisance: dict[str, Any] = Field(default_factory=dict)
    fixed: dict[str, Any] = Field(default_factory=dict)
    budget: Budget = Field(default_factory=Budget)
    range_test: RangeTestMode = "none"
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

    def to_dict(self) -> dict[str, Any]:
        """Plain data (TOML-ready) of the step at its level."""
        return copy.deepcopy(self.model_dump(mode="python"))


class Procedure(BaseModel):
    """A procedure at one budget level: where it starts and its steps, in order.

    Attributes:
        name: The procedure's name.
        description: What it is.
        start: The configuration the first step starts from.
        steps: The steps, in order (optional ones included; see :meth:`selected`).
        level: The budget level the steps were resolved for.
        source: The file it came from (named in errors).
        budget: The procedure's own budget at that level (before steps override it).

    Example:
        >>> proc = default_procedure("quick")
        >>> proc.level, proc.step("topology").kind
        ('quick', 'compare')
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    start: RunConfig
    steps: tuple[Step, ...]
    level: Level
    source: str
    budget: Budget = Field(default_factory=Budget)

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
            "budget": self.budget.model_dump(),
            "steps": [s.to_dict() for s in self.steps],
        }


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


def step_base(step: Step, start: RunConfig, train_samples: int = 0, *,
              source: str = "") -> RunConfig:
    """``start`` with the step's fixed settings and epochs, optimizer-specific values cleared
    when the step searches the optimizer (momentum means nothing to Adam).

    ``source`` starts the message of a fixed setting that does not fit (default: the step).

    Example:
        >>> step = Step(name="s", fixed={"schedule.per": "epoch"}, budget=Budget(epochs=3))
        >>> cfg = step_base(step, RunConfig())
        >>> cfg.schedule.per, cfg.training.epochs
        ('epoch', 3)
    """
    epochs = step_epochs(step.budget, train_samples, start.training.batch_size) \
        if train_samples else step.budget.epochs
    where = source or f"step {step.name}"
    cfg = with_overrides(start, {"training.epochs": epochs, **step.fixed},
                         source=f"{where}: fixed")
    searched = set(step.scientific) | set(step.nuisance)
    if "optimizer.name" in searched:
        cleared = {f"optimizer.{k}": None for k in OPTIMIZER_KEYS}
        cfg = with_overrides(cfg, {**cleared, "optimizer.nesterov": False}, source=where)
    return cfg


def _check_step(step: Step, start: RunConfig, where: str) -> None:
    """What a step's tables cannot say alone: it fits ``start`` and it can compare."""
    base = step_base(step, start, source=where)
    if not step.compares:
        if step.scientific or step.nuisance:
            raise ConfigError(f"{where}: a cross_validation step checks the configuration"
                              " adopted so far; it takes no scientific or nuisance table")
        return
    if not step.scientific:
        raise ConfigError(f"{where}: no scientific hyperparameters; a step compares values:"
                          " add [steps.scientific] with a list of choices")
    if LR_KEY not in step.nuisance:
        raise ConfigError(
            f"{where}: no learning rate to tune; every step that compares values must tune"
            f" '{LR_KEY}' as a nuisance hyperparameter, e.g. under [steps.nuisance]:"
            f" \"{LR_KEY}\" = {{ low = 0.001, high = 1.0, log = true }}")
    try:
        space = step.space(source=where)
        space.check(base)
    except SpaceError as exc:
        raise ConfigError(str(exc)) from None
    both = sorted(set(step.scientific) & set(step.nuisance))
    if both:
        raise ConfigError(f"{where}: '{both[0]}' is both scientific and nuisance; a step"
                          " compares a hyperparameter or tunes it, not both")
    for name in step.scientific:
        if not isinstance(space.params[name], Categorical | Fixed | Int):
            raise ConfigError(
                f"{where}.scientific: '{name}' is a continuous range; scientific"
                " hyperparameters are compared value by value: give a list of choices"
            )


def _step_tables(raw_steps: list[dict[str, Any]], source: str) -> list[tuple[str, _StepTable]]:
    """Each ``[[steps]]`` table checked, with the name errors give it: ``steps[1] (dropout)``."""
    tables: list[tuple[str, _StepTable]] = []
    for i, raw in enumerate(raw_steps):
        name = raw.get("name")
        label = f"steps[{i}] ({name.strip()})" if isinstance(name, str) and name.strip() \
            else f"steps[{i}]"
        try:
            tables.append((label, _StepTable.model_validate(raw)))
        except ValidationError as exc:
            raise config_error(exc, _StepTable, f"{source}: {label}") from None
    first: dict[str, int] = {}
    for i, (_, table) in enumerate(tables):
        if table.name in first:
            raise ConfigError(f"{source}: two steps are named {table.name!r} (steps"
                              f"[{first[table.name]}] and steps[{i}]); step names must differ")
        first[table.name] = i
    return tables


def parse_procedure(raw: Mapping[str, Any], source: str = "<procedure>",
                    budget: str = "standard") -> Procedure:
    """Check a procedure given as plain data (as read from TOML) and resolve it for ``budget``.

    Every budget level is checked, so a mistake in a level not asked for is found too.

    Raises:
        ConfigError: naming ``source``, the step and the key at fault, and what was expected.

    Example:
        >>> proc = parse_procedure({"steps": [{"name": "width",
        ...     "scientific": {"model.units": [[32], [64]]},
        ...     "nuisance": {"optimizer.learning_rate": {"low": 0.01, "high": 0.5, "log": True}},
        ...     "budget": {"trials": 2}}]}, budget="quick")
        >>> proc.steps[0].budget.trials, proc.level
        (2, 'quick')
    """
    if budget not in LEVELS:
        raise ConfigError(f"budget: expected one of {', '.join(LEVELS)}, got {budget!r}"
                          f" (the level to resolve {source} for)")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: expected a table of [procedure], [start], [budget] and"
                          f" [[steps]], got {raw!r}")
    try:
        top = _ProcedureFile.model_validate(dict(raw))
    except ValidationError as exc:
        raise config_error(exc, _ProcedureFile, source) from None
    tables = _step_tables(top.steps, source)
    resolved: tuple[Step, ...] = ()
    chosen = Budget()
    for level in LEVELS:
        base_budget = top.budget.at(level) if top.budget is not None else Budget()
        steps = []
        for label, table in tables:
            step = table.resolved(level, base_budget)
            at = f" at level {level}" if getattr(table, level) is not None else ""
            _check_step(step, top.start, f"{source}: {label}{at}")
            steps.append(step)
        if level == budget:
            resolved, chosen = tuple(steps), base_budget
    return Procedure(
        name=top.procedure.name or Path(source).stem, description=top.procedure.description,
        start=top.start, steps=resolved, level=budget, source=source, budget=chosen,
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
    return parse_procedure(read_toml(path, "procedure file"), source=str(Path(path)),
                           budget=budget)


def default_procedure(budget: str = "standard") -> Procedure:
    """The tutorial's procedure (shipped with tunelab as ``tutorial.toml``) for a budget level.

    Example:
        >>> default_procedure("thorough").step("topology").budget.trials >= 4
        True
    """
    text = resources.files("tunelab.guide").joinpath(_DEFAULT_FILE).read_text(encoding="utf-8")
    return parse_procedure(tomllib.loads(text), source=f"tunelab:{_DEFAULT_FILE}", budget=budget)
