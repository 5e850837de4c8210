"""``tunelab report`` and ``tunelab dashboard`` through click's CliRunner."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import optuna
import pytest
from click.testing import CliRunner

from tunelab.cli import main

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _train_folder(folder: Path, val_loss: list[float]) -> Path:
    folder.mkdir(parents=True)
    loss = [1.5 * math.exp(-0.4 * i) for i in range(len(val_loss))]
    (folder / "history.json").write_text(json.dumps({
        "loss": loss, "val_loss": val_loss,
        "accuracy": [1 - v / 2 for v in loss], "val_accuracy": [1 - v / 2 for v in val_loss],
    }))
    (folder / "config.toml").write_text('[data]\nname = "digits"\n')
    return folder


def _tune_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    study = optuna.create_study(storage=f"sqlite:///{folder / 'study.db'}", study_name="tunelab",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", -1, 1) ** 2
                              + t.suggest_float("y", -1, 1) ** 2), n_trials=6)
    return folder


def test_report_writes_the_page_and_lists_diagnoses(tmp_path):
    run = _train_folder(tmp_path / "run", [1.4, 1.0, 0.8, 0.7, 0.75, 0.85, 0.95, 1.1])
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {run / 'report.html'}" in result.output
    assert "[warning] run: Validation loss rose" in result.output
    assert (run / "report.html").is_file()
    assert (run / "figures" / "curves-run.png").is_file()


def test_report_out_option_and_a_tune_folder(tmp_path):
    run = _tune_folder(tmp_path / "tune")
    out = tmp_path / "elsewhere" / "page.html"
    result = CliRunner().invoke(main, ["report", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.count('class="tl-plotly"') >= 4
    assert "No diagnoses" in result.output


def test_report_on_a_folder_that_is_not_a_run_is_one_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.startswith("Error: ")
    assert "not a tunelab run folder" in result.output
    assert "Traceback" not in result.output


def test_dashboard_without_the_extra_says_how_to_install(tmp_path, monkeypatch):
    run = _tune_folder(tmp_path / "tune")
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # import fails as if absent
    result = CliRunner().invoke(main, ["dashboard", str(run)])
    assert result.exit_code == 2
    assert "pip install 'tunelab[dashboard]'" in result.output


def test_dashboard_serves_the_run_storage_on_loopback_by_default(tmp_path, monkeypatch):
    dashboard = pytest.importorskip("optuna_dashboard")
    run = _tune_folder(tmp_path / "tune")
    calls = []
    monkeypatch.setattr(dashboard, "run_server",
                        lambda storage, host, port: calls.append((storage, host, port)))
    result = CliRunner().invoke(main, ["dashboard", str(run)])
    assert result.exit_code == 0, result.output
    assert calls == [(f"sqlite:///{(run / 'study.db').resolve()}", "127.0.0.1", 8080)]
    assert "http://127.0.0.1:8080/" in result.output

    calls.clear()
    result = CliRunner().invoke(main, ["dashboard", str(run), "--host", "0.0.0.0",
                                       "--port", "9000"])
    assert calls[0][1:] == ("0.0.0.0", 9000)
    assert "anyone who can reach this machine" in result.output


def test_dashboard_on_a_folder_without_a_study(tmp_path):
    run = _train_folder(tmp_path / "run", [1.0, 0.8, 0.7, 0.6])
    result = CliRunner().invoke(main, ["dashboard", str(run)])
    assert result.exit_code == 2
    assert "no study here" in result.output


def test_dashboard_opens_a_journal_storage_first(tmp_path, monkeypatch):
    dashboard = pytest.importorskip("optuna_dashboard")
    run = tmp_path / "run"
    run.mkdir()
    log = tmp_path / "journal.log"
    (run / "tune.toml").write_text(f'[study]\nstorage = "journal:{log}"\n')
    calls = []
    monkeypatch.setattr(dashboard, "run_server",
                        lambda storage, host, port: calls.append(storage))
    result = CliRunner().invoke(main, ["dashboard", str(run)])
    assert result.exit_code == 0, result.output
    assert isinstance(calls[0], optuna.storages.JournalStorage)
