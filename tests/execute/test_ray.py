"""The Ray executor on a real local Ray: a study through it, a lost worker, its errors.

The executor contract suite (test_contract.py) holds it to everything the other executors
do; this module checks what only Ray has: Ray started and stopped for the user, a study
that gives the same trials as the local executor, a worker lost mid-cohort that costs no
trial, and a one-line error for a cluster that cannot be joined.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from optuna.trial import TrialState

from tunelab.config import RunConfig, parse_config
from tunelab.data import Dataset
from tunelab.errors import TunelabError
from tunelab.execute import RayExecutor, RunsProgress, train_runs
from tunelab.runs import SlotStatus
from tunelab.study import tune

from ._ray import import_ray, ray_session, stop_ray

# Ray starts its processes with fork + exec; JAX warns about the fork alone.
pytestmark = pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")

STUDY = {
    "seed": 0,
    "model": {"units": [16], "dropout": 0.0},
    "optimizer": {"name": "SGD", "learning_rate": 0.1},
    "training": {"epochs": 3, "batch_size": 128},
    "search": {"optimizer.learning_rate": {"low": 0.01, "high": 0.5, "log": True},
               "optimizer.momentum": {"low": 0.0, "high": 0.9}},
    "study": {"trials": 6, "cohort": 3, "sampler": "random", "pruner": "none"},
}


def cfg(seed: int, epochs: int = 4) -> RunConfig:
    return parse_config({"model": {"units": [16], "dropout": 0.1},
                         "optimizer": {"learning_rate": 0.1, "momentum": 0.9},
                         "training": {"epochs": epochs, "batch_size": 64}, "seed": seed})


@pytest.fixture(scope="module", autouse=True)
def _stop_ray_after() -> Iterator[None]:
    import_ray()
    yield
    stop_ray()


def test_importing_tunelab_does_not_import_ray() -> None:
    code = ("import sys, tunelab, tunelab.execute, tunelab.study, tunelab.cli;"
            " print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_a_study_on_ray_is_the_study_the_local_executor_runs(tmp_path: Path) -> None:
    """One Ray worker gets the requests the local executor gets, in the same order: the same
    trials with the same values; Ray is started for the study and stopped after it."""
    ray = import_ray()
    stop_ray()  # the executor starts its own
    local = tune(STUDY, run_dir=tmp_path / "local", progress=False)
    on_ray = tune(STUDY, run_dir=tmp_path / "ray", progress=False, executor="ray", workers=1)
    assert not ray.is_initialized(), "the Ray it started is shut down again"

    assert [t.state for t in on_ray.study.trials] == [TrialState.COMPLETE] * 6
    assert [t.params for t in on_ray.study.trials] == [t.params for t in local.study.trials]
    assert [t.value for t in on_ray.study.trials] == pytest.approx(
        [t.value for t in local.study.trials], rel=1e-5)
    best = on_ray.best_trial
    assert best is not None
    run = on_ray.run_dir
    # The model was written on the worker, sent back and written here by the driver.
    assert (run / "best.keras").read_bytes() == (
        run / "trials" / str(best.number) / "model.keras").read_bytes()


def test_a_study_with_two_ray_workers_runs_its_trials(tmp_path: Path) -> None:
    ray_session()
    result = tune({**STUDY, "study": {**STUDY["study"], "trials": 8, "cohort": 2}},
                  run_dir=tmp_path / "run", progress=False, executor="ray", workers=2)
    states = [t.state for t in result.study.trials]
    assert states == [TrialState.COMPLETE] * 8
    assert result.stats is not None and result.stats.cohorts >= 2
    assert import_ray().is_initialized(), "a Ray it did not start is left running"


@pytest.mark.parametrize("checkpoint", [0.0, 1e9], ids=["from-snapshot", "from-start"])
def test_a_lost_worker_costs_no_run(digits: Dataset, checkpoint: float) -> None:
    """The actor is killed after the cohort's first epoch: a new one takes over, from the
    cohort's snapshot (taken every epoch) or by replaying its requests from the start, and
    every run ends with the history it would have had."""
    ray = import_ray()
    ray_session()
    runs = [cfg(1), cfg(2)]
    reference = train_runs(runs, digits, cohorts="structure", collect=False)
    ex = RayExecutor(workers=1, checkpoint_seconds=checkpoint)
    killed: list[int] = []

    def kill_once(progress: RunsProgress) -> None:
        if not killed:
            killed.append(1)
            ray.kill(ex._lanes[0].actor, no_restart=True)

    with ex:
        results = train_runs(runs, digits, executor=ex, cohorts="structure", collect=False,
                             on_epoch=kill_once)
    assert killed and ex.lost == 1
    if checkpoint == 0.0:
        assert (ex.resumed, ex.replayed) == (1, 0)
    else:
        assert ex.resumed == 0 and ex.replayed >= 1
    for got, want in zip(results, reference, strict=True):
        assert got.status == SlotStatus.DONE
        assert len(got.history["loss"]) == 4, "no epoch is lost or counted twice"
        np.testing.assert_allclose(got.history["val_loss"], want.history["val_loss"],
                                   rtol=1e-5)


def test_a_cluster_that_cannot_be_joined_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    ray = import_ray()
    if ray.is_initialized():
        stop_ray()

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Could not find any running Ray instance.\nPlease specify...")

    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(TunelabError) as err:
        RayExecutor(address="10.0.0.1:6379").start()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("executor 'ray': cannot start or join the Ray cluster at"
                              " '10.0.0.1:6379' (Could not find any running Ray instance.)")
    assert "--ray-address" in message


def test_a_guide_runs_every_training_on_ray(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Studies, the range test, evidence re-runs, the tuning check and the final model: every
    request of a guide run goes to the one Ray executor it keeps from start to end."""
    import tunelab.execute
    from tunelab.execute import StepRequest
    from tunelab.guide import parse_procedure, run_guide

    ray_session()
    seen: list[StepRequest] = []
    made: list[RayExecutor] = []

    class Watched(RayExecutor):
        def submit(self, lane: int, request: StepRequest) -> None:
            seen.append(request)
            super().submit(lane, request)

    def make(name: str, workers: int = 1, **kwargs: object) -> RayExecutor:
        assert name == "ray"
        made.append(Watched(workers=workers))
        return made[-1]

    monkeypatch.setattr(tunelab.execute, "make_executor", make)
    lr = {"low": 0.01, "high": 1.0, "log": True}
    proc = parse_procedure({
        "procedure": {"name": "tiny"},
        "start": {"data": {"name": "digits", "limit": 300},
                  "model": {"units": [16], "dropout": 0.0},
                  "optimizer": {"name": "SGD", "learning_rate": 0.1, "momentum": 0.8},
                  "training": {"batch_size": 32}},
        "budget": {"trials": 2, "epochs": 2, "seeds": 2, "finalists": 2, "cohort": 4},
        "steps": [{"name": "width", "scientific": {"model.units": [[16], [32]]},
                   "nuisance": {"optimizer.learning_rate": lr}, "range_test": "once"}],
    }, source="tiny", budget="quick")
    result = run_guide(proc, run_dir=tmp_path / "run", progress=False, executor="ray",
                       workers=2)
    assert len(made) == 1, "one executor for the whole run"
    assert [s.step for s in result.decisions.steps] == ["width"]
    assert result.test_accuracy is not None
    opened = [r for r in seen if r.template is not None]
    assert any(r.data is None and r.data_key is None for r in opened), "the study's cohorts"
    assert any(r.data_key is not None for r in opened), "re-runs and the final model"
    assert any(a.record_steps for r in seen for a in r.assigns.values()), "the range test"
    assert (tmp_path / "run" / "best.keras").exists()
