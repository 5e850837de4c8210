"""Study callbacks and trackers: tune(callbacks=), MLflow (a real server), TensorBoard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tunelab

_CONFIG: dict[str, Any] = {
    "data": {"limit": 300},
    "model": {"units": [16]},
    "training": {"epochs": 2, "batch_size": 64},
    "search": {"optimizer.learning_rate": {"low": 0.01, "high": 0.5, "log": True}},
}


def _tune(tmp_path: Path, **options: Any) -> Any:
    return tunelab.tune(_CONFIG, trials=3, cohort=3, out=tmp_path / "run", progress=False,
                        seed=0, pruner="none", **options)


def test_study_callbacks_see_each_told_trial(tmp_path: Path) -> None:
    seen: list[tuple[str, int, str]] = []

    def callback(study: Any, trial: Any) -> None:
        seen.append((study.study_name, trial.number, trial.state.name))

    result = _tune(tmp_path, callbacks=[callback])
    assert sorted(n for _, n, _ in seen) == [0, 1, 2]
    assert {s for _, _, s in seen} == {"COMPLETE"} and len({name for name, _, _ in seen}) == 1
    assert result.trials_by_state() == {"complete": 3}
    assert seen[0][0] == result.study.study_name


def test_optuna_integrations_mlflow_callback_works_unchanged(tmp_path: Path) -> None:
    integration = pytest.importorskip("optuna_integration")
    mlflow = pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'oi.db'}"
    _tune(tmp_path, callbacks=[integration.MLflowCallback(tracking_uri=uri,
                                                          metric_name="val_loss")])
    client = mlflow.tracking.MlflowClient(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert len(runs) == 3 and all("optimizer.learning_rate" in r.data.params for r in runs)


def test_mlflow_parent_nested_runs_epochs_and_best_model(tmp_path: Path,
                                                         mlflow_server: str) -> None:
    import mlflow

    result = _tune(tmp_path, mlflow=mlflow_server, name="mlflow-study")
    client = mlflow.tracking.MlflowClient(mlflow_server)
    exp = client.get_experiment_by_name("tunelab")
    runs = client.search_runs([exp.experiment_id], "tags.mlflow.runName = 'mlflow-study'")
    assert len(runs) == 1
    parent = runs[0]
    children = client.search_runs([exp.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(children) == 3
    for child in children:
        assert set(child.data.params) == {"optimizer.learning_rate"}
        assert child.data.tags["tunelab.state"] == "complete"
        steps = client.get_metric_history(child.info.run_id, "val_loss")
        assert [m.step for m in steps] == [0, 1]
        assert child.info.status == "FINISHED"
    best_trial = result.study.best_trial.number
    assert parent.data.tags["tunelab.best_trial"] == str(best_trial)
    assert "best.keras" in [a.path for a in client.list_artifacts(parent.info.run_id)]
    best_run = next(c for c in children if c.data.tags["tunelab.trial"] == str(best_trial))
    assert "best.keras" in [a.path for a in client.list_artifacts(best_run.info.run_id)]
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"


def test_tensorboard_scalars_and_hparams_read_back(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata

    logdir = tmp_path / "tb"
    _tune(tmp_path, tensorboard=logdir)
    runs = sorted(p.name for p in logdir.iterdir() if p.is_dir())
    assert runs == ["trial_0", "trial_1", "trial_2"]
    for run in runs:
        acc = EventAccumulator(str(logdir / run))
        acc.Reload()
        assert [e.step for e in acc.Scalars("val_loss")] == [0, 1]
        start = metadata.parse_session_start_info_plugin_data(
            acc.SummaryMetadata(metadata.SESSION_START_INFO_TAG).plugin_data.content)
        assert start.group_name == "" or start.hparams["optimizer.learning_rate"].number_value > 0
        assert 0.01 <= start.hparams["optimizer.learning_rate"].number_value <= 0.5
    root = EventAccumulator(str(logdir))
    root.Reload()
    experiment = metadata.parse_experiment_plugin_data(
        root.SummaryMetadata(metadata.EXPERIMENT_TAG).plugin_data.content)
    assert [h.name for h in experiment.hparam_infos] == ["optimizer.learning_rate"]
    assert "val_loss" in {m.name.tag for m in experiment.metric_infos}


def test_the_command_line_and_the_tracking_table(tmp_path: Path) -> None:
    import tomli_w
    from click.testing import CliRunner

    from tunelab.cli import main

    config = {**_CONFIG, "study": {"trials": 2, "cohort": 2, "pruner": "none"},
              "tracking": {"tensorboard": str(tmp_path / "from-table")}}
    path = tmp_path / "tune.toml"
    path.write_text(tomli_w.dumps(config))
    flag = CliRunner().invoke(main, ["tune", str(path), "--quiet", "--out", str(tmp_path / "a"),
                                     "--tensorboard", str(tmp_path / "from-flag")])
    assert flag.exit_code == 0, flag.output
    assert sorted(p.name for p in (tmp_path / "from-flag").iterdir() if p.is_dir()) == \
        ["trial_0", "trial_1"]
    table = CliRunner().invoke(main, ["tune", str(path), "--quiet", "--out", str(tmp_path / "b")])
    assert table.exit_code == 0, table.output
    assert (tmp_path / "from-table" / "trial_1").is_dir()


def test_a_guide_is_logged_with_its_steps_decisions_and_final_model(
        tmp_path: Path, mlflow_server: str) -> None:
    import mlflow
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tunelab.guide import parse_procedure

    proc = parse_procedure({
        "start": {"model": {"units": [16]}, "training": {"batch_size": 64},
                  "data": {"limit": 300}},
        "steps": [{"name": "width", "scientific": {"model.units": [[16], [32]]},
                   "nuisance": {"optimizer.learning_rate": {"low": 0.01, "high": 1.0,
                                                            "log": True}},
                   "budget": {"trials": 2, "epochs": 2, "seeds": 2, "cohort": 4}}]},
        budget="quick")
    run = tmp_path / "guide"
    tunelab.guide(proc, out=run, progress=False, mlflow=mlflow_server,
                  tensorboard=tmp_path / "tb")
    client = mlflow.tracking.MlflowClient(mlflow_server)
    exp = client.get_experiment_by_name("tunelab")
    (parent,) = client.search_runs([exp.experiment_id], "tags.mlflow.runName = 'guide guide'")
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"decisions.json", "final.toml", "best.keras"} <= artifacts
    children = client.search_runs([exp.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    steps = [p.name for p in run.iterdir() if (p / "study.db").is_file()]
    assert len(steps) == 1 and len(children) >= 2
    assert {c.data.tags["tunelab.step"] for c in children} == set(steps)
    trial_runs = list((tmp_path / "tb" / steps[0]).glob("trial_*"))
    assert len(trial_runs) == len(children)
    acc = EventAccumulator(str(trial_runs[0]))
    acc.Reload()
    assert "_hparams_/session_start_info" in acc.Tags()["tensors"]


def _kt_build(hp: Any) -> Any:
    import keras

    model = keras.Sequential([keras.Input((64,)),
                              keras.layers.Dense(hp.Int("units", 16, 32, step=16),
                                                 activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(hp.Float("lr", 0.01, 0.5, sampling="log")),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_a_keras_tuner_search_is_logged_to_mlflow_and_tensorboard(
        tmp_path: Path, mlflow_server: str) -> None:
    import mlflow
    import numpy as np
    from sklearn.datasets import load_digits

    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    import tunelab.keras_tuner as kt

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")[:400]
    y = np.asarray(y)[:400]
    tuner = kt.RandomSearch(_kt_build, objective="val_accuracy", max_trials=3, seed=1,
                            directory=str(tmp_path), project_name="kt-tracked",
                            mlflow=mlflow_server, tensorboard=tmp_path / "tb")
    tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    client = mlflow.tracking.MlflowClient(mlflow_server)
    exp = client.get_experiment_by_name("tunelab")
    parents = client.search_runs([exp.experiment_id], "tags.mlflow.runName = 'kt-tracked'")
    assert len(parents) == 1
    children = client.search_runs([exp.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parents[0].info.run_id}'")
    assert len(children) == 3
    trials = {int(t.trial_id): t for t in tuner.oracle.trials.values()}
    for child in children:
        trial = trials[int(child.data.tags["tunelab.trial"])]
        assert set(child.data.params) == {"units", "lr"}
        assert float(child.data.params["lr"]) == pytest.approx(trial.hyperparameters.get("lr"))
        assert child.data.metrics["value"] == pytest.approx(trial.score)
        assert [m.step for m in client.get_metric_history(child.info.run_id,
                                                          "val_accuracy")] == [0, 1]
    best = tuner.oracle.get_best_trials(1)[0]
    assert parents[0].data.tags["tunelab.best_trial"] == str(int(best.trial_id))
    best_run = next(c for c in children if c.data.tags["tunelab.trial"] == str(best.trial_id))
    assert "best.keras" in [a.path for a in client.list_artifacts(best_run.info.run_id)]
    assert client.get_run(parents[0].info.run_id).info.status == "FINISHED"
    runs = sorted(p.name for p in (tmp_path / "tb").iterdir() if p.is_dir())
    assert runs == ["trial_0", "trial_1", "trial_2"]
    acc = EventAccumulator(str(tmp_path / "tb" / "trial_0"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("val_accuracy")] == [0, 1]
