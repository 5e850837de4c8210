"""Procedures: the default one, custom files, and every bad file with a clear message."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.guide.conftest import write_procedure
from tunelab.errors import ConfigError
from tunelab.guide import LEVELS, default_procedure, load_procedure, parse_procedure
from tunelab.guide._procedure import step_epochs


def test_default_procedure_is_the_tutorials_four_steps() -> None:
    proc = default_procedure("quick")
    assert [s.name for s in proc.selected()] == ["topology", "learning_rate", "optimizer",
                                                 "batch_size"]
    assert [s.name for s in proc.steps if s.optional] == ["initialization", "activation",
                                                          "cross_validation"]
    # The tutorial's MLP and SGD settings are the starting point.
    assert proc.start.model.units == [64, 64]
    assert proc.start.optimizer.name == "SGD"
    assert proc.start.optimizer.learning_rate == 0.1
    assert proc.start.optimizer.momentum == 0.8
    assert proc.start.model.kernel_initializer == "uniform"
    topology = proc.step("topology")
    assert [64, 64] in topology.scientific["model.units"]
    assert 0.1 in topology.scientific["model.dropout"]
    for step in proc.selected():
        assert "optimizer.learning_rate" in step.nuisance
    lr = proc.step("learning_rate")
    assert lr.range_test == "once"
    assert set(lr.scientific["schedule.name"]) == {
        "constant", "time_decay", "exponential", "step", "cosine", "cosine_restarts"}
    init = proc.step("initialization").scientific["model.kernel_initializer"]
    assert init == ["uniform", "lecun_uniform", "normal", "zeros", "glorot_normal",
                    "glorot_uniform", "he_normal", "he_uniform"]


def test_budget_levels() -> None:
    quick, standard, thorough = (default_procedure(level) for level in LEVELS)
    for name in ("topology", "learning_rate", "optimizer", "batch_size"):
        a, b = standard.step(name).budget, thorough.step(name).budget
        assert (a.trials, a.epochs, a.seeds) <= (b.trials, b.epochs, b.seeds)
    # Epochs are passes over the data; a small dataset gets at least `min_updates` updates.
    for proc in (quick, standard, thorough):
        budget = proc.step("topology").budget
        assert step_epochs(budget, 1150, 32) * 36 >= budget.min_updates  # digits
        assert step_epochs(budget, 48000, 32) == budget.epochs  # Fashion-MNIST
    assert quick.budget.seeds >= 2 and standard.budget.cohort >= 1


def test_custom_file_loads_with_its_budget(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    path = write_procedure(tmp_path / "mine.toml", custom_raw)
    proc = load_procedure(path, budget="quick")
    assert proc.name == "tiny"
    assert [s.name for s in proc.steps] == ["width", "dropout"]
    assert proc.steps[0].budget.trials == 2
    assert proc.start.data.limit == 300


def _error(tmp_path: Path, raw: dict[str, Any]) -> str:
    path = write_procedure(tmp_path / "bad.toml", raw)
    with pytest.raises(ConfigError) as info:
        load_procedure(path, budget="quick")
    message = str(info.value)
    assert message.startswith(str(path)), message
    return message


def test_unknown_step_field(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    custom_raw["steps"][1]["scientfic"] = custom_raw["steps"][1].pop("scientific")
    message = _error(tmp_path, custom_raw)
    assert "steps[1] (dropout)" in message
    assert "unknown key 'scientfic'" in message
    assert "scientific" in message.split("allowed keys:")[1]


def test_step_without_a_learning_rate(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    custom_raw["steps"][0]["nuisance"] = {"optimizer.momentum": {"low": 0.5, "high": 0.9}}
    message = _error(tmp_path, custom_raw)
    assert "steps[0] (width)" in message
    assert "no learning rate to tune" in message
    assert "optimizer.learning_rate" in message


def test_empty_step_budget(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    custom_raw["steps"][0]["budget"] = {}
    message = _error(tmp_path, custom_raw)
    assert "steps[0] (width).budget is empty" in message
    assert "trials" in message


def test_empty_procedure_budget(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    custom_raw["budget"] = {}
    assert "[budget] is empty" in _error(tmp_path, custom_raw)


def test_bad_budget_value(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    custom_raw["steps"][0]["budget"] = {"trials": 0}
    assert "budget.trials: must be an integer >= 1, got 0" in _error(tmp_path, custom_raw)
    custom_raw["steps"][0]["budget"] = {"trails": 3}
    assert "budget: unknown key 'trails'" in _error(tmp_path, custom_raw)


def test_unknown_parameter_name(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    custom_raw["steps"][0]["scientific"] = {"model.unitz": [[16], [32]]}
    message = _error(tmp_path, custom_raw)
    assert "steps[0] (width)" in message
    assert "'model.unitz': unknown parameter name" in message
    assert "model.units" in message


def test_unknown_nuisance_name_and_bad_value(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(custom_raw)
    raw["steps"][1]["nuisance"]["optimizer.momentun"] = {"low": 0.1, "high": 0.9}
    assert "'optimizer.momentun': unknown parameter name" in _error(tmp_path, raw)
    raw = copy.deepcopy(custom_raw)
    raw["steps"][1]["nuisance"]["optimizer.learning_rate"] = {"low": 1.0, "high": 0.1}
    assert "low <= high" in _error(tmp_path, raw)


def test_scientific_needs_values(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    custom_raw["steps"][1]["scientific"] = {"model.dropout": {"low": 0.0, "high": 0.5}}
    assert "give a list of choices" in _error(tmp_path, custom_raw)
    custom_raw["steps"][1]["scientific"] = {}
    assert "no scientific hyperparameters" in _error(tmp_path, custom_raw)


def test_other_mistakes(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(custom_raw)
    raw["steps"][1]["name"] = "width"
    assert "two steps are named 'width'" in _error(tmp_path, raw)
    raw = copy.deepcopy(custom_raw)
    raw["steps"][0]["kind"] = "magic"
    assert "steps[0] (width).kind: expected one of" in _error(tmp_path, raw)
    raw = copy.deepcopy(custom_raw)
    raw["stepz"] = raw.pop("steps")
    assert "unknown key 'stepz'" in _error(tmp_path, raw)
    raw = copy.deepcopy(custom_raw)
    raw["start"]["optimizer"]["learning_rate"] = -1
    assert "[start]" in _error(tmp_path, raw)
    raw = copy.deepcopy(custom_raw)
    raw["steps"][0]["nuisance"]["model.units"] = [[8]]
    assert "both scientific and nuisance" in _error(tmp_path, raw)
    raw = copy.deepcopy(custom_raw)
    raw["steps"][0]["quick"] = {"budget": {"epochs": -2}}
    assert "steps[0] (width).quick.budget.epochs" in _error(tmp_path, raw)


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such procedure file"):
        load_procedure(tmp_path / "missing.toml")
    bad = tmp_path / "broken.toml"
    bad.write_text("[[steps]\nname = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_procedure(bad)
    with pytest.raises(ConfigError, match="budget: expected one of quick, standard, thorough"):
        parse_procedure({"steps": []}, budget="huge")


def test_a_level_mistake_is_found_at_any_level(tmp_path: Path,
                                               custom_raw: dict[str, Any]) -> None:
    custom_raw["steps"][0]["thorough"] = {"scientific": {"model.unitz": [[8]]}}
    path = write_procedure(tmp_path / "p.toml", custom_raw)
    with pytest.raises(ConfigError, match="model.unitz"):
        load_procedure(path, budget="quick")
