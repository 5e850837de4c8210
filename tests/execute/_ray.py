"""One local Ray for the tests of a module: started on first use with 2 CPUs, stopped after.

Ray is a test dependency (the ``dev`` extra), so CI always has it; on a developer machine
without it the Ray tests skip, saying so.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import pytest


def import_ray() -> Any:
    """Ray, or a skip saying it is missing (a failure in CI, which must run these tests)."""
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("Ray is not installed, and CI must run the Ray tests: pip install -e"
                        " '.[dev]'")
        pytest.skip("Ray is not installed: pip install -e '.[dev]'")
    return ray


def ray_session() -> None:
    """Start a local Ray with 2 CPUs unless one is running in this process."""
    ray = import_ray()
    if not ray.is_initialized():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="os.fork", category=RuntimeWarning)
            ray.init(address="local", num_cpus=2, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.WARNING)


def stop_ray() -> None:
    """Stop the local Ray if this process started one."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()
