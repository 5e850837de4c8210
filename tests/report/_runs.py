"""Run folders as the commands write them, built without training (tiny Optuna studies)."""

from __future__ import annotations

import csv
import json
import math
import warnings
from pathlib import Path

import optuna

from tunelab._files import write_bytes, write_json, write_text
from tunelab.config import RunConfig, TuneConfig, dump_config, parse_config
from tunelab.report import batch_size_png
from tunelab.runs import (
    BatchRow,
    Comparison,
    Decisions,
    FinalProtocol,
    FinalResult,
    RangeTestRecord,
    RunLayout,
    RunSummary,
    StepDecision,
    TestKind,
    TuningCheck,
    ValueStats,
    write_record,
)
from tunelab.study._rundir import RunDir

from .conftest import history

SPACE = {
    "optimizer.learning_rate": {"low": 1e-4, "high": 1.0, "log": True},
    "model.dropout": {"low": 0.0, "high": 0.5},
    "training.batch_size": [16, 32, 64],
}


def _objective(trial: optuna.Trial) -> float:
    lr = trial.suggest_float("optimizer.learning_rate", 1e-4, 1.0, log=True)
    dropout = trial.suggest_float("model.dropout", 0.0, 0.5)
    batch = trial.suggest_categorical("training.batch_size", [16, 32, 64])
    base = 0.7 + 0.25 * math.exp(-((math.log10(lr) + 1.3) ** 2)) - 0.1 * dropout - batch / 2e4
    for epoch in range(6):
        trial.report(base * (1 - 0.4 * math.exp(-epoch)), epoch)
        if trial.should_prune():
            raise optuna.TrialPruned
    return base


def _curve(value: float, epochs: int) -> dict[str, list[float]]:
    loss = [1.6 * math.exp(-0.5 * i) + (1 - value) for i in range(epochs)]
    return history(loss, [v + 0.05 for v in loss])


def fill_study(run: RunDir, name: str, n_trials: int, diverged: int = 2,
               seed: int = 0) -> optuna.Study:
    """A study in ``run``'s study.db with its trials' files, as ``tunelab tune`` leaves them."""
    study = optuna.create_study(
        storage=run.default_storage(), study_name=name, direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=2),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_accuracy"])
    study.optimize(_objective, n_trials=n_trials)
    dists = study.trials[0].distributions
    for i in range(diverged):
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL,
            params={"optimizer.learning_rate": 0.5 + 0.1 * i, "model.dropout": 0.1,
                    "training.batch_size": 32},
            distributions=dists,
            user_attrs={"reason": "diverged: the loss became nan or inf at epoch 2"},
        ))
    for trial in study.get_trials(deepcopy=False):
        epochs = 6 if trial.state == optuna.trial.TrialState.COMPLETE else 3
        value = trial.value if trial.value is not None else 0.5
        cfg = RunConfig.model_validate({
            "optimizer": {"learning_rate": trial.params["optimizer.learning_rate"]},
            "training": {"batch_size": trial.params["training.batch_size"], "epochs": epochs},
        })
        run.write_trial(trial.number, cfg, _curve(value, epochs))
    return study


def tune_run(folder: Path, n_trials: int = 16) -> tuple[Path, optuna.Study]:
    """A ``tunelab tune`` run folder: tune.toml, study.db, trials/, stats.json, best.*."""
    run = RunDir(folder).make()
    cfg = parse_config({"data": {"name": "digits", "task": "multiclass"}, "search": SPACE,
                        "study": {"name": "tunelab", "trials": n_trials}}, model=TuneConfig)
    run.write_tune(cfg)
    study = fill_study(run, "tunelab", n_trials)
    for session in range(2):
        run.append_stats({"compile_seconds": 1.5 + session, "train_seconds": 10.0,
                          "wall_seconds": 12.5, "cohort_epochs": 40, "slot_epochs": 280,
                          "width": 8})
    write_bytes(run.best_model, b"not a real model")
    write_json(run.best_json, {"trial": study.best_trial.number, "value": study.best_value,
                               "metric": "val_accuracy"})
    return folder, study


