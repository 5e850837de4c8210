"""Search spaces: every invalid case is an error naming the parameter, before anything runs."""

from __future__ import annotations

import optuna
import pytest

from tunelab.config import RunConfig, parse_config
from tunelab.errors import ConfigError, SpaceError
from tunelab.study import Categorical, Fixed, Float, Int, Space

optuna.logging.set_verbosity(optuna.logging.WARNING)

SOURCE = "study.toml [search]"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"optimizer.learning_rate": {"low": 0.1, "high": 0.01}},
         "search parameter 'optimizer.learning_rate': `low <= high` must hold, got low=0.1,"
         " high=0.01"),
        ({"optimizer.learning_rate": {"low": 0.0, "high": 0.1, "log": True}},
         "search parameter 'optimizer.learning_rate': a log scale needs low > 0, got low=0.0"),
        ({"training.batch_size": {"low": 16, "high": 64, "step": 0}},
         "search parameter 'training.batch_size': step must be an integer > 0, got step=0"),
        ({"model.dropout": {"low": 0.0, "high": 0.5, "step": -0.1}},
         "search parameter 'model.dropout': step must be a number > 0, got step=-0.1"),
        ({"optimizer.name": []},
         "search parameter 'optimizer.name': choices is empty"),
        ({"optimizer.name": {"choices": []}},
         "search parameter 'optimizer.name': choices is empty"),
        ({"optimizer.lr": {"low": 0.01, "high": 0.1}},
         "search parameter 'optimizer.lr': unknown parameter name; did you mean"
         " optimizer.learning_rate"),
        ({"optimizer": {"speed": [1, 2]}},
         "search parameter 'optimizer.speed': unknown parameter name"),
        ({"optimizer.momentum": {"low": 0.0, "high": 0.9, "when": {"optimizer.name": "SGD"}}},
         "search parameter 'optimizer.momentum': its condition names 'optimizer.name', which is"
         " not a search parameter"),
        ({"optimizer.name": ["SGD", "Adam"],
          "optimizer.momentum": {"low": 0.0, "high": 0.9, "when": {"optimizer.name": "Adagrad"}}},
         "search parameter 'optimizer.momentum': its condition value 'Adagrad' is not a possible"
         " value of 'optimizer.name'"),
        ({"optimizer.learning_rate": {"low": 0.01, "high": 0.1},
          "optimizer.momentum": {"low": 0.0, "high": 0.9,
                                 "when": {"optimizer.learning_rate": 0.05}}},
         "conditions can only name categorical, int or fixed parameters"),
        ({"training.epochs": {"choices": [1, 2], "when": {"training.batch_size": 32}},
          "training.batch_size": {"choices": [32, 64], "when": {"training.epochs": 1}}},
         "conditions form a cycle"),
        ({"data.name": ["digits", "iris"]},
         "search parameter 'data.name': data settings cannot be searched"),
        ({"optimizer.learning_rate": {"low": 0.01, "hi": 0.1}},
         "search parameter 'optimizer.learning_rate': unknown key(s) hi"),
        ({"optimizer.learning_rate": {"type": "normal", "low": 0.01, "high": 0.1}},
         "unknown type 'normal'"),
        ({"optimizer.learning_rate": {"low": 0.01}},
         "search parameter 'optimizer.learning_rate': a float parameter needs high"),
        ({"optimizer": "SGD"},
         "search parameter 'optimizer': unknown parameter name"),
    ],
)
def test_invalid_spaces_name_the_file_and_the_parameter(raw: dict, message: str) -> None:
    with pytest.raises(SpaceError) as err:
        Space(raw, source=SOURCE).check(RunConfig())
    assert str(err.value).startswith(f"{SOURCE}: ")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"optimizer.momentum": {"low": 0.0, "high": 1.0}},
         "search parameter 'optimizer.momentum': value 1.0 makes an invalid configuration:"
         " key 'optimizer.momentum'"),
        ({"training.batch_size": {"type": "float", "low": 8.0, "high": 64.5}},
         "search parameter 'training.batch_size': value 64.5 makes an invalid configuration"),
        ({"optimizer.name": ["SGD", "Lion"]},
         "search parameter 'optimizer.name': value 'Lion' makes an invalid configuration:"
         " key 'optimizer.name': unknown optimizer 'Lion'"),
        ({"model.units": [[16], [0]]},
         "search parameter 'model.units': value [0] makes an invalid configuration"),
    ],
)
def test_values_are_checked_against_the_configuration(raw: dict, message: str) -> None:
    space = Space(raw, source=SOURCE)
    with pytest.raises(SpaceError, match="makes an invalid configuration") as err:
        space.check(RunConfig())
    assert message in str(err.value)


