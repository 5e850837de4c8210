"""Shared pieces of the engine tests: the digits data and a small, fast configuration."""

from __future__ import annotations

from typing import Any

import pytest

from tunelab.config import RunConfig, parse_config
from tunelab.data import Dataset, load_dataset


@pytest.fixture(scope="session")
def digits() -> Dataset:
    return load_dataset("digits", seed=0)


def small(**sections: Any) -> RunConfig:
    """A small MLP on digits: 16 hidden units, batch 64, 3 epochs; sections override it."""
    base: dict[str, Any] = {
        "model": {"units": [16], "dropout": 0.1},
        "optimizer": {"name": "SGD", "learning_rate": 0.1, "momentum": 0.5},
        "training": {"epochs": 3, "batch_size": 64},
    }
    for key, value in sections.items():
        if isinstance(value, dict):
            base[key] = {**base.get(key, {}), **value}
        else:
            base[key] = value
    return parse_config(base)
