"""tunelab.keras_tuner: Keras Tuner scripts, unchanged, against Keras Tuner itself on digits."""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_digits

import tunelab.keras_tuner as tkt
from tunelab.api._tuners import hyperband_trials
from tunelab.errors import ConfigError, SpaceError

real_kt = pytest.importorskip("keras_tuner", reason="keras-tuner is in the dev extra")


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    return x[:1200], y[:1200], x[1200:], y[1200:]


def build_model(hp: Any) -> keras.Model:
    """Keras Tuner's getting-started build, on digits' 64 inputs."""
    model = keras.Sequential([keras.Input((64,))])
    model.add(keras.layers.Dense(hp.Int("units", min_value=32, max_value=64, step=32),
                                 activation=hp.Choice("activation", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=0.25))
    model.add(keras.layers.Dense(10, activation="softmax"))
    lr = hp.Float("lr", min_value=3e-3, max_value=3e-2, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _printed(fn: Any, *args: Any) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fn(*args)
    return out.getvalue()


def _script(kt: Any, folder: Path, data: tuple[np.ndarray, ...]) -> tuple[str, float, Any]:
    """The user's script, the same for both modules."""
    x, y, xv, yv = data
    tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=3, seed=3,
                            directory=str(folder), project_name="digits")
    tuner.search(x, y, epochs=3, validation_data=(xv, yv), verbose=0)
    summary = _printed(tuner.search_space_summary)
    best = tuner.oracle.get_best_trials(1)[0].score
    return summary, float(best), tuner


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory,
         digits: tuple[np.ndarray, ...]) -> dict[str, tuple[str, float, Any]]:
    return {"keras_tuner": _script(real_kt, tmp_path_factory.mktemp("kt"), digits),
            "tunelab": _script(tkt, tmp_path_factory.mktemp("tl"), digits)}


def test_search_space_summaries_agree(both: dict[str, tuple[str, float, Any]]) -> None:
    assert both["tunelab"][0] == both["keras_tuner"][0]
    assert "units (Int)" in both["tunelab"][0] and "Default search space size: 4" in \
        both["tunelab"][0]


def test_best_scores_agree_within_noise(both: dict[str, tuple[str, float, Any]],
                                        digits: tuple[np.ndarray, ...]) -> None:
    n = len(digits[3])
    ours, theirs = both["tunelab"][1], both["keras_tuner"][1]
    # Two validation accuracies on the same n images: a two-proportion z test at alpha 0.01
    # (the configurations differ, so this bounds a gap, it does not claim equality).
    pooled = (ours + theirs) / 2
    se = math.sqrt(2 * pooled * (1 - pooled) / n)
    z = (ours - theirs) / se if se > 0 else 0.0
    p = 2 * stats.norm.sf(abs(z))
    print(f"tunelab {ours:.4f} keras_tuner {theirs:.4f} n={n} z={z:.2f} p={p:.3f}")
    assert ours > 0.85 and p > 0.01


def test_best_models_save_and_load_with_plain_keras(both: dict[str, tuple[str, float, Any]],
                                                    digits: tuple[np.ndarray, ...],
                                                    tmp_path: Path) -> None:
    tuner = both["tunelab"][2]
    model = tuner.get_best_models(num_models=1)[0]
    xv, yv = digits[2], digits[3]
    # The best epoch's weights, as Keras Tuner's checkpoint: Keras scores them as the search did.
    score = model.evaluate(xv, yv, verbose=0)[1]
    best = tuner.oracle.get_best_trials(1)[0]
    assert score == pytest.approx(best.metrics["val_accuracy"], abs=1e-4)
    assert score == pytest.approx(best.score, abs=1e-4)
    path = tmp_path / "best.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(xv, verbose=0), model.predict(xv, verbose=0),
                               rtol=1e-5, atol=1e-6)
    hps = tuner.get_best_hyperparameters(1)[0]
    assert hps.get("units") in (32, 64) and 3e-3 <= hps["lr"] <= 3e-2


def test_results_summary_lists_the_best_trials(both: dict[str, tuple[str, float, Any]]) -> None:
    text = _printed(both["tunelab"][2].results_summary, 2)
    assert text.startswith("Results summary") and text.count("summary\n") == 3
    assert 'Objective(name="val_accuracy", direction="max")' in text


