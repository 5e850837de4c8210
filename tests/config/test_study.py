"""The ``[study]`` section's own checks (the rest of it is tested where studies run)."""

from __future__ import annotations

import pytest

from tunelab.config import StudyConfig


def test_report_every_and_min_resource_are_checked() -> None:
    with pytest.raises(ValueError, match="report_every must be 1/n"):
        StudyConfig(report_every=0.3)
    with pytest.raises(ValueError, match="min_resource must be a multiple of report_every"):
        StudyConfig(report_every=0.25, min_resource=0.1)
    assert StudyConfig(report_every=0.125, min_resource=0.125).pieces() == 8
