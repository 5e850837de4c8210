"""Ctrl-C that is never lost while tunelab trains.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be when SIGINT
arrives. Raised inside a garbage-collection callback or a ``__del__`` (JAX runs one after
every collection), it is printed as "Exception ignored in ..." and dropped, and the training
would go on to the end. While :func:`latched` is held, SIGINT also sets a flag, and the
training loops call :func:`raise_if_interrupted` between steps: a Ctrl-C that was swallowed
stops the run at the next step, with the same ``KeyboardInterrupt`` as any other.

Example:
    >>> with latched():
    ...     raise_if_interrupted()  # no Ctrl-C: nothing happens
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["latched", "raise_if_interrupted"]

_state = {"depth": 0, "interrupted": False}


def _handler(signum: int, frame: FrameType | None) -> None:
    _state["interrupted"] = True
    signal.default_int_handler(signum, frame)


@contextmanager
def latched() -> Iterator[None]:
    """Remember a Ctrl-C until :func:`raise_if_interrupted` is next called.

    Only Python's default SIGINT handling, in the main thread, is replaced (an ignored SIGINT
    stays ignored, another handler is left alone); nested uses share one flag, cleared when
    the outermost one ends.
    """
    install = (threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if install:
        signal.signal(signal.SIGINT, _handler)
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
        if _state["depth"] == 0:
            _state["interrupted"] = False
        if install:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C came since the outermost :func:`latched` began."""
    if _state["interrupted"]:
        raise KeyboardInterrupt
