"""Report fixtures: histories written by hand and tiny in-memory Optuna studies."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import optuna
import pytest

from tunelab.report import (
    GuideStep,
    Image,
    LandscapeRace,
    ReportData,
    StudySection,
    Summary,
    TrainingCurves,
    batch_size_png,
)
from tunelab.runs import (
    BatchRow,
    Comparison,
    FinalProtocol,
    FinalResult,
    StepDecision,
    TestKind,
    TuningCheck,
    ValueStats,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def history(loss: list[float], val_loss: list[float] | None = None,
            lr: float = 0.01) -> dict[str, list[float]]:
    """A Keras-style history with accuracy curves that mirror the losses."""
    n = len(loss)
    h: dict[str, list[float]] = {
        "epoch": [float(i) for i in range(n)],
        "loss": loss,
        "accuracy": [1.0 - min(v, 1.0) / 2 if math.isfinite(v) else math.nan for v in loss],
        "lr": [lr * 0.95**i for i in range(n)],
        "seconds": [0.2] * n,
    }
    if val_loss is not None:
        h["val_loss"] = val_loss
        h["val_accuracy"] = [1.0 - min(v, 1.0) / 2 for v in val_loss]
    return h


def _decay(n: int, start: float, floor: float, rate: float) -> list[float]:
    return [floor + (start - floor) * math.exp(-rate * i) for i in range(n)]


def healthy_history() -> dict[str, list[float]]:
    """Converged: both losses level off, validation a little above training, no rise."""
    rng = np.random.default_rng(0)
    loss = _decay(20, 1.5, 0.10, 0.35)
    val = [v + 0.05 + float(rng.normal(0, 0.002)) for v in _decay(20, 1.5, 0.12, 0.35)]
    return history(loss, val)


def overfit_history() -> dict[str, list[float]]:
    loss = _decay(20, 1.5, 0.02, 0.3)
    val = [1.5, 1.0, 0.7, 0.55, 0.48, 0.45, 0.46, 0.48, 0.51, 0.54, 0.57, 0.60, 0.63, 0.66,
           0.69, 0.72, 0.75, 0.78, 0.81, 0.84]
    return history(loss, val)


def improving_history() -> dict[str, list[float]]:
    """Stopped too early: validation loss still falling steadily at the last epoch."""
    return history(_decay(10, 1.5, 0.05, 0.15), _decay(10, 1.6, 0.08, 0.15))


def noisy_history() -> dict[str, list[float]]:
    loss = _decay(20, 1.5, 0.3, 0.3)
    val = [v * (1.25 if i % 2 else 0.8) if i >= 8 else v
           for i, v in enumerate(_decay(20, 1.6, 0.4, 0.3))]
    return history(loss, val)


def rising_history() -> dict[str, list[float]]:
    loss = [2.3, 1.9, 1.7, 1.8, 2.0, 2.3, 2.6, 3.0]
    return history(loss, [v + 0.1 for v in loss], lr=3.0)


def diverged_history() -> dict[str, list[float]]:
    return history([2.3, 5.0, 80.0, math.nan, math.nan], [2.4, 7.0, 200.0, math.nan, math.nan],
                   lr=8.0)


CURVES = {
    "healthy": healthy_history, "overfit": overfit_history, "improving": improving_history,
    "noisy": noisy_history, "rising": rising_history, "diverged": diverged_history,
}


@pytest.fixture
def healthy() -> dict[str, list[float]]:
    return healthy_history()


@pytest.fixture
def overfit() -> dict[str, list[float]]:
    return overfit_history()


@pytest.fixture
def improving() -> dict[str, list[float]]:
    return improving_history()


@pytest.fixture
def noisy() -> dict[str, list[float]]:
    return noisy_history()


@pytest.fixture
def rising() -> dict[str, list[float]]:
    return rising_history()


@pytest.fixture
def diverged() -> dict[str, list[float]]:
    return diverged_history()


@pytest.fixture(scope="session")
def tune_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, optuna.Study]:
    """One ``tunelab tune`` run folder shared by the tests that only read it."""
    from ._runs import tune_run

    return tune_run(tmp_path_factory.mktemp("runs") / "tune")


@pytest.fixture(scope="session")
def guide_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``tunelab guide`` run folder shared by the tests that only read it."""
    from ._runs import guide_run

    return guide_run(tmp_path_factory.mktemp("runs") / "guide")


def _objective(trial: optuna.Trial) -> float:
    lr = trial.suggest_float("learning_rate", 1e-4, 1.0, log=True)
    units = trial.suggest_int("units", 16, 128, step=16)
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    optimizer = trial.suggest_categorical("optimizer", ["SGD", "Adam"])
    # Best near lr = 0.05, many units, little dropout: units' optimum sits at its upper edge.
    base = 0.6 + 0.3 * math.exp(-((math.log10(lr) + 1.3) ** 2)) + 0.0005 * units - 0.1 * dropout
    base += 0.01 if optimizer == "Adam" else 0.0
    for epoch in range(5):
        value = base * (1 - 0.5 * math.exp(-epoch))
        trial.report(value, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned
    return base


def make_study(n_trials: int = 30, *, diverge: int = 3, fail: int = 1,
               seed: int = 0) -> optuna.Study:
    """A single-objective study (maximise) with pruned, diverged and failed trials."""
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
    )
    study.optimize(_objective, n_trials=n_trials, catch=())
    distributions = study.trials[0].distributions
    for i in range(diverge):
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL,
            params={"learning_rate": 0.6 + 0.05 * i, "units": 64, "dropout": 0.1,
                    "optimizer": "SGD"},
            distributions=distributions, user_attrs={"reason": "diverged"},
        ))
    for _ in range(fail):
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL,
            params={"learning_rate": 0.01, "units": 128, "dropout": 0.0, "optimizer": "Adam"},
            distributions=distributions, user_attrs={"reason": "out of memory"},
        ))
    return study


