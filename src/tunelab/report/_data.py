"""What a report shows, as plain data: the page is built from a :class:`ReportData` alone.

A run folder (``tunelab train``, ``tune``, ``guide`` or ``landscape race``) is read into these
dataclasses by :func:`tunelab.report.read_run`; anything else (a notebook, a script) can fill them
by hand and call :func:`tunelab.report.render_report`. A guide run's parts are the records the
guide itself writes (:mod:`tunelab.runs`: ``StepDecision``, ``TuningCheck``, ``FinalResult``),
held as they are: the report never describes their format a second time.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tunelab.runs import FinalResult, LossLandscape, StepDecision, TuningCheck

if TYPE_CHECKING:
    import optuna

__all__ = [
    "Finding",
    "GuideStep",
    "Image",
    "LandscapeRace",
    "ReportData",
    "Severity",
    "StudySection",
    "Summary",
    "TrainingCurves",
    "library_versions",
]

Severity = Literal["info", "warning", "problem"]

_LIBRARIES = (
    "tunelab", "jax", "keras", "optax", "optuna", "numpy", "scikit-learn", "matplotlib", "plotly",
)


def library_versions() -> dict[str, str]:
    """The Python version and the installed versions of tunelab and the libraries it runs on.

    Example:
        >>> "python" in library_versions()
        True
    """
    versions = {"python": sys.version.split()[0]}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class Finding:
    """One diagnosis: what was seen, how sure, what to do, and the numbers behind it.

    Attributes:
        code: A stable identifier, e.g. ``"overfitting"`` or ``"range-edge"``.
        severity: ``"info"`` (worth knowing), ``"warning"`` (act on it before trusting the
            result) or ``"problem"`` (the result is likely wrong).
        message: The diagnosis and its remedy in plain words.
        evidence: The numbers the rule looked at, by name.
        subject: What it is about, e.g. ``"trial 12"`` or ``"study topology"``.

    Example:
        >>> Finding("train-longer", "info", "Still improving.", {"epochs": 10}).code
        'train-longer'
    """

    code: str
    severity: Severity
    message: str
    evidence: dict[str, float | int | str] = field(default_factory=dict)
    subject: str = ""


@dataclass
class TrainingCurves:
    """The per-epoch history of one training run, as Keras' ``History.history`` holds it.

    Attributes:
        label: How the page names the run, e.g. ``"trial 7"``.
        history: Lists by key: ``loss``, ``val_loss``, the metric (``accuracy`` or another name)
            and ``val_<metric>``, ``lr``, ``epoch``, ``seconds``; any may be missing, and a
            diverged epoch may hold ``NaN`` or ``None``.
        value: The run's objective value, if it has one.
        params: The hyperparameters that distinguish this run.

    Example:
        >>> TrainingCurves("run", {"loss": [1.0, 0.5]}).epochs
        2
    """

    label: str
    history: dict[str, list[float]]
    value: float | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """The number of epochs recorded (the longest list in the history)."""
        return max((len(v) for v in self.history.values()), default=0)

    @property
    def metric(self) -> str | None:
        """The name of the training metric besides the loss, e.g. ``"accuracy"``, if any.

        A metric is a key that is not the loss, the learning rate, the epoch or a time; one with
        a ``val_`` twin is preferred.
        """
        def measured(key: str) -> bool:
            return (key not in ("loss", "lr", "learning_rate", "epoch")
                    and "seconds" not in key)

        train = [k for k in self.history if not k.startswith("val_") and measured(k)]
        for key in train:
            if f"val_{key}" in self.history:
                return key
        for key in self.history:
            if key.startswith("val_") and measured(key[4:]):
                return key[4:]
        return train[0] if train else None


@dataclass
class StudySection:
    """One Optuna study shown in the report (a ``tune`` run has one, a ``guide`` run one per step).

    Attributes:
        name: The study's name on the page (the step name for a guide).
        study: The study itself; figures and study diagnoses are drawn from its trials.
        metric_names: Names of the objectives, e.g. ``["val_accuracy"]``; defaults to the
            study's own ``metric_names`` or "objective".
    """

    name: str
    study: optuna.Study
    metric_names: list[str] | None = None

    def objective_names(self) -> list[str]:
        """The objectives' names, one per direction."""
        if self.metric_names:
            return list(self.metric_names)
        names = getattr(self.study, "metric_names", None)
        if names:
            return list(names)
        n = len(self.study.directions)
        return ["objective"] if n == 1 else [f"objective {i}" for i in range(n)]


