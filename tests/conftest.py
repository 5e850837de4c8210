"""Shared test setup: Keras on JAX, quiet logs, and a compilation cache shared across tests."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
# Reports are tested on their own (tests/cli/test_reporting.py); the other run commands skip
# them so that each test pays only for what it checks.
os.environ.setdefault("TUNELAB_REPORT", "0")
