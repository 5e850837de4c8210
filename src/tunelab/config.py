"""Configuration: pydantic models for every section, loaded from and written to TOML.

A run is described by one :class:`RunConfig`. Every section forbids unknown keys, so a
typo is an error naming the key and the keys that are allowed, never a silently ignored
setting. Errors name the file and the dotted key (``optimizer.learning_rate``).

Example:
    >>> cfg = parse_config({"optimizer": {"name": "sgd", "learning_rate": 0.1}})
    >>> cfg.optimizer.name, cfg.optimizer.learning_rate, cfg.model.units
    ('SGD', 0.1, [64, 64])
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tunelab._files import write_text
from tunelab.errors import ConfigError

__all__ = [
    "ACTIVATIONS",
    "DIRECTIONS",
    "EXECUTORS",
    "INITIALIZERS",
    "LOSSES",
    "METRICS",
    "OPTIMIZERS",
    "PRUNERS",
    "SAMPLERS",
    "SCHEDULES",
    "CSVLoggerConfig",
    "CallbacksConfig",
    "DataConfig",
    "EarlyStoppingConfig",
    "ModelCheckpointConfig",
    "ModelConfig",
    "OneOf",
    "OptimizerConfig",
    "ReduceLROnPlateauConfig",
    "RunConfig",
    "ScheduleConfig",
    "StudyConfig",
    "TrainingConfig",
    "TuneConfig",
    "config_error",
    "dump_config",
    "load_config",
    "parse_config",
    "save_config",
    "with_overrides",
]

OPTIMIZERS = ("SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam")
SCHEDULES = (
    "constant",
    "range_test",
    "time_decay",
    "exponential",
    "step",
    "cosine",
    "cosine_restarts",
    "one_cycle",
    "function",
)
LOSSES = (
    "auto",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
    "mse",
    "rmse",
    "mae",
)
SAMPLERS = ("tpe", "random", "grid", "qmc", "sobol", "halton", "gp", "cmaes", "nsga2")
PRUNERS = ("auto", "asha", "hyperband", "median", "percentile", "none")
EXECUTORS = ("local", "processes", "ray")
METRICS = ("accuracy", "euclidean", "manhattan", "hamming", "mse", "rmse", "mae")
ACTIVATIONS = (
    "relu",
    "tanh",
    "sigmoid",
    "elu",
    "selu",
    "gelu",
    "softplus",
    "silu",
    "swish",
    "leaky_relu",
    "linear",
)
INITIALIZERS = (
    "uniform",
    "normal",
    "zeros",
    "ones",
    "lecun_uniform",
    "lecun_normal",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "orthogonal",
    "truncated_normal",
)

Monitor = str
Mode = Literal["auto", "min", "max"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _pick(value: str, allowed: tuple[str, ...], what: str) -> str:
    """Match ``value`` case-insensitively against ``allowed``; return the canonical spelling."""
    by_lower = {a.lower(): a for a in allowed}
    key = value.lower().replace("-", "_")
    if key not in by_lower:
        raise ValueError(f"unknown {what} {value!r}; expected one of: {', '.join(allowed)}")
    return by_lower[key]


class DataConfig(_Section):
    """Which dataset to use and how to prepare it."""

    name: str = Field("digits", description="a dataset name (tunelab data list) or a path")
    path: str | None = Field(None, description="folder or file holding the named dataset")
    label_column: str | int | None = Field(None, description="CSV label column, name or index")
    header: bool | None = Field(None, description="CSV has a header row (None: detect)")
    task: Literal["auto", "multiclass", "binary", "regression"] = "auto"
    scale: Literal["auto", "minmax", "standard", "none"] = "auto"
    flatten: bool = True
    validation_split: float = Field(0.2, gt=0.0, lt=1.0)
    test_split: float = Field(0.2, gt=0.0, lt=1.0, description="used when there is no test set")
    limit: int | None = Field(None, gt=0, description="keep at most this many training samples")


class ModelConfig(_Section):
    """The network: the tutorial's MLP by default, or a user's own builder."""

    units: list[int] = Field(default_factory=lambda: [64, 64])
    activation: str = "relu"
    dropout: float | list[float] = Field(default_factory=lambda: [0.1, 0.0])
    kernel_initializer: str = "uniform"
    l2: float = Field(0.0, ge=0.0)
    builder: str | None = Field(None, description="'package.module:function' returning a Model")
    template: str | None = Field(
        None, description="a .keras model file cloned for every slot (re-initialised per seed)")
    padded_units: list[int] | None = Field(
        None, description="widths the hidden layers are computed at (masked); results unchanged")

    @field_validator("units")
    @classmethod
    def _units_positive(cls, v: list[int]) -> list[int]:
        bad = [u for u in v if u < 1]
        if bad:
            raise ValueError(f"every hidden width must be >= 1, got {v}")
        return v

    @field_validator("padded_units")
    @classmethod
    def _padded_positive(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(u < 1 for u in v):
            raise ValueError(f"every padded width must be >= 1, got {v}")
        return v

    @field_validator("activation")
    @classmethod
    def _activation(cls, v: str) -> str:
        return _pick(v, ACTIVATIONS, "activation")

    @field_validator("kernel_initializer")
    @classmethod
    def _initializer(cls, v: str) -> str:
        return _pick(v, INITIALIZERS, "initializer")

    @field_validator("builder")
    @classmethod
    def _builder(cls, v: str | None) -> str | None:
        if v is not None and (":" not in v or not all(v.split(":", 1))):
            raise ValueError(f"builder must look like 'package.module:function', got {v!r}")
        return v

    @model_validator(mode="before")
    @classmethod
    def _default_dropout_follows_units(cls, data: Any) -> Any:
        # Without an explicit dropout, any depth gets the tutorial's pattern: 0.1 after the
        # first hidden layer, none after the others (so `units = [128]` alone is valid).
        if isinstance(data, dict) and "dropout" not in data and data.get("template"):
            # A template keeps its own Dropout rates ([] says so); units do not apply to it,
            # and an empty list keeps a search's per-layer bookkeeping consistent.
            return {"units": [], **data, "dropout": []}
        if isinstance(data, dict) and "dropout" not in data and isinstance(
                data.get("units"), list) and data["units"]:
            return {**data, "dropout": [0.1] + [0.0] * (len(data["units"]) - 1)}
        return data

    @model_validator(mode="after")
    def _dropout_fits(self) -> ModelConfig:
        rates = self.dropout if isinstance(self.dropout, list) else [self.dropout]
        for r in rates:
            if not 0.0 <= r < 1.0:
                raise ValueError(f"dropout rates must satisfy 0 <= rate < 1, got {r}")
        if self.template is not None:
            # A template's rates are one per Dropout layer of its own (checked when it is
            # built); units, activation and the initializer do not apply to it.
            if self.builder is not None:
                raise ValueError("give model.template or model.builder, not both")
            if not self.template.endswith(".keras"):
                raise ValueError(f"model.template must be a .keras file, got {self.template!r}")
            return self
        if isinstance(self.dropout, list) and len(self.dropout) != len(self.units):
            raise ValueError(
                f"dropout has {len(self.dropout)} rates but units has {len(self.units)} layers;"
                " give one rate per hidden layer or a single number for all"
            )
        return self

    def dropout_rates(self) -> list[float]:
        """One dropout rate per hidden layer (a single number applies to every layer)."""
        if isinstance(self.dropout, list):
            return list(self.dropout)
        return [float(self.dropout)] * len(self.units)


class OptimizerConfig(_Section):
    """An optimizer by its Keras name; unset values take that optimizer's Keras default."""

    name: str = "SGD"
    learning_rate: float | None = Field(None, gt=0.0)
    momentum: float | None = Field(None, ge=0.0, lt=1.0)
    nesterov: bool = False
    decay: float = Field(0.0, ge=0.0, description="Keras 2 lr / (1 + decay * iterations)")
    rho: float | None = Field(None, gt=0.0, lt=1.0)
    epsilon: float | None = Field(None, gt=0.0)
    beta_1: float | None = Field(None, gt=0.0, lt=1.0)
    beta_2: float | None = Field(None, gt=0.0, lt=1.0)
    weight_decay: float | None = Field(None, ge=0.0)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _pick(v, OPTIMIZERS, "optimizer")


