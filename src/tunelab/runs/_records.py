"""The typed records tunelab writes into run folders, and the one way to read and write them.

Every JSON file that one part of tunelab writes and another reads is one of these pydantic
models, defined here once: the guide writes them, the report and the CLI read them through
:func:`read_record`. Each file carries ``version`` (:data:`SCHEMA_VERSION`); a file written by
another version, a damaged file, or one with a missing key is refused with a message that names
the file and says what to do. NaN (a diverged run's score) is stored as ``null``.

Example:
    >>> import tempfile, pathlib
    >>> stats = ValueStats(label="units [64, 64]", scores=[0.97, 0.98], replicates=[1, 2])
    >>> round(stats.mean, 3), stats.n
    (0.975, 2)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "timing.json"
    >>> _ = write_record(path, Timing(seconds=3.5, sessions=1))
    >>> read_record(path, Timing).seconds
    3.5
"""

from __future__ import annotations

import json
import math
import os
import statistics
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from tunelab._files import write_json
from tunelab.errors import ConfigError
from tunelab.runs._status import Credit, TestKind

__all__ = [
    "SCHEMA_VERSION",
    "BatchRow",
    "Comparison",
    "Decisions",
    "Evidence",
    "FinalProtocol",
    "FinalResult",
    "GuideSettings",
    "LandscapeSplit",
    "LossLandscape",
    "RangeTestRecord",
    "RangeTests",
    "RecordError",
    "RunSummary",
    "StepDecision",
    "Timing",
    "TuningCheck",
    "ValueStats",
    "read_record",
    "write_record",
]

#: The version of every record's layout; bumped when a record changes incompatibly.
#: Version 3: a comparison is a one-sided t test at a stated alpha (``alpha``, ``p``,
#: ``critical``), and a step records what it credited and its confirmation runs.
SCHEMA_VERSION = 3


def _nan_if_none(value: Any) -> Any:
    return math.nan if value is None else value


#: A float that JSON stores as null when it is NaN or infinite.
Num = Annotated[float, BeforeValidator(_nan_if_none)]


