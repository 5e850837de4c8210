"""One real process: the installed `tunelab` command describes the digits dataset."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def _tunelab() -> list[str]:
    exe = Path(sys.executable).with_name("tunelab")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("tunelab")
    return [found] if found else [sys.executable, "-c", "from tunelab.cli import main; main()"]


def test_data_info_digits_in_a_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "TUNELAB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [*_tunelab(), "data", "info", "digits"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "digits: image data, task multiclass, from scikit-learn" in proc.stdout
    assert "1797 samples, each 8x8" in proc.stdout
    bad = subprocess.run(
        [*_tunelab(), "data", "info", "no-such-set"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("Error: unknown dataset 'no-such-set'")
    assert "Traceback" not in bad.stderr
