"""Static figures: the curves show the recorded values themselves, the Pareto front is right."""

from __future__ import annotations

import math
import struct

import numpy as np

from tunelab.report import (
    TrainingCurves,
    batch_size_png,
    curves_figure,
    curves_png,
    guide_step_png,
    pareto_mask,
)
from tunelab.runs import BatchRow, StepDecision, ValueStats


def row(batch_size: int, seconds: float, accuracy: float, **extra: float) -> BatchRow:
    return BatchRow.model_validate({"batch_size": batch_size, "seconds_per_epoch": seconds,
                                    "accuracy": accuracy, **extra})


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_curves_plot_loss_metric_and_learning_rate_values_not_square_roots(overfit):
    fig = curves_figure(TrainingCurves("trial 1", overfit))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "accuracy", "learning rate"]
    loss_ax, acc_ax, lr_ax = fig.axes
    train, val = loss_ax.get_lines()
    np.testing.assert_allclose(train.get_ydata(), overfit["loss"])
    np.testing.assert_allclose(val.get_ydata(), overfit["val_loss"])
    np.testing.assert_allclose(acc_ax.get_lines()[1].get_ydata(), overfit["val_accuracy"])
    np.testing.assert_allclose(lr_ax.get_lines()[0].get_ydata(), overfit["lr"])
    # Keras counts epochs from 0; the figure from 1.
    assert list(train.get_xdata())[:2] == [1.0, 2.0]
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["train", "validation"]


def test_panels_without_data_are_left_out_and_other_metric_names_work():
    fig = curves_figure(TrainingCurves("r", {"loss": [1.0, 0.5], "mae": [0.9, 0.4],
                                             "val_mae": [1.0, 0.6]}))
    assert [ax.get_title() for ax in fig.axes] == ["loss", "mae"]
    width, _ = png_size(curves_png(TrainingCurves("r", {"loss": [1.0, 0.5]})))
    wide, _ = png_size(curves_png(TrainingCurves("r", {"loss": [1.0, 0.5], "lr": [0.1, 0.01]})))
    assert wide > 1.8 * width


def test_diverged_curves_still_draw(diverged):
    fig = curves_figure(TrainingCurves("trial 9", diverged))
    assert math.isnan(fig.axes[0].get_lines()[0].get_ydata()[-1])
    assert png_size(curves_png(TrainingCurves("trial 9", diverged)))[0] > 0


def test_pareto_mask_keeps_rows_no_other_row_beats_on_both():
    rows = [row(16, 1.1, 0.975), row(32, 0.62, 0.974), row(64, 0.7, 0.970), row(128, 0.25, 0.958)]
    assert pareto_mask(rows) == [True, True, False, True]
    assert pareto_mask([row(8, 1.0, 0.9), row(16, 1.0, 0.9)]) == [True, True]
    # A diverged batch size (no score) is never on the front; for a loss, lower is better.
    assert pareto_mask([row(8, 1.0, 0.9), row(16, 0.5, math.nan)]) == [True, False]
    assert pareto_mask([row(8, 1.0, 0.2), row(16, 0.5, 0.3)], "minimize") == [True, True]
    assert pareto_mask([row(8, 1.0, 0.3), row(16, 0.5, 0.2)], "minimize") == [False, True]


def test_pareto_mask_weighs_a_whole_training_run_when_the_guide_timed_it():
    # Faster per epoch but needing three times the epochs: slower per run, so dominated.
    rows = [row(32, 1.0, 0.97, epochs=10, train_seconds=10.0),
            row(64, 0.6, 0.96, epochs=30, train_seconds=18.0)]
    assert pareto_mask(rows) == [True, False]


def test_guide_and_batch_size_figures_are_pngs():
    step = StepDecision(step="topology", scientific=["units"], current="32", candidate="64",
                        adopted=True, reason="better",
                        values=[ValueStats(label="32", scores=[0.94, 0.95, 0.96]),
                                ValueStats(label="64", scores=[math.nan])])
    assert png_size(guide_step_png(step))[0] > 100
    rows = [row(32, 1.0, 0.97, accuracy_std=0.002), row(64, 0.6, 0.96)]
    assert png_size(batch_size_png(rows))[0] > 100
    assert png_size(batch_size_png(rows, [True, False]))[0] > 100


def test_the_metric_is_found_among_engine_keys():
    h = {"epoch": [0.0], "loss": [1.0], "slot_seconds": [0.1], "seconds": [0.1], "lr": [0.1],
         "mae": [0.5], "val_loss": [1.1], "val_mae": [0.6]}
    assert TrainingCurves("r", h).metric == "mae"
    assert TrainingCurves("r", {"loss": [1.0], "val_auc": [0.8]}).metric == "auc"
    assert TrainingCurves("r", {"loss": [1.0], "seconds": [1.0]}).metric is None
