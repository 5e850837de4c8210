"""Real processes: `tunelab guide` interrupted with Ctrl-C (SIGINT) mid-run, then continued by
the same command, ending with a model, its configuration and a report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.guide.conftest import tiny_custom, write_procedure


def test_interrupt_then_continue_with_the_same_command(tmp_path: Path,
                                                       tunelab_cli: list[str]) -> None:
    raw = tiny_custom(trials=2)
    # Step 2 long enough (16 trials of 10 epochs) to be interrupted while it runs.
    raw["steps"][1]["scientific"]["model.dropout"] = [0.0, 0.1, 0.2, 0.3]
    raw["steps"][1]["budget"] = {"trials": 4, "epochs": 10}
    procedure = write_procedure(tmp_path / "tiny.toml", raw)
    out = tmp_path / "run"
    command = [*tunelab_cli, "guide", "--procedure", str(procedure), "--budget", "quick",
               "--out", str(out), "--quiet"]
    env = {**os.environ, "MPLBACKEND": "Agg", "KERAS_BACKEND": "jax"}
    # A shell starts background jobs with SIGINT ignored, and an ignored signal stays ignored
    # across exec: give the command the default handling a terminal's Ctrl-C meets.
    first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    decisions = out / "decisions.json"
    deadline = time.monotonic() + 240
    while not decisions.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, first.communicate()  # still running: step 2 is under way
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in err
    steps = json.loads(decisions.read_text())["steps"]
    assert [s["step"] for s in steps] == ["width"]

    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stderr
    assert "width: finished before, reloaded" in second.stderr
    assert "Test accuracy of best.keras:" in second.stdout
    final = json.loads(decisions.read_text())
    assert [s["step"] for s in final["steps"]] == ["width", "dropout"]
    assert final["steps"][0] == steps[0]
    for name in ("final.toml", "best.keras", "final.json", "report.html"):
        assert (out / name).is_file(), name
