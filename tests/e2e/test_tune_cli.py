"""Real processes: `tunelab tune` killed with SIGKILL mid-study, then resumed by the same command.

No completed trial is lost or repeated; the trial that was running becomes FAIL with the
reason and is retried with the same parameters.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import optuna

STUDY = """
seed = 0

[model]
units = [16]
dropout = 0.0

[optimizer]
name = "SGD"

[training]
epochs = 12
batch_size = 16

[search]
"optimizer.learning_rate" = { low = 0.01, high = 0.3, log = true }

[study]
trials = 5
cohort = 1
sampler = "random"
pruner = "none"
"""


def _states(db: Path) -> dict[int, str]:
    """Trial states; a RUNNING trial that has reported no epoch yet shows as STARTING."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            states = dict(conn.execute("SELECT number, state FROM trials").fetchall())
            training = {n for (n,) in conn.execute(
                "SELECT DISTINCT t.number FROM trials t JOIN trial_intermediate_values v"
                " ON v.trial_id = t.trial_id WHERE t.state = 'RUNNING'")}
    except sqlite3.Error:
        return {}
    return {n: ("STARTING" if s == "RUNNING" and n not in training else s)
            for n, s in states.items()}


def test_sigkill_mid_study_then_resume(tmp_path: Path, tunelab_cli: list[str]) -> None:
    config = tmp_path / "study.toml"
    config.write_text(STUDY)
    run = tmp_path / "run"
    command = [*tunelab_cli, "tune", str(config), "--out", str(run), "--quiet"]
    env = {**os.environ, "TUNELAB_OFFLINE": "1"}

    proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    states: dict[int, str] = {}
    while time.monotonic() < deadline and proc.poll() is None:
        states = _states(run / "study.db")
        done = [n for n, s in states.items() if s == "COMPLETE"]
        if len(done) >= 2 and "RUNNING" in states.values():
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the study ended before it could be killed: " + str(states)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    storage = f"sqlite:///{run / 'study.db'}"
    killed = optuna.load_study(study_name="tunelab", storage=storage)
    complete_before = {t.number: t.value for t in killed.trials
                       if t.state == optuna.trial.TrialState.COMPLETE}
    running_before = {t.number: t.params for t in killed.trials
                      if t.state == optuna.trial.TrialState.RUNNING}
    assert len(complete_before) >= 2 and running_before
    assert all(running_before.values()), "the killed trial had its parameters"

    resumed = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "Trials: " in resumed.stdout

    study = optuna.load_study(study_name="tunelab", storage=storage)
    trials = study.trials
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 5, "the study reaches its budget, counting the first run's trials"
    for number, value in complete_before.items():
        assert trials[number].state == optuna.trial.TrialState.COMPLETE
        assert trials[number].value == value, "a completed trial is never redone"
    lrs = [t.params["optimizer.learning_rate"] for t in complete]
    assert len(set(lrs)) == len(lrs), "no completed trial is repeated"
    for number, params in running_before.items():
        stale = trials[number]
        assert stale.state == optuna.trial.TrialState.FAIL
        assert stale.user_attrs["reason"].startswith("interrupted: the process running it")
        retries = [t for t in trials if t.user_attrs.get("tunelab_retry_of") == number]
        assert len(retries) == 1 and retries[0].state == optuna.trial.TrialState.COMPLETE
        assert retries[0].params == params
    assert (run / "best.keras").exists()
    for t in complete:
        assert (run / "trials" / str(t.number) / "history.json").exists()


def test_a_truncated_best_model_is_rebuilt_when_the_folder_is_opened_again(
        tmp_path: Path, tunelab_cli: list[str]) -> None:
    """A finished study's best.keras cut short (a full disk, a copy interrupted): running the
    same command again says so, rebuilds it from the best trial's own model, and plain Keras
    opens it."""
    import json

    import keras

    config = tmp_path / "study.toml"
    config.write_text(STUDY.replace("trials = 5", "trials = 3").replace("cohort = 1", "cohort = 3")
                      .replace("epochs = 12", "epochs = 2"))
    run = tmp_path / "run"
    command = [*tunelab_cli, "tune", str(config), "--out", str(run), "--quiet"]
    env = {**os.environ, "TUNELAB_OFFLINE": "1", "TUNELAB_REPORT": "0"}
    first = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0, first.stderr
    best = run / "best.keras"
    whole = best.read_bytes()
    best.write_bytes(whole[: len(whole) // 2])

    again = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    trial = json.loads((run / "best.json").read_text())["trial"]
    source = run / "trials" / str(trial) / "model.keras"
    assert f"{best}: was damaged (not a complete zip archive (truncated or overwritten));" \
           f" rebuilt from {source}" in again.stderr
    assert best.read_bytes() == whole == source.read_bytes()
    assert keras.saving.load_model(best, safe_mode=True).output_shape == (None, 10)
