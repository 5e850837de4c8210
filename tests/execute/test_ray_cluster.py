"""A study on a simulated Ray cluster (``ray.cluster_utils.Cluster``: a head and two worker
nodes, each its own raylet and object store) that loses a worker node mid-study.

The node is removed while its actor trains a cohort. The study still ends with every trial it
asked for, each trained once to its last epoch: the lost cohort was rebuilt on the other node
and its request answered once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from optuna.trial import TrialState

from tunelab.execute import RayExecutor
from tunelab.study import Progress, tune

from ._ray import import_ray, stop_ray

# Ray starts its processes with fork + exec; JAX warns about the fork alone.
pytestmark = pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")

STUDY = {
    "seed": 0,
    "model": {"units": [16], "dropout": 0.0},
    "optimizer": {"name": "SGD", "learning_rate": 0.1},
    # Long enough (about 100 cohort epochs) that work is left when Ray notices the lost node
    # (its health check needs about 2 s): a warm compile cache made a shorter study end first.
    "training": {"epochs": 4, "batch_size": 8},
    "search": {"optimizer.learning_rate": {"low": 0.01, "high": 0.5, "log": True},
               "optimizer.momentum": {"low": 0.0, "high": 0.9}},
    "study": {"trials": 48, "cohort": 2, "sampler": "random", "pruner": "none",
              "executor": "ray", "workers": 2},
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    import_ray()
    stop_ray()
    from ray.cluster_utils import Cluster

    # The driver's node runs no actor (0 CPUs); each worker node has room for two actors,
    # so the actor of a removed node finds room on the other. A dead node is noticed fast.
    head = {"num_cpus": 0, "_system_config": {"health_check_initial_delay_ms": 0,
                                               "health_check_period_ms": 500,
                                               "health_check_failure_threshold": 4}}
    sim = Cluster(initialize_head=True, head_node_args=head)
    nodes = [sim.add_node(num_cpus=2) for _ in range(2)]
    sim.wait_for_nodes()
    yield sim, nodes
    stop_ray()
    sim.shutdown()


def test_a_node_lost_mid_study_loses_no_trial_and_repeats_none(cluster: Any,
                                                               tmp_path: Path) -> None:
    sim, nodes = cluster
    removed: list[int] = []
    executor = RayExecutor(workers=2, address=sim.address)

    def lose_a_node(progress: Progress) -> None:
        busy = sorted(executor.busy())
        if not removed and progress.complete >= 3 and busy:
            removed.append(progress.complete)
            # the node of a worker whose cohort has a request in flight: that request is lost
            node = next(n for n in nodes if n.node_id == executor.worker_nodes()[busy[0]])
            sim.remove_node(node, allow_graceful=False)

    with executor:
        result = tune(STUDY, run_dir=tmp_path / "run", progress=False,
                      on_progress=lose_a_node, executor=executor)
    assert removed, ("the node was removed while trials were running",
                     [(t.state, t.user_attrs.get("reason")) for t in result.study.trials][:3])
    trials = result.study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 48, "no trial lost or failed"
    for t in trials:
        history = json.loads((tmp_path / "run" / "trials" / str(t.number) / "history.json")
                             .read_text())
        assert len(history["loss"]) == 4, f"trial {t.number} trained each epoch once"
    assert result.stats is not None and result.stats.lost_workers >= 1
    assert executor.lost >= 1 and executor.resumed + executor.replayed >= 1
    sessions = json.loads((tmp_path / "run" / "stats.json").read_text())["sessions"]
    assert sessions[-1]["lost_workers"] == result.stats.lost_workers