def test_documented_conditional_layers_run_unchanged(tmp_path: Path,
                                                     digits: tuple[np.ndarray, ...]) -> None:
    def build(hp: Any) -> keras.Model:
        model = keras.Sequential([keras.Input((64,))])
        model_type = hp.Choice("model_type", ["wide", "deep"])
        with hp.conditional_scope("model_type", ["wide"]):
            if model_type == "wide":
                model.add(keras.layers.Dense(hp.Int("wide_units", 48, 64, step=16),
                                             activation="relu"))
        with hp.conditional_scope("model_type", ["deep"]):
            if model_type == "deep":
                for i in range(hp.Int("deep_layers", 1, 2)):
                    model.add(keras.layers.Dense(16, activation="relu"))
                    model.add(keras.layers.Dropout(hp.Float(f"rate_{i}", 0.0, 0.4, step=0.2,
                                                            parent_name="model_type",
                                                            parent_values=["deep"])))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    x, y, xv, yv = digits
    tuner = tkt.RandomSearch(build, objective="val_accuracy", max_trials=4, seed=0,
                             directory=str(tmp_path))
    assert [p.name for p in tuner.oracle.get_space().space][:3] == \
        ["model_type", "wide_units", "deep_layers"]
    tuner.search(x, y, epochs=2, validation_data=(xv, yv))
    for trial in tuner.oracle.trials.values():
        values = trial.hyperparameters.values
        assert ("wide_units" in values) == (values["model_type"] == "wide")
        assert ("deep_layers" in values) == (values["model_type"] == "deep")
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())


class BatchModel(tkt.HyperModel):
    """Keras Tuner's documented HyperModel whose fit chooses the batch size and shuffling."""

    def build(self, hp: Any) -> keras.Model:
        model = keras.Sequential([keras.Input((64,)),
                                  keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(hp.Float("lr", 0.05, 0.2)),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
        return model.fit(*args, batch_size=hp.Choice("batch_size", [32, 64]),
                         shuffle=hp.Boolean("shuffle"), **kwargs)


def test_documented_hypermodel_fit_choosing_batch_size(tmp_path: Path,
                                                       digits: tuple[np.ndarray, ...]) -> None:
    x, y, xv, yv = digits
    tuner = tkt.RandomSearch(BatchModel(), objective="val_accuracy", max_trials=4, seed=2,
                             directory=str(tmp_path))
    tuner.search(x, y, epochs=1, validation_data=(xv, yv))
    names = [p.name for p in tuner.oracle.get_space().space]
    assert names == ["lr", "batch_size", "shuffle"]
    chosen = {t.hyperparameters["batch_size"] for t in tuner.oracle.trials.values()}
    assert chosen <= {32, 64} and len(tuner.oracle.trials) == 4
    # A grid needs a step for every float: this space's learning rate has none.
    with pytest.raises(SpaceError, match="needs a step"):
        tkt.GridSearch(BatchModel(), objective="val_accuracy", directory=str(tmp_path / "g"))


def test_grid_search_tries_every_combination_once(tmp_path: Path,
                                                  digits: tuple[np.ndarray, ...]) -> None:
    class Grid(BatchModel):
        def build(self, hp: Any) -> keras.Model:
            model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, "relu"),
                                      keras.layers.Dense(10, activation="softmax")])
            model.compile(optimizer=keras.optimizers.SGD(hp.Choice("lr", [0.05, 0.2])),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return model

    x, y, xv, yv = digits
    tuner = tkt.GridSearch(Grid(), objective="val_accuracy", directory=str(tmp_path))
    tuner.search(x, y, epochs=1, validation_data=(xv, yv))
    seen = sorted(tuple(sorted(t.hyperparameters.values.items()))
                  for t in tuner.oracle.trials.values())
    assert len(seen) == 8 and len(set(seen)) == 8
    assert seen == sorted(tuple(sorted({"lr": lr, "batch_size": b, "shuffle": s}.items()))
                          for lr in (0.05, 0.2) for b in (32, 64) for s in (False, True))


def test_shared_structure_trains_as_one_template(tmp_path: Path,
                                                 digits: tuple[np.ndarray, ...]) -> None:
    def build(hp: Any) -> keras.Model:
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, "relu"),
                                  keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5)),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(
            hp.Float("lr", 1e-3, 3e-2, sampling="log"), beta_1=hp.Float("beta_1", 0.8, 0.95)),
            loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    x, y, xv, yv = digits
    tuner = tkt.BayesianOptimization(build, objective="val_loss", max_trials=6, seed=1,
                                     num_initial_points=3, directory=str(tmp_path),
                                     project_name="shared", executions_per_trial=2)
    tuner.search(x, y, epochs=2, validation_split=0.2)
    assert len(list((tmp_path / "shared" / "inputs").glob("template-*.keras"))) == 1
    trials = tuner.oracle.get_best_trials(10)
    assert len(trials) == 6 and all(t.score is not None for t in trials)
    # Resuming the finished project trains nothing and knows its best trial.
    again = tkt.BayesianOptimization(build, objective="val_loss", max_trials=6,
                                     directory=str(tmp_path), project_name="shared")
    again.search(x, y, epochs=2, validation_split=0.2)
    assert again.oracle.get_best_trials(1)[0].trial_id == trials[0].trial_id
    assert again.get_best_hyperparameters()[0].values == trials[0].hyperparameters.values


