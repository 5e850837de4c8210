"""Progress that renders in Jupyter: an HTML block updated in place."""

from __future__ import annotations

from tunelab._notebook import LiveHTML, in_notebook, progress_html


def test_outside_a_kernel_nothing_is_shown_and_the_html_is_kept() -> None:
    assert not in_notebook()
    block = LiveHTML("<b>start</b>")
    block.update(progress_html("training", 3, 10, "best val_accuracy 0.9 <x>", 2.0))
    assert 'value="3" max="10"' in block.text and "3/10" in block.text
    assert "&lt;x&gt;" in block.text and "2 s" in block.text
    assert "<progress style" in progress_html("tune", 0, None)
