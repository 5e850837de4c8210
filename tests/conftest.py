"""Shared test setup: Keras on JAX, quiet logs, and the ``tunelab`` command for subprocesses."""

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
# Reports are tested on their own (tests/cli/test_reporting.py); the other run commands skip
# them so that each test pays only for what it checks.
os.environ.setdefault("TUNELAB_REPORT", "0")


@pytest.fixture(scope="session")
def tunelab_cli() -> list[str]:
    """The ``tunelab`` command as a subprocess runs it: the virtual environment's script, else
    the one on PATH, else this interpreter calling the CLI's entry point."""
    exe = Path(sys.executable).with_name("tunelab")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("tunelab")
    return [found] if found else [sys.executable, "-c", "from tunelab.cli import main; main()"]
