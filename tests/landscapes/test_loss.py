"""Filter-normalised directions, the grid and its weights, and the loss-landscape figures."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.errors import ConfigError
from tunelab.landscapes import (
    filter_normalized_direction,
    landscape_grid,
    landscape_points,
    plot_loss_landscape,
)
from tunelab.runs import LandscapeSplit, LossLandscape


def test_each_filter_gets_the_norm_of_its_weights() -> None:
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(5, 3)) * np.array([0.1, 1.0, 10.0])  # columns of other scales
    conv = rng.normal(size=(3, 3, 2, 4))
    bias = np.ones(3)
    d_kernel, d_conv, d_bias = filter_normalized_direction([kernel, conv, bias],
                                                           np.random.default_rng(1))
    np.testing.assert_allclose(np.linalg.norm(d_kernel, axis=0), np.linalg.norm(kernel, axis=0))
    np.testing.assert_allclose(np.sqrt((d_conv**2).sum(axis=(0, 1, 2))),
                               np.sqrt((conv**2).sum(axis=(0, 1, 2))))
    assert not d_bias.any()  # Li et al.'s default: biases are not moved
    (d_all,) = filter_normalized_direction([bias], np.random.default_rng(1), ignore_1d=False)
    assert np.linalg.norm(d_all) == pytest.approx(np.linalg.norm(bias))
    again = filter_normalized_direction([kernel], np.random.default_rng(1))[0]
    np.testing.assert_array_equal(again, d_kernel)  # seeded


def test_grid_and_points() -> None:
    assert landscape_grid(0.5, 3).tolist() == [-0.5, 0.0, 0.5]
    with pytest.raises(ConfigError, match="--span must be > 0"):
        landscape_grid(0.0, 5)
    w = [np.array([1.0, 2.0])]
    d1, d2 = [np.array([1.0, 0.0])], [np.array([0.0, 1.0])]
    pts = list(landscape_points(w, [d1, d2], np.array([[0.5, -1.0], [0.0, 0.0]])))
    assert [p[0].tolist() for p in pts] == [[1.5, 1.0], [1.0, 2.0]]


def _record(dims: int) -> LossLandscape:
    grid = [-1.0, 0.0, 1.0]
    n = 3 if dims == 1 else 9
    loss = [1.0 + abs(i - n // 2) for i in range(n)]
    return LossLandscape(model="m", dims=dims, span=1.0, points=3, seed=0, alphas=grid,  # type: ignore[arg-type]
                         betas=grid if dims == 2 else [], metric="accuracy",
                         splits={"train": LandscapeSplit(loss=loss, metric=[0.5] * n),
                                 "validation": LandscapeSplit(loss=loss)})


def test_figures_in_one_and_two_dimensions() -> None:
    one = plot_loss_landscape([_record(1), _record(1)], ["batch 7", "batch 784"])
    assert len(one.axes) == 2  # the loss, and the metric below
    labels = [t.get_text() for t in one.axes[0].get_legend().get_texts()]
    assert "batch 7: train" in labels and "batch 784: validation" in labels
    two = plot_loss_landscape([_record(2)], log=True)
    assert len(two.axes) >= 3  # surface, training and validation contours
    with pytest.raises(ConfigError, match="1-D and 2-D"):
        plot_loss_landscape([_record(1), _record(2)])
    with pytest.raises(ConfigError, match="nothing to draw"):
        plot_loss_landscape([])
