"""The words that stand for a task's losses in a procedure."""

from __future__ import annotations

from tunelab.guide._losses import expand_losses, task_losses


def test_task_words_become_the_task_s_losses() -> None:
    assert task_losses("multiclass") == ["categorical_crossentropy", "mse", "rmse", "mae"]
    assert expand_losses({"training.loss": "task_default"}, "regression") == {
        "training.loss": ["mse"]}
    choices = {"training.loss": {"choices": "task", "when": {"optimizer.name": "SGD"}}}
    assert expand_losses(choices, "binary")["training.loss"] == {
        "choices": ["binary_crossentropy", "mse", "rmse", "mae"],
        "when": {"optimizer.name": "SGD"}}
    assert expand_losses({"training.loss": ["mae"]}, "regression") == {"training.loss": ["mae"]}
