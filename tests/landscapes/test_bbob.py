"""COCO's BBOB suite through the optional coco-experiment package."""

from __future__ import annotations

import sys

import pytest

from tunelab.errors import ConfigError
from tunelab.landscapes import race
from tunelab.landscapes._bbob import parse_bbob_functions


def test_function_numbers_are_parsed_and_checked() -> None:
    assert parse_bbob_functions(None) == list(range(1, 25))
    assert parse_bbob_functions(["f1", "BBOB-F08", "24", "f1"]) == [1, 8, 24]
    with pytest.raises(ConfigError, match="unknown BBOB function 'f25'; give numbers 1-24"):
        parse_bbob_functions(["f25"])


def test_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cocoex", None)
    with pytest.raises(ConfigError, match=r"pip install 'tunelab\[coco\]'"):
        race(["f1"], ["random"], starts=1, budget=5, suite="bbob", dims=[2])


def test_gradient_family_is_refused_on_bbob() -> None:
    with pytest.raises(ConfigError, match="needs JAX functions"):
        race(["f1"], ["adam"], starts=1, budget=5, suite="bbob", dims=[2])


def test_bbob_race_measures_against_the_suite_optimum() -> None:
    pytest.importorskip("cocoex")
    r = race(["f1", "f8"], ["L-BFGS-B", "random"], starts=2, budget=300, suite="bbob",
             dims=[2, 5])
    keys = [(row["function"], row["dim"], row["optimizer"]) for row in r.table]
    assert keys[:2] == [("bbob-f01", 2, "L-BFGS-B"), ("bbob-f01", 2, "random")]
    assert len(keys) == 8
    sphere = r.problems[0]
    # f at the suite's optimum is f*, and the sphere is solved by a quasi-Newton method.
    assert sphere.numpy_fn(sphere.minimizers[0]) == pytest.approx(sphere.f_star, abs=1e-6)
    assert r.table[0]["success_1e-8"] == 1.0
    with pytest.raises(ConfigError, match="BBOB is defined in dimensions"):
        race(["f1"], ["random"], starts=1, budget=5, suite="bbob", dims=[4])
