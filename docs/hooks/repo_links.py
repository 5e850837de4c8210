"""MkDocs hook: links from the docs to files of the source tree outside docs/.

The pages link to the notebook and to files such as bench/README.md by their path in the
repository, which is what a reader of the markdown on a code host follows. On the site, the
notebook link goes to its rendered page; other files are named as paths in the source tree.
"""

from __future__ import annotations

import posixpath
import re

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

_LINK = re.compile(r"\[([^\]]+)\]\((\.\./[^)\s#]+)(#[^)\s]*)?\)")
_ON_SITE = {"examples/tutorial.ipynb": "notebook.ipynb", "README.md": "index.md"}


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    here = posixpath.dirname(page.file.src_uri)

    def swap(m: re.Match[str]) -> str:
        text, target, anchor = m.group(1), m.group(2), m.group(3) or ""
        in_repo = posixpath.normpath(posixpath.join("docs", here, target))
        if in_repo in _ON_SITE:
            return f"[{text}]({posixpath.relpath(_ON_SITE[in_repo], here or '.')}{anchor})"
        return f"{text} (`{in_repo}` in the source tree)"

    return _LINK.sub(swap, markdown)
