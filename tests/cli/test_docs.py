"""docs/cli.md documents every command and every option the CLI has."""

from __future__ import annotations

from pathlib import Path

import click

from tunelab.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands(cmd: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, cmd)]
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            found += _commands(sub, [*path, name])
    return found


def test_every_command_and_option_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for path, cmd in _commands(main, ["tunelab"]):
        if f"## `{' '.join(path)}`" not in text:
            missing.append(" ".join(path))
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-") and opt not in text:
                    missing.append(f"{' '.join(path)} {opt}")
    assert not missing, f"docs/cli.md lacks: {missing}"


def test_the_generated_docs_are_current() -> None:
    """docs/api.md (from every package's __all__) and the --help blocks of docs/cli.md."""
    import importlib.util

    path = DOC.parent / "generate.py"
    spec = importlib.util.spec_from_file_location("generate_docs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == (DOC.parent / "api.md").read_text(encoding="utf-8"), \
        "docs/api.md is out of date: run python docs/generate.py"
    assert module.render_cli(DOC.read_text(encoding="utf-8")) == DOC.read_text(
        encoding="utf-8"), "docs/cli.md is out of date: run python docs/generate.py"