def make_multi_study(n_trials: int = 16) -> optuna.Study:
    """Accuracy against seconds per epoch over batch size and learning rate."""
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        batch = trial.suggest_categorical("batch_size", [16, 32, 64, 128, 256])
        lr = trial.suggest_float("learning_rate", 1e-3, 0.3, log=True)
        accuracy = 0.97 - 0.0001 * batch - 0.02 * abs(math.log10(lr) + 1.5)
        return accuracy, 4.0 / batch ** 0.7

    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(objective, n_trials=n_trials)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_accuracy", "seconds_per_epoch"])
    return study


def full_report(curves: dict[str, dict[str, list[float]]]) -> ReportData:
    """A report with every section: summary, curves, two studies, a guide, a race."""
    single = make_study()
    multi = make_multi_study()
    rows = [BatchRow(batch_size=b, seconds_per_epoch=t, accuracy=a, accuracy_std=sd)
            for b, t, a, sd in ((16, 1.10, 0.975, 0.003), (32, 0.62, 0.974, 0.004),
                                (64, 0.35, 0.970, 0.004), (128, 0.25, 0.958, 0.006))]
    guide = [
        GuideStep(StepDecision(
            step="topology", scientific=["units", "dropout"], study="topology",
            values=[ValueStats(label="64-64, 0.1", scores=[0.964, 0.968, 0.972]),
                    ValueStats(label="128-128, 0.1", scores=[0.972, 0.975, 0.978]),
                    ValueStats(label="32, 0.0", scores=[0.945, 0.951, 0.957])],
            # Two looks of 8 replicates: 16 fresh replicates per arm (wide tables).
            confirmation=[ValueStats(label="64-64, 0.1",
                                     scores=[0.965, 0.969, 0.971, 0.967] * 4),
                          ValueStats(label="128-128, 0.1",
                                     scores=[0.975, 0.978, 0.979, 0.977] * 4)],
            current="64-64, 0.1", candidate="128-128, 0.1", adopted=True,
            reason="128-128, 0.1 beats 64-64, 0.1 by 0.007, more than twice the noise "
                   "(0.0035).",
            comparison=Comparison(test=TestKind.PAIRED, current="64-64, 0.1",
                                  candidate="128-128, 0.1", n=3, n_current=3, n_candidate=3,
                                  difference=0.007, se=0.00175, threshold=0.0035,
                                  better=True))),
        GuideStep(StepDecision(
            step="batch size", scientific=["batch_size"],
            values=[ValueStats(label=str(r.batch_size),
                               scores=[r.accuracy - r.accuracy_std, r.accuracy,
                                       r.accuracy + r.accuracy_std]) for r in rows],
            current="32", candidate="16", adopted=False,
            reason="16 is within noise of 32 and slower; kept 32.", batch_sizes=rows)),
    ]
    race = LandscapeRace(
        "beale", ["optimizer", "final value", "steps"],
        [["SGD", 0.012, 500], ["Adam", 1.2e-6, 500]],
        [Image("race-beale-ecdf", "ECDF of the race", batch_size_png(rows))],
    )
    return ReportData(
        title="digits — test report",
        summary=Summary(kind="tune", dataset="digits", task="classification",
                        base_config='[model]\nunits = [64, 64]\n',
                        objective="maximize val_accuracy",
                        best_value=single.best_value, best_params=single.best_params,
                        best_config="[optimizer]\nlearning_rate = 0.05\n"),
        curves=[TrainingCurves(f"trial {i}", h, value=0.9, params={"learning_rate": 0.05})
                for i, h in enumerate(curves.values())],
        studies=[StudySection("main", single), StudySection("batch size", multi)],
        guide=guide,
        tuning=TuningCheck(
            start=ValueStats(label="start", scores=[0.950, 0.955, 0.960]),
            adopted=ValueStats(label="adopted", scores=[0.971, 0.975, 0.979]),
            comparison=Comparison(test=TestKind.PAIRED, current="start", candidate="adopted",
                                  n=3, n_current=3, n_candidate=3, difference=0.02, se=0.001,
                                  threshold=0.002, better=True),
            helped=True, summary="Tuning helped: +0.0200 over the start (threshold 0.0020)."),
        final=FinalResult(
            protocol=FinalProtocol(refit=False, epochs=30, members=1, combine="single",
                                   seeds=[0]),
            test={"test_accuracy": 0.9705}, baseline_test={"test_accuracy": 0.9555}),
        races=[race],
    )


@pytest.fixture(scope="session")
def full_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportData, Path]:
    """The full report (three curves, two studies, a guide, a race, a caller's finding),
    rendered once and shared by the tests that only read it."""
    from tunelab.report import Finding, render_report

    data = full_report({"a": overfit_history(), "b": rising_history(),
                        "c": improving_history()})
    data.findings.append(Finding("custom", "info", "A note from the caller.", {"n": 3}))
    page = render_report(data, tmp_path_factory.mktemp("full") / "report.html")
    return data, page
