"""Progress that renders in Jupyter as well as in a terminal.

rich's live displays need ``ipywidgets`` inside Jupyter; without it they warn and show
nothing. In a notebook tunelab shows its progress as one HTML block that is updated in place
(``IPython.display`` with a ``display_id``), which every Jupyter front end renders; in a
terminal the rich displays stay.

Example:
    >>> in_notebook()
    False
    >>> "<progress" in progress_html("training", 3, 10, "best val_accuracy 0.91")
    True
"""

from __future__ import annotations

import html
import time
from typing import Any

__all__ = ["LiveHTML", "in_notebook", "progress_html"]


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (a notebook, JupyterLab, VS Code, Colab)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    return type(shell).__name__ == "ZMQInteractiveShell" or "google.colab" in str(type(shell))


def progress_html(label: str, done: float, total: float | None, info: str = "",
                  seconds: float | None = None) -> str:
    """One progress line as HTML: a label, a ``<progress>`` bar, counts, time and a note."""
    bar = (f'<progress value="{done:g}" max="{total:g}" style="width:16em"></progress>'
           if total else '<progress style="width:16em"></progress>')
    count = f"{done:g}/{total:g}" if total else f"{done:g}"
    clock = f" · {seconds:.0f} s" if seconds is not None else ""
    note = f" · {html.escape(info)}" if info else ""
    return (f'<div style="font-family:monospace"><b>{html.escape(label)}</b> {bar}'
            f" {count}{clock}{note}</div>")


class LiveHTML:
    """An HTML block in the notebook's output, replaced in place by :meth:`update`.

    Outside a kernel (no IPython) it keeps the last HTML and shows nothing.
    """

    def __init__(self, text: str = "") -> None:
        self.text = text
        self.started = time.monotonic()
        self._handle: Any = None
        try:
            from IPython.display import HTML, display
        except ImportError:
            return
        self._handle = display(HTML(text or "<div></div>"), display_id=True)

    @property
    def seconds(self) -> float:
        """Seconds since the block was shown."""
        return time.monotonic() - self.started

    def update(self, text: str) -> None:
        """Replace the block's HTML."""
        self.text = text
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(text))