class ScheduleConfig(_Section):
    """How the learning rate changes over training.

    ``time_decay`` is lr / (1 + decay_rate * t) with t counted in update steps (what
    Keras 2's ``SGD(decay=...)`` did, the default) or in epochs (``per = "epoch"``, how
    the tutorial's text reads it). ``exponential`` is lr0 * exp(-decay_rate * epoch).
    ``range_test`` is lr0 * growth ** t, t in update steps: the learning-rate range test's
    exponential sweep.
    """

    name: str = "constant"
    per: Literal["step", "epoch"] = "step"
    decay_rate: float = Field(0.0, ge=0.0)
    drop: float = Field(0.5, gt=0.0, le=1.0, description="step decay factor")
    epochs_drop: int = Field(10, ge=1, description="step decay period in epochs")
    warmup_epochs: int = Field(0, ge=0)
    min_lr: float = Field(0.0, ge=0.0)
    period: int = Field(10, ge=1, description="first cosine restart period in epochs")
    t_mul: float = Field(1.0, ge=1.0, description="restart period multiplier")
    max_lr: float | None = Field(None, gt=0.0, description="one-cycle peak (default: 10 x lr)")
    function: str | None = Field(None, description="'module:function' f(epoch, lr) -> lr")
    growth: float = Field(1.0, gt=0.0, description="range_test: the rate's factor per step")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _pick(v, SCHEDULES, "schedule")

    @model_validator(mode="after")
    def _function_given(self) -> ScheduleConfig:
        if self.name == "function" and not self.function:
            raise ValueError("schedule 'function' needs function = 'module:function'")
        return self