def test_toml_forms_become_parameters() -> None:
    space = Space({
        "optimizer": {"learning_rate": {"low": 1e-4, "high": 1.0, "log": True},
                      "name": ["SGD", "Adam"], "nesterov": True},
        "training.batch_size": {"low": 16, "high": 128, "log": True},
        "model.dropout": {"low": 0, "high": 1, "type": "float"},
        "model.l2": {"low": 0, "high": 1},
        "model.units": {"choices": [[16], [32, 32]]},
        "training.epochs": {"value": 3},
    })
    p = space.params
    assert p["optimizer.learning_rate"] == Float(1e-4, 1.0, log=True)
    assert p["optimizer.name"] == Categorical(["SGD", "Adam"])
    assert p["optimizer.nesterov"] == Fixed(True)
    assert p["training.batch_size"] == Int(16, 128, log=True)
    assert isinstance(p["model.dropout"], Float)
    assert isinstance(p["model.l2"], Float), "a float key gets a float range from int bounds"
    assert p["training.epochs"] == Fixed(3)
    assert set(space.distributions()) == {"optimizer.learning_rate", "optimizer.name",
                                          "training.batch_size", "model.dropout", "model.l2",
                                          "model.units"}


def test_python_objects_and_toml_give_the_same_fingerprint() -> None:
    from_python = Space({"optimizer.learning_rate": Float(1e-3, 0.5, log=True),
                         "training.batch_size": Categorical([32, 64])})
    from_toml = Space({"training": {"batch_size": [32, 64]},
                       "optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True}})
    assert from_python.fingerprint() == from_toml.fingerprint()
    changed = Space({"optimizer.learning_rate": Float(1e-3, 0.4, log=True),
                     "training.batch_size": Categorical([32, 64])})
    assert changed.fingerprint() != from_python.fingerprint()


def test_conditional_parameter_is_sampled_only_when_its_condition_holds() -> None:
    space = Space({
        "optimizer.momentum": Float(0.0, 0.9, when={"optimizer.name": "SGD"}),
        "optimizer.name": ["SGD", "Adam", "RMSprop"],
        "optimizer.rho": {"low": 0.8, "high": 0.99, "when": {"optimizer.name": ["RMSprop"]}},
        "optimizer.learning_rate": {"low": 1e-3, "high": 0.1, "log": True},
    })
    assert space.names.index("optimizer.name") < space.names.index("optimizer.momentum")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        values = space.suggest(trial)
        name = values["optimizer.name"]
        seen.add(name)
        assert ("optimizer.momentum" in values) == (name == "SGD")
        assert ("optimizer.rho" in values) == (name == "RMSprop")
        cfg = space.apply(RunConfig(), values)
        assert cfg.optimizer.name == name
        study.tell(trial, 0.0)
        assert space.values_from_params(study.trials[-1].params) == values
    assert seen == {"SGD", "Adam", "RMSprop"}


def test_layers_and_one_width_expand_to_units_and_dropout_follows() -> None:
    base = parse_config({"model": {"units": [64, 64], "dropout": [0.1, 0.0]}})
    space = Space({"model.layers": [1, 3], "model.units": [16, 32]})
    assert space.apply(base, {"model.layers": 3, "model.units": 16}).model.units == [16, 16, 16]
    three = space.apply(base, {"model.layers": 3})
    assert three.model.units == [64, 64, 64] and three.model.dropout == [0.1, 0.0, 0.0]
    one = space.apply(base, {"model.units": [8]})
    assert one.model.units == [8] and one.model.dropout == [0.1]
    space.check(base)


def test_apply_reports_an_impossible_combination_as_config_error() -> None:
    with pytest.raises(ConfigError, match="dropout"):
        Space().apply(RunConfig(), {"model.units": [8, 8, 8], "model.dropout": [0.1, 0.2]})


def test_grid_needs_a_step_on_floats() -> None:
    space = Space({"optimizer.learning_rate": {"low": 0.01, "high": 0.1}}, source=SOURCE)
    with pytest.raises(SpaceError, match="'optimizer.learning_rate': the grid sampler needs a"
                       " finite set of values"):
        space.grid()
    grid = Space({"model.dropout": {"low": 0.0, "high": 0.2, "step": 0.1},
                  "model.units": [[8], [16]], "training.epochs": 2})
    assert grid.grid() == {"model.dropout": [0.0, 0.1, 0.2], "model.units": ["[8]", "[16]"]}
    assert grid.grid_size() == 6


def test_a_section_name_given_twice_is_an_error() -> None:
    with pytest.raises(SpaceError, match="'optimizer.name' is given twice"):
        Space({"optimizer": {"name": ["SGD"]}, "optimizer.name": ["Adam"]})
