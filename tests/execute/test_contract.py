"""The executor contract: one suite, run over every executor.

A new executor joins by adding a factory to ``FACTORIES``; every test below then runs on it.
What the suite holds every executor to: lanes answer requests one at a time, training through
it gives the same numbers as training in this process, datasets, builders and callbacks
travel, finished runs come back with weights and test metrics, per-step losses come back,
a bad configuration fails one run with a message, and the executor can be closed and used
again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import keras
import numpy as np
import pytest

from tunelab.config import RunConfig, parse_config
from tunelab.data import Dataset
from tunelab.errors import ConfigError
from tunelab.execute import (
    Assignment,
    Executor,
    LocalExecutor,
    ProcessExecutor,
    RayExecutor,
    Run,
    StepRequest,
    train_runs,
)
from tunelab.runs import SlotStatus

from ._ray import ray_session, stop_ray


def _ray_executor() -> Executor:
    """Two Ray actors on the module's local Ray (2 CPUs: half a CPU each, so the suite's
    second executor, in the close-and-reuse test, finds room beside the first)."""
    ray_session()
    return RayExecutor(workers=2, cpus_per_worker=0.5)


FACTORIES: dict[str, Callable[[], Executor]] = {
    "local": LocalExecutor,
    "processes": lambda: ProcessExecutor(workers=2),
    "ray": _ray_executor,
}


@pytest.fixture(scope="module", autouse=True)
def _ray_once() -> Iterator[None]:
    """Ray starts once for the module (when the ray executor is first made) and stops after."""
    yield
    stop_ray()


def cfg(**over: object) -> RunConfig:
    base: dict[str, object] = {"model": {"units": [16], "dropout": 0.1},
                               "optimizer": {"learning_rate": 0.1, "momentum": 0.5},
                               "training": {"epochs": 2, "batch_size": 64}}
    base.update(over)
    return parse_config(base)


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    ex = FACTORIES[request.param]()
    with ex:
        yield ex


@pytest.fixture(scope="module")
def reference(digits: Dataset) -> list[dict[str, list[float]]]:
    """Histories trained in this process, the engine called directly (no executor)."""
    from tunelab.train import Cohort

    out = []
    for c in (cfg(seed=1), cfg(seed=2, optimizer={"learning_rate": 0.05})):
        cohort = Cohort(c, digits, width=1)
        cohort.assign(0, c)
        while cohort.running_slots:
            cohort.run_epoch()
        out.append(cohort.history(0))
    return out


def test_lanes_answer_one_request_at_a_time(executor: Executor) -> None:
    assert executor.lanes >= 1
    executor.submit(0, StepRequest(run_epoch=False))
    assert 0 in executor.busy()
    with pytest.raises(RuntimeError, match="already has a request in flight"):
        executor.submit(0, StepRequest(run_epoch=False))
    answers = executor.wait(timeout=120)
    assert [lane for lane, _ in answers] == [0] and answers[0][1].error is None
    assert executor.busy() == set()


def test_training_through_it_matches_the_engine(executor: Executor, digits: Dataset,
                                                reference: list[dict[str, list[float]]]
                                                ) -> None:
    runs = [cfg(seed=1), cfg(seed=2, optimizer={"learning_rate": 0.05})]
    results = train_runs(runs, digits, executor=executor, cohorts="replicate")
    for result, ref in zip(results, reference, strict=True):
        assert result.status == SlotStatus.DONE
        np.testing.assert_allclose(result.history["val_loss"], ref["val_loss"], rtol=1e-5)
        np.testing.assert_allclose(result.history["loss"], ref["loss"], rtol=1e-5)


def test_finished_runs_bring_their_weights_and_test_scores(executor: Executor,
                                                           digits: Dataset) -> None:
    (result,) = train_runs([cfg(seed=3)], digits, executor=executor)
    model = result.model()
    probs = model.predict(digits.x_test, verbose=0)
    accuracy = float((probs.argmax(axis=1) == digits.y_test).mean())
    assert accuracy == pytest.approx(result.final["test_accuracy"], abs=1e-6)


def test_the_dataset_travels_once_and_is_reused(executor: Executor, digits: Dataset) -> None:
    # Two calls with the same dataset object: the second finds it on the workers.
    first = train_runs([cfg(seed=4)], digits, executor=executor, collect=False)
    again = train_runs([cfg(seed=4)], digits, executor=executor, collect=False)
    assert first[0].history["val_loss"] == pytest.approx(again[0].history["val_loss"],
                                                         rel=1e-6)


def test_per_step_losses_come_back(executor: Executor, digits: Dataset) -> None:
    (result,) = train_runs([Run(cfg(seed=5), record_steps=True)], digits, executor=executor,
                           collect=False)
    steps = -(-len(digits.x_train) // 64)
    assert len(result.step_losses) == 2 * steps
    # The epoch's loss is the mean of its steps' losses weighted by their rows.
    rows = [64] * (steps - 1) + [len(digits.x_train) - 64 * (steps - 1)]
    first = np.average(result.step_losses[:steps], weights=rows)
    assert first == pytest.approx(result.history["loss"][0], rel=1e-4)


def test_callbacks_and_their_files_travel(executor: Executor, digits: Dataset,
                                          tmp_path: Path) -> None:
    c = cfg(seed=6, callbacks={"csv_logger": {"filename": "log.csv"}})
    train_runs([Run(c, out_dir=tmp_path / "run")], digits, executor=executor, collect=False)
    lines = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch")


def test_a_bad_configuration_is_a_clear_error_and_the_executor_goes_on(
        executor: Executor, digits: Dataset) -> None:
    bad = cfg(seed=7, optimizer={"name": "Adam", "learning_rate": 0.01, "momentum": 0.9})
    with pytest.raises(ConfigError, match="momentum does not apply to Adam"):
        train_runs([cfg(seed=7, optimizer={"name": "Adam", "learning_rate": 0.01}), bad],
                   digits, executor=executor, collect=False)
    (ok,) = train_runs([cfg(seed=8)], digits, executor=executor, collect=False)
    assert ok.status == SlotStatus.DONE


def test_a_request_for_a_dataset_it_does_not_hold_is_an_error(executor: Executor) -> None:
    executor.submit(0, StepRequest(template=cfg().model_dump(mode="json"), data_key="nowhere",
                                   assigns={0: Assignment(cfg().model_dump(mode="json"), 0)}))
    [(_, answer)] = executor.wait(timeout=120)
    assert answer.error is not None and "holds no dataset 'nowhere'" in answer.error


def test_it_can_be_closed_and_used_again(digits: Dataset) -> None:
    for name, factory in FACTORIES.items():
        ex = factory()
        with ex:
            train_runs([cfg(seed=9)], digits, executor=ex, collect=False)
        with ex:
            (again,) = train_runs([cfg(seed=9)], digits, executor=ex, collect=False)
        assert again.status == SlotStatus.DONE, name


def test_a_keras_model_trained_through_it_loads_anywhere(executor: Executor, digits: Dataset,
                                                         tmp_path: Path) -> None:
    (result,) = train_runs([cfg(seed=10)], digits, executor=executor)
    path = result.save(tmp_path / "m.keras")
    assert keras.saving.load_model(path, safe_mode=True).output_shape == (None, 10)
