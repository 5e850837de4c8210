"""The Python fronts: fit, tune, guide, report, minimize and race on arrays and keras.Models."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

import tunelab
from tunelab.config import load_config
from tunelab.errors import ConfigError, DataError, SpaceError
from tunelab.guide import parse_procedure
from tunelab.runs import LossLandscape, RunLayout, read_record


def _digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return x, y


def _net() -> keras.Model:
    return keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dropout(0.1),
                             keras.layers.Dense(10, activation="softmax")])


def test_fit_on_arrays_trains_on_the_split_a_file_would_get(tmp_path: Path) -> None:
    x, y = _digits()
    np.savez(tmp_path / "digits.npz", x_train=x, y_train=y)
    options = {"epochs": 2, "batch_size": 64, "learning_rate": 0.1, "progress": False}
    on_arrays = tunelab.fit(data=(x, y), **options)
    on_file = tunelab.fit(data=str(tmp_path / "digits.npz"), **options)
    assert isinstance(on_arrays, tunelab.FitResult) and on_arrays.status == "done"
    assert on_arrays.history["val_loss"] == pytest.approx(on_file.history["val_loss"])
    # What a user would check: the returned model scores the validation split as reported.
    ds = on_arrays.data
    probs = on_arrays.model().predict(ds.x_val, verbose=0)
    assert float((probs.argmax(1) == ds.y_val).mean()) == pytest.approx(
        on_arrays.final["val_accuracy"], abs=1e-6)


def test_fit_on_a_keras_model_writes_a_run_folder_that_trains_again(tmp_path: Path) -> None:
    x, y = _digits()
    words = np.array(list("abcdefghij"))[y]
    run = tmp_path / "run"
    result = tunelab.fit(data={"train": (x[:1200], words[:1200]),
                               "validation": (x[1200:1500], words[1200:1500]),
                               "test": (x[1500:], words[1500:])},
                         model=_net(), epochs=2, batch_size=64, seed=4, out=run,
                         progress=False)
    layout = RunLayout(run)
    for path in (layout.config_toml, layout.history_json, layout.model, layout.curves_png):
        assert path.is_file()
    cfg = load_config(layout.config_toml)
    assert Path(cfg.model.template).parent == layout.inputs_dir.resolve()
    assert Path(cfg.data.name).is_relative_to(layout.inputs_dir.resolve())
    again = tunelab.fit(cfg, epochs=2, progress=False)  # the folder's config alone
    assert again.history["val_loss"] == pytest.approx(result.history["val_loss"])
    loaded = keras.saving.load_model(layout.model, safe_mode=True)
    assert [type(layer).__name__ for layer in loaded.layers] == ["Dense", "Dropout", "Dense"]
    assert result.data.class_names == list("abcdefghij")


def test_fit_keeps_the_commands_rules_and_errors() -> None:
    with pytest.raises(ConfigError, match="not both"):
        tunelab.fit({"seed": 1}, preset="tutorial-rmsprop")
    with pytest.raises(ConfigError, match="unknown preset"):
        tunelab.fit(preset="nope")
    with pytest.raises(DataError, match="x has 3 samples but y has 2 labels"):
        tunelab.fit(data=(np.zeros((3, 4)), np.zeros(2)))
    result = tunelab.fit(preset="tutorial-rmsprop", epochs=1, optimizer="Adam",
                         progress=False)
    # Another optimizer family starts from its Keras defaults, as `tunelab train` does.
    assert result.config.optimizer.name == "Adam" and result.config.optimizer.rho is None
    assert result.config.training.batch_size == 784


def test_results_read_well_in_a_notebook(tmp_path: Path) -> None:
    result = tunelab.fit(epochs=2, batch_size=64, progress=False)
    page = result._repr_html_()
    assert "<img" in page and "val_accuracy" in page
    report = result.report(tmp_path / "run")
    assert report.path == tmp_path / "run" / "report.html" and report.path.is_file()
    assert 'id="landscape"' in report.path.read_text(encoding="utf-8")
    assert "<iframe" in report._repr_html_()
    record = read_record(RunLayout(tmp_path / "run").landscape_json, LossLandscape)
    assert record is not None and record.dims == 1


def test_tune_on_arrays_and_a_template(tmp_path: Path) -> None:
    x, y = _digits()
    search = {"optimizer.learning_rate": {"low": 0.01, "high": 0.5, "log": True},
              "model.dropout": {"low": 0.0, "high": 0.5}}
    result = tunelab.tune({"training": {"epochs": 2, "batch_size": 64}, "search": search},
                          data=(x, y), model=_net(), trials=3, cohort=3, pruner="none",
                          out=tmp_path / "run", progress=False)
    assert isinstance(result, tunelab.TuneResult)
    assert result.trials_by_state() == {"complete": 3}
    inputs = RunLayout(tmp_path / "run").inputs_dir.resolve()
    assert Path(result.base.model.template).parent == inputs
    assert Path(result.base.data.name).is_relative_to(inputs)
    # The three trials' dropout rates differ, yet they trained as one cohort.
    assert result.stats is not None and result.stats.cohorts == 1
    assert "<img" in result._repr_html_() and "best trial" in result._repr_html_()
    with pytest.raises(SpaceError, match="'model.units'.*template fixes"):
        tunelab.tune({"search": {"model.units": [[8], [16]]}}, model=_net(),
                     out=tmp_path / "other", progress=False)


def test_guide_on_a_template_compares_what_it_leaves_free(tmp_path: Path) -> None:
    proc = parse_procedure({
        "start": {"training": {"batch_size": 64}, "data": {"limit": 400}},
        "steps": [{"name": "topology", "scientific": {"model.units": [[16], [32]],
                                                      "model.dropout": [0.0, 0.1]},
                   "nuisance": {"optimizer.learning_rate": {"low": 0.01, "high": 1.0,
                                                            "log": True}},
                   "budget": {"trials": 1, "epochs": 2, "seeds": 2, "cohort": 4}},
                  {"name": "width", "scientific": {"model.units": [[16], [32]]},
                   "nuisance": {"optimizer.learning_rate": {"low": 0.01, "high": 1.0,
                                                            "log": True}}}]},
        budget="quick")
    result = tunelab.guide(proc, model=_net(), out=tmp_path / "run", progress=False)
    assert isinstance(result, tunelab.GuideResult)
    (step,) = result.decisions.steps  # "width" compares only what the template fixes
    assert step.step == "topology" and all("units" not in v.label for v in step.values)
    assert "<table" in result._repr_html_() and "topology" in result._repr_html_()
    assert result.config.model.template is not None


def test_guide_and_report_are_packages_and_fronts(tmp_path: Path) -> None:
    import tunelab.guide
    import tunelab.report
    from tunelab.guide import run_guide

    assert callable(tunelab.guide) and callable(tunelab.report) and callable(run_guide)
    assert tunelab.report.write_report is not None
    run = tmp_path / "run"
    tunelab.fit(epochs=1, out=run, progress=False)
    page = tunelab.report(run)
    assert page.path.is_file() and page.path.name == "report.html"
    with pytest.raises(ConfigError, match="no such run folder"):
        tunelab.report(tmp_path / "missing")


def test_minimize_is_the_tutorials_scipy_call() -> None:
    from scipy.optimize import minimize

    def objective(vec: np.ndarray) -> float:
        x, v = vec[0], vec[1]
        return (1.5 - x + x * v) ** 2 + (2.25 - x + x * v**2) ** 2 + (2.625 - x + x * v**3) ** 2

    theirs = minimize(objective, [4.0, 4.0], bounds=((-5, 5), (-5, 5)))
    ours = tunelab.minimize("beale", (4, 4), bounds=[(-5, 5), (-5, 5)])
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-4)
    np.testing.assert_allclose(ours.x, [3.0, 0.5], atol=1e-4)
    assert "L-BFGS-B on beale" in ours._repr_html_()


def test_race_front_writes_its_tables(tmp_path: Path) -> None:
    result = tunelab.race("beale,sphere", ["Adam", "L-BFGS-B"], starts=2, budget=30,
                          out=tmp_path / "race")
    assert {r["function"] for r in result.table} == {"beale", "sphere"}
    assert (tmp_path / "race" / "race.json").is_file()
