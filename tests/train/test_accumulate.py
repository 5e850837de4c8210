"""Batch size as a per-slot value: micro-batches accumulated into one update, against Keras fit."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest

from tunelab.config import RunConfig, parse_config
from tunelab.data import Dataset
from tunelab.errors import ConfigError
from tunelab.model import export_model
from tunelab.train import Cohort, structure_key
from tunelab.train._accumulate import update_positions

MICRO = 16
BATCHES = (16, 64, 160)  # periods 1, 4 and 10; 1,150 digits rows leave partial batches


def _cfg(batch: int, optimizer: dict[str, Any], schedule: dict[str, Any] | None = None,
         micro: int | None = MICRO, **training: Any) -> RunConfig:
    return parse_config({
        "model": {"units": [16], "dropout": 0.0},
        "optimizer": optimizer, "schedule": schedule or {},
        "training": {"epochs": 2, "batch_size": batch, "micro_batch": micro,
                     "shuffle": False, **training}})


@pytest.mark.parametrize("steps", [1, 7, 72, 73])
@pytest.mark.parametrize("period", [1, 3, 4, 10])
def test_an_epoch_makes_as_many_updates_as_keras_batches(steps: int, period: int) -> None:
    for rows in range((steps - 1) * MICRO + 1, steps * MICRO + 1, 5):
        whole = update_positions(0, steps, steps, period)
        assert len(whole) == math.ceil(rows / (period * MICRO))
        # Cut into pieces (sub-epoch fidelity), the same updates; past the end, none.
        cut = steps // 2
        pieces = [*update_positions(0, cut, steps, period),
                  *(cut + update_positions(cut, steps - cut + 3, steps, period))]
        assert pieces == list(whole)
        assert whole[-1] == steps - 1


def _keras_sgd() -> Any:
    # Keras 3 spells Keras 2's SGD(decay=0.01) as an InverseTimeDecay schedule (per update).
    return keras.optimizers.SGD(keras.optimizers.schedules.InverseTimeDecay(0.1, 1, 0.01),
                                momentum=0.8)


CASES: dict[str, tuple[dict[str, Any], dict[str, Any] | None, Callable[[], Any]]] = {
    "sgd_legacy_decay": ({"name": "SGD", "learning_rate": 0.1, "momentum": 0.8,
                          "decay": 0.01}, None, _keras_sgd),
    "adam": ({"name": "Adam", "learning_rate": 0.01}, None,
             lambda: keras.optimizers.Adam(0.01)),
    # A per-update exponential schedule (the range test's sweep): it counts updates.
    "sgd_step_schedule": ({"name": "SGD", "learning_rate": 0.01}, {"name": "range_test",
                                                                   "growth": 1.02},
                          lambda: keras.optimizers.SGD(keras.optimizers.schedules.
                                                       ExponentialDecay(0.01, 1, 1.02))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mixed_batch_sizes_in_one_cohort_match_keras_fit_at_each_batch(
        digits: Dataset, case: str) -> None:
    optimizer, schedule, keras_optimizer = CASES[case]
    configs = [_cfg(b, optimizer, schedule) for b in BATCHES]
    cohort = Cohort(configs[0], digits, width=len(configs))
    for slot, cfg in enumerate(configs):
        cohort.assign(slot, cfg)
    starts = [cohort.weights(slot)[0] for slot in range(len(configs))]
    for _ in range(2):
        cohort.run_epoch()
    for slot, (cfg, batch) in enumerate(zip(configs, BATCHES, strict=True)):
        model = export_model(cfg.model, cohort.spec, starts[slot])
        model.compile(optimizer=keras_optimizer(), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(digits.x_train, np.eye(10)[digits.y_train], batch_size=batch,
                            epochs=2, shuffle=False, verbose=0,
                            validation_data=(digits.x_val, np.eye(10)[digits.y_val]))
        assert int(model.optimizer.iterations) == 2 * math.ceil(len(digits.x_train) / batch)
        for ours, theirs in zip(cohort.weights(slot)[0], model.trainable_variables,
                                strict=True):
            np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-4, atol=2e-5)
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(cohort.history(slot)[key], history.history[key],
                                       rtol=1e-4, err_msg=f"batch {batch}: {key}")


def test_a_micro_batch_equal_to_the_batch_trains_as_without_one(digits: Dataset) -> None:
    sgd = {"name": "SGD", "learning_rate": 0.1, "momentum": 0.8, "decay": 0.01}
    out = []
    for micro in (None, 64):
        cfg = _cfg(64, sgd, micro=micro)
        cohort = Cohort(cfg, digits, width=1)
        cohort.assign(0, cfg, record_steps=True)
        cohort.run_epoch()
        out.append((cohort.weights(0)[0], cohort.history(0), cohort.step_losses(0)))
    (w0, h0, s0), (w1, h1, s1) = out
    for a, b in zip(w0, w1, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert h0["lr"] == h1["lr"]
    np.testing.assert_allclose(s0, s1, rtol=1e-6)


def test_pieces_and_step_losses_count_updates_not_micro_steps(digits: Dataset) -> None:
    sgd = {"name": "SGD", "learning_rate": 0.1, "decay": 0.01}
    configs = [_cfg(b, sgd) for b in BATCHES]
    whole = Cohort(configs[0], digits, width=3)
    pieces = Cohort(configs[0], digits, width=3, parts=5)
    for cohort in (whole, pieces):
        for slot, cfg in enumerate(configs):
            cohort.assign(slot, cfg, record_steps=True)
    start = whole.weights(2)[0]
    whole.run_epoch()
    logs: dict[int, dict[str, float]] = {}
    for _ in range(5):
        logs = pieces.run_part()
    n = len(digits.x_train)
    for slot, batch in enumerate(BATCHES):
        updates = math.ceil(n / batch)
        assert len(whole.step_losses(slot)) == len(pieces.step_losses(slot)) == updates
        np.testing.assert_allclose(whole.step_losses(slot), pieces.step_losses(slot),
                                   rtol=1e-5)
        # Keras 2's decay after the epoch's last update: lr / (1 + decay * (updates - 1)).
        assert logs[slot]["lr"] == pytest.approx(0.1 / (1 + 0.01 * (updates - 1)))
        for a, b in zip(whole.weights(slot)[0], pieces.weights(slot)[0], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # A batch's loss is the mean over its rows (the micro-batches' losses weighed by rows).
    model = export_model(configs[2].model, whole.spec, start)
    model.compile(loss="sparse_categorical_crossentropy")
    first = model.evaluate(digits.x_train[:160], digits.y_train[:160], batch_size=160,
                           verbose=0)
    assert whole.step_losses(2)[0] == pytest.approx(first, rel=1e-5)


def test_a_refilled_slot_starts_with_an_empty_batch(digits: Dataset) -> None:
    sgd = {"name": "SGD", "learning_rate": 0.1}
    old, other = _cfg(160, sgd), _cfg(16, sgd)
    new = _cfg(64, sgd).model_copy(update={"seed": 3})
    a, b = (Cohort(old, digits, width=2, parts=2) for _ in range(2))
    a.assign(0, old)
    a.assign(1, other)
    b.assign(1, other)
    a.run_part(), b.run_part()  # a's slot 0 leaves an open batch of 36 mod 10 micro-steps
    a.stop(0)
    a.assign(0, new)
    b.assign(0, new)
    for _ in range(2):
        a.run_part(), b.run_part()
    for x, y in zip(a.weights(0)[0], b.weights(0)[0], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


def test_every_batch_size_of_a_micro_batch_shares_one_structure() -> None:
    sgd = {"name": "SGD"}
    keys = {structure_key(_cfg(b, sgd)) for b in (16, 32, 256)}
    assert len(keys) == 1
    assert structure_key(_cfg(16, sgd, micro=None)) not in keys


def test_a_batch_size_not_a_multiple_of_the_micro_batch_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"batch_size \(100\).*micro_batch \(32\)"):
        _cfg(100, {"name": "SGD"}, micro=32)


def test_a_square_rooted_loss_refuses_micro_batches(digits: Dataset) -> None:
    cfg = _cfg(64, {"name": "SGD"}, loss="rmse", metrics=[])
    with pytest.raises(ConfigError, match="training.micro_batch"):
        Cohort(cfg, digits, width=1)


def test_a_copied_configuration_with_a_bad_batch_size_is_refused(digits: Dataset) -> None:
    cfg = _cfg(64, {"name": "SGD"})
    bad = cfg.model_copy(update={"training": cfg.training.model_copy(
        update={"batch_size": 40})})  # model_copy skips the validator
    cohort = Cohort(cfg, digits, width=1)
    with pytest.raises(ConfigError, match=r"batch_size \(40\).*micro_batch \(16\)"):
        cohort.assign(0, bad)
