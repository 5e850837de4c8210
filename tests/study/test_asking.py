"""Asking trials: the session's budget, invalid configurations, trials waiting for a cohort."""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.trial import TrialState

from tunelab.config import RunConfig, parse_config
from tunelab.study import CohortSampler, Objective, RunDir, Space, make_sampler, open_study
from tunelab.study._asking import TrialAsker
from tunelab.study._heartbeat import Heartbeat
from tunelab.study._recorder import Recorder
from tunelab.study._stats import SessionStats
from tunelab.study._storage import owner_token

BASE = parse_config({"training": {"epochs": 2, "batch_size": 64}})
SPACE = Space({"training.batch_size": [32, 64, 4096],
               "optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True}})


def _asker(tmp_path: Path, budget: int) -> TrialAsker:
    obj = Objective(["val_accuracy"])
    sampler = CohortSampler(make_sampler("random", seed=0, space=SPACE, n_objectives=1))
    study, _ = open_study(storage=None, name="t", directions=obj.directions, sampler=sampler,
                          pruner=optuna.pruners.NopPruner(), space=SPACE, base=BASE,
                          metric_names=obj.metrics)

    def key(cfg: RunConfig) -> int:
        if cfg.training.batch_size > 1024:
            from tunelab.errors import ConfigError

            raise ConfigError("training.batch_size: larger than this test allows")
        return cfg.training.batch_size

    recorder = Recorder(study, obj, RunDir(tmp_path).make(), SessionStats())
    return TrialAsker(study=study, sampler=sampler, space=SPACE, base=BASE, pad=None,
                      engine_key=key, heartbeat=Heartbeat(study), recorder=recorder,
                      budget=budget, owner=owner_token(), ledger=None)


def test_asks_stay_within_the_budget_and_invalid_ones_fail(tmp_path: Path) -> None:
    asker = _asker(tmp_path, budget=12)
    asked = []
    while asker.may_ask():
        live = asker.ask(None)
        if live is not None:
            asked.append(live)
    trials = asker.study.trials
    assert len(trials) == 12 and asker.left == 0 and asker.ask(None) is None
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert failed and len(failed) + len(asked) == 12  # batch 4096 fails, the rest are live
    assert all("invalid configuration" in t.user_attrs["reason"] for t in failed)
    assert all(live.key == live.cfg.training.batch_size for live in asked)


def test_fixed_parameters_are_kept(tmp_path: Path) -> None:
    asker = _asker(tmp_path, budget=6)
    lives = [asker.ask({"training.batch_size": 32}) for _ in range(6)]
    assert {live.key for live in lives if live is not None} == {32}


def test_waiting_trials_leave_by_structure_oldest_first(tmp_path: Path) -> None:
    asker = _asker(tmp_path, budget=30)
    lives = [asker.ask({"training.batch_size": b}) for b in (32, 64, 64, 32, 64)]
    for live in lives:
        assert live is not None
        asker.queue(live)
    assert asker.waiting() == 5 and asker.waiting(64) == 2
    first = asker.pop_largest()  # 64 has the most waiting: its oldest comes first
    assert first is lives[1]
    assert asker.pop(32) is lives[0] and asker.pop(32) is lives[3] and asker.pop(32) is None
    assert asker.pop(64) is lives[2] and asker.pop(64) is lives[4]
    assert asker.pop_largest() is None and not asker.pending
