"""Procedures: the default one, custom files, and every bad file with a clear message."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from pydantic import ValidationError

from tests.guide.conftest import write_procedure
from tunelab.errors import ConfigError
from tunelab.guide import (
    BUDGET_FIELDS,
    LEVELS,
    STEP_FIELDS,
    Budget,
    Step,
    default_procedure,
    load_procedure,
    parse_procedure,
)
from tunelab.guide._procedure import _StepTable, step_epochs


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
    assert "scientific" in message.split("allowed keys here:")[1]


def test_step_without_a_learning_rate(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    custom_raw["steps"][0]["nuisance"] = {"optimizer.momentum": {"low": 0.5, "high": 0.9}}
    message = _error(tmp_path, custom_raw)
    assert "steps[0] (width)" in message
    assert "no learning rate to tune" in message
    assert "optimizer.learning_rate" in message


def test_empty_step_budget(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    custom_raw["steps"][0]["budget"] = {}
    message = _error(tmp_path, custom_raw)
    assert "steps[0] (width): key 'budget': an empty table" in message
    assert "give at least one of trials, epochs" in message


def test_empty_procedure_budget(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    custom_raw["budget"] = {}
    assert "bad.toml: key 'budget': an empty table" in _error(tmp_path, custom_raw)


def test_bad_budget_value(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    custom_raw["steps"][0]["budget"] = {"trials": 0}
    assert ("steps[0] (width): key 'budget.trials': Input should be greater than or equal"
            " to 1 (got 0)") in _error(tmp_path, custom_raw)
    custom_raw["steps"][0]["budget"] = {"trails": 3}
    assert ("steps[0] (width): unknown key 'budget.trails'; allowed keys here: alpha, cohort,"
            " epochs" in _error(tmp_path, custom_raw))


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
    assert ("steps[0] (width): key 'kind': Input should be 'compare', 'learning_rate',"
            " 'batch_size' or 'cross_validation' (got 'magic')") in _error(tmp_path, raw)
    raw = copy.deepcopy(custom_raw)
    raw["stepz"] = raw.pop("steps")
    assert "unknown key 'stepz'" in _error(tmp_path, raw)
    raw = copy.deepcopy(custom_raw)
    raw["start"]["optimizer"]["learning_rate"] = -1
    assert ("key 'start.optimizer.learning_rate': Input should be greater than 0 (got -1)"
            in _error(tmp_path, raw))
    raw = copy.deepcopy(custom_raw)
    raw["steps"][0]["nuisance"]["model.units"] = [[8]]
    assert "both scientific and nuisance" in _error(tmp_path, raw)
    raw = copy.deepcopy(custom_raw)
    raw["steps"][0]["quick"] = {"budget": {"epochs": -2}}
    assert "steps[0] (width): key 'quick.budget.epochs'" in _error(tmp_path, raw)


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


def _set(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """``raw`` with one value set at a path such as ``steps.0.budget.trials``."""
    raw = copy.deepcopy(raw)
    *parents, leaf = dotted.split(".")
    node: Any = raw
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    node[int(leaf) if isinstance(node, list) else leaf] = value
    return raw


@pytest.mark.parametrize(("dotted", "value", "expected"), [
    ("stepz", [], "bad.toml: unknown key 'stepz'; allowed keys here: budget, procedure, start,"
                  " steps"),
    ("procedure.nmae", "x", "unknown key 'procedure.nmae'; allowed keys here: description,"
                            " name"),
    ("start.modell", {}, "unknown key 'start.modell'; allowed keys here: callbacks, data,"
                         " model, optimizer"),
    ("budget.trails", 2, "unknown key 'budget.trails'; allowed keys here: alpha, cohort, epochs,"
                         " finalists, folds, lr_spread, min_updates, patience, pruner, quick"),
    ("budget.quick.trails", 2, "unknown key 'budget.quick.trails'; allowed keys here: alpha,"
                               " cohort,"),
    ("steps.0.quick.optional", True, "steps[0] (width): unknown key 'quick.optional'; allowed"
                                     " keys here: about, budget, fixed, nuisance, range_test,"
                                     " scientific, title"),
    ("steps.1.quick.budget.trails", 2, "steps[1] (dropout): unknown key 'quick.budget.trails'"),
])
def test_unknown_keys_name_the_path_and_the_allowed_keys(
        tmp_path: Path, custom_raw: dict[str, Any], dotted: str, value: Any,
        expected: str) -> None:
    assert expected in _error(tmp_path, _set(custom_raw, dotted, value))


@pytest.mark.parametrize(("dotted", "value", "expected"), [
    ("steps.0.budget.trials", "3", "steps[0] (width): key 'budget.trials': Input should be a"
                                   " valid integer (got '3')"),
    ("steps.0.budget.epochs", 2.5, "key 'budget.epochs': Input should be a valid integer"
                                   " (got 2.5)"),
    ("budget.lr_spread", True, "key 'budget.lr_spread': Input should be a valid number"
                               " (got True)"),
    ("budget.sampler", "tpee", "key 'budget.sampler': expected a sampler, one of tpe, random,"),
    ("budget.quick.pruner", "asap", "key 'budget.quick.pruner': expected a pruner, one of"
                                    " auto, asha"),
    ("steps.1.optional", 1, "steps[1] (dropout): key 'optional': Input should be a valid"
                            " boolean (got 1)"),
    ("steps.1.title", 7, "steps[1] (dropout): key 'title': Input should be a valid string"),
    ("steps.0.scientific", [[16]], "steps[0] (width): key 'scientific': expected a table"
                                   " (got [[16]])"),
    ("steps.0.quick", "fast", "steps[0] (width): key 'quick': expected a table (got 'fast')"),
    ("steps.1", 3, "bad.toml: key 'steps[1]': expected a table (got 3)"),
    ("steps.0.range_test", "twice", "steps[0] (width): key 'range_test': Input should be"
                                    " 'none', 'once' or 'per_value' (got 'twice')"),
    ("procedure.name", 3, "key 'procedure.name': Input should be a valid string (got 3)"),
])
def test_wrong_types_name_the_key_and_what_was_expected(
        tmp_path: Path, custom_raw: dict[str, Any], dotted: str, value: Any,
        expected: str) -> None:
    assert expected in _error(tmp_path, _set(custom_raw, dotted, value))


@pytest.mark.parametrize(("dotted", "value", "expected"), [
    ("steps.0.budget.trials", 0, "key 'budget.trials': Input should be greater than or equal"
                                 " to 1 (got 0)"),
    ("budget.seeds", 1, "key 'budget.seeds': Input should be greater than or equal to 2"
                        " (got 1)"),
    ("budget.finalists", 1, "key 'budget.finalists': Input should be greater than or equal"
                            " to 2 (got 1)"),
    ("budget.thorough.folds", 1, "key 'budget.thorough.folds': Input should be greater than"
                                 " or equal to 2 (got 1)"),
    ("steps.1.budget.lr_spread", 0.5, "steps[1] (dropout): key 'budget.lr_spread': Input"
                                      " should be greater than or equal to 1 (got 0.5)"),
    ("steps.1.thorough.budget.patience", -1, "steps[1] (dropout): key"
                                             " 'thorough.budget.patience': Input should be"),
    ("budget.cohort", 0, "key 'budget.cohort': Input should be greater than or equal to 1"),
])
def test_impossible_budget_values_are_refused_at_every_level(
        tmp_path: Path, custom_raw: dict[str, Any], dotted: str, value: Any,
        expected: str) -> None:
    # Every level is checked whichever is asked for (the files here are read at `quick`).
    assert expected in _error(tmp_path, _set(custom_raw, dotted, value))


def test_every_mistake_of_a_table_is_reported_at_once(tmp_path: Path,
                                                      custom_raw: dict[str, Any]) -> None:
    raw = _set(custom_raw, "steps.0.budget", {"trials": 0, "seeds": "2", "folds": 9})
    message = _error(tmp_path, raw)
    assert "key 'budget.trials'" in message and "key 'budget.seeds'" in message
    assert "folds" not in message


def test_unknown_levels(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_procedure(custom_raw, source="p.toml", budget="huge")
    assert str(info.value) == ("budget: expected one of quick, standard, thorough, got 'huge'"
                               " (the level to resolve p.toml for)")
    message = _error(tmp_path, _set(custom_raw, "steps.0.fast", {"title": "x"}))
    assert "steps[0] (width): unknown key 'fast'" in message
    assert "quick, range_test, scientific, standard, thorough, title" in message
    message = _error(tmp_path, _set(custom_raw, "budget.huge", {"trials": 9}))
    assert "unknown key 'budget.huge'" in message and "quick" in message


def test_a_mistake_in_a_level_table_names_the_level(tmp_path: Path,
                                                    custom_raw: dict[str, Any]) -> None:
    raw = _set(custom_raw, "steps.1.standard", {"nuisance": {"optimizer.momentum":
                                                              {"low": 0.5, "high": 0.9}}})
    message = _error(tmp_path, raw)
    assert message.startswith(f"{tmp_path / 'bad.toml'}: steps[1] (dropout) at level standard:"
                              " no learning rate to tune"), message


def test_steps_missing_or_nameless(tmp_path: Path, custom_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(custom_raw)
    del raw["steps"]
    assert "key 'steps': got no steps; give at least one [[steps]] table" in _error(tmp_path,
                                                                                   raw)
    raw = copy.deepcopy(custom_raw)
    del raw["steps"][1]["name"]
    assert "bad.toml: steps[1]: key 'name': Field required" in _error(tmp_path, raw)
    raw = _set(custom_raw, "steps.1.name", "  ")
    assert "steps[1]: key 'name': String should have at least 1 character" in _error(tmp_path,
                                                                                     raw)


def test_a_fixed_setting_that_does_not_fit_names_the_step(tmp_path: Path,
                                                          custom_raw: dict[str, Any]) -> None:
    message = _error(tmp_path, _set(custom_raw, "steps.0.fixed", {"model.unitz": [8]}))
    assert "steps[0] (width): fixed: unknown key 'model.unitz'; allowed keys here:" in message


def test_budget_values_resolve_level_over_common_and_step_over_procedure(
        custom_raw: dict[str, Any]) -> None:
    raw = _set(custom_raw, "budget.quick", {"trials": 5, "sampler": "Random"})
    raw = _set(raw, "steps.1.budget", {"epochs": 7})
    raw = _set(raw, "steps.1.quick", {"budget": {"epochs": 9}, "title": "Dropout, quickly"})
    quick = parse_procedure(raw, budget="quick")
    standard = parse_procedure(raw, budget="standard")
    assert quick.budget.trials == 5 and quick.budget.sampler == "random"
    assert standard.budget.trials == 2 and standard.budget.sampler == "tpe"
    assert quick.step("dropout").budget.epochs == 9
    assert standard.step("dropout").budget.epochs == 7
    assert quick.step("width").budget.epochs == 2  # the procedure's own
    assert quick.step("dropout").title == "Dropout, quickly"
    assert standard.step("dropout").title == "dropout"  # a title defaults to the name


def test_budget_and_step_objects_check_their_values() -> None:
    assert BUDGET_FIELDS == ("trials", "epochs", "seeds", "finalists", "cohort", "lr_spread",
                             "sampler", "pruner", "patience", "folds", "min_updates", "alpha",
                             "sequential")
    assert set(STEP_FIELDS) == set(_StepTable.model_fields)
    assert Budget(lr_spread=2).lr_spread == 2.0
    with pytest.raises(ValidationError):
        Budget(trials=0)
    with pytest.raises(ValidationError):
        Step(name="s", kind="magic")  # type: ignore[arg-type]
    assert Budget().updated({"seeds": 4}, "here").seeds == 4
    with pytest.raises(ConfigError, match=r"^here: key 'seeds': Input should be greater"):
        Budget().updated({"seeds": 1}, "here")
    with pytest.raises(ConfigError, match=r"^here: unknown key 'seedz'; allowed keys here:"):
        Budget().updated({"seedz": 4}, "here")
    # The level of every test that adopts a change: a budget setting, checked.
    assert Budget().alpha == 0.05 and Budget().updated({"alpha": 0.01}).alpha == 0.01
    with pytest.raises(ConfigError, match=r"^budget: key 'alpha': Input should be less"):
        Budget().updated({"alpha": 0.7})


def test_to_dict_is_plain_toml_ready_data() -> None:
    proc = default_procedure("quick")
    data = proc.to_dict()
    assert data["procedure"] == {"name": "tutorial", "description": proc.description,
                                 "level": "quick"}
    assert data["budget"] == proc.budget.model_dump()
    assert set(data["budget"]) == set(BUDGET_FIELDS)
    first = data["steps"][0]
    assert first["name"] == "topology" and first["budget"]["trials"] == 4
    assert set(first) == set(STEP_FIELDS) - set(LEVELS)
    assert "sampler" in tomli_w.dumps(data)
    first["scientific"]["model.units"].append([1])  # a copy: the procedure is unchanged
    assert [1] not in proc.step("topology").scientific["model.units"]
