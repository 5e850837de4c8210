"""Doctest setup for ``src/``: every ``>>>`` example in the package runs under pytest.

pytest collects this tree with ``--doctest-modules`` (``pyproject.toml``). The examples run on
Keras's JAX backend with logs quiet and figures off-screen, as the tests do.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TUNELAB_REPORT", "0")
