"""Guide fixtures: tiny procedures on a small slice of digits, written as TOML files."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import tomli_w

LR = {"low": 0.01, "high": 1.0, "log": True}

TINY_BUDGET = {"trials": 1, "epochs": 2, "seeds": 2, "finalists": 2, "cohort": 4}


def tiny_custom(trials: int = 2, epochs: int = 2, cohort: int = 4) -> dict[str, Any]:
    """A two-step procedure: widths, then dropout; small data, small budget."""
    return {
        "procedure": {"name": "tiny"},
        "start": {"data": {"name": "digits", "limit": 300},
                  "model": {"units": [16], "dropout": 0.0},
                  "optimizer": {"name": "SGD", "learning_rate": 0.1, "momentum": 0.8},
                  "training": {"batch_size": 32}},
        "budget": {"trials": trials, "epochs": epochs, "seeds": 2, "finalists": 2,
                   "cohort": cohort},
        "steps": [
            {"name": "width", "scientific": {"model.units": [[16], [32]]},
             "nuisance": {"optimizer.learning_rate": LR}},
            {"name": "dropout", "scientific": {"model.dropout": [0.0, 0.2]},
             "nuisance": {"optimizer.learning_rate": LR}},
        ],
    }


# Fewer values than shipped (every distinct structure costs a compilation), every mechanism
# kept: conditional choices, range tests once and per value, schedules, early stopping.
TINY_VALUES = {
    "topology": {"model.units": [[64, 64], [128, 128]], "model.dropout": [0.0, 0.1]},
    "optimizer": {"optimizer.name": ["SGD", "Adam"],
                  "optimizer.nesterov": {"choices": [False, True],
                                         "when": {"optimizer.name": "SGD"}},
                  "training.loss": ["categorical_crossentropy"]},
    "batch_size": {"training.batch_size": [32, 64]},
}


def tiny_default() -> dict[str, Any]:
    """The default procedure's four steps as shipped, with a tiny budget on small data."""
    text = resources.files("tunelab.guide").joinpath("tutorial.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    raw["start"]["data"] = {"name": "digits", "limit": 300}
    raw["budget"] = {**raw["budget"], "quick": dict(TINY_BUDGET)}
    for step in raw["steps"]:
        step.pop("budget", None)
        quick = step.setdefault("quick", {})
        quick.pop("budget", None)
        if step["name"] in TINY_VALUES:
            quick["scientific"] = TINY_VALUES[step["name"]]
        if step["name"] == "optimizer":  # conditions may only name values that exist
            quick["nuisance"] = {**step["nuisance"],
                                 "optimizer.momentum": {"low": 0.5, "high": 0.95,
                                                        "when": {"optimizer.name": "SGD"}},
                                 "optimizer.beta_1": {"low": 0.8, "high": 0.95,
                                                      "when": {"optimizer.name": "Adam"}}}
    return raw


def write_procedure(path: Path, raw: dict[str, Any]) -> Path:
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


@pytest.fixture
def custom_raw() -> dict[str, Any]:
    return copy.deepcopy(tiny_custom())


@pytest.fixture(scope="session")
def digits() -> Any:
    from tunelab.data import load_dataset

    return load_dataset("digits", seed=0)