class TrainingConfig(_Section):
    """Epochs, batch size, loss and metrics."""

    epochs: int = Field(10, ge=1)
    batch_size: int = Field(32, ge=1)
    loss: str = "auto"
    metrics: list[str] = Field(default_factory=lambda: ["accuracy"])
    shuffle: bool = True

    @field_validator("loss")
    @classmethod
    def _loss(cls, v: str) -> str:
        return _pick(v, LOSSES, "loss")

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str]) -> list[str]:
        return [_pick(m, METRICS, "metric") for m in v]


class EarlyStoppingConfig(_Section):
    """Keras ``EarlyStopping``, acting per slot."""

    monitor: Monitor = "val_loss"
    patience: int = Field(5, ge=0)
    min_delta: float = Field(0.0, ge=0.0)
    mode: Mode = "auto"
    baseline: float | None = None
    restore_best_weights: bool = False


class ModelCheckpointConfig(_Section):
    """Keras ``ModelCheckpoint``: atomic writes, and a NaN is never the best."""

    monitor: Monitor = "val_loss"
    mode: Mode = "auto"
    save_best_only: bool = True
    filename: str = "checkpoint.keras"


class ReduceLROnPlateauConfig(_Section):
    """Keras ``ReduceLROnPlateau``, acting per slot."""

    monitor: Monitor = "val_loss"
    factor: float = Field(0.1, gt=0.0, lt=1.0)
    patience: int = Field(10, ge=0)
    min_delta: float = Field(1e-4, ge=0.0)
    mode: Mode = "auto"
    cooldown: int = Field(0, ge=0)
    min_lr: float = Field(0.0, ge=0.0)


class CSVLoggerConfig(_Section):
    """Keras ``CSVLogger``: one row per epoch."""

    filename: str = "history.csv"


