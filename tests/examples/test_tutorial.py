"""examples/tutorial.ipynb: committed without outputs, and every cell runs (figures drawn)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "tutorial.ipynb"


def _notebook() -> object:
    import nbformat

    return nbformat.read(NOTEBOOK, as_version=4)


def test_the_notebook_is_committed_without_outputs() -> None:
    nb = _notebook()
    code = [c for c in nb.cells if c.cell_type == "code"]  # type: ignore[attr-defined]
    assert code, "the notebook has no code cells"
    dirty = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert not dirty, (f"code cells {dirty} hold outputs or execution counts; clear them"
                       " (jupyter nbconvert --clear-output --inplace examples/tutorial.ipynb)")


def test_the_notebook_links_from_the_readme_and_the_tutorial_page() -> None:
    root = NOTEBOOK.parents[1]
    for page in ("README.md", "docs/tutorial.md"):
        assert "examples/tutorial.ipynb" in (root / page).read_text(encoding="utf-8"), page


@pytest.mark.slow
def test_every_cell_runs_and_draws_its_figures(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    nb = _notebook()
    env = {"TUNELAB_REPORT": "0"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    start = time.perf_counter()
    try:
        # Raises CellExecutionError, naming the cell, if any cell fails.
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - start
    outputs = [o for c in nb.cells if c.cell_type == "code"  # type: ignore[attr-defined]
               for o in c.outputs]
    pngs = sum("image/png" in o.get("data", {}) for o in outputs)
    inline = sum("<img" in o.get("data", {}).get("text/html", "") for o in outputs)
    # The Beale surface, the data check; the curves, landscapes and the report inline.
    assert pngs >= 2 and inline >= 6, (pngs, inline)
    assert any("<iframe" in o.get("data", {}).get("text/html", "") for o in outputs)
    assert (tmp_path / "runs" / "notebook-digits-quick" / "report.html").is_file()
    print(f"notebook executed in {seconds:.0f} s")
