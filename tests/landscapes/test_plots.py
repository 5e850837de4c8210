"""Figures: surface and contour with minima marked, race trajectories, runtime ECDF."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunelab.errors import ConfigError
from tunelab.landscapes import (
    RaceResult,
    plot_ecdf,
    plot_landscape,
    plot_race_contour,
    save_figure,
)


def test_landscape_has_a_surface_and_a_contour_with_every_minimum() -> None:
    fig = plot_landscape("himmelblau", resolution=30)
    ax3d, ax = fig.axes[0], fig.axes[1]
    assert ax3d.name == "3d"
    stars = [line for line in ax.get_lines() if line.get_label() == "global minimum"]
    assert len(stars) == 1 and len(stars[0].get_xdata()) == 4
    assert fig.get_suptitle() == "Himmelblau: f* = 0"


def test_higher_dimensions_are_drawn_as_a_slice() -> None:
    fig = plot_landscape("rastrigin", dim=4, resolution=20)
    assert "slice x1-x2 through x*, d=4" in fig.get_suptitle()


def test_race_contour_draws_one_path_per_optimizer(small_race: RaceResult) -> None:
    fig = plot_race_contour(small_race, "beale")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert {"global minimum", "start", "L-BFGS-B", "random"} <= set(labels)
    assert any(label.startswith("Adam (lr ") for label in labels)
    with pytest.raises(KeyError, match="was not raced"):
        plot_race_contour(small_race, "easom")


def test_ecdf_has_one_curve_per_optimizer(small_race: RaceResult) -> None:
    ax = plot_ecdf(small_race).axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["SGD", "Adam", "L-BFGS-B", "random"]
    assert ax.get_xscale() == "log"
    for line in ax.get_lines():
        y = line.get_ydata()
        assert min(y) >= 0.0 and max(y) <= 1.0


def test_save_figure_writes_png_and_svg_and_refuses_other_suffixes(tmp_path: Path) -> None:
    fig = plot_landscape("booth", resolution=15)
    assert save_figure(fig, tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in save_figure(fig, tmp_path / "b.svg").read_bytes()[:400]
    with pytest.raises(ConfigError, match=r"cannot write a figure as 'b.txt'.*\.png"):
        save_figure(fig, tmp_path / "b.txt")
