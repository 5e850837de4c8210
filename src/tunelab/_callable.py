"""Packages that are also functions: ``tunelab.guide(...)`` and ``tunelab.report(...)``.

``tunelab.guide`` and ``tunelab.report`` are packages (``from tunelab.guide import
run_guide``) and, for a notebook user, the fronts of the commands of the same names. Once a
submodule is imported Python sets it as the parent's attribute, so a plain function of that
name would be replaced by the package; instead the package itself is made callable, calling
the front. Both ``tunelab.guide.run_guide`` and ``tunelab.guide(data=...)`` then work,
whatever was imported first.

Example:
    >>> import tunelab.report
    >>> callable(tunelab.report)
    True
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = ["callable_module"]


class _CallableModule(types.ModuleType):
    """A module whose call runs the function named by its ``__front__`` (``module:name``)."""

    __front__: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, _, name = self.__front__.partition(":")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)


def callable_module(name: str, front: str) -> None:
    """Make the module ``name`` callable: calling it calls ``front`` (``"module:function"``)."""
    module = sys.modules[name]
    module.__class__ = _CallableModule
    module.__front__ = front  # type: ignore[attr-defined]
