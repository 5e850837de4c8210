"""What a cohort shares (structure) and what each slot may change, and data checks."""

from __future__ import annotations

import pytest

from tunelab.config import RunConfig, parse_config
from tunelab.data import Dataset
from tunelab.errors import ConfigError
from tunelab.train import structure_key

from .conftest import small


def test_per_slot_values_share_a_structure() -> None:
    base = structure_key(small())
    for changed in (
        small(optimizer={"learning_rate": 0.01, "momentum": 0.9, "decay": 0.1}),
        small(model={"dropout": 0.5, "l2": 0.01, "kernel_initializer": "he_normal"}),
        small(seed=7),
        small(training={"epochs": 9}),
        small(schedule={"name": "exponential", "decay_rate": 0.1}),
        small(callbacks={"early_stopping": {"patience": 2}}),
    ):
        assert structure_key(changed) == base


@pytest.mark.parametrize("changed", [
    {"model": {"units": [32]}},
    {"model": {"activation": "tanh"}},
    {"training": {"batch_size": 32}},
    {"training": {"shuffle": False}},  # a cohort's slots share one data order
    {"optimizer": {"name": "Adam", "learning_rate": 0.01, "momentum": None}},
    {"optimizer": {"nesterov": True}},
    {"training": {"loss": "mse"}},
    {"data": {"name": "iris"}},
])
def test_structural_changes_change_the_key(changed: dict) -> None:  # type: ignore[type-arg]
    assert structure_key(small(**changed)) != structure_key(small())


def test_the_key_survives_a_round_trip_through_plain_data() -> None:
    cfg = small()
    again = RunConfig.model_validate(cfg.model_dump())
    assert structure_key(again) == structure_key(cfg)
    assert hash(structure_key(cfg)) == hash(structure_key(again))


def test_batch_larger_than_the_data_names_training_batch_size(digits: Dataset) -> None:
    from tunelab.train import Cohort

    with pytest.raises(ConfigError, match="training.batch_size: 5000 is larger than the 1150"
                                          " training samples of 'digits'; use at most 1150"):
        Cohort(small(training={"batch_size": 5000}), digits)


def test_a_loss_unfit_for_the_task_names_training_loss(digits: Dataset) -> None:
    from tunelab.train import Cohort

    with pytest.raises(ConfigError, match="training.loss: 'binary_crossentropy' does not fit"
                                          " a multiclass task"):
        Cohort(parse_config({"training": {"loss": "binary_crossentropy"}}), digits)
