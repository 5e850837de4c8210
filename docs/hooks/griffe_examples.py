"""A griffe extension for the API reference: tunelab's docstrings head their doctests with
``Example:``; griffe knows the Google section as ``Examples:``, and renders only that one as
code. This reads the one as the other, so the examples show as the code they are."""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", re.M)


class ExampleSections(griffe.Extension):
    """Renames each ``Example:`` section heading to ``Examples:`` before parsing."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
