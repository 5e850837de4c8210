"""The ``[study]`` section and a tuning file: a run configuration plus a search space."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from tunelab.config._names import DIRECTIONS, EXECUTORS, PRUNERS, SAMPLERS, OneOf, _Section
from tunelab.config._run import RunConfig
from tunelab.config._tracking import TrackingConfig

__all__ = ["StudyConfig", "TuneConfig"]


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
    share_batch_sizes: bool = Field(
        False, description="train every searched batch size as gradient accumulation over one"
        " micro-batch (their greatest common divisor), so batch sizes share cohorts and"
        " compiled programs instead of each making a structure")
    depth_first: int | None = Field(
        None, ge=1, description="epochs after which a trial keeps its cohort from taking new"
        " trials: the cohort narrows to its deepest trials, which finish sooner (latency over"
        " throughput); default: every freed slot is refilled")
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
        >>> from tunelab.config import parse_config
        >>> cfg = parse_config({"search": {"optimizer.learning_rate": {"low": 1e-3, "high": 1.0,
        ...     "log": True}}, "study": {"trials": 4}}, model=TuneConfig)
        >>> cfg.study.trials, cfg.base().training.epochs
        (4, 10)
    """

    search: dict[str, Any] = Field(default_factory=dict)
    study: StudyConfig = Field(default_factory=StudyConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    def base(self) -> RunConfig:
        """The run configuration every trial starts from (without ``search``, ``study`` and
        ``tracking``)."""
        return RunConfig.model_validate(self.model_dump(exclude={"search", "study",
                                                                 "tracking"}))
