"""Run commands write report.html when they finish, and a report failure never fails the run."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tunelab.cli import main


def _train(runner: CliRunner, out: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        main,
        ["train", "--dataset", "digits", "--epochs", "1", "--no-progress", "--out", str(out),
         *extra],
    )
    return result.exit_code, result.output


def test_train_writes_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNELAB_REPORT", "1")
    code, output = _train(CliRunner(), tmp_path / "run")
    assert code == 0, output
    page = tmp_path / "run" / "report.html"
    assert page.is_file() and page.stat().st_size > 10_000
    assert f"report: {page}" in output


def test_no_report_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNELAB_REPORT", "1")
    code, output = _train(CliRunner(), tmp_path / "run", "--no-report")
    assert code == 0, output
    assert not (tmp_path / "run" / "report.html").exists()


def test_report_failure_keeps_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tunelab.report

    def broken(run_dir: object) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(tunelab.report, "write_report", broken)
    monkeypatch.setenv("TUNELAB_REPORT", "1")
    code, output = _train(CliRunner(), tmp_path / "run")
    assert code == 0, output
    assert (tmp_path / "run" / "model.keras").is_file()
    assert "report could not be written (disk full)" in output
    assert "tunelab report" in output
