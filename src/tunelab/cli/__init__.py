"""The ``tunelab`` command line."""

from tunelab.cli._main import main

__all__ = ["main"]
