"""Counts the inputs the fuzz tests try, and prints the total at the end of the session."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import settings

# On CI the same inputs each run (a failure there is a regression, reproducible at once);
# elsewhere new ones each run, so that fuzzing goes on finding what CI has not tried.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

TRIED: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TRIED:
        per = ", ".join(f"{k} {v}" for k, v in sorted(TRIED.items()))
        terminalreporter.write_line(f"fuzzed inputs tried: {sum(TRIED.values())} in total ({per})")


@pytest.fixture(scope="session")
def tried() -> Counter[str]:
    """The count of fuzzed inputs, by reader: each test adds the inputs it tries."""
    return TRIED