def test_the_project_study_is_a_journal_an_older_sqlite_project_goes_on(
        tmp_path: Path, digits: tuple[np.ndarray, ...]) -> None:
    import optuna

    from tunelab.report import storage_url
    from tunelab.study import make_storage

    x, y, xv, yv = digits
    tuner = tkt.RandomSearch(build_model, objective="val_accuracy", max_trials=2, seed=0,
                             directory=str(tmp_path), project_name="new")
    tuner.search(x, y, epochs=1, validation_data=(xv, yv))
    project = tmp_path / "new"
    assert (project / "study.log").is_file() and not (project / "study.db").exists()
    # What optuna-dashboard and `tunelab dashboard PROJECT` open: the same two trials.
    url = storage_url(project)
    assert url == f"journal:{(project / 'study.log').resolve()}"
    study = optuna.load_study(study_name="new", storage=make_storage(url))
    assert sorted(t.number for t in study.trials) == [0, 1]
    # A project made with SQLite (an earlier tunelab) keeps its database and its trials.
    old = tmp_path / "old"
    old.mkdir()
    optuna.create_study(study_name="old", direction="maximize",
                        storage=make_storage(f"sqlite:///{old / 'study.db'}"))
    resumed = tkt.RandomSearch(build_model, objective="val_accuracy", max_trials=1, seed=0,
                               directory=str(tmp_path), project_name="old")
    assert resumed.storage_url.startswith("sqlite:///")
    resumed.search(x, y, epochs=1, validation_data=(xv, yv))
    assert not (old / "study.log").exists()
    done = optuna.load_study(study_name="old", storage=make_storage(storage_url(old)))
    assert [t.user_attrs["kt_status"] for t in done.trials] == ["COMPLETED"]


def test_hyperband_starts_its_brackets_trials(tmp_path: Path,
                                              digits: tuple[np.ndarray, ...]) -> None:
    x, y, xv, yv = digits
    tuner = tkt.Hyperband(build_model, objective=tkt.Objective("val_accuracy", "max"),
                          max_epochs=3, factor=3, seed=0, directory=str(tmp_path))
    tuner.search(x, y, validation_data=(xv, yv),
                 callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=1)])
    assert len(tuner.oracle.trials) == hyperband_trials(3, 3) == 5
    assert {t.status for t in tuner.oracle.trials.values()} <= {"COMPLETED", "STOPPED"}


class Subclassed(keras.Model):
    def __init__(self) -> None:
        super().__init__()
        self.dense = keras.layers.Dense(10, activation="softmax")

    def call(self, x: Any) -> Any:
        return self.dense(x)


class OwnStep(keras.Sequential):
    def train_step(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        return super().train_step(*args, **kwargs)


def _compiled(model: keras.Model, **compile_args: Any) -> keras.Model:
    model.compile(**{"optimizer": "adam", "loss": "sparse_categorical_crossentropy",
                     "metrics": ["accuracy"], **compile_args})
    return model


@pytest.mark.parametrize(("build", "message"), [
    (lambda hp: _compiled(Subclassed()), "subclassed keras.Model"),
    (lambda hp: _compiled(OwnStep([keras.Input((64,)), keras.layers.Dense(10, "softmax")])),
     "overrides train_step"),
    (lambda hp: _compiled(keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)]),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
     "from_logits=True"),
    (lambda hp: keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)]),
     "not compiled"),
])
def test_what_the_engine_cannot_train_is_refused_before_the_search(
        tmp_path: Path, build: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        tkt.RandomSearch(build, objective="val_accuracy", directory=str(tmp_path))
    assert "\n" not in str(caught.value)


def test_a_fit_that_does_more_than_choose_arguments_is_refused(
        tmp_path: Path, digits: tuple[np.ndarray, ...]) -> None:
    class Normalising(BatchModel):
        def fit(self, hp: Any, model: Any, x: Any, y: Any, **kwargs: Any) -> Any:
            if hp.Boolean("normalize"):
                x = (x - x.mean()) / x.std()
            return model.fit(x, y, **kwargs)

    x, y, xv, yv = digits
    with pytest.raises(ConfigError, match="another x than search"):
        tkt.RandomSearch(Normalising(), objective="val_accuracy",
                         directory=str(tmp_path)).search(x, y, validation_data=(xv, yv))


def test_a_custom_training_loop_is_refused_before_any_trial(
        tmp_path: Path, digits: tuple[np.ndarray, ...]) -> None:
    class OwnLoop(BatchModel):
        def fit(self, hp: Any, model: Any, x: Any, y: Any, **kwargs: Any) -> Any:
            return 0.5  # a score computed without model.fit

    x, y, xv, yv = digits
    tuner = tkt.RandomSearch(OwnLoop(), objective="val_accuracy", directory=str(tmp_path))
    with pytest.raises(ConfigError, match="calls model.fit 0 times"):
        tuner.search(x, y, validation_data=(xv, yv))
    assert tuner.oracle.trials == {}


def test_an_objective_the_model_does_not_log_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'val_auc' is not logged"):
        tkt.RandomSearch(build_model, objective="val_auc", directory=str(tmp_path))
