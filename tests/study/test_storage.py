"""Opening a study: storage URLs, resume checks, and trials left RUNNING by a dead process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tunelab.config import parse_config
from tunelab.errors import ConfigError, SpaceError
from tunelab.study import Space, make_storage, open_study
from tunelab.study._storage import OWNER_ATTR, counted_trials, owner_token, retire_stale

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 1.0, "log": True}})
BASE = parse_config({"training": {"epochs": 2}})


def _open(url: str, space: Space = SPACE, base=BASE, metrics=("val_accuracy",),
          directions=("maximize",)) -> tuple[optuna.Study, bool]:
    return open_study(storage=make_storage(url), name="s", directions=list(directions),
                      sampler=None, pruner=None, space=space, base=base,
                      metric_names=list(metrics), source="RUN")


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_sqlite_study_resumes_with_its_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/study.db"
    study, resumed = _open(url)
    assert not resumed
    t = study.ask()
    t.suggest_float("optimizer.learning_rate", 1e-3, 1.0, log=True)
    study.tell(t, 0.5)
    again, resumed = _open(url)
    assert resumed and [x.value for x in again.trials] == [0.5]
    assert counted_trials(again) == 1


def test_a_new_sqlite_database_is_made_whole_or_not_at_all(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "study.db"
    made = optuna.storages.RDBStorage

    def interrupted(url: str, *args: object, **kwargs: object) -> object:
        made(url, *args, **kwargs)  # the tables are made, then Ctrl-C comes
        raise KeyboardInterrupt

    monkeypatch.setattr(optuna.storages, "RDBStorage", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_storage(f"sqlite:///{db}")
    assert not db.exists() and not list(tmp_path.iterdir())  # nothing half made is left
    monkeypatch.setattr(optuna.storages, "RDBStorage", made)
    for _ in range(2):  # made, then opened: one study of the name, not two
        study, _ = _open(f"sqlite:///{db}")
    assert len(optuna.get_all_study_summaries(f"sqlite:///{db}")) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_journal_storage(tmp_path: Path) -> None:
    study, _ = _open(f"journal:{tmp_path}/j/study.log")
    study.tell(study.ask(), 1.0)
    assert (tmp_path / "j" / "study.log").exists()
    assert len(_open(f"journal:{tmp_path}/j/study.log")[0].trials) == 1


def test_bad_storage_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="study.storage"):
        make_storage("nosuchdb://user@host/db")


def test_changed_space_on_resume_is_an_error_naming_the_parameter(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/study.db"
    _open(url)
    wider = Space({"optimizer.learning_rate": {"low": 1e-4, "high": 1.0, "log": True}})
    with pytest.raises(SpaceError, match=r"RUN: the search space differs .* \(changed:"
                       r" optimizer.learning_rate\); .*start a new study"):
        _open(url, space=wider)
    with pytest.raises(ConfigError, match=r"base configuration differs .*training.epochs"):
        _open(url, base=parse_config({"training": {"epochs": 3}}))
    with pytest.raises(ConfigError, match="optimises"):
        _open(url, metrics=("val_loss",), directions=("minimize",))


def test_stale_running_trial_becomes_fail_and_is_retried(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/study.db"
    study, _ = _open(url)
    done = study.ask()
    done.suggest_float("optimizer.learning_rate", 1e-3, 1.0, log=True)
    study.tell(done, 0.7)
    stale = study.ask()
    lr = stale.suggest_float("optimizer.learning_rate", 1e-3, 1.0, log=True)
    stale.set_user_attr(OWNER_ATTR, {**owner_token(), "pid": _dead_pid()})
    mine = study.ask()
    mine.set_user_attr(OWNER_ATTR, owner_token())

    again, _ = _open(url)
    trials = again.get_trials(deepcopy=False)
    assert trials[0].state == TrialState.COMPLETE and trials[0].value == 0.7
    assert trials[1].state == TrialState.FAIL
    assert trials[1].user_attrs["reason"].startswith("interrupted: the process running it")
    assert trials[2].state == TrialState.RUNNING, "a live process's trial is left alone"
    waiting = again.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert len(waiting) == 1
    retry = again.ask()
    retry.set_user_attr(OWNER_ATTR, owner_token())
    assert retry.number == waiting[0].number
    assert retry.suggest_float("optimizer.learning_rate", 1e-3, 1.0, log=True) == lr
    assert counted_trials(again) == 1, "a retried trial does not count twice"
    assert retire_stale(again) == []


def test_own_process_trial_is_alive() -> None:
    from tunelab.study._storage import _owner_alive

    assert _owner_alive(owner_token())
    assert not _owner_alive({**owner_token(), "pid": _dead_pid()})
    assert not _owner_alive(None)
    assert _owner_alive({"host": "elsewhere", "pid": os.getpid()})
