"""The engine tests' digits data and small configuration, shared with tests/train."""

from tests.train.conftest import digits, small

__all__ = ["digits", "small"]
