"""The errors tunelab raises for bad input, one class per kind of input.

Every error a user can cause is a :class:`TunelabError`; its message names the
file, key or line at fault and says how to fix it. The CLI prints the message
(never a traceback) and exits with status 2.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "SpaceError", "TrialError", "TunelabError"]


class TunelabError(Exception):
    """Base class of every error caused by input tunelab was given.

    Example:
        >>> try:
        ...     raise DataError("digits: no such file")
        ... except TunelabError as err:
        ...     print(err)
        digits: no such file
    """


class DataError(TunelabError):
    """A dataset could not be found, read or prepared."""


class ConfigError(TunelabError):
    """A configuration file or value is malformed or impossible."""


class SpaceError(ConfigError):
    """A search space is invalid (bad range, empty choices, unknown parameter)."""


class TrialError(TunelabError):
    """A trial could not be trained (diverged, or its configuration cannot run)."""