class RecordError(ConfigError):
    """A run-folder file is damaged, incomplete, or written by another tunelab version."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class _Versioned(_Record):
    version: int = SCHEMA_VERSION


class ValueStats(_Record):
    """One configuration's scores over replicates: mean, standard deviation (n - 1), count.

    A diverged run scores NaN and counts as the worst possible result: the mean is NaN then
    (never a mean of the survivors).

    Attributes:
        label: The configuration's name, e.g. ``units [64, 64] · dropout 0.1``.
        scores: One score per replicate, in the order of ``replicates``.
        replicates: The replicate seed of each score (what pairs two configurations' runs).
        trial: The study trial this configuration came from, if any.
        config: The configuration (a ``RunConfig`` as plain data).
        seconds_per_epoch: Training seconds per epoch per configuration, measured.
        epochs: Mean epochs run (early stopping may end runs sooner).
        best_epochs: Per replicate, the epochs up to the weights kept (early stopping's best).
        params: The values of the step's scientific hyperparameters.
        search_score: The trial's score in the study.
        samples_per_second: Training samples per second per configuration.
    """

    label: str
    scores: list[Num]
    replicates: list[int] = Field(default_factory=list)
    mean: Num = math.nan
    std: Num = math.nan
    n: int = 0
    trial: int | None = None
    config: dict[str, Any] | None = None
    seconds_per_epoch: Num = math.nan
    epochs: Num = math.nan
    best_epochs: list[int] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    search_score: Num = math.nan
    samples_per_second: Num = math.nan

    @model_validator(mode="after")
    def _summaries(self) -> ValueStats:
        if self.replicates and len(self.replicates) != len(self.scores):
            raise ValueError(f"{self.label}: {len(self.scores)} scores but"
                             f" {len(self.replicates)} replicates")
        finite = [s for s in self.scores if math.isfinite(s)]
        self.n = len(self.scores)
        self.mean = statistics.fmean(finite) if finite and len(finite) == self.n else math.nan
        self.std = statistics.stdev(finite) if len(finite) >= 2 else (
            0.0 if len(finite) == 1 else math.nan)
        return self

    @property
    def train_seconds(self) -> float:
        """Training time of one run: mean epochs run x seconds per epoch."""
        return self.epochs * self.seconds_per_epoch

    def by_replicate(self) -> dict[int, float]:
        """Score per replicate seed."""
        return dict(zip(self.replicates, self.scores, strict=True))

    @property
    def diverged(self) -> int:
        """Replicates whose run diverged (a NaN score)."""
        return sum(1 for s in self.scores if not math.isfinite(s))

    def text(self) -> str:
        """``mean ± std (n=N)``; with diverged replicates, how many, and the others' mean.

        Example:
            >>> ValueStats(label="a", scores=[0.5, float("nan"), 0.7]).text()
            'diverged in 1 of 3 replicates (the others 0.6000 ± 0.1414)'
        """
        if not self.diverged:
            return f"{self.mean:.4f} ± {self.std:.4f} (n={self.n})"
        finite = [s for s in self.scores if math.isfinite(s)]
        if not finite:
            return f"diverged in all {self.n} replicates"
        return (f"diverged in {self.diverged} of {self.n} replicates (the others"
                f" {statistics.fmean(finite):.4f} ± {self.std:.4f})")


class Comparison(_Record):
    """The test that compared a candidate with the current configuration, with its numbers.

    A one-sided test of "the candidate is better" at level ``alpha``: ``difference`` is how
    much better the candidate is (positive: better, whatever the direction), ``t`` its
    statistic with ``df`` degrees of freedom and ``p`` its one-sided p-value, both from
    ``scipy.stats``. The candidate is better when ``p < alpha`` (equivalently ``t`` above
    ``critical``, the t distribution's ``1 - alpha`` quantile at ``df``) and the difference
    is more than ``resolution`` (one validation sample, for an accuracy): ``threshold`` =
    ``max(critical x se, resolution)`` is the smallest difference accepted.

    Attributes:
        test: ``paired`` (same replicates: a paired t test on the per-replicate differences,
            ``scipy.stats.ttest_rel``) or ``welch`` (unpaired, unequal variances:
            ``scipy.stats.ttest_ind(equal_var=False)``).
        current, candidate: The two configurations' labels.
        n: Pairs (paired test), else the smaller sample.
        n_current, n_candidate: Scores on each side.
        difference: Mean improvement of the candidate over the current configuration.
        se: Standard error of that difference.
        threshold: The smallest difference accepted as real.
        resolution: The floor of the threshold (one validation sample, for an accuracy).
        df: Degrees of freedom (n - 1 when paired, Welch-Satterthwaite otherwise).
        t: The t statistic, ``difference / se``.
        alpha: The one-sided level of the test.
        p: The one-sided p-value.
        critical: The t distribution's ``1 - alpha`` quantile at ``df``.
        better: Whether the candidate is better (``p < alpha``, difference above resolution).
    """

    test: TestKind
    current: str
    candidate: str
    n: int
    n_current: int
    n_candidate: int
    difference: Num
    se: Num
    threshold: Num
    resolution: float = 0.0
    df: Num = math.nan
    t: Num = math.nan
    alpha: float = 0.05
    p: Num = math.nan
    critical: Num = math.nan
    better: bool

    def brief(self) -> str:
        """The test in a table cell: kind, n, df, t, p and alpha.

        Example:
            >>> Comparison(test="paired", current="a", candidate="b", n=3, n_current=3,
            ...            n_candidate=3, difference=0.01, se=0.002, threshold=0.0058,
            ...            df=2, t=5.0, p=0.0189, critical=2.92, better=True).brief()
            'paired n=3 df=2 t=5.00 p=0.0189 (alpha 0.05)'
        """
        df = f"{self.df:.3g}" if math.isfinite(self.df) else "—"
        t = f"{self.t:.2f}" if not math.isnan(self.t) else "—"
        p = f"{self.p:.3g}" if math.isfinite(self.p) else "—"
        return f"{self.test} n={self.n} df={df} t={t} p={p} (alpha {self.alpha:g})"

    def text(self) -> str:
        """One line: the test, alpha, n, df, the difference, the statistic and p.

        Example:
            >>> Comparison(test="paired", current="a", candidate="b", n=3, n_current=3,
            ...            n_candidate=3, difference=0.01, se=0.002, threshold=0.0058,
            ...            df=2, t=5.0, p=0.0189, critical=2.92, better=True).text()[25:]
            'alpha 0.05, n=3, df=2: difference +0.0100, t=5.00 (critical 2.92), p=0.0189'
        """
        what = ("one-sided paired t test" if self.test == TestKind.PAIRED
                else "one-sided Welch t test (unpaired)")
        floor = f", at least one validation sample {self.resolution:.4f}" if self.resolution \
            else ""
        df = f"{self.df:.3g}" if math.isfinite(self.df) else "—"
        t = f"{self.t:.2f}" if not math.isnan(self.t) else "—"
        p = f"{self.p:.3g}" if math.isfinite(self.p) else "—"
        crit = f"{self.critical:.2f}" if math.isfinite(self.critical) else "—"
        return (f"{what}, alpha {self.alpha:g}, n={self.n}, df={df}: difference"
                f" {self.difference:+.4f}, t={t} (critical {crit}), p={p}{floor}")


class BatchRow(_Record):
    """One row of the batch-size step's table: accuracy against training time."""

    batch_size: int
    seconds_per_epoch: Num
    accuracy: Num
    accuracy_std: Num = math.nan
    epochs: Num = math.nan
    train_seconds: Num = math.nan
    samples_per_second: Num = math.nan
    pareto: bool = False
    within_noise: bool = False


class RangeTestRecord(_Record):
    """A learning-rate range test: the sweep, its stop, and the suggested rate.

    Attributes:
        learning_rates: The rate of every minibatch step, until the stop.
        losses: The smoothed loss at every step.
        raw_losses: The loss at every step (mean over the copies), unsmoothed.
        suggested: The suggested learning rate (``min_loss_lr / 10``).
        min_loss_lr: The rate at the lowest smoothed loss.
        steepest_lr: The rate where the smoothed loss fell fastest (per log-rate).
        stop_reason: Why the sweep ended.
        batch_size: The minibatch size of the sweep.
        seeds: The copies averaged.
        value: The scientific value it was run for.
        plot: The plot's path relative to the run folder.
    """

    learning_rates: list[float] = Field(default_factory=list)
    losses: list[Num] = Field(default_factory=list)
    raw_losses: list[Num] = Field(default_factory=list)
    suggested: float
    min_loss_lr: float
    steepest_lr: float
    stop_reason: str
    batch_size: int = 0
    seeds: int = 1
    value: str = ""
    plot: str | None = None

    def summary(self) -> str:
        """One line: the suggestion, where the loss was lowest, and why it stopped."""
        # A brief record (what a decision keeps) has no curves, so no step count to give.
        steps = f"{len(self.learning_rates)} steps, " if self.learning_rates else ""
        return (f"suggested learning rate {self.suggested:.3g} (lowest loss at"
                f" {self.min_loss_lr:.3g}, steepest fall at {self.steepest_lr:.3g};"
                f" {steps}{self.stop_reason})")

    def brief(self) -> RangeTestRecord:
        """The record without its curves (what a decision keeps)."""
        return self.model_copy(update={"learning_rates": [], "losses": [], "raw_losses": []})


class RangeTests(_Versioned):
    """``range_tests.json`` (every range test of a run, by what it depends on) and a step's
    ``lr_range.json`` (its own)."""

    tests: dict[str, RangeTestRecord] = Field(default_factory=dict)


class TuningCheck(_Record):
    """Did tuning help? The starting and the adopted configuration on the same replicates.

    ``looks``: how many looks the check took (a second look adds as many fresh replicates
    when the first is ahead but undecided; ``comparison`` records the alpha it spent)."""

    start: ValueStats
    adopted: ValueStats
    comparison: Comparison
    helped: bool
    summary: str
    looks: int = 1


class StepDecision(_Record):
    """One finished step of a guide run: what it compared, what it adopted, and why.

    ``values`` are the finalists' selection runs (they choose the challenger);
    ``confirmation`` are the current value, the challenger and the ablation arm (the current
    value with the challenger's nuisance values) on fresh replicate seeds, which decide:
    ``comparison`` is the challenger against the current configuration, ``ablation`` the
    challenger against the ablation arm, ``nuisance_test`` the ablation arm against the
    current configuration, all on those seeds. ``credited`` says what the gain was
    credited to (:class:`~tunelab.runs.Credit`), at the one-sided level ``alpha``;
    ``looks`` is how many looks at the confirmation runs were taken (0: none, the step
    ended at selection), each test recording the share of ``alpha`` spent at its look.
    """

    step: str
    title: str = ""
    kind: str = "compare"
    scientific: list[str] = Field(default_factory=list)
    nuisance: list[str] = Field(default_factory=list)
    metric: str = "val_accuracy"
    direction: Literal["maximize", "minimize"] = "maximize"
    current: str
    candidate: str
    adopted: bool
    reason: str
    comparison: Comparison | None = None
    values: list[ValueStats] = Field(default_factory=list)
    batch_sizes: list[BatchRow] = Field(default_factory=list)
    study: str | None = None
    folder: str | None = None
    width: int | None = None
    trials: dict[str, int] = Field(default_factory=dict)
    compile_seconds: Num = math.nan
    train_seconds: Num = math.nan
    mean_cohort_width: Num = math.nan
    values_compared: int | None = None
    learning_rate_centres: dict[str, float] = Field(default_factory=dict)
    range_tests: list[RangeTestRecord] = Field(default_factory=list)
    folds: int | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    seconds: float = 0.0
    credited: Credit = Credit.NONE
    alpha: Num = math.nan
    selection_replicates: list[int] = Field(default_factory=list)
    confirmation: list[ValueStats] = Field(default_factory=list)
    ablation: Comparison | None = None
    nuisance_test: Comparison | None = None
    looks: int = 0

    def chosen(self) -> ValueStats | None:
        """The statistics of the value the step ended with (adopted or kept): its
        confirmation runs when it has them, else its selection runs."""
        label = self.candidate if self.adopted else self.current
        return next((v for v in [*self.confirmation, *self.values] if v.label == label), None)


class FinalProtocol(_Record):
    """How the final model was trained.

    Attributes:
        refit: Trained on training + validation data (else on training data only, with early
            stopping on validation).
        epochs: Epochs per member (the evidence runs' early-stopping epochs, when refit).
        members: Replicates trained; ``combine`` says how they make ``best.keras``.
        combine: ``ensemble`` (the members' predictions averaged, one Keras model) or
            ``single`` (the first replicate alone).
        seeds: The members' replicate seeds.
        rationale: Why this protocol (the figures it rests on are in docs/guide.md).
    """

    refit: bool
    epochs: int
    members: int
    combine: Literal["ensemble", "single"]
    seeds: list[int]
    rationale: str = ""


class FinalResult(_Versioned):
    """``final.json``: the final model's test evaluation and how it was made.

    ``shipped`` says which configuration ``best.keras`` and ``final.toml`` hold: the adopted
    one when the tuning check (``tuning``, the two on the same fresh replicates) found it
    better than the start, else the start (and ``adopted.toml`` holds the adopted one).
    ``baseline_test`` is the starting configuration's test score by the same protocol (the
    same figures as ``test`` when the start is shipped).
    """

    model: str = "best.keras"
    config: str = "final.toml"
    shipped: Literal["adopted", "start"] = "adopted"
    protocol: FinalProtocol
    test: dict[str, Num] = Field(default_factory=dict)
    members_test: dict[str, list[Num]] = Field(default_factory=dict)
    baseline_test: dict[str, Num] = Field(default_factory=dict)
    tuning: TuningCheck | None = None
    status: str = "done"
    history: dict[str, list[Num]] = Field(default_factory=dict)
    seconds: float = 0.0

    @property
    def test_accuracy(self) -> float | None:
        """Test accuracy of ``best.keras`` (None for a regression task)."""
        value = self.test.get("test_accuracy")
        return None if value is None else float(value)


class Decisions(_Versioned):
    """``decisions.json``: a guide run's steps, the tuning check, and the final scores."""

    dataset: str = ""
    task: str = ""
    metric: str = "val_accuracy"
    direction: Literal["maximize", "minimize"] = "maximize"
    budget: str = ""
    procedure: str = ""
    steps: list[StepDecision] = Field(default_factory=list)
    tuning: TuningCheck | None = None
    test_accuracy: Num = math.nan
    test_loss: Num = math.nan
    baseline_test_accuracy: Num = math.nan
    wall_seconds: Num = math.nan
    session_seconds: Num = math.nan


class GuideSettings(_Versioned):
    """``guide.json``: the settings a guide run started with; a resume must match them."""

    dataset: dict[str, Any]
    budget: str
    seed: int
    steps: list[str]
    procedure: dict[str, Any]
    cohort: int | None = None
    started: str = ""

    def differences(self, other: GuideSettings) -> list[str]:
        """The settings that differ (executor and start time never count)."""
        keys = ("dataset", "budget", "seed", "steps", "procedure")
        return [k for k in keys if json.dumps(getattr(self, k), sort_keys=True)
                != json.dumps(getattr(other, k), sort_keys=True)]


class Timing(_Record):
    """``timing.json``: seconds a step took over every session."""

    seconds: float = 0.0
    sessions: int = 0


class Evidence(_Versioned):
    """``evidence.json``: a step's re-runs (cached, so a resumed step does not redo them)."""

    labels: list[str]
    replicates: list[int]
    values: list[ValueStats]


class RunSummary(_Versioned):
    """``history.json`` of a trained run: status, final metrics, timings, per-epoch history."""

    dataset: str
    status: str
    final: dict[str, Num] = Field(default_factory=dict)
    compile_seconds: float = 0.0
    train_seconds: float = 0.0
    history: dict[str, list[Num]] = Field(default_factory=dict)


R = TypeVar("R", bound=BaseModel)


class LandscapeSplit(_Record):
    """A loss landscape's values on one data split, one per grid point (row-major for 2-D).

    Attributes:
        loss: The loss at every point (as the engine evaluates it: inference mode, L2
            included, as Keras's ``evaluate`` gives it).
        metric: The metric at every point (``LossLandscape.metric``), if there is one.
        samples: Rows of the split the values are over.
    """

    loss: list[Num]
    metric: list[Num] = Field(default_factory=list)
    samples: int = 0


class LossLandscape(_Versioned):
    """``landscape.json``: the loss around a trained model along filter-normalised random
    directions (Li et al., 2018), on training and validation data.

    Attributes:
        model: What was drawn, e.g. ``model.keras`` or ``best.keras (member 1 of 4)``.
        dims: 1 (a curve) or 2 (a surface).
        span: The grid runs from ``-span`` to ``span`` along each direction.
        points: Grid points per direction.
        seed: The seed of the random directions.
        alphas: Coordinates along the first direction.
        betas: Coordinates along the second direction (2-D only).
        splits: Values per split (``train``, ``validation``).
        metric: The metric's name (``accuracy``), if any.
        seconds: Time the evaluation took.
    """

    model: str
    dims: Literal[1, 2]
    span: float
    points: int
    seed: int
    alphas: list[float]
    betas: list[float] = Field(default_factory=list)
    splits: dict[str, LandscapeSplit]
    metric: str | None = None
    seconds: Num = math.nan


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def read_record(path: str | os.PathLike[str], kind: type[R], *, required: bool = False
                ) -> R | None:
    """Read ``path`` as a ``kind`` record; None when the file is missing (unless required).

    Raises:
        RecordError: The file is damaged (not JSON), written by another schema version, or
            has a missing or wrong key; the message names the file and the fix.
    """
    p = Path(path)
    if not p.is_file():
        if required:
            raise RecordError(f"{p}: no such file")
        return None
    fix = "delete it to redo what it recorded, or start a new run with another --out"
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"{p}: damaged, cannot read it ({exc}); {fix}") from None
    if not isinstance(raw, dict):
        raise RecordError(f"{p}: damaged, expected a JSON object, got {type(raw).__name__};"
                          f" {fix}")
    if "version" in kind.model_fields:
        version = raw.get("version")
        if version != SCHEMA_VERSION:
            shown = "no version (an older tunelab)" if version is None else f"version {version}"
            raise RecordError(
                f"{p}: written with record {shown}; this tunelab reads version"
                f" {SCHEMA_VERSION}. Run the command again with a new --out to redo the run"
                " with this version, or open this folder with the tunelab that wrote it")
    try:
        return kind.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise RecordError(f"{p}: not a valid {kind.__name__} record ({problems}); {fix}"
                          ) from None


def write_record(path: str | os.PathLike[str], record: BaseModel) -> Path:
    """Write a record as JSON, atomically (NaN as null)."""
    return write_json(path, record.model_dump(mode="python"))
