"""The worker: one engine cohort driven by requests (real engine, digits, tiny model)."""

from __future__ import annotations

from pathlib import Path

import keras

from tunelab.config import parse_config
from tunelab.execute import Assignment, CohortWorker, StepRequest

CFG = parse_config({"model": {"units": [8], "dropout": 0.0},
                    "optimizer": {"learning_rate": 0.2},
                    "training": {"epochs": 2, "batch_size": 128}})


def _assign(tag: int, **optimizer: float) -> Assignment:
    cfg = CFG.model_copy(update={"optimizer": CFG.optimizer.model_copy(update=optimizer)})
    return Assignment(cfg.model_dump(mode="json"), tag)


def test_a_cohort_trains_stops_refills_and_saves(tmp_path: Path) -> None:
    worker = CohortWorker()
    first = worker.handle(StepRequest(template=CFG.model_dump(mode="json"), width=2,
                                      assigns={0: _assign(10), 1: _assign(11, learning_rate=0.05)}))
    assert first.error is None and first.compile_seconds > 0
    assert sorted(first.slots) == [0, 1] and first.running == [0, 1]
    assert {r.tag for r in first.slots.values()} == {10, 11}
    assert {"loss", "val_loss", "val_accuracy", "lr", "seconds"} <= set(first.slots[0].log)

    # Slot 1 is pruned and refilled in place; slot 0 runs its second (last) epoch.
    second = worker.handle(StepRequest(stops={1: "pruned"}, assigns={1: _assign(12)}))
    assert second.error is None
    assert second.slots[0].status == "done" and second.slots[0].history is not None
    assert len(second.slots[0].history["loss"]) == 2
    assert second.slots[1].tag == 12 and second.slots[1].status == "running"
    assert second.running == [1]

    # The finished slot is saved before anything else happens, then loads in plain Keras.
    path = tmp_path / "trials" / "10" / "model.keras"
    third = worker.handle(StepRequest(saves={0: str(path)}, run_epoch=False))
    assert third.saved == {0: str(path)} and not third.save_errors
    model = keras.saving.load_model(path, safe_mode=True)
    assert model.output_shape == (None, 10)
    assert not list(path.parent.glob(".*")), "no temporary file is left behind"


def test_another_structure_cannot_be_assigned_and_a_new_template_opens_it() -> None:
    worker = CohortWorker()
    worker.handle(StepRequest(template=CFG.model_dump(mode="json"), width=1, run_epoch=False))
    other = CFG.model_copy(update={"training": CFG.training.model_copy(update={"batch_size": 64})})
    result = worker.handle(StepRequest(assigns={0: Assignment(other.model_dump(mode="json"), 1)}))
    assert "differs from the cohort's structure in batch_size" in result.assign_errors[0]
    opened = worker.handle(StepRequest(template=other.model_dump(mode="json"), width=1,
                                       assigns={0: Assignment(other.model_dump(mode="json"), 1)}))
    assert opened.error is None and opened.slots[0].tag == 1


def test_a_cohort_that_cannot_open_reports_an_error() -> None:
    worker = CohortWorker()
    huge = parse_config({"training": {"batch_size": 100_000}})
    result = worker.handle(StepRequest(template=huge.model_dump(mode="json"), width=1,
                                       assigns={0: Assignment(huge.model_dump(mode="json"), 0)}))
    assert result.error is not None and "training.batch_size" in result.error
    assert worker.handle(StepRequest(assigns={0: Assignment({}, 1)})).error == (
        "no cohort is open (the request has no template)")


def test_narrowing_moves_the_running_slots_and_renumbers_them() -> None:
    worker = CohortWorker()
    three = CFG.model_copy(update={"training": CFG.training.model_copy(update={"epochs": 3})})
    opened = worker.handle(StepRequest(
        template=CFG.model_dump(mode="json"), width=4,
        assigns={0: _assign(10), 1: Assignment(three.model_dump(mode="json"), 11)}))
    assert opened.running == [0, 1]
    worker.handle(StepRequest(stops={0: "pruned"}))  # slot 1 trains its second epoch alone
    narrowed = worker.handle(StepRequest(keep=[1]))
    assert narrowed.error is None and narrowed.running == []
    assert narrowed.slots[0].tag == 11 and narrowed.slots[0].status == "done"
    assert len(narrowed.slots[0].history["loss"]) == 3


def test_a_snapshot_restored_on_another_worker_trains_on_exactly_as_before(
        tmp_path: Path) -> None:
    """What a lost Ray node's cohort resumes from: the next epochs match, to the last bit,
    those of the worker that never stopped (weights, optimizer state, data order, callbacks,
    a narrowed width)."""
    import pickle

    five = parse_config({"model": {"units": [8], "dropout": 0.2},
                         "optimizer": {"learning_rate": 0.2, "momentum": 0.9},
                         "training": {"epochs": 5, "batch_size": 128},
                         "callbacks": {"csv_logger": {"filename": "log.csv"}}})
    slots = {slot: Assignment(five.model_copy(update={"seed": slot}).model_dump(mode="json"),
                              slot, out_dir=str(tmp_path / str(slot))) for slot in range(3)}
    template = five.model_dump(mode="json")

    def first_two(worker: CohortWorker) -> None:
        worker.handle(StepRequest(template=template, width=4, assigns=dict(slots)))
        worker.handle(StepRequest(stops={2: "pruned"}, keep=[0, 1]))

    steady = CohortWorker()
    first_two(steady)
    moved_from = CohortWorker()
    first_two(moved_from)
    snapshot = pickle.loads(pickle.dumps(moved_from.snapshot()))  # it travels as bytes
    assert snapshot is not None and snapshot["width"] == 2

    moved = CohortWorker()
    moved.restore(snapshot, data=None)  # the dataset is loaded from the template's [data]
    for _ in range(3):
        want, got = steady.handle(StepRequest()), moved.handle(StepRequest())
        assert got.error is None and got.running == want.running
        for slot, report in want.slots.items():
            assert got.slots[slot].tag == report.tag and got.slots[slot].status == report.status
            assert {k: v for k, v in got.slots[slot].log.items() if k != "seconds"} == {
                k: v for k, v in report.log.items() if k != "seconds"}
    assert got.slots[0].history is not None and len(got.slots[0].history["loss"]) == 5
    assert len((tmp_path / "0" / "log.csv").read_text().splitlines()) == 6
    assert CohortWorker().snapshot() is None
