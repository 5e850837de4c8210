"""Presets: the tutorial's three experiments exactly as its code configured them."""

from __future__ import annotations

import pytest

from tunelab.errors import ConfigError
from tunelab.optim import step_decay
from tunelab.train import list_presets, load_preset


def test_the_three_tutorial_presets_are_listed_with_a_description() -> None:
    presets = list_presets()
    assert list(presets) == ["tutorial-exp-decay", "tutorial-rmsprop", "tutorial-sgd-time-decay"]
    assert all("the tutorial used MNIST" in text for text in presets.values())


def test_every_preset_uses_the_tutorials_mlp_on_digits() -> None:
    for name in list_presets():
        cfg = load_preset(name)
        assert cfg.data.name == "digits" and cfg.training.epochs == 60
        assert cfg.model.units == [64, 64] and cfg.model.dropout_rates() == [0.1, 0.0]
        assert cfg.model.kernel_initializer == "uniform" and cfg.model.activation == "relu"
        assert cfg.training.loss == "categorical_crossentropy"


def test_sgd_time_decay() -> None:
    cfg = load_preset("tutorial-sgd-time-decay")
    opt = cfg.optimizer
    assert (opt.name, opt.learning_rate, opt.momentum, opt.nesterov) == ("SGD", 0.1, 0.8, False)
    assert opt.decay == pytest.approx(0.1 / 60)
    assert cfg.training.batch_size == int(784 / 100) == 7
    assert step_decay(cfg.schedule, opt) == pytest.approx(0.1 / 60)  # per update step


def test_exp_decay_keeps_the_optimizers_decay_and_adds_the_schedule() -> None:
    cfg = load_preset("tutorial-exp-decay")
    assert (cfg.optimizer.learning_rate, cfg.optimizer.momentum, cfg.optimizer.decay) == (
        0.1, 0.8, 0.1)
    assert (cfg.schedule.name, cfg.schedule.decay_rate) == ("exponential", 0.1)
    assert cfg.training.batch_size == 196


def test_rmsprop() -> None:
    cfg = load_preset("tutorial-rmsprop")
    assert (cfg.optimizer.name, cfg.optimizer.learning_rate, cfg.optimizer.rho) == (
        "RMSprop", 0.001, 0.9)
    assert cfg.optimizer.epsilon is None  # Keras's default, as epsilon=None meant
    assert cfg.training.batch_size == 784


def test_an_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown preset 'tutorial'; available:"
                                          " tutorial-exp-decay, tutorial-rmsprop"):
        load_preset("tutorial")
