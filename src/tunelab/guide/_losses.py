"""The task's losses in a procedure: ``"training.loss" = "task"`` or ``"task_default"``.

A procedure is written once for any dataset; these words stand for losses that depend on the
dataset's task, and are replaced when a step is planned for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TASK_LOSS", "TASK_LOSSES", "expand_losses", "task_losses"]

# A scientific "training.loss" given as this word means: every loss the dataset's task allows.
TASK_LOSSES = "task"
# ... and as this one: the task's usual loss only (cross-entropy for classification, MSE for
# regression), so that one procedure fits binary, multiclass and regression data.
TASK_LOSS = "task_default"


def task_losses(task: str | None) -> list[str]:
    """The losses a task allows (sparse cross-entropy left out: it is the same function).

    Example:
        >>> task_losses("binary")
        ['binary_crossentropy', 'mse', 'rmse', 'mae']
    """
    from tunelab.model import LOSSES_BY_TASK

    allowed = LOSSES_BY_TASK.get(task or "multiclass", LOSSES_BY_TASK["multiclass"])
    return [loss for loss in allowed if loss != "sparse_categorical_crossentropy"]


def expand_losses(spec: Mapping[str, Any], task: str | None) -> dict[str, Any]:
    """``spec`` with a ``training.loss`` of ``"task"`` replaced by the task's losses, and of
    ``"task_default"`` by the task's usual loss.

    Example:
        >>> expand_losses({"training.loss": "task"}, "regression")
        {'training.loss': ['mse', 'rmse', 'mae']}
        >>> expand_losses({"training.loss": ["task_default"]}, "binary")
        {'training.loss': ['binary_crossentropy']}
    """
    from tunelab.model import resolve_loss

    def losses(token: Any) -> list[str] | None:
        if token in (TASK_LOSSES, [TASK_LOSSES]):
            return task_losses(task)
        if token in (TASK_LOSS, [TASK_LOSS]):
            return [resolve_loss("auto", task or "multiclass")]
        return None

    out = dict(spec)
    value = out.get("training.loss")
    if isinstance(value, Mapping):
        chosen = losses(value.get("choices"))
        if chosen is not None:
            out["training.loss"] = {**value, "choices": chosen}
    elif (chosen := losses(value)) is not None:
        out["training.loss"] = chosen
    return out