def train_run(folder: Path) -> Path:
    """A ``tunelab train`` run folder: config.toml, and history.json as a run's record."""
    run = RunLayout(folder)
    write_text(run.config_toml, dump_config(RunConfig()))
    curve = _curve(0.95, 8)
    final = {k: v[-1] for k, v in curve.items() if k not in ("epoch", "seconds")}
    write_record(run.history_json, RunSummary(
        dataset="digits", status="completed",
        final={**final, "test_loss": 0.12, "test_accuracy": 0.9611},
        compile_seconds=1.25, train_seconds=2.5, history=curve))
    return folder


def _stats(label: str, scores: list[float], **extra: object) -> ValueStats:
    return ValueStats.model_validate({"label": label, "scores": scores,
                                      "replicates": list(range(1, len(scores) + 1)), **extra})


TOPOLOGY = StepDecision(
    step="topology", title="Topology: hidden layers and dropout", kind="compare",
    study="topology", folder="1-topology",
    scientific=["model.units", "model.dropout"], nuisance=["optimizer.learning_rate"],
    values=[_stats("[64, 64], 0.1", [0.964, 0.968, 0.972]),
            _stats("[128, 128], 0.1", [0.974, 0.977, 0.980])],
    current="[64, 64], 0.1", candidate="[128, 128], 0.1", adopted=True,
    reason="[128, 128], 0.1 beats [64, 64], 0.1 by 0.0090 (threshold 0.0028)",
    comparison=Comparison(test=TestKind.PAIRED, current="[64, 64], 0.1",
                          candidate="[128, 128], 0.1", n=3, n_current=3, n_candidate=3,
                          difference=0.009, se=0.0006, threshold=0.0028, resolution=0.0028,
                          df=2, t=15.0, p=0.00221, critical=2.92, better=True),
    credited="scientific", alpha=0.05,
    confirmation=[_stats("[64, 64], 0.1", [0.965, 0.969, 0.971]),
                  _stats("[128, 128], 0.1", [0.975, 0.978, 0.979]),
                  _stats("[64, 64], 0.1 · nuisance of [128, 128], 0.1", [0.966, 0.968, 0.970])],
    ablation=Comparison(test=TestKind.PAIRED, current="[64, 64], 0.1 · nuisance of [128, 128],"
                        " 0.1", candidate="[128, 128], 0.1", n=3, n_current=3, n_candidate=3,
                        difference=0.0093, se=0.0007, threshold=0.0028, resolution=0.0028,
                        df=2, t=13.3, p=0.0028, critical=2.92, better=True),
    trials={"complete": 7, "pruned": 3, "diverged": 1}, seconds=40.5, compile_seconds=3.2,
    train_seconds=30.1, mean_cohort_width=7.5,
    range_tests=[RangeTestRecord(suggested=0.05, min_loss_lr=0.5, steepest_lr=0.1,
                                 stop_reason="loss exceeded 4x its best")],
)

BATCH = StepDecision(
    step="batch size", study="batch size", folder="2-batch_size",
    scientific=["training.batch_size"],
    values=[_stats("16", [0.972, 0.976, 0.980]), _stats("64", [0.971, 0.974, 0.977]),
            _stats("256", [math.nan])],
    current="16", candidate="64", adopted=True,
    reason="64 is within noise of 16 and 3x faster",
    comparison=Comparison(test=TestKind.WELCH, current="16", candidate="64", n=3, n_current=3,
                          n_candidate=3, difference=-0.002, se=0.0029, threshold=0.0058,
                          df=3.7, t=-0.69, better=False),
    batch_sizes=[BatchRow(batch_size=16, seconds_per_epoch=0.9, accuracy=0.976,
                          accuracy_std=0.004, epochs=20, train_seconds=18.0, pareto=True,
                          within_noise=True),
                 BatchRow(batch_size=64, seconds_per_epoch=0.3, accuracy=0.974,
                          accuracy_std=0.003, epochs=22, train_seconds=6.6, pareto=True,
                          within_noise=True),
                 BatchRow(batch_size=256, seconds_per_epoch=math.nan, accuracy=math.nan)],
)