@dataclass
class GuideStep:
    """One step of a guide run on the page: the guide's own record of it, and its pictures.

    The record is the :class:`tunelab.runs.StepDecision` the guide wrote into
    ``decisions.json``: each value compared (:class:`tunelab.runs.ValueStats`: its scores over
    replicates, mean ± std and n), the test that decided (``comparison``, None for a step with
    nothing to compare), whether the candidate was adopted and why, and the batch-size table.

    Attributes:
        decision: The step's record.
        images: Pictures shown with the step, such as its learning-rate range test.

    Example:
        >>> from tunelab.runs import StepDecision, ValueStats
        >>> step = GuideStep(StepDecision(
        ...     step="topology", current="units [64]", candidate="units [64]", adopted=False,
        ...     reason="kept units [64]: nothing else was tried",
        ...     values=[ValueStats(label="units [64]", scores=[0.97, 0.96, 0.98])]))
        >>> step.name, step.decision.values[0].text()
        ('topology', '0.9700 ± 0.0100 (n=3)')
    """

    decision: StepDecision
    images: list[Image] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The step's name, e.g. ``"topology"``."""
        return self.decision.step

    def details(self) -> dict[str, Any]:
        """The step's trials, times, cohort width and range tests, by label, as the page lists them.

        Example:
            >>> from tunelab.runs import StepDecision
            >>> GuideStep(StepDecision(step="s", current="a", candidate="a", adopted=False,
            ...                        reason="kept", trials={"complete": 4, "pruned": 0},
            ...                        seconds=12.345)).details()
            {'trials': '4 complete', 'step time (s)': 12.35}
        """
        d = self.decision
        details: dict[str, Any] = {}
        if any(d.trials.values()):
            details["trials"] = ", ".join(f"{n} {state}" for state, n in d.trials.items() if n)
        for label, value in (("step time (s)", d.seconds), ("compile time (s)", d.compile_seconds),
                             ("training time (s)", d.train_seconds),
                             ("mean cohort width", d.mean_cohort_width)):
            if math.isfinite(value) and value:
                details[label] = round(float(value), 2)
        if d.values_compared is not None:
            details["values compared"] = d.values_compared
        if d.folds is not None:
            details["folds"] = d.folds
        for i, test in enumerate(d.range_tests):
            # Not test.summary(): a decision keeps its range tests without their curves, so
            # the step count there would read 0.
            name = "range test" if len(d.range_tests) == 1 else f"range test {i + 1}"
            details[name] = ((f"{test.value}: " if test.value else "")
                             + f"suggested learning rate {test.suggested:.3g} (lowest loss at"
                             f" {test.min_loss_lr:.3g}; {test.stop_reason})")
        return details


@dataclass
class Image:
    """A static picture shown in the report.

    Attributes:
        name: The file stem under ``figures/`` (``<name>.png``).
        title: Its caption.
        png: The PNG bytes.
        source: Where the picture already lives as a file (a race's plots); it is then
            referenced there instead of being copied under ``figures/``.
    """

    name: str
    title: str
    png: bytes
    source: Path | None = None


@dataclass
class LandscapeRace:
    """A ``tunelab landscape race``: its results tables and its pictures (ECDF, contours).

    Attributes:
        name: The race's name on the page, e.g. the functions raced.
        columns: The main table's column names (one row per optimizer).
        rows: The main table's rows, one value per column.
        images: The race's pictures, in the order shown.
        detail_columns: The full table's column names (one row per function and optimizer).
        detail_rows: The full table's rows, shown folded.
    """

    name: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    detail_columns: list[str] = field(default_factory=list)
    detail_rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Summary:
    """The report's first section.

    Attributes:
        kind: What produced the run: ``"train"``, ``"tune"``, ``"guide"`` or ``"landscape race"``.
        dataset: The dataset's name.
        task: ``"classification"`` or ``"regression"``.
        base_config: The run's starting configuration, as TOML text.
        objective: What was optimised, e.g. ``"maximize val_accuracy"``.
        best_value: The best objective value (first objective for multi-objective studies).
        best_params: The best trial's hyperparameters.
        best_config: The best configuration as TOML text (runnable by ``tunelab train``).
        trial_states: Trials by state: ``complete``, ``pruned``, ``failed``, ``diverged``,
            ``retried``, ``running`` (filled from the studies when left empty).
        wall_seconds: Wall time of the run (filled from the studies when left ``None``).
        versions: tunelab's and the libraries' versions (filled at construction).
        test_accuracy: The final model's accuracy on the test split, if measured (filled from
            ``ReportData.final`` when left ``None``).
        details: Further facts shown in the summary table, by label (e.g. compile time).
    """

    kind: str
    dataset: str | None = None
    task: str | None = None
    base_config: str | None = None
    objective: str | None = None
    best_value: float | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    best_config: str | None = None
    trial_states: dict[str, int] = field(default_factory=dict)
    wall_seconds: float | None = None
    versions: dict[str, str] = field(default_factory=library_versions)
    test_accuracy: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReportData:
    """Everything one report shows; sections whose data is empty are left out of the page.

    Attributes:
        title: The page title.
        summary: The summary section.
        curves: Training curves to draw, best first (each is also diagnosed).
        studies: Optuna studies to draw (each is also diagnosed).
        guide: A guide run's steps, in order.
        tuning: A guide run's check of whether tuning helped: the starting and the adopted
            configuration on the same replicates (the "Did tuning help?" section).
        final: A guide run's final model: how it was trained and its test scores, with the
            starting configuration's by the same protocol (the "Final model" section); its
            test accuracy fills ``summary.test_accuracy`` when that is left ``None``.
        races: Landscape races.
        findings: Diagnoses made elsewhere, shown with those the report makes itself.
        landscape: The loss landscape of the run's final model (``landscape.json``: the
            1-D slice a ``train`` or ``guide`` run writes), drawn with its numbers.

    Example:
        >>> data = ReportData("digits", Summary(kind="train", dataset="digits"))
        >>> data.summary.kind, data.tuning is None
        ('train', True)
    """

    title: str
    summary: Summary
    curves: list[TrainingCurves] = field(default_factory=list)
    studies: list[StudySection] = field(default_factory=list)
    guide: list[GuideStep] = field(default_factory=list)
    tuning: TuningCheck | None = None
    final: FinalResult | None = None
    races: list[LandscapeRace] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    landscape: LossLandscape | None = None
