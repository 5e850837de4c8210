"""A Ctrl-C dropped where Python cannot raise it is raised at the next step."""

from __future__ import annotations

import gc
import signal
import sys

import pytest

from tunelab._interrupt import latched, raise_if_interrupted


def _swallowing_collection() -> list[type[BaseException]]:
    """Ctrl-C arrives while a garbage-collection callback runs: Python prints "Exception
    ignored" and drops the KeyboardInterrupt (JAX runs such a callback after every
    collection). Returns what Python dropped."""
    dropped: list[type[BaseException]] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            signal.raise_signal(signal.SIGINT)

    hook, sys.unraisablehook = sys.unraisablehook, lambda u: dropped.append(u.exc_type)
    gc.callbacks.append(callback)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(callback)
        sys.unraisablehook = hook
    return dropped


def test_python_drops_a_ctrl_c_raised_in_a_gc_callback() -> None:
    """The failure the latch is for, shown without it: the KeyboardInterrupt never reaches
    the code that was running."""
    assert _swallowing_collection() == [KeyboardInterrupt]


def test_a_dropped_ctrl_c_is_raised_at_the_next_check() -> None:
    with latched():
        _swallowing_collection()
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
    raise_if_interrupted()  # cleared when the latch ends
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_nested_latches_share_the_flag_and_an_ignored_sigint_stays_ignored() -> None:
    with latched():
        with latched():
            _swallowing_collection()
        with pytest.raises(KeyboardInterrupt):  # the inner latch's end does not clear it
            raise_if_interrupted()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with latched():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
