"""A small race shared by the race, plot and CLI-facing tests (one compilation for all)."""

from __future__ import annotations

import pytest

from tunelab.landscapes import RaceResult, race

SMALL_RACE = {"functions": ["beale", "booth"], "optimizers": ["sgd", "adam", "L-BFGS-B", "random"],
              "starts": 3, "budget": 100, "seed": 0}


@pytest.fixture(scope="session")
def small_race() -> RaceResult:
    return race(SMALL_RACE["functions"], SMALL_RACE["optimizers"], starts=3, budget=100, seed=0)