CROSS_VALIDATION = StepDecision(
    step="cross-validation", kind="cross_validation",
    values=[_stats("final", [0.970, 0.972, 0.975, 0.978, 0.980])],
    current="final", candidate="final", adopted=False,
    reason="5-fold cross-validation of final: nothing to adopt",
)

TUNING = TuningCheck(
    start=_stats("start", [0.955, 0.960, 0.965]),
    adopted=_stats("adopted", [0.975, 0.977, 0.979]),
    comparison=Comparison(test=TestKind.PAIRED, current="start", candidate="adopted", n=3,
                          n_current=3, n_candidate=3, difference=0.017, se=0.0015,
                          threshold=0.003, df=2, t=11.3, better=True),
    helped=True,
    summary="Tuning helped: the adopted configuration beats the start by 0.0170 on the same"
            " 3 replicates (threshold 0.0030).",
)

DECISIONS = Decisions(
    dataset="digits", task="multiclass", metric="val_accuracy", direction="maximize",
    budget="quick", procedure="tutorial", steps=[TOPOLOGY, BATCH, CROSS_VALIDATION],
    tuning=TUNING, test_accuracy=0.9722, test_loss=0.1, wall_seconds=181.0,
)

FINAL = FinalResult(
    protocol=FinalProtocol(refit=True, epochs=20, members=3, combine="ensemble",
                           seeds=[0, 1, 2], rationale="an ensemble of refit members"),
    test={"test_accuracy": 0.9733, "test_loss": 0.09},
    members_test={"test_accuracy": [0.970, 0.968, 0.971]},
    baseline_test={"test_accuracy": 0.9611, "test_loss": 0.15},
)


def guide_run(folder: Path) -> Path:
    """A ``tunelab guide`` run folder: decisions.json and final.json as the guide writes them,
    final.toml, a folder per step with its Optuna study and trials, and a learning-rate range
    test picture."""
    run = RunLayout(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fill_study(RunDir(folder / "1-topology").make(), "topology", 10, diverged=1, seed=1)
    fill_study(RunDir(folder / "2-batch_size").make(), "batch size", 8, diverged=0, seed=2)
    write_bytes(folder / "1-topology" / "lr_range.png", batch_size_png(
        [BatchRow(batch_size=1, seconds_per_epoch=1.0, accuracy=0.5),
         BatchRow(batch_size=2, seconds_per_epoch=0.5, accuracy=0.4)]))
    write_record(run.decisions_json, DECISIONS)
    write_record(run.final_json, FINAL)
    write_text(run.procedure_toml, 'name = "tutorial"\n')
    write_text(run.final_toml, dump_config(RunConfig()))
    return folder


def race_run(folder: Path) -> Path:
    """A ``tunelab landscape race --out DIR`` folder, as ``RaceResult.save`` writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    table = [
        {"function": "beale", "dim": 2, "optimizer": "adam", "success_1e-8": 1.0,
         "art_1e-8": 120.0, "precision_median": 3.1e-9},
        {"function": "beale", "dim": 2, "optimizer": "sgd", "success_1e-8": 0.5,
         "art_1e-8": float("inf"), "precision_median": 2.0e-3},
    ]
    summary = [{"optimizer": "adam", "success_1e-8": 1.0, "evaluations": 120},
               {"optimizer": "sgd", "success_1e-8": 0.5, "evaluations": 900}]
    (folder / "race.json").write_text(json.dumps({
        "settings": {"suite": "catalog", "functions": ["beale"], "optimizers": ["adam", "sgd"],
                     "starts": 4, "budget": 200, "seed": 0},
        "timing": {"total_s": 3.5}, "table": table, "summary": summary, "runs": [],
    }))
    with (folder / "race.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    png = batch_size_png([BatchRow(batch_size=1, seconds_per_epoch=1.0, accuracy=0.5),
                          BatchRow(batch_size=2, seconds_per_epoch=0.5, accuracy=0.4)])
    write_bytes(folder / "ecdf.png", png)
    write_bytes(folder / "contour-beale-d2.png", png)
    return folder
