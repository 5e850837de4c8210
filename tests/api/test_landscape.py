"""The loss landscape of a trained model, checked against Keras evaluating the same points."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

import tunelab
from tunelab.config import parse_config
from tunelab.errors import ConfigError
from tunelab.landscapes import filter_normalized_direction, landscape_grid
from tunelab.model import ensemble_model


@pytest.fixture(scope="module")
def trained() -> tunelab.FitResult:
    return tunelab.fit({"model": {"units": [12], "dropout": 0.2, "l2": 1e-3},
                        "training": {"epochs": 3, "batch_size": 64}},
                       learning_rate=0.1, progress=False)


def _keras_losses(result: tunelab.FitResult, alphas: list[float], x: np.ndarray,
                  y: np.ndarray) -> list[float]:
    """Keras's own loss at w + a d, with d drawn as the landscape draws it (seed 0)."""
    model = result.model()
    model.compile(loss="sparse_categorical_crossentropy")
    weights = [np.asarray(v.value) for v in model.trainable_variables]
    (d,) = [filter_normalized_direction(weights, np.random.default_rng(0))]
    out = []
    for a in alphas:
        for var, w, step in zip(model.trainable_variables, weights, d, strict=True):
            var.assign(w + a * step)
        out.append(float(model.evaluate(x, y, batch_size=len(x), verbose=0)))
    return out


def test_the_landscape_is_the_loss_keras_evaluates_at_those_points(
        trained: tunelab.FitResult) -> None:
    # 33 points asked at once: more (slot, row) pairs than XLA's CPU evaluation gets right
    # in one call, so the engine must cut the evaluation (Cohort._pieces).
    land = tunelab.loss_landscape(trained, points=33, span=0.8, width=33)
    (rec,) = land.records
    assert rec.alphas == pytest.approx(landscape_grid(0.8, 33).tolist())
    ds = trained.data
    train = _keras_losses(trained, rec.alphas, ds.x_train, ds.y_train)
    val = _keras_losses(trained, rec.alphas, ds.x_val, ds.y_val)
    assert rec.splits["train"].loss == pytest.approx(train, rel=1e-4)
    assert rec.splits["validation"].loss == pytest.approx(val, rel=1e-4)
    assert rec.splits["train"].samples == len(ds.x_train)
    # At the trained weights (a = 0) the loss is the one training reported.
    assert rec.splits["validation"].loss[16] == pytest.approx(trained.final["val_loss"],
                                                              rel=1e-5)
    assert len(rec.splits["train"].metric) == 33 and rec.metric == "accuracy"


def test_a_2d_grid_evaluates_every_point_in_cohorts(trained: tunelab.FitResult) -> None:
    land = tunelab.loss_landscape(trained, dims=2, points=5, width=7, samples=200)
    (rec,) = land.records
    assert rec.dims == 2 and len(rec.betas) == 5
    loss = np.asarray(rec.splits["train"].loss).reshape(5, 5)
    assert np.isfinite(loss).all()
    assert loss[2, 2] <= loss.mean()  # the trained weights sit low on the surface
    assert "<img" in land._repr_html_()


def test_an_ensemble_draws_its_first_member(tmp_path: Path) -> None:
    from tunelab.api._landscape import _first_member

    members = [keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]) for _ in range(3)]
    first = members[0]
    chosen, note = _first_member(ensemble_model(members))
    assert chosen is first and note == "member 1 of 3"
    alone = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert _first_member(alone) == (alone, "")


def test_errors_name_the_option(trained: tunelab.FitResult, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--points must be at least 3"):
        tunelab.loss_landscape(trained, points=2)
    with pytest.raises(ConfigError, match="--dims must be 1 or 2"):
        tunelab.loss_landscape(trained, dims=3, points=3)
    with pytest.raises(ConfigError, match="no such run folder"):
        tunelab.loss_landscape(tmp_path / "missing")
    with pytest.raises(ConfigError, match="not a train, tune or guide run folder"):
        tunelab.loss_landscape(tmp_path)


def test_a_builder_model_is_drawn_too(tmp_path: Path) -> None:
    def build(input_shape: tuple[int, ...], num_outputs: int) -> keras.Model:
        return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(8, "relu"),
                                 keras.layers.Dense(num_outputs, activation="softmax")])

    result = tunelab.fit(parse_config({"training": {"epochs": 1, "batch_size": 64}}),
                         model=build, progress=False)
    (rec,) = tunelab.loss_landscape(result, points=3, samples=100).records
    assert np.isfinite(rec.splits["validation"].loss).all()


def test_a_tune_folder_draws_its_best_trial(tmp_path: Path) -> None:
    run = tmp_path / "study"
    result = tunelab.tune({"training": {"epochs": 2, "batch_size": 64},
                           "search": {"optimizer.learning_rate": {"low": 0.01, "high": 0.5,
                                                                  "log": True}}},
                          trials=3, cohort=3, pruner="none", out=run, progress=False)
    best = result.best_trial
    assert best is not None
    land = tunelab.loss_landscape(run, points=3, samples=200)
    assert land.labels == [f"study trial {best.number}"]
    assert land.records_paths == [run / "trials" / str(best.number) / "landscape.json"]
    others = [t.number for t in result.study.trials if t.number != best.number]
    saved = [n for n in others if (run / "trials" / str(n) / "model.keras").is_file()]
    missing = [n for n in others if n not in saved]
    if missing:
        with pytest.raises(ConfigError, match=f"trial {missing[0]} has no saved model"):
            tunelab.loss_landscape(run, trial=missing[0])
