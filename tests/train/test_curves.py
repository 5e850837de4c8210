"""Training curves: a PNG with loss, the metric and the learning rate."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image

from tunelab.train import plot_history


def test_plot_history_writes_a_three_panel_png(tmp_path: Path) -> None:
    history = {"epoch": [0, 1, 2], "loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8],
               "val_loss": [1.1, 0.8, 0.7], "val_accuracy": [0.4, 0.6, 0.7],
               "lr": [0.1, 0.05, 0.025], "seconds": [0.1, 0.1, 0.1]}
    path = plot_history(history, tmp_path / "curves.png", title="digits")
    image = matplotlib.image.imread(path)
    assert image.shape[1] > 2.5 * image.shape[0]  # three panels side by side
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_plot_history_without_validation_or_metric(tmp_path: Path) -> None:
    path = plot_history({"loss": [1.0, 0.5], "lr": [0.0, 0.0]}, tmp_path / "c.png")
    assert path.stat().st_size > 0
