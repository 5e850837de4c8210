"""The cohort: K slots trained at once, each as it would train alone; refills, stops, NaNs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunelab.config import RunConfig
from tunelab.data import Dataset
from tunelab.errors import ConfigError, TrialError
from tunelab.train import Cohort

from .conftest import small

VARIED = [
    small(),
    small(optimizer={"learning_rate": 0.03}, seed=1),
    small(model={"dropout": 0.4, "l2": 0.001}, seed=2),
    small(model={"kernel_initializer": "he_normal", "dropout": 0.0},
          optimizer={"momentum": 0.9, "decay": 0.01}, seed=3),
]


def _train(cfgs: list[RunConfig], data: Dataset, epochs: int = 2,
           template: RunConfig | None = None) -> Cohort:
    cohort = Cohort(template or cfgs[0], data, width=len(cfgs))
    for slot, cfg in enumerate(cfgs):
        cohort.assign(slot, cfg, tag=f"t{slot}")
    for _ in range(epochs):
        cohort.run_epoch()
    return cohort


def test_each_slot_ends_as_its_configuration_trained_alone(digits: Dataset) -> None:
    together = _train(VARIED, digits)
    for slot, cfg in enumerate(VARIED):
        # The data order is the cohort's (drawn from its template's seed); the slot's own
        # seed sets its initial weights and dropout masks.
        alone = _train([cfg], digits, template=VARIED[0])
        for a, b in zip(together.weights(slot)[0], alone.weights(0)[0], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(together.history(slot)["val_loss"],
                                   alone.history(0)["val_loss"], rtol=1e-4)
    finals = [together.history(s)["val_loss"][-1] for s in range(len(VARIED))]
    assert len(set(finals)) == len(VARIED)  # the slots really differ


def test_every_slot_sees_the_minibatches_in_the_cohorts_order(digits: Dataset) -> None:
    cfg = small(model={"dropout": 0.0})
    in_cohort = _train([cfg, cfg.model_copy(update={"seed": 5})], digits)
    same_order = _train([cfg.model_copy(update={"seed": 5})], digits, template=cfg)
    own_order = _train([cfg.model_copy(update={"seed": 5})], digits)
    np.testing.assert_allclose(in_cohort.history(1)["loss"], same_order.history(0)["loss"],
                               rtol=1e-5)
    assert in_cohort.history(1)["loss"] != pytest.approx(own_order.history(0)["loss"],
                                                          rel=1e-5)


def test_the_same_seed_gives_the_same_history_twice(digits: Dataset) -> None:
    first, second = (_train([VARIED[2]], digits).history(0) for _ in range(2))
    for key in first:
        if key != "seconds":
            assert first[key] == second[key], key


def test_history_has_keras_names_and_one_value_per_epoch(digits: Dataset) -> None:
    cohort = _train([VARIED[0]], digits, epochs=3)
    history = cohort.history(0)
    assert list(history) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr",
                             "seconds"]
    assert history["epoch"] == [0, 1, 2]
    assert history["lr"] == [pytest.approx(0.1)] * 3
    assert all(len(v) == 3 for v in history.values())
    assert history["val_accuracy"][-1] > 0.5
    assert cohort.status(0) == "done" and cohort.free_slots == [0]


def test_keras2_decay_applies_per_update_step(digits: Dataset) -> None:
    cohort = _train([VARIED[3]], digits, epochs=3)
    steps = math.ceil(len(digits.x_train) / 64)
    expected = [0.1 / (1 + 0.01 * ((e + 1) * steps - 1)) for e in range(3)]
    np.testing.assert_allclose(cohort.history(0)["lr"], expected, rtol=1e-6)


def test_the_tutorials_exp_decay_composes_with_keras2_decay(digits: Dataset) -> None:
    cfg = small(optimizer={"decay": 0.1}, schedule={"name": "exponential", "decay_rate": 0.1})
    history = _train([cfg], digits, epochs=3).history(0)
    steps = math.ceil(len(digits.x_train) / 64)
    expected = [0.1 * math.exp(-0.1 * e) / (1 + 0.1 * ((e + 1) * steps - 1)) for e in range(3)]
    np.testing.assert_allclose(history["lr"], expected, rtol=1e-6)


def test_a_diverging_slot_is_masked_while_the_other_trains_on(digits: Dataset) -> None:
    # Cross-entropy clips probabilities, so only an absurd rate overflows to NaN/inf.
    cfgs = [small(optimizer={"learning_rate": 1e30}), small()]
    cohort = Cohort(cfgs[0], digits, width=2)
    for slot, cfg in enumerate(cfgs):
        cohort.assign(slot, cfg)
    cohort.run_epoch()
    assert cohort.status(0) == "diverged"
    assert not math.isfinite(cohort.history(0)["loss"][0])
    frozen = cohort.weights(0)[0]
    cohort.run_epoch()
    for a, b in zip(frozen, cohort.weights(0)[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert cohort.running_slots == [1]
    assert len(cohort.history(0)["loss"]) == 1 and len(cohort.history(1)["loss"]) == 2
    assert all(math.isfinite(v) for v in cohort.history(1)["loss"])


def test_slots_have_their_own_budgets_and_can_be_refilled(digits: Dataset) -> None:
    short, long = small(training={"epochs": 1}), small(training={"epochs": 3}, seed=5)
    cohort = Cohort(short, digits, width=2)
    cohort.assign(0, short, tag="a")
    cohort.assign(1, long, tag="b")
    assert cohort.running_slots == [0, 1] and cohort.free_slots == []
    logs = cohort.run_epoch()
    assert logs[0]["epoch"] == 0 and cohort.status(0) == "done" and cohort.status(1) == "running"
    assert cohort.free_slots == [0]
    cohort.assign(0, small(seed=9), tag="c")
    assert cohort.tag(0) == "c" and cohort.epoch(0) == 0 and cohort.history(0)["loss"] == []
    logs = cohort.run_epoch()
    assert logs[0]["epoch"] == 0 and logs[1]["epoch"] == 1


def test_stop_frees_a_slot_with_its_reason(digits: Dataset) -> None:
    cohort = Cohort(small(), digits, width=1)
    cohort.assign(0, small())
    cohort.run_epoch()
    cohort.stop(0, "pruned")
    assert cohort.status(0) == "stopped" and cohort.stop_reason(0) == "pruned"
    assert cohort.running_slots == [] and cohort.run_epoch() == {}


def test_a_configuration_of_another_structure_is_refused(digits: Dataset) -> None:
    cohort = Cohort(small(), digits, width=1)
    with pytest.raises(TrialError, match="slot 0: this configuration differs from the cohort's"
                                         " structure in network"):
        cohort.assign(0, small(model={"units": [8]}))
    with pytest.raises(TrialError, match="slot 3 does not exist"):
        cohort.assign(3, small())


def test_a_second_cohort_of_the_same_shape_reuses_the_compiled_epoch(digits: Dataset) -> None:
    # A batch size no other test uses, so the first cohort here compiles for sure.
    cfgs = [small(training={"batch_size": 50}, seed=s) for s in range(3)]
    first = _train(cfgs, digits, epochs=1)
    second = _train(cfgs[::-1], digits, epochs=1)
    assert first.program is second.program
    assert first.compile_seconds > 0.05
    assert second.compile_seconds == 0.0
    assert second.train_seconds > 0


def test_evaluate_and_predict_agree(digits: Dataset) -> None:
    cohort = _train([VARIED[0]], digits, epochs=2)
    test = cohort.evaluate("test")[0]
    predicted = cohort.predict(0, digits.x_test).argmax(axis=1)
    assert test["test_accuracy"] == pytest.approx(float((predicted == digits.y_test).mean()))
    assert cohort.evaluate("val")[0]["val_loss"] == pytest.approx(cohort.history(0)["val_loss"][-1])


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_a_padded_slot_trains_as_the_unpadded_model_alone(digits: Dataset,
                                                          activation: str) -> None:
    real = small(model={"units": [32, 16], "dropout": [0.3, 0.2], "activation": activation,
                        "kernel_initializer": "glorot_uniform", "l2": 0.001},
                 optimizer={"momentum": 0.9}, seed=3)
    padded = real.model_copy(update={"model": real.model.model_copy(
        update={"padded_units": [64, 48]})})
    wide = padded.model_copy(update={"model": padded.model.model_copy(
        update={"units": [64, 48]})})
    alone = _train([real], digits, epochs=3)
    shared = _train([padded, wide], digits, epochs=3)  # one cohort: the widths share it
    assert shared.history(0)["val_loss"] == pytest.approx(alone.history(0)["val_loss"],
                                                          rel=1e-5)
    tv, _ = shared.weights(0)
    assert tv[0].shape == (64, 64) and not tv[0][:, 32:].any()  # padded units stay zero
    assert not tv[2][32:].any() and not tv[2][:, 16:].any() and not tv[4][16:].any()
    model = shared.export(0)
    assert [w.shape for w in model.get_weights()] == [w.shape for w in alone.export(0)
                                                      .get_weights()]
    for got, want in zip(model.get_weights(), alone.export(0).get_weights(), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    x = digits.x_test[:50]
    np.testing.assert_allclose(model.predict(x, verbose=0), alone.predict(0, x), atol=1e-5)
    np.testing.assert_allclose(shared.predict(0, x), alone.predict(0, x), atol=1e-5)


def test_narrowing_keeps_the_running_slots_training_as_before(digits: Dataset) -> None:
    cfgs = [small(training={"epochs": e}, seed=i) for i, e in enumerate((1, 3, 1, 3))]

    def start() -> Cohort:
        cohort = Cohort(cfgs[0], digits, width=4)
        for slot, cfg in enumerate(cfgs):
            cohort.assign(slot, cfg, tag=f"t{slot}")
        cohort.run_epoch()
        return cohort

    wide, narrow = start(), start()
    assert wide.running_slots == [1, 3]
    with pytest.raises(TrialError, match="would drop running slots"):
        narrow.narrow([1, 0])
    narrow.narrow([3, 1])  # slot 3 becomes 0, slot 1 becomes 1
    assert narrow.width == 2 and narrow.running_slots == [0, 1] and narrow.tag(0) == "t3"
    for cohort in (wide, narrow):
        while cohort.running_slots:
            cohort.run_epoch()
    for old, new in ((3, 0), (1, 1)):
        assert narrow.history(new)["val_loss"] == pytest.approx(wide.history(old)["val_loss"],
                                                               rel=1e-5)
        for a, b in zip(narrow.weights(new)[0], wide.weights(old)[0], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_replicate_groups_train_as_one_cohort_per_replicate(digits: Dataset) -> None:
    # Two replicates (seeds 5 and 6) of two configurations: one cohort split in two groups
    # trains each slot exactly as a cohort of that replicate alone.
    a = small(model={"dropout": 0.3}, optimizer={"learning_rate": 0.05})
    b = small(model={"dropout": 0.1}, optimizer={"learning_rate": 0.2})
    runs = [c.model_copy(update={"seed": s}) for s in (5, 6) for c in (a, b)]
    grouped = Cohort(runs[0], digits, width=4, replicates=[5, 6])
    for slot, cfg in enumerate(runs):
        grouped.assign(slot, cfg)
    for _ in range(2):
        grouped.run_epoch()
    for g in range(2):
        alone = _train(runs[2 * g:2 * g + 2], digits)  # its template has that seed
        for m in range(2):
            np.testing.assert_allclose(grouped.history(2 * g + m)["val_loss"],
                                       alone.history(m)["val_loss"], rtol=1e-5)
            for w1, w2 in zip(grouped.weights(2 * g + m)[0], alone.weights(m)[0], strict=True):
                np.testing.assert_allclose(w1, w2, rtol=1e-4, atol=1e-5)
    # The two replicates really saw different minibatches.
    assert grouped.history(0)["loss"] != pytest.approx(grouped.history(2)["loss"], rel=1e-4)
    with pytest.raises(TrialError, match="belongs to replicate 6"):
        grouped.assign(3, a.model_copy(update={"seed": 5}))
    with pytest.raises(TrialError, match="cannot be narrowed"):
        grouped.narrow([0, 1])


def test_a_wide_cohort_evaluates_every_slot_as_alone() -> None:
    # 17 slots on 2,048 validation rows: XLA's CPU backend once gave slot 16 slot 0's loss
    # when one evaluation call spanned more than 32,768 slot-rows.
    from types import SimpleNamespace

    from tunelab.config import parse_config

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 20)).astype("float32")
    y = rng.integers(0, 3, 3000).astype("int32")
    data = SimpleNamespace(x_train=x[:500], y_train=y[:500], x_val=x[500:2548],
                           y_val=y[500:2548], x_test=x[:8], y_test=y[:8], task="multiclass",
                           num_classes=3, input_shape=(20,), name="noise")
    cfgs = [parse_config({"model": {"units": [8]}, "training": {"epochs": 1,
                          "batch_size": 50}, "seed": k}) for k in range(17)]
    wide = Cohort(cfgs[0], data, width=17)  # type: ignore[arg-type]
    for k, cfg in enumerate(cfgs):
        wide.assign(k, cfg)
    together = wide.evaluate("val")
    for k in (0, 16):
        alone = Cohort(cfgs[k], data, width=1)  # type: ignore[arg-type]
        alone.assign(0, cfgs[k])
        assert together[k]["val_loss"] == pytest.approx(alone.evaluate("val")[0]["val_loss"],
                                                        rel=1e-5)
    assert together[0]["val_loss"] != pytest.approx(together[16]["val_loss"], rel=1e-6)


# -- sub-epoch fidelity: an epoch trained in pieces ------------------------------------------

def test_an_epoch_in_pieces_trains_as_the_whole_epoch(digits: Dataset) -> None:
    cfgs = VARIED[:2]
    whole = _train(cfgs, digits, epochs=2)
    pieces = Cohort(cfgs[0], digits, width=2, parts=4)
    for slot, cfg in enumerate(cfgs):
        pieces.assign(slot, cfg, tag=slot)
    assert pieces.piece_steps * 4 >= pieces.steps_per_epoch > pieces.piece_steps * 3
    ends = [sorted(pieces.run_part()) for _ in range(8)]
    assert ends == [[], [], [], [0, 1]] * 2  # only epoch ends report without report_at
    for slot in range(2):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
            np.testing.assert_allclose(pieces.history(slot)[key], whole.history(slot)[key],
                                       rtol=2e-5, err_msg=key)
        for a, b in zip(pieces.weights(slot)[0], whole.weights(slot)[0], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_slot_reports_its_validation_values_at_its_report_points(digits: Dataset) -> None:
    cohort = Cohort(VARIED[0], digits, width=2, parts=4)
    cohort.assign(0, VARIED[0], tag="a", report_at=[1, 3, 6])
    cohort.assign(1, VARIED[1], tag="b")
    seen = []
    for _ in range(8):
        logs = cohort.run_part()
        now = cohort.evaluate("val")
        for slot, log in logs.items():
            seen.append((slot, log.get("progress", log.get("epoch"))))
            if "progress" in log:  # a mid-epoch report: the slot's validation values now
                assert "epoch" not in log
                assert log["val_loss"] == pytest.approx(now[slot]["val_loss"], rel=1e-5)
                assert log["val_accuracy"] == pytest.approx(now[slot]["val_accuracy"])
    assert seen == [(0, 0.25), (0, 0.75), (0, 0), (1, 0), (0, 1.5), (0, 1), (1, 1)]
    assert len(cohort.history(0)["loss"]) == 2  # mid-epoch reports are not epochs


def test_a_slot_started_in_mid_epoch_trains_whole_epochs(digits: Dataset) -> None:
    cohort = Cohort(VARIED[0], digits, width=2, parts=4)
    cohort.assign(0, VARIED[0], tag="first")
    cohort.run_part()
    cohort.assign(1, VARIED[1], tag="late", record_steps=True)
    ends: list[int] = []
    for piece in range(1, 9):
        ends += [piece for slot in cohort.run_part() if slot == 1]
    assert ends == [4, 8]  # an epoch is four pieces from where the slot started
    assert len(cohort.step_losses(1)) == 2 * cohort.steps_per_epoch
    loss = cohort.history(1)["loss"]
    assert len(loss) == 2 and all(math.isfinite(v) for v in loss)


def test_a_cohort_in_pieces_refuses_run_epoch_and_bad_report_points(digits: Dataset) -> None:
    cohort = Cohort(VARIED[0], digits, width=1, parts=2)
    with pytest.raises(TrialError, match="run_part"):
        cohort.run_epoch()
    with pytest.raises(ConfigError, match="report_at"):
        cohort.assign(0, VARIED[0], report_at=[0])
    with pytest.raises(ConfigError, match="parts >= 1"):
        Cohort(VARIED[0], digits, parts=0)


def test_compile_ahead_leaves_nothing_to_compile_when_training(digits: Dataset) -> None:
    cohort = Cohort(VARIED[0], digits, width=2, parts=2)
    assert cohort.compile() > 0.0
    assert cohort.compile() == 0.0  # compiled once
    before = cohort.compile_seconds
    cohort.assign(0, VARIED[0])
    cohort.assign(1, VARIED[1])
    for _ in range(2):
        cohort.run_part()
    # Assigning compiles its small helpers; the epoch pieces and validation were ready.
    assert cohort.compile_seconds - before < 0.5 * before


def test_a_cohort_trained_in_chunks_trains_every_slot_as_in_one_piece(
        digits: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    # Slots whose arrays do not fit the chunk budget train a chunk at a time (here one slot
    # each); every slot ends where the one-piece cohort leaves it, a stopped slot's chunk
    # is skipped and its arrays stay as they were.
    import tunelab.train._chunks as chunks

    a = small(model={"dropout": 0.3}, optimizer={"learning_rate": 0.05})
    b = small(model={"dropout": 0.1}, optimizer={"learning_rate": 0.2})
    runs = [c.model_copy(update={"seed": s}) for s in (5, 6) for c in (a, b)]

    def train() -> Cohort:
        cohort = Cohort(runs[0], digits, width=4, replicates=[5, 6])
        for slot, cfg in enumerate(runs):
            cohort.assign(slot, cfg)
        cohort.run_epoch()
        cohort.stop(3)
        cohort.run_epoch()
        return cohort

    whole = train()
    assert whole.chunks.count == 1
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 1)
    pieces = train()
    assert (pieces.chunks.width, pieces.chunks.count) == (1, 4)
    for slot in range(4):
        np.testing.assert_allclose(pieces.history(slot)["val_loss"],
                                   whole.history(slot)["val_loss"], rtol=1e-5)
        for w1, w2 in zip(pieces.weights(slot)[0], whole.weights(slot)[0], strict=True):
            np.testing.assert_allclose(w1, w2, rtol=1e-4, atol=1e-5)
    assert len(pieces.history(3)["val_loss"]) == 1
