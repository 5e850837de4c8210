"""`tunelab guide` through CliRunner: help, bad procedure files, and a tiny run's summary."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.guide.conftest import tiny_custom, write_procedure
from tunelab.cli import main


def test_help_names_every_option() -> None:
    result = CliRunner().invoke(main, ["guide", "--help"])
    assert result.exit_code == 0
    for option in ("--dataset", "--procedure", "--budget", "--steps", "--cohort", "--seed",
                   "--out", "quick|standard|thorough"):
        assert option in result.output


def test_bad_procedure_files_get_one_line_errors(tmp_path: Path) -> None:
    raw = tiny_custom()
    raw["steps"][0]["nuisance"] = {}
    path = write_procedure(tmp_path / "bad.toml", raw)
    result = CliRunner().invoke(main, ["guide", "--procedure", str(path), "--out",
                                       str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {path}: steps[0] (width): no learning rate")
    assert "Traceback" not in result.output
    raw = tiny_custom()
    raw["steps"][1]["budgett"] = {"trials": 2}
    path = write_procedure(tmp_path / "bad2.toml", raw)
    result = CliRunner().invoke(main, ["guide", "--procedure", str(path)])
    assert result.exit_code == 2
    assert "steps[1] (dropout): unknown key 'budgett'" in result.output
    result = CliRunner().invoke(main, ["guide", "--procedure", str(tmp_path / "none.toml")])
    assert result.exit_code == 2 and "no such procedure file" in result.output


def test_unknown_step_name(tmp_path: Path) -> None:
    path = write_procedure(tmp_path / "p.toml", tiny_custom())
    result = CliRunner().invoke(main, ["guide", "--procedure", str(path), "--steps", "widht",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "no step named 'widht'; steps: width, dropout" in result.output


def test_a_tiny_run_prints_its_decisions_and_summary(tmp_path: Path) -> None:
    path = write_procedure(tmp_path / "p.toml", tiny_custom())
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["guide", "--procedure", str(path), "--budget", "quick",
                                       "--steps", "width", "--out", str(out), "--quiet",
                                       "--no-report"])
    assert result.exit_code == 0, result.output
    # The decision line names the step, what it credited and the test's numbers.
    assert "width (credited: " in result.output and ("adopted" in result.output or "kept" in
                                                     result.output)
    assert "alpha" in result.output and "df" in result.output
    assert "Test accuracy of best.keras:" in result.output
    assert f"tunelab train {out / 'final.toml'}" in result.output.replace("\n", "")
    decisions = json.loads((out / "decisions.json").read_text())
    assert [s["step"] for s in decisions["steps"]] == ["width"]