class CallbacksConfig(_Section):
    """Callbacks beyond History (always on) and divergence handling (always on)."""

    early_stopping: EarlyStoppingConfig | None = None
    model_checkpoint: ModelCheckpointConfig | None = None
    reduce_lr_on_plateau: ReduceLROnPlateauConfig | None = None
    csv_logger: CSVLoggerConfig | None = None


class RunConfig(_Section):
    """Everything one training run needs."""

    seed: int = 0
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    callbacks: CallbacksConfig = Field(default_factory=CallbacksConfig)


class OneOf:
    """A validator: a name matched case-insensitively against the allowed spellings.

    As field metadata (``Annotated[str, AfterValidator(OneOf(SAMPLERS, "sampler"))]``) it
    is also where a command line finds a setting's choices.

    Example:
        >>> OneOf(("tpe", "random"), "sampler")("TPE")
        'tpe'
    """

    def __init__(self, allowed: tuple[str, ...], what: str) -> None:
        self.allowed, self.what = allowed, what

    def __call__(self, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            return [_pick(v, self.allowed, self.what) for v in value]
        return _pick(value, self.allowed, self.what)

    def __repr__(self) -> str:
        return f"OneOf({self.allowed!r}, {self.what!r})"


DIRECTIONS = ("auto", "maximize", "minimize")


class StudyConfig(_Section):
    """How a study searches: budget, sampler, pruner, objectives, cohorts, executor, storage.

    Every field is a ``[study]`` key, a keyword of :func:`tunelab.study.tune` and an option
    of ``tunelab tune`` (``--`` and the key with ``-`` for ``_``; ``name`` is
    ``--study-name``), all three derived from the field: its type, default and description.
    """

    name: str = Field("tunelab", min_length=1, description="the Optuna study name")
    trials: int = Field(
        20, ge=1, description="total trials in the study (a resumed study counts its finished"
        " ones)")
    timeout: float | None = Field(
        None, gt=0.0, description="seconds after which no new trial is asked (those asked"
        " before it train to their end, none is left unstarted); default: none")
    epoch_budget: int | None = Field(
        None, ge=1, description="training epochs for the whole study, summed over its trials;"
        " trials running when it is spent end with the epochs they trained; default: none")
    sampler: Annotated[str, AfterValidator(OneOf(SAMPLERS, "sampler"))] = Field(
        "tpe", description="the search algorithm")
    pruner: Annotated[str, AfterValidator(OneOf(PRUNERS, "pruner"))] = Field(
        "auto", description="early stopping of poor trials (auto: asha, none if"
        " multi-objective)")
    objective: str | list[str] = Field(
        "auto", description="history metric(s) to optimise (val_accuracy, val_loss, seconds,"
        " ...), or auto: the task's usual one")
    direction: Annotated[str | list[str], AfterValidator(OneOf(DIRECTIONS, "direction"))] = (
        Field("auto", description="maximize or minimize, one per objective, or auto: the"
              " metric's usual one"))
    reduce: Literal["last", "best"] = Field(
        "last", description="an objective's value at the last epoch, or at the best epoch")
    cohort: int = Field(8, ge=1, description="configurations trained at once per worker")
    pad_widths: Literal["auto", "none", "max", "pow2"] = Field(
        "auto", description="let hidden widths share cohorts by padding them (masked)")
    executor: Annotated[str, AfterValidator(OneOf(EXECUTORS, "executor"))] = Field(
        "local", description="where cohorts train: in this process, in worker processes, or"
        " on Ray workers")
    workers: int = Field(1, ge=1, description="worker processes (processes) or Ray actors"
                         " (ray): cohorts trained at the same time")
    ray_address: str | None = Field(
        None, description="the Ray cluster to join (host:port or ray://...); default:"
        " $RAY_ADDRESS, else a local Ray starts")
    storage: str | None = Field(
        None, description="Optuna storage URL; default: sqlite:///RUN_DIR/study.db")
    heartbeat_interval: int = Field(
        10, ge=0, description="seconds between a session's heartbeats on its running trials"
        " (database storage); a trial whose heartbeat stops is failed and retried by the"
        " other sessions; 0 turns heartbeats off")
    grace_period: int | None = Field(
        None, ge=1, description="seconds without a heartbeat after which a running trial is"
        " failed and retried; default: 3 x heartbeat_interval")
    seed: int | None = Field(None, description="sampler seed; default: the run's seed")
    reduction_factor: int = Field(
        3, ge=2, description="the reduction factor of pruners asha and hyperband")
    min_resource: float = Field(
        1.0, gt=0.0, description="epochs before the first cut of pruners asha and hyperband (a"
        " multiple of report_every: 0.125 with report_every = 0.125 cuts after an eighth of an"
        " epoch)")
    report_every: float = Field(
        1.0, gt=0.0, le=1.0, description="sub-epoch fidelity: the pruner sees a trial's"
        " validation value every this many epochs (1/n: 0.5, 0.25, 0.125...) where it can cut"
        " within the first epochs; history, callbacks and checkpoints stay per epoch")
    percentile: float = Field(
        25.0, gt=0.0, lt=100.0, description="the percentile pruner's cut: trials below this"
        " percentile are pruned")
    startup_trials: int = Field(
        5, ge=0, description="trials before pruners median and percentile start pruning")
    warmup_epochs: int = Field(
        1, ge=0, description="epochs a trial trains before pruners median and percentile can"
        " prune it")

    def objectives(self) -> list[str]:
        """The objective metric names as a list (``["auto"]`` when not chosen)."""
        return [self.objective] if isinstance(self.objective, str) else list(self.objective)

    def directions(self) -> list[str]:
        """The directions as a list, one per objective (``"auto"`` where not chosen)."""
        n = len(self.objectives())
        if isinstance(self.direction, str):
            return [self.direction] * n
        return list(self.direction)

    def pieces(self) -> int:
        """Pieces an epoch is cut into for the pruner (``1 / report_every``)."""
        return round(1.0 / self.report_every)

    @model_validator(mode="after")
    def _lengths(self) -> StudyConfig:
        if not self.objectives():
            raise ValueError("objective needs at least one metric name")
        parts = round(1.0 / self.report_every)
        if abs(parts * self.report_every - 1.0) > 1e-9:
            raise ValueError(f"report_every must be 1/n for a whole n (1, 0.5, 0.25, 0.125...),"
                             f" got {self.report_every}")
        steps = self.min_resource * parts
        if abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"min_resource must be a multiple of report_every"
                             f" ({self.report_every}), got {self.min_resource}")
        if (self.grace_period is not None and self.heartbeat_interval
                and self.grace_period <= self.heartbeat_interval):
            raise ValueError(
                f"grace_period must be longer than heartbeat_interval, got"
                f" grace_period={self.grace_period}, heartbeat_interval={self.heartbeat_interval};"
                " a live session's trials would be failed between two of its heartbeats")
        if isinstance(self.direction, list) and len(self.direction) != len(self.objectives()):
            raise ValueError(
                f"direction has {len(self.direction)} entries but objective has"
                f" {len(self.objectives())}; give one direction per objective"
            )
        return self


