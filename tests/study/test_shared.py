"""Shared studies: sessions that run one study at the same time, through one storage.

Unit tests read the ledger and the heartbeats on a real storage; the rest start real
``tunelab tune`` processes on one study (SQLite in one run folder, and a real PostgreSQL
server), and one of them is killed with SIGKILL while the others go on.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from tunelab.study._heartbeat import HEARTBEAT_REASON, Heartbeat, fail_stale
from tunelab.study._shared import StudyLedger
from tunelab.study._status import RETRIED_ATTR, RETRY_OF_ATTR
from tunelab.study._storage import PROCESS_GONE_REASON

optuna.logging.set_verbosity(optuna.logging.WARNING)

STUDY = """
seed = 0

[model]
units = [16]
dropout = 0.0

[optimizer]
name = "SGD"

[training]
epochs = 8
batch_size = 16

[search]
"optimizer.learning_rate" = {{ low = 0.01, high = 0.3, log = true }}
"optimizer.momentum" = {{ low = 0.0, high = 0.9 }}

[study]
trials = {trials}
cohort = {cohort}
sampler = "random"
pruner = "none"
"""


# -- the ledger and heartbeats, in process ----------------------------------------------------

def test_the_ledger_counts_what_every_session_claimed(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=storage)
    ledger = StudyLedger(study, target=5, owner={"host": "here", "pid": 1, "start": "0"})
    done = study.ask()
    study.tell(done, 1.0)
    running = study.ask()  # another session's trial, training
    running.set_user_attr("tunelab_owner", {"host": "there", "pid": 2, "start": "0"})
    retried = study.ask()
    retried.set_user_attr(RETRIED_ATTR, True)
    study.tell(retried, state=TrialState.FAIL)
    study.enqueue_trial({}, user_attrs={RETRY_OF_ATTR: retried.number})
    # complete 1 + running 1 + the retry copy waiting 1; the retried trial does not count
    assert (ledger.claimed(), ledger.room(), ledger.waiting()) == (3, 2, 1)
    assert ledger.others_running()
    study.tell(running, 2.0)
    assert not ledger.others_running()


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
def test_a_trial_whose_heartbeat_stopped_is_failed_and_enqueued_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    storage = optuna.storages.RDBStorage(url, heartbeat_interval=1, grace_period=2)
    study = optuna.create_study(storage=storage)
    with Heartbeat(study) as beat:
        alive, dead = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}), \
            study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        beat.track(alive)
        beat.track(dead)
        beat.forget(dead)  # its session is gone: its last beat grows old
        with sqlite3.connect(tmp_path / "study.db") as conn:
            conn.execute("UPDATE trial_heartbeats SET heartbeat = datetime('now', '-1 hour')"
                         " WHERE trial_id = ?", (dead._trial_id,))
        assert beat.check(force=True) == [dead.number]
        assert fail_stale(study) == [], "a second session finds nothing left to fail"
    frozen = study.trials
    assert frozen[dead.number].state == TrialState.FAIL
    assert frozen[dead.number].user_attrs["reason"] == HEARTBEAT_REASON
    assert frozen[alive.number].state == TrialState.RUNNING
    copies = [t for t in frozen if t.user_attrs.get(RETRY_OF_ATTR) == dead.number]
    assert len(copies) == 1 and copies[0].state == TrialState.WAITING
    # Optuna keeps an enqueued trial's parameters aside until it is asked.
    assert copies[0].system_attrs["fixed_params"] == frozen[dead.number].params


# -- sessions as processes ---------------------------------------------------------------------

def _sessions(tunelab_cli: list[str], tmp_path: Path, n: int, *options: str, trials: int = 24,
              cohort: int = 2, report: bool = False) -> list[subprocess.Popen[str]]:
    config = tmp_path / "study.toml"
    config.write_text(STUDY.format(trials=trials, cohort=cohort))
    env = {**os.environ, "TUNELAB_OFFLINE": "1", "TUNELAB_REPORT": "1" if report else "0"}
    command = [*tunelab_cli, "tune", str(config), "--out", str(tmp_path / "run"), "--quiet",
               *options]
    return [subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(n)]


def _finish(procs: list[subprocess.Popen[str]]) -> list[str]:
    errors = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        errors.append(err)
    return errors


def _check_study(storage: str, run: Path, trials: int, cohort: int,
                 sessions: int | None) -> list[optuna.trial.FrozenTrial]:
    """The study ends with its trials (within one cohort), each trained by one session, none
    repeated, and best.keras is the study's best trial."""
    study = optuna.load_study(study_name="tunelab", storage=storage)
    frozen = study.trials
    complete = [t for t in frozen if t.state == TrialState.COMPLETE]
    assert trials <= len(complete) <= trials + cohort, [t.state for t in frozen]
    assert not [t for t in frozen if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    owners = {t.user_attrs["tunelab_owner"]["pid"] for t in complete}
    if sessions is not None:
        assert len(owners) == sessions, "every session trained some of the trials"
    params = [tuple(sorted(t.params.items())) for t in complete]
    assert len(set(params)) == len(params), "no configuration was drawn twice"
    best = study.best_trial
    assert (run / "best.keras").read_bytes() == (
        run / "trials" / str(best.number) / "model.keras").read_bytes()
    import json

    assert json.loads((run / "best.json").read_text())["trial"] == best.number
    return frozen


def test_two_sessions_on_one_sqlite_run_folder_share_the_study(
        tmp_path: Path, tunelab_cli: list[str]) -> None:
    """SQLite in WAL mode takes one writer at a time and waits for the lock: two sessions on
    one folder work as one study. The last to finish writes the report."""
    errors = _finish(_sessions(tunelab_cli, tmp_path, 2, report=True))
    run = tmp_path / "run"
    _check_study(f"sqlite:///{run / 'study.db'}", run, trials=24, cohort=2, sessions=2)
    assert (run / "report.html").exists()
    assert sum("the last one to finish writes report.html" in e for e in errors) <= 1


def test_n_sessions_on_postgresql_end_with_the_study_s_trials(
        postgres: Any, tmp_path: Path, tunelab_cli: list[str]) -> None:
    url = postgres.new_database()
    _finish(_sessions(tunelab_cli, tmp_path, 3, "--storage", url, trials=30))
    _check_study(url, tmp_path / "run", trials=30, cohort=2, sessions=3)


def test_an_epoch_budget_is_the_study_s_total_over_sessions(
        postgres: Any, tmp_path: Path, tunelab_cli: list[str]) -> None:
    url = postgres.new_database()
    _finish(_sessions(tunelab_cli, tmp_path, 2, "--storage", url, "--epoch-budget", "120",
                      "--trials", "500"))
    study = optuna.load_study(study_name="tunelab", storage=url)
    counted = [t for t in study.trials if not t.user_attrs.get(RETRIED_ATTR)]
    epochs = sum(int(t.user_attrs.get("epochs", 0)) for t in counted)
    # Each session re-reads the study's epochs every round: the two overshoot by at most
    # one round of each session's cohort.
    assert 120 <= epochs <= 120 + 2 * 2, epochs


def _running_with_epochs(url: str, owner_pid: int) -> list[int]:
    study = optuna.load_study(study_name="tunelab", storage=url)
    return [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t.user_attrs.get("tunelab_owner", {}).get("pid") == owner_pid
            and 1 <= len(t.intermediate_values) <= 6]  # of 8 epochs: not about to end


def test_a_killed_session_s_trials_are_retried_by_the_other(
        postgres: Any, tmp_path: Path, tunelab_cli: list[str]) -> None:
    """kill -9 one of two sessions mid-study: its heartbeats stop, the other session fails
    its running trials once the grace period has passed, trains them again with the same
    parameters, and the study completes with its trials."""
    url = postgres.new_database()
    victim, survivor = _sessions(tunelab_cli, tmp_path, 2, "--storage", url,
                                 "--heartbeat-interval", "1", "--grace-period", "5", trials=40)
    deadline = time.monotonic() + 300
    caught: list[int] = []
    while time.monotonic() < deadline and victim.poll() is None:
        try:
            caught = _running_with_epochs(url, victim.pid)
        except Exception:  # noqa: BLE001 - the study is not created yet
            caught = []
        if caught:
            break
        time.sleep(0.05)
    assert victim.poll() is None and caught, "the session ended before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    # The trials the kill caught: the victim's that it never told (a trial read as running
    # just now may have been told complete before the kill, and another begun); still
    # RUNNING, or already failed by the survivor.
    stale_reasons = (HEARTBEAT_REASON, PROCESS_GONE_REASON)
    caught = [t.number for t in optuna.load_study(study_name="tunelab", storage=url).trials
              if t.user_attrs.get("tunelab_owner", {}).get("pid") == victim.pid
              and (t.state == TrialState.RUNNING or (t.state == TrialState.FAIL and
                                                      t.user_attrs.get("reason") in stale_reasons))]
    assert caught, "the kill caught no trial of the victim unfinished"
    _finish([survivor])

    frozen = _check_study(url, tmp_path / "run", trials=40, cohort=2, sessions=None)
    for number in caught:
        stale = frozen[number]
        # Retired by the survivor: through its heartbeat, or, on this one machine, because it
        # saw the owner's process gone first; either way failed once and run again.
        assert stale.state == TrialState.FAIL
        assert stale.user_attrs["reason"] in (HEARTBEAT_REASON, PROCESS_GONE_REASON)
        copies = [t for t in frozen if t.user_attrs.get(RETRY_OF_ATTR) == number]
        assert len(copies) == 1 and copies[0].state == TrialState.COMPLETE
        assert copies[0].params == stale.params
        assert copies[0].user_attrs["tunelab_owner"]["pid"] == survivor.pid
