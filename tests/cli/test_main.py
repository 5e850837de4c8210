"""The `tunelab` group: --help, --version and the single error channel (exit 2, one line)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tunelab import __version__
from tunelab.cli import main
from tunelab.config import load_config


@pytest.fixture
def with_config_command() -> Iterator[None]:
    """A throwaway command that reads a config file, as real commands will."""

    @click.command("read-config")
    @click.argument("path")
    def read_config(path: str) -> None:
        click.echo(load_config(path).training.epochs)

    main.add_command(read_config)
    yield
    main.commands.pop("read-config")


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(main, ["--help"], prog_name="tunelab")
    assert result.exit_code == 0
    assert "Usage: tunelab" in result.output and "data" in result.output
    assert CliRunner().invoke(main, ["-h"]).exit_code == 0


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"tunelab, version {__version__}"


def test_every_command_has_help() -> None:
    def walk(cmd: click.Command, path: list[str]) -> Iterator[list[str]]:
        yield path
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])

    for path in walk(main, []):
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output
        cmd = main
        for name in path:
            cmd = cmd.commands[name]  # type: ignore[attr-defined]
        assert cmd.help, f"command {' '.join(path)} has no help text"


def test_bad_config_exits_2_with_one_line(tmp_path: Path, with_config_command: None) -> None:
    p = tmp_path / "run.toml"
    p.write_text("[training]\nepoch = 3\n")
    result = CliRunner().invoke(main, ["read-config", str(p)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {p}: unknown key 'training.epoch'; allowed keys here:"
        " batch_size, epochs, loss, metrics, micro_batch, shuffle\n"
    )
    assert "Traceback" not in result.output


def test_bad_toml_exits_2(tmp_path: Path, with_config_command: None) -> None:
    p = tmp_path / "run.toml"
    p.write_text("[training\n")
    result = CliRunner().invoke(main, ["read-config", str(p)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {p}: not valid TOML:")
    assert "line 1" in result.stderr and result.stderr.count("\n") == 1


def test_usage_errors_also_exit_2() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2 and "No such command" in result.stderr
