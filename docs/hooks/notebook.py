"""MkDocs hook: executes examples/tutorial.ipynb in a scratch folder and adds it to the site
as ``notebook.ipynb``, outputs included (mkdocs-jupyter renders it).

The notebook is committed without outputs; the site shows it as it runs on the tunelab being
built. ``TUNELAB_DOCS_EXECUTE=0`` renders it without running it (a quick look at the layout).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files

log = get_plugin_logger("notebook")
NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "tutorial.ipynb"
_SCRATCH: list[tempfile.TemporaryDirectory[str]] = []


def _executed(folder: Path) -> Path:
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    if os.environ.get("TUNELAB_DOCS_EXECUTE", "1") != "0":
        from nbclient import NotebookClient

        os.environ.setdefault("KERAS_BACKEND", "jax")
        start = time.perf_counter()
        NotebookClient(nb, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
        log.info(f"executed {NOTEBOOK.name} in {time.perf_counter() - start:.0f} s")
    out = folder / "notebook.ipynb"
    nbformat.write(nb, out)
    return out


@event_priority(100)  # before mkdocs-jupyter sorts the files
def on_files(files: Files, config: MkDocsConfig) -> Files:
    scratch = tempfile.TemporaryDirectory(prefix="tunelab-docs-")
    _SCRATCH.append(scratch)
    path = _executed(Path(scratch.name))
    files.append(File(path.name, src_dir=str(path.parent), dest_dir=config["site_dir"],
                      use_directory_urls=config["use_directory_urls"]))
    return files


def on_post_build(config: MkDocsConfig) -> None:
    while _SCRATCH:
        _SCRATCH.pop().cleanup()
