"""Learning-rate schedules: each sequence matches its formula; errors name the key."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tunelab.config import OptimizerConfig, ScheduleConfig
from tunelab.errors import ConfigError
from tunelab.optim import epoch_schedule, load_schedule_function, schedule_values, step_decay

LR0, EPOCHS = 0.1, 12


def _seq(**fields: Any) -> list[float]:
    return list(schedule_values(ScheduleConfig(**fields), LR0, EPOCHS))


def test_constant() -> None:
    assert _seq() == [LR0] * EPOCHS
    assert epoch_schedule(ScheduleConfig(), LR0, EPOCHS) is None


def test_time_decay_per_epoch_is_the_tutorials_reading() -> None:
    got = _seq(name="time_decay", per="epoch", decay_rate=0.5)
    np.testing.assert_allclose(got, [LR0 / (1 + 0.5 * e) for e in range(EPOCHS)])


def test_time_decay_per_step_is_keras2_decay_in_the_optimizer() -> None:
    sched = ScheduleConfig(name="time_decay", decay_rate=0.01)
    assert epoch_schedule(sched, LR0, EPOCHS) is None
    assert step_decay(sched, OptimizerConfig()) == 0.01
    assert step_decay(ScheduleConfig(), OptimizerConfig(decay=0.002)) == 0.002
    got = schedule_values(sched, LR0, 3, steps_per_epoch=10, decay=0.01)
    np.testing.assert_allclose(got, [LR0 / (1 + 0.01 * (10 * (e + 1) - 1)) for e in range(3)])


def test_exponential_is_the_tutorials_exp_decay() -> None:
    got = _seq(name="exponential", decay_rate=0.1)
    np.testing.assert_allclose(got, [LR0 * math.exp(-0.1 * e) for e in range(EPOCHS)])


def test_step_decay() -> None:
    got = _seq(name="step", drop=0.5, epochs_drop=4)
    assert got == [LR0] * 4 + [LR0 / 2] * 4 + [LR0 / 4] * 4


def test_cosine_with_warmup() -> None:
    got = _seq(name="cosine", warmup_epochs=2, min_lr=0.001)
    span = EPOCHS - 2
    expected = [LR0 / 2, LR0] + [0.001 + (LR0 - 0.001) * 0.5 * (1 + math.cos(math.pi * t / span))
                                 for t in range(span)]
    np.testing.assert_allclose(got, expected)
    assert max(got) == pytest.approx(LR0)


def test_cosine_with_warm_restarts() -> None:
    got = _seq(name="cosine_restarts", period=3, t_mul=2.0)
    cos = [LR0 * 0.5 * (1 + math.cos(math.pi * t / T)) for T in (3, 6) for t in range(T)]
    cos += [LR0 * 0.5 * (1 + math.cos(math.pi * t / 12)) for t in range(3)]
    np.testing.assert_allclose(got, cos[:EPOCHS])
    assert got[3] == pytest.approx(LR0)  # the restart


def test_one_cycle_rises_to_max_lr_then_falls() -> None:
    got = _seq(name="one_cycle", max_lr=1.0)
    assert got[0] == pytest.approx(LR0)
    peak = int(np.argmax(got))
    assert got[peak] == pytest.approx(1.0, rel=1e-3)
    assert all(np.diff(got[:peak + 1]) > 0) and all(np.diff(got[peak:]) < 0)
    assert got[-1] < LR0 / 100


def test_a_python_function_gets_epoch_and_current_lr() -> None:
    seen: list[tuple[int, float]] = []

    def halve(epoch: int, lr: float) -> float:
        seen.append((epoch, lr))
        return lr / 2

    sched = epoch_schedule(ScheduleConfig(name="function", function="math:hypot"), LR0, 3,
                           function=halve)
    assert sched is not None
    lrs = [LR0]
    for e in range(3):
        lrs.append(sched(e, lrs[-1]))
    assert lrs[1:] == [0.05, 0.025, 0.0125] and seen[0] == (0, LR0)


def test_a_module_function_with_one_argument() -> None:
    sched = epoch_schedule(ScheduleConfig(name="function", function="math:exp"), LR0, 3)
    assert sched is not None and sched(0, 123.0) == 1.0


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "function", "function": "no_such_module:f"}, "schedule.function: cannot load"),
    ({"name": "cosine", "warmup_epochs": 12}, "schedule.warmup_epochs \\(12\\) must be below"
                                              " training.epochs \\(12\\)"),
    ({"name": "one_cycle", "max_lr": 0.05}, "schedule.max_lr \\(0.05\\) must be above"),
    ({"name": "cosine", "min_lr": 0.5}, "schedule.min_lr \\(0.5\\) must be below"),
    ({"name": "constant", "function": "math:exp"}, "schedule.function is set but schedule.name"),
])
def test_bad_schedules_name_the_key(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        epoch_schedule(ScheduleConfig(**fields), LR0, EPOCHS)


def test_decay_given_twice_is_an_error() -> None:
    with pytest.raises(ConfigError, match="give it once"):
        step_decay(ScheduleConfig(name="time_decay", decay_rate=0.1), OptimizerConfig(decay=0.1))


def test_a_function_must_return_a_usable_rate() -> None:
    with pytest.raises(ConfigError, match="returned -1.0 at epoch 0"):
        load_schedule_function(lambda e, lr: -1.0)(0, 0.1)
    with pytest.raises(ConfigError, match="must return a number"):
        load_schedule_function(lambda e, lr: "fast")(0, 0.1)