class TuneConfig(RunConfig):
    """A :class:`RunConfig` (the base every trial starts from) plus a search space and a study.

    ``search`` maps dotted RunConfig keys to parameter specs; it is checked by
    :class:`tunelab.study.Space`, which names the file and the parameter at fault.

    Example:
        >>> cfg = parse_config({"search": {"optimizer.learning_rate": {"low": 1e-3, "high": 1.0,
        ...     "log": True}}, "study": {"trials": 4}}, model=TuneConfig)
        >>> cfg.study.trials, cfg.base().training.epochs
        (4, 10)
    """

    search: dict[str, Any] = Field(default_factory=dict)
    study: StudyConfig = Field(default_factory=StudyConfig)

    def base(self) -> RunConfig:
        """The run configuration every trial starts from (without ``search`` and ``study``)."""
        return RunConfig.model_validate(self.model_dump(exclude={"search", "study"}))


def _key(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a user writes it: ``steps[2].budget.trials``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(err: dict[str, Any], model: type[BaseModel]) -> str:
    key = _key(err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"unknown key '{key}'{hint}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in ("model_type", "dict_type"):
        msg = "expected a table"  # not pydantic's "instance of <class>"
    got = err.get("input")
    shown = "" if isinstance(got, dict) or "got " in msg else f" (got {got!r})"
    return f"key '{key}': {msg}{shown}"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds (``Model``, ``Model | None``, ``list[Model]``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a list of tables: the same model
        field = current.model_fields.get(part) if current is not None else None
        if field is None:
            return []
        current = _model_in(field.annotation)
    return sorted(current.model_fields) if current is not None else []


def config_error(exc: ValidationError, model: type[BaseModel], source: str) -> ConfigError:
    """A pydantic error as one line for a user: ``source``, then every bad key and what was
    expected; an unknown key comes with the keys allowed where it stands.

    Example:
        >>> try:
        ...     RunConfig.model_validate({"training": {"epochs": 0, "epoch": 3}})
        ... except ValidationError as exc:
        ...     print(config_error(exc, RunConfig, "run.toml"))  # doctest: +NORMALIZE_WHITESPACE
        run.toml: key 'training.epochs': Input should be greater than or equal to 1 (got 0);
        unknown key 'training.epoch'; allowed keys here: batch_size, epochs, loss, metrics,
        shuffle
    """
    problems = [_describe(dict(e), model) for e in exc.errors()]
    return ConfigError(f"{source}: " + "; ".join(problems))


def parse_config(
    data: dict[str, Any], source: str = "<config>", model: type[RunConfig] = RunConfig
) -> RunConfig:
    """Validate a plain dict (as read from TOML) into a :class:`RunConfig`.

    Raises:
        ConfigError: naming ``source``, every bad key, and what was expected.

    Example:
        >>> parse_config({"training": {"epochs": 3}}).training.epochs
        3
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, model, source) from None


def load_config(path: str | os.PathLike[str], model: type[RunConfig] = RunConfig) -> RunConfig:
    """Read and validate a TOML configuration file (``model``: RunConfig or TuneConfig).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
        >>> _ = p.write_text("[training]\\nepochs = 5\\n")
        >>> load_config(p).training.epochs
        5
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such configuration file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a UTF-8 text file") from None
    return parse_config(raw, source=str(p), model=model)


def dump_config(cfg: BaseModel) -> str:
    """Render a configuration as TOML (unset optional values are left out).

    Example:
        >>> "[optimizer]" in dump_config(RunConfig())
        True
    """
    return tomli_w.dumps(cfg.model_dump(mode="json", exclude_none=True))


def save_config(cfg: BaseModel, path: str | os.PathLike[str]) -> Path:
    """Write a configuration as TOML, atomically."""
    return write_text(path, dump_config(cfg))


def with_overrides(
    cfg: RunConfig, overrides: dict[str, Any], source: str = "<overrides>"
) -> RunConfig:
    """Return a copy of ``cfg`` with dotted keys replaced, validated again.

    Example:
        >>> with_overrides(RunConfig(), {"optimizer.learning_rate": 0.05}).optimizer.learning_rate
        0.05
    """
    raw = cfg.model_dump(mode="python")
    for dotted, value in overrides.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            child = node.get(part)
            if child is None:
                child = {}
                node[part] = child
            if not isinstance(child, dict):
                raise ConfigError(f"{source}: key '{dotted}': '{part}' is not a section")
            node = child
        node[leaf] = value
    return parse_config(raw, source=source, model=type(cfg))
