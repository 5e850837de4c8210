"""The sections of one training run: data, model, optimizer, schedule, training, callbacks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tunelab.config._names import (
    ACTIVATIONS,
    INITIALIZERS,
    LOSSES,
    METRICS,
    OPTIMIZERS,
    SCHEDULES,
    Mode,
    Monitor,
    _pick,
    _Section,
)

__all__ = ["CSVLoggerConfig", "CallbacksConfig", "DataConfig", "EarlyStoppingConfig",
           "ModelCheckpointConfig", "ModelConfig", "OptimizerConfig", "ReduceLROnPlateauConfig",
           "RunConfig", "ScheduleConfig", "TrainingConfig"]


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
    """Epochs, batch size, loss and metrics.

    ``micro_batch``: when set, a batch of ``batch_size`` samples is trained as
    ``batch_size / micro_batch`` micro-batches whose gradients are summed before one update
    (the same update as one batch), so that every batch size that is a multiple of it shares
    one compiled program (one cohort).
    """

    epochs: int = Field(10, ge=1)
    batch_size: int = Field(32, ge=1)
    micro_batch: int | None = Field(None, ge=1)
    loss: str = "auto"
    metrics: list[str] = Field(default_factory=lambda: ["accuracy"])
    shuffle: bool = True

    @field_validator("loss")
    @classmethod
    def _loss(cls, v: str) -> str:
        return _pick(v, LOSSES, "loss")

    @model_validator(mode="after")
    def _micro_batch_divides(self) -> TrainingConfig:
        m = self.micro_batch
        if m is not None and self.batch_size % m:
            raise ValueError(
                f"training.batch_size ({self.batch_size}) must be a multiple of"
                f" training.micro_batch ({m}); pick a batch size of {m} x an integer or"
                " another micro_batch")
        return self

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
