"""Search parameters: ranges checked where they are built, Optuna distributions, encoding."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from tunelab.study import Categorical, Fixed, Float, Int, Space
from tunelab.study._params import condition_holds


def test_float_distribution_keeps_log_and_step() -> None:
    assert Float(1e-4, 1.0, log=True).distribution() == FloatDistribution(1e-4, 1.0, log=True)
    assert Float(0.0, 0.5, step=0.1).distribution() == FloatDistribution(0.0, 0.5, step=0.1)


def test_int_distribution_and_grid() -> None:
    assert Int(16, 256, log=True).distribution() == IntDistribution(16, 256, log=True)
    assert Int(1, 7, step=3).grid_values() == [1, 4, 7]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Float(0.1, 0.01), "`low <= high` must hold, got low=0.1, high=0.01"),
        (lambda: Float(0.0, 1.0, log=True), "a log scale needs low > 0, got low=0.0"),
        (lambda: Float(0.0, 1.0, step=0), "step must be a number > 0, got step=0"),
        (lambda: Float(0.0, 1.0, step=-0.1), "step must be a number > 0"),
        (lambda: Float(1e-3, 1.0, log=True, step=0.1), "log and step cannot be combined"),
        (lambda: Float("a", 1.0), "low and high must be numbers"),
        (lambda: Int(8, 2), "`low <= high` must hold, got low=8, high=2"),
        (lambda: Int(0, 8, log=True), "a log scale needs low > 0, got low=0"),
        (lambda: Int(1, 8, step=0), "step must be an integer > 0, got step=0"),
        (lambda: Int(1.5, 8), "low must be an integer, got low=1.5"),
        (lambda: Categorical([]), "choices is empty"),
        (lambda: Categorical(["a", "a"]), "choices has a value twice"),
        (lambda: Categorical("abc"), "choices must be a list"),
    ],
)
def test_bad_ranges_say_what_held_and_what_did_not(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()  # type: ignore[operator]


def test_list_choices_are_stored_as_json_text_and_decoded_back() -> None:
    units = Categorical([[16], [32, 32]])
    dist = units.distribution()
    assert isinstance(dist, CategoricalDistribution)
    assert dist.choices == ("[16]", "[32, 32]")
    assert units.decode("[32, 32]") == [32, 32]
    plain = Categorical(["SGD", "Adam"])
    assert plain.encode("Adam") == "Adam" and plain.decode("Adam") == "Adam"


def test_fixed_value_has_no_distribution() -> None:
    fixed = Fixed([8, 8])
    assert fixed.distribution() is None
    assert fixed.decode(None) == [8, 8]


def test_conditions_compare_names_case_insensitively() -> None:
    when = {"optimizer.name": ("SGD", "RMSprop")}
    assert condition_holds(when, {"optimizer.name": "sgd"})
    assert not condition_holds(when, {"optimizer.name": "Adam"})
    assert not condition_holds(when, {})
    assert not condition_holds({"training.epochs": (1,)}, {"training.epochs": True})


def test_spec_is_plain_data_and_equality_follows_it() -> None:
    a = Float(0.1, 1.0, when={"optimizer.name": "SGD"})
    assert a.spec() == {"type": "float", "low": 0.1, "high": 1.0, "log": False,
                        "when": {"optimizer.name": ["SGD"]}}
    assert Space({"optimizer.momentum": a.spec(),
                 "optimizer.name": ["SGD"]}).params["optimizer.momentum"] == a
    assert a == Float(0.1, 1.0, when={"optimizer.name": ["SGD"]})
    assert a != Float(0.1, 1.0)
    assert "Float(low=0.1" in repr(a)
