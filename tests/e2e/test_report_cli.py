"""Real processes: `tunelab report` writes a page; `tunelab dashboard` serves the run's study."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import optuna
import pytest


def _tune_folder(folder: Path) -> Path:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder.mkdir(parents=True)
    study = optuna.create_study(storage=f"sqlite:///{folder / 'study.db'}", study_name="tunelab",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + t.suggest_int("n", 1, 4),
                   n_trials=5)
    return folder


def test_train_then_report_in_subprocesses(tmp_path: Path, tunelab_cli: list[str]) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "MPLBACKEND": "Agg", "TUNELAB_OFFLINE": "1"}
    trained = subprocess.run(
        [*tunelab_cli, "train", "--dataset", "digits", "--epochs", "3", "--out", str(run)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    proc = subprocess.run([*tunelab_cli, "report", str(run)], capture_output=True, text=True,
                          timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"Wrote {run / 'report.html'}" in proc.stdout
    html = (run / "report.html").read_text()
    assert "digits — train" in html and "Test accuracy" in html
    assert (run / "figures" / "curves-run.png").is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dashboard_in_a_subprocess_serves_the_study_on_loopback(
        tmp_path: Path, tunelab_cli: list[str]) -> None:
    pytest.importorskip("optuna_dashboard")
    run = _tune_folder(tmp_path / "tune")
    port = _free_port()
    proc = subprocess.Popen([*tunelab_cli, "dashboard", str(run), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        studies = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies",
                                            timeout=5) as resp:
                    studies = json.load(resp)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert proc.poll() is None, proc.communicate()[1]
        assert studies is not None
        assert [s["study_name"] for s in studies["study_summaries"]] == ["tunelab"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
