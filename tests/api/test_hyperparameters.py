"""HyperParameters: Keras Tuner's space API, checked against Keras Tuner's own objects."""

from __future__ import annotations

import optuna
import pytest

import tunelab.keras_tuner as tkt
from tunelab.api._hyperparameters import optuna_source
from tunelab.errors import SpaceError

real_kt = pytest.importorskip("keras_tuner", reason="keras-tuner is in the dev extra")


def _declare(hp: object) -> None:
    hp.Int("a", 1, 9, step=2)  # type: ignore[attr-defined]
    hp.Int("b", 2, 64, sampling="log")  # type: ignore[attr-defined]
    hp.Float("c", 0.1, 0.5, step=0.1)  # type: ignore[attr-defined]
    hp.Float("d", 1e-4, 1e-1, sampling="log")  # type: ignore[attr-defined]
    hp.Choice("e", [8, 16, 32])  # type: ignore[attr-defined]
    hp.Boolean("f", default=True)  # type: ignore[attr-defined]
    hp.Fixed("g", "x")  # type: ignore[attr-defined]
    with hp.conditional_scope("e", [16]):  # type: ignore[attr-defined]
        hp.Int("h", 1, 3)  # type: ignore[attr-defined]
    hp.Choice("i", ["u", "v"], parent_name="f", parent_values=[False])  # type: ignore[attr-defined]


def test_configs_values_and_conditions_are_keras_tuners() -> None:
    ours, theirs = tkt.HyperParameters(), real_kt.HyperParameters()
    _declare(ours)
    _declare(theirs)
    assert [(type(p).__name__, p.get_config()) for p in ours.space] == \
        [(type(p).__name__, p.get_config()) for p in theirs.space]
    assert ours.values == theirs.values


def test_get_and_inactive_values() -> None:
    hp = tkt.HyperParameters()
    _declare(hp)
    assert hp.get("a") == 1 and hp["e"] == 8 and "h" in hp
    with pytest.raises(SpaceError, match="not active"):
        hp.get("h")
    with pytest.raises(SpaceError, match="unknown hyperparameter"):
        hp.get("nope")
    with pytest.raises(SpaceError, match="create it before"), \
            hp.conditional_scope("later", [1]):
        pass
    with pytest.raises(SpaceError, match="min_value <= max_value"):
        hp.Int("bad", 5, 1)


def test_optuna_trials_draw_only_values_of_the_space() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        hp = tkt.HyperParameters(optuna_source(study.ask()))
        _declare(hp)
        v = hp.values
        assert v["a"] in (1, 3, 5, 7, 9) and 2 <= v["b"] <= 64
        assert any(abs(v["c"] - k / 10) < 1e-9 for k in range(1, 6))
        assert 1e-4 <= v["d"] <= 1e-1 and v["e"] in (8, 16, 32) and v["g"] == "x"
        assert ("h" in v) == (v["e"] == 16) and ("i" in v) == (v["f"] is False)
