"""Losses and metrics by name: fit to the task, per-sample values equal to Keras's."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tunelab.errors import ConfigError
from tunelab.model import dense_targets, loss_term, metric_term, resolve_loss, resolve_metrics

LABELS = np.array([0, 2, 1, 2])
PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1], [0.2, 0.2, 0.6]],
                 "float32")


def _values(name: str, kind: str = "loss", task: str = "multiclass",
            labels: np.ndarray = LABELS, probs: np.ndarray = PROBS) -> np.ndarray:
    term = loss_term(name, task) if kind == "loss" else metric_term(name, task)
    targets = dense_targets(labels, task, probs.shape[1])
    return np.asarray(term.fn(labels, targets, probs))


def test_auto_picks_the_tasks_loss() -> None:
    assert resolve_loss("auto", "multiclass") == "categorical_crossentropy"
    assert resolve_loss("auto", "binary") == "binary_crossentropy"
    assert resolve_loss("auto", "regression") == "mse"


@pytest.mark.parametrize(("loss", "task"), [("binary_crossentropy", "multiclass"),
                                            ("categorical_crossentropy", "binary"),
                                            ("categorical_crossentropy", "regression"),
                                            ("binary_crossentropy", "regression")])
def test_a_loss_that_does_not_fit_the_task_names_training_loss(loss: str, task: str) -> None:
    with pytest.raises(ConfigError, match=f"training.loss: '{loss}' does not fit a {task} task"):
        resolve_loss(loss, task)


def test_cross_entropies_equal_keras() -> None:
    expected = np.asarray(keras.losses.categorical_crossentropy(np.eye(3)[LABELS], PROBS))
    np.testing.assert_allclose(_values("categorical_crossentropy"), expected, rtol=1e-6)
    np.testing.assert_allclose(_values("sparse_categorical_crossentropy"), expected, rtol=1e-6)
    np.testing.assert_allclose(_values("categorical_crossentropy"),
                               -np.log(PROBS[np.arange(4), LABELS]), rtol=1e-5)


def test_binary_and_regression_losses() -> None:
    y = np.array([1, 0, 1])
    p = np.array([[0.9], [0.2], [0.4]], "float32")
    bce = _values("binary_crossentropy", task="binary", labels=y, probs=p)
    np.testing.assert_allclose(bce, -np.log([0.9, 0.8, 0.4]), rtol=1e-5)
    t = np.array([1.0, 2.0, 4.0], "float32")
    pred = np.array([[1.5], [2.0], [2.0]], "float32")
    np.testing.assert_allclose(_values("mse", task="regression", labels=t, probs=pred),
                               [0.25, 0.0, 4.0])
    np.testing.assert_allclose(_values("mae", task="regression", labels=t, probs=pred),
                               [0.5, 0.0, 2.0])
    assert loss_term("rmse", "regression").root and not loss_term("mse", "regression").root


def test_metrics_per_sample() -> None:
    np.testing.assert_array_equal(_values("accuracy", "metric"), [1, 1, 0, 1])
    np.testing.assert_array_equal(_values("hamming", "metric"), [0, 0, 1, 0])
    onehot = np.eye(3)[LABELS]
    np.testing.assert_allclose(_values("euclidean", "metric"),
                               np.linalg.norm(onehot - PROBS, axis=1), rtol=1e-6)
    np.testing.assert_allclose(_values("manhattan", "metric"),
                               np.abs(onehot - PROBS).sum(axis=1), rtol=1e-6)
    binary = _values("accuracy", "metric", task="binary", labels=np.array([1, 0]),
                     probs=np.array([[0.7], [0.6]], "float32"))
    np.testing.assert_array_equal(binary, [1, 0])


def test_metrics_are_checked_against_the_task() -> None:
    assert resolve_metrics(["accuracy"], "regression") == ["mae"]
    assert resolve_metrics(["accuracy", "hamming", "accuracy"], "multiclass") == [
        "accuracy", "hamming"]
    with pytest.raises(ConfigError, match="training.metrics: 'hamming' does not fit a"
                                          " regression task"):
        resolve_metrics(["mae", "hamming"], "regression")
