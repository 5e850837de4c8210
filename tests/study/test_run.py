"""``tune`` on the real engine and the bundled digits data, with small budgets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest
from optuna.trial import TrialState

import tunelab
from tunelab.config import RunConfig, load_config
from tunelab.data import load_dataset
from tunelab.errors import ConfigError, SpaceError
from tunelab.study import PARTS_ATTR, Float, Space, StudyResult, open_run, tune

BASE = {
    "seed": 0,
    "model": {"units": [16], "dropout": 0.0},
    "optimizer": {"name": "SGD", "learning_rate": 0.1},
    "training": {"epochs": 2, "batch_size": 128},
}


def _tune(tmp_path: Path, search: dict, study: dict, **kwargs: object) -> StudyResult:
    return tune({**BASE, "search": search, "study": study}, run_dir=tmp_path / "run",
                progress=False, **kwargs)  # type: ignore[arg-type]


def test_conditional_search_saves_the_best_model_as_evaluated(tmp_path: Path) -> None:
    told: list[tuple[int, TrialState, bool]] = []
    result = _tune(tmp_path, {
        "optimizer.name": ["SGD", "Adam"],
        "optimizer.learning_rate": {"low": 1e-3, "high": 0.3, "log": True},
        "optimizer.momentum": {"low": 0.0, "high": 0.9, "when": {"optimizer.name": "SGD"}},
    }, {"trials": 6, "cohort": 3, "sampler": "random", "pruner": "none"},
        callbacks=[lambda study, t: told.append(
            (t.number, t.state, (tmp_path / "run" / "trials" / str(t.number)
                                 / "history.json").exists()))])
    trials = result.study.trials
    # tune(callbacks=): each trial once, told, its files written.
    assert sorted(told) == [(t.number, TrialState.COMPLETE, True) for t in trials]
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    for t in trials:
        assert ("optimizer.momentum" in t.params) == (t.params["optimizer.name"] == "SGD")
    assert {t.params["optimizer.name"] for t in trials} == {"SGD", "Adam"}
    best = result.best_trial
    assert best is not None and result.best_value == best.values[0]
    cfg = result.best_config
    assert isinstance(cfg, RunConfig) and cfg.optimizer.name == best.params["optimizer.name"]
    assert load_config(result.run_dir / "trials" / str(best.number) / "config.toml") == cfg

    model = keras.saving.load_model(result.run_dir / "best.keras", safe_mode=True)
    data = load_dataset(cfg.data, seed=cfg.seed)
    predicted = np.argmax(model.predict(data.x_val, verbose=0), axis=1)
    assert float(np.mean(predicted == data.y_val)) == pytest.approx(best.values[0], abs=1e-6)

    stats = result.stats
    assert stats is not None and stats.compile_seconds > 0 and stats.train_seconds > 0
    assert stats.cohorts == 2 and 1.0 <= stats.mean_cohort_width <= 3.0
    assert result.trials_by_state() == {"complete": 6}


def test_diverging_trials_fail_with_the_reason_and_are_never_best(tmp_path: Path) -> None:
    # Regression (no clipped cross-entropy): large learning rates overflow to inf and nan.
    result = _tune(tmp_path, {"optimizer.learning_rate": [1e-4, 1e-3, 1.0, 10.0]},
                   {"trials": 4, "cohort": 4, "sampler": "grid", "pruner": "none"},
                   dataset="diabetes")
    assert result.objective.metrics == ["val_loss"]
    failed = [t for t in result.study.trials if t.state == TrialState.FAIL]
    complete = [t for t in result.study.trials if t.state == TrialState.COMPLETE]
    assert failed and complete
    for t in failed:
        assert t.user_attrs["reason"].startswith("diverged")
        assert t.params["optimizer.learning_rate"] >= 1.0
    best = result.best_trial
    assert best is not None and best.state == TrialState.COMPLETE
    assert math.isfinite(best.values[0])
    assert result.trials_by_state()["diverged"] == len(failed)
    assert len(failed) == 2 and len(complete) == 2
    with pytest.raises(ConfigError, match="'val_accuracy' is not recorded for this task"):
        tune({**BASE, "search": {"model.dropout": Float(0.0, 0.2)},
              "study": {"trials": 2, "objective": "val_accuracy"}}, dataset="diabetes",
             run_dir=tmp_path / "other", progress=False)
    assert (result.run_dir / "trials" / str(failed[0].number) / "history.json").exists()


def test_accuracy_against_time_gives_a_pareto_front(tmp_path: Path) -> None:
    result = _tune(tmp_path, {"training.batch_size": [16, 256],
                              "optimizer.learning_rate": {"low": 0.05, "high": 0.5, "log": True}},
                   {"trials": 6, "cohort": 3, "sampler": "nsga2",
                    "objective": ["val_accuracy", "seconds"]})
    assert result.objective.directions == ["maximize", "minimize"]
    front = result.best_trials
    assert front and all(t.state == TrialState.COMPLETE for t in front)
    assert isinstance(result.best_value, list) and len(result.best_value) == 2
    done = result.study.get_trials(states=(TrialState.COMPLETE,))
    for t in done:
        dominated = any(o.values[0] >= t.values[0] and o.values[1] <= t.values[1]
                        and o.values != t.values for o in done)
        assert (t in front) == (not dominated)


def test_a_second_run_resumes_and_keeps_finished_trials(tmp_path: Path) -> None:
    search = {"optimizer.learning_rate": {"low": 1e-2, "high": 0.5, "log": True}}
    first = _tune(tmp_path, search, {"trials": 3, "cohort": 3, "pruner": "none"})
    before = [(t.number, t.values) for t in first.study.trials]
    again = _tune(tmp_path, search, {"trials": 5, "cohort": 3, "pruner": "none"})
    after = again.study.trials
    assert len(after) == 5 and [(t.number, t.values) for t in after[:3]] == before
    assert again.stats is not None and again.stats.started == 2
    assert len(again.sessions) == 2
    reopened = open_run(tmp_path / "run")
    assert reopened.best_value == again.best_value
    with pytest.raises(SpaceError, match="the search space differs"):
        _tune(tmp_path, {"optimizer.learning_rate": Float(1e-3, 0.5, log=True)},
              {"trials": 6})


def test_python_space_and_lazy_top_level_name(tmp_path: Path) -> None:
    result = tunelab.tune(RunConfig.model_validate(BASE), run_dir=tmp_path / "run",
                          space=Space({"model.dropout": Float(0.0, 0.3)}), trials=2, cohort=2,
                          progress=False)
    assert isinstance(result, tunelab.StudyResult)
    assert len(result.study.trials) == 2
    assert "model.dropout" in open_run(tmp_path / "run").space.params


def test_processes_executor_with_two_workers(tmp_path: Path) -> None:
    result = _tune(tmp_path, {"optimizer.learning_rate": {"low": 1e-2, "high": 0.5, "log": True},
                              "training.batch_size": [64, 128]},
                   {"trials": 4, "cohort": 2, "executor": "processes", "workers": 2,
                    "sampler": "random", "pruner": "none"})
    assert result.trials_by_state() == {"complete": 4}
    assert result.stats is not None and result.stats.compile_seconds > 0
    assert (result.run_dir / "best.keras").exists()


def test_import_tunelab_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, tunelab; heavy = [m for m in ('optuna', 'jax', 'keras') if m in"
            " sys.modules]; print(heavy); assert callable(tunelab.tune); print('optuna' in"
            " sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["[]", "True"], "tune is loaded on first use, with Optuna"


def test_an_epoch_budget_ends_the_study_with_running_trials_counted(tmp_path: Path) -> None:
    search = {"optimizer.learning_rate": {"low": 1e-3, "high": 0.3, "log": True}}
    study = {"trials": 50, "cohort": 3, "sampler": "random", "pruner": "none",
             "epoch_budget": 7}
    result = _tune(tmp_path, search, {**study}, **{})
    trials = result.study.trials
    epochs = [int(t.user_attrs.get("epochs", 0)) for t in trials]
    assert sum(epochs) == 7  # never more than the budget
    assert result.stats is not None and result.stats.slot_epochs == 7
    # Three slots of two-epoch trials: 2 + 2 + 2, then one more trial stopped after 1 epoch.
    statuses = sorted(str(t.user_attrs.get("status")) for t in trials)
    assert statuses == ["budget", "done", "done", "done"]
    assert all(t.state == TrialState.COMPLETE for t in trials)
    stopped = next(t for t in trials if t.user_attrs["status"] == "budget")
    assert stopped.user_attrs["epochs"] == 1 and math.isfinite(stopped.values[0])

    # A resume with a larger budget trains only the difference.
    again = tune({**BASE, "search": search, "study": {**study, "epoch_budget": 10}},
                 run_dir=tmp_path / "run", progress=False)
    assert sum(int(t.user_attrs.get("epochs", 0)) for t in again.study.trials) == 10
    assert again.stats is not None and again.stats.slot_epochs == 3


def test_sub_epoch_fidelity_cuts_trials_inside_their_first_epoch(tmp_path: Path) -> None:
    search = {"optimizer.learning_rate": {"low": 1e-4, "high": 0.5, "log": True}}
    study = {"trials": 12, "cohort": 4, "sampler": "random", "pruner": "asha",
             "report_every": 0.25, "min_resource": 0.25, "reduction_factor": 2}
    base = {**BASE, "training": {"epochs": 2, "batch_size": 64}, "search": search}
    result = tune({**base, "study": study}, run_dir=tmp_path / "run", progress=False)
    trials = result.study.trials
    assert result.study.user_attrs[PARTS_ATTR] == 4
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    # Four steps to an epoch: rungs after 1/4 and 1/2 epoch, then the epoch ends (4, 8).
    steps = {s for t in trials for s in t.intermediate_values}
    assert {1, 2, 4} <= steps <= {1, 2, 4, 8}
    early = [t for t in trials if t.state == TrialState.PRUNED and max(t.intermediate_values) < 4]
    assert early, "no trial was cut inside its first epoch"
    assert all(t.user_attrs["epochs"] == 0 for t in early)
    for t in trials:
        if t.state == TrialState.COMPLETE:  # epoch ends report the history's values
            history = json.loads((result.run_dir / "trials" / str(t.number)
                                  / "history.json").read_text())
            assert t.intermediate_values[4] == pytest.approx(history["val_accuracy"][0])
            assert t.intermediate_values[8] == pytest.approx(history["val_accuracy"][1])
    # The report reads trials cut before their first epoch end (no epoch in their history).
    from tunelab.report import write_report

    page = write_report(result.run_dir).read_text(encoding="utf-8")
    assert "Intermediate values (a step is 1/4 epoch)" in page
    with pytest.raises(ConfigError, match="every 1/4 epoch, not every 1/2"):
        tune({**base, "study": {**study, "trials": 14, "report_every": 0.5,
                                "min_resource": 0.5}},
             run_dir=tmp_path / "run", progress=False)

