"""The learning-rate range test on a problem whose answer is known.

Linear least squares, y = 3x + noise with x ~ N(0, 1), trained by plain SGD on the mean squared
error: the loss's curvature is 2 E[x^2] = 2, so gradient descent converges for rates below 1 and
diverges above. The sweep's lowest (smoothed) loss must sit at that edge, the suggested rate a
safe distance below it, and the sweep must stop once the loss passes 4 times its best.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tunelab.config import parse_config
from tunelab.errors import ConfigError
from tunelab.guide import RangeTest, lr_range_test, plot_range_test


@pytest.fixture(scope="module")
def line() -> SimpleNamespace:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2048, 1)).astype("float32")
    y = 3.0 * x[:, 0] + 0.5 * rng.normal(size=2048)
    return SimpleNamespace(x_train=x, y_train=y.astype("float32"),
                           task="regression", num_classes=1, name="line")


@pytest.fixture(scope="module")
def linear() -> object:
    return parse_config({"model": {"units": [], "dropout": []},
                         "optimizer": {"name": "SGD"},
                         "training": {"batch_size": 64, "loss": "mse"}})


@pytest.fixture(scope="module")
def result(line: SimpleNamespace, linear: object) -> RangeTest:
    return lr_range_test(linear, line, start_lr=1e-4, end_lr=100.0, steps=150, seeds=2)  # type: ignore[arg-type]


def test_finds_the_divergence_edge_and_suggests_a_rate_below_it(result: RangeTest) -> None:
    # The moving average lags a few steps behind the loss, so its lowest point can sit a
    # little past the edge at 1, never far from it.
    assert 0.3 <= result.min_loss_lr <= 2.0, result.summary()
    assert result.suggested == pytest.approx(result.min_loss_lr / 10, rel=1e-3)
    assert 0.03 <= result.suggested <= 0.2
    # The loss falls fastest where the rate first moves the weight, well below the edge.
    assert 1e-3 <= result.steepest_lr < result.min_loss_lr


def test_stops_when_the_loss_passes_four_times_its_best(result: RangeTest) -> None:
    assert result.stop_reason == "the loss passed 4x its best"
    assert result.learning_rates[-1] < 100.0  # stopped before the end of the sweep
    best = min(result.losses)
    assert result.losses[-1] > 4 * best
    assert all(loss <= 4 * min(result.losses[:i + 1])
               for i, loss in enumerate(result.losses[:-1]))
    rates = result.learning_rates
    assert all(b > a for a, b in zip(rates, rates[1:], strict=False))  # exponential sweep
    assert rates[1] / rates[0] == pytest.approx(rates[-1] / rates[-2], rel=1e-4)


def test_plot_and_round_trip(result: RangeTest, tmp_path: Path) -> None:
    png = plot_range_test(result, tmp_path / "lr.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert RangeTest.model_validate(result.model_dump()).suggested == result.suggested


def test_bad_settings(line: SimpleNamespace, linear: object) -> None:
    with pytest.raises(ConfigError, match="start_lr < end_lr"):
        lr_range_test(linear, line, start_lr=1.0, end_lr=0.1)  # type: ignore[arg-type]
    big = parse_config({"model": {"units": [], "dropout": []},
                        "training": {"batch_size": 4096, "loss": "mse"}})
    with pytest.raises(ConfigError, match="larger than the 2048 training samples"):
        lr_range_test(big, line)
