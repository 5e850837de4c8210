"""A step's study database: made whole by the study layer, or not at all."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from tunelab.config import RunConfig
from tunelab.guide._procedure import default_procedure
from tunelab.guide._study import _prepare_storage, _queue, plan_step


def test_a_ctrl_c_while_the_step_s_database_is_made_leaves_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C while Optuna makes the step's tables (the first second of a step) leaves no
    database; had the step opened the file first, the tables would be made in it one by one
    and a half-made one would lack the unique index on study names, so the continuing run
    would add a second study of the same name."""
    plan = plan_step(default_procedure("quick").step("learning_rate"), RunConfig(), "multiclass")
    folder = tmp_path / "step"
    made = optuna.storages.RDBStorage

    def interrupted(url: str, *args: object, **kwargs: object) -> object:
        made(url, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(optuna.storages, "RDBStorage", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _queue(_prepare_storage(folder), plan, "maximize", None)
    assert not [p.name for p in folder.iterdir()]
    monkeypatch.setattr(optuna.storages, "RDBStorage", made)
    url = _prepare_storage(folder)
    sizes = [_queue(url, plan, "maximize", None) for _ in range(2)]
    (summary,) = optuna.get_all_study_summaries(url)
    assert summary.study_name == plan.step.name
    assert sizes[0] == sizes[1] == len(optuna.load_study(study_name=plan.step.name,
                                                         storage=url).trials)


@pytest.mark.parametrize("level", ["quick", "standard", "thorough"])
@pytest.mark.parametrize("task", ["multiclass", "binary", "regression"])
def test_every_default_step_plans_only_losses_its_task_allows(level: str, task: str) -> None:
    """The tutorial's procedure runs on binary and regression data too: its quick and
    standard optimizer steps keep the task's own loss, the thorough one compares the task's
    losses, and no step plans a loss that cannot train."""
    from tunelab.guide import LEVELS
    from tunelab.model import LOSSES_BY_TASK

    assert level in LEVELS
    proc = default_procedure(level)
    for step in proc.steps:
        plan = plan_step(step, RunConfig(), task)
        losses = {plan.config(v).training.loss for v in plan.values}
        assert losses <= {*LOSSES_BY_TASK[task], "auto"}, (step.name, losses)
    optimizer = plan_step(proc.step("optimizer"), RunConfig(), task)
    losses = {optimizer.config(v).training.loss for v in optimizer.values}
    expected = {"multiclass": "categorical_crossentropy", "binary": "binary_crossentropy",
                "regression": "mse"}[task]
    if level == "thorough":
        assert expected in losses and len(losses) > 1
    else:
        assert losses == {expected}
