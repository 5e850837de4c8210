"""One real process: the installed `tunelab` command describes the digits dataset."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def test_data_info_digits_in_a_subprocess(tmp_path: Path, tunelab_cli: list[str]) -> None:
    env = {**os.environ, "TUNELAB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [*tunelab_cli, "data", "info", "digits"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "digits: image data, task multiclass, from scikit-learn" in proc.stdout
    assert "1797 samples, each 8x8" in proc.stdout
    bad = subprocess.run(
        [*tunelab_cli, "data", "info", "no-such-set"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("Error: unknown dataset 'no-such-set'")
    assert "Traceback" not in bad.stderr
