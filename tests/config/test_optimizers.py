"""The optimizer registry: one entry per optimizer, and everything that derives from it."""

import pytest

from tunelab.config import (
    OPTIMIZER_KEYS,
    OPTIMIZER_SPECS,
    OPTIMIZERS,
    OptimizerConfig,
    RunConfig,
    load_config,
)
from tunelab.errors import ConfigError


def test_every_value_an_optimizer_reads_is_a_config_field() -> None:
    for spec in OPTIMIZER_SPECS.values():
        assert set(spec.defaults) <= set(OptimizerConfig.model_fields), spec.name


def test_names_and_keys_derive_from_the_registry() -> None:
    assert tuple(OPTIMIZER_SPECS) == OPTIMIZERS
    assert set(OPTIMIZER_KEYS) == {k for s in OPTIMIZER_SPECS.values() for k in s.optional}
    assert "learning_rate" not in OPTIMIZER_KEYS and "decay" not in OPTIMIZER_KEYS


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_builds_with_its_keras_defaults(name: str) -> None:
    from tunelab.optim import build_optimizer, optimizer_hyperparams

    cfg = OptimizerConfig(name=name)
    assert optimizer_hyperparams(cfg) == dict(OPTIMIZER_SPECS[name].defaults)
    hyper = build_optimizer(cfg).init([]).hyperparams
    hyper.pop("growth")  # the range test's sweep factor, 1 outside one
    assert {k: float(v) for k, v in hyper.items()} == pytest.approx(
        dict(OPTIMIZER_SPECS[name].defaults), rel=1e-6)


def test_a_step_searching_the_optimizer_clears_every_optimizer_specific_key() -> None:
    from tunelab.guide import default_procedure
    from tunelab.guide._procedure import step_base

    step = next(s for s in default_procedure("quick").steps
                if "optimizer.name" in set(s.scientific) | set(s.nuisance))
    start = RunConfig.model_validate({"optimizer": {"name": "SGD", "momentum": 0.9,
                                                    "nesterov": True}})
    cfg = step_base(step, start)
    assert all(getattr(cfg.optimizer, k) is None for k in OPTIMIZER_KEYS)
    assert cfg.optimizer.nesterov is False


def test_one_reader_for_toml_files_names_a_folder(tmp_path) -> None:
    from tunelab.guide import load_procedure

    with pytest.raises(ConfigError, match="a folder, not a configuration file"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="a folder, not a procedure file"):
        load_procedure(tmp_path)
