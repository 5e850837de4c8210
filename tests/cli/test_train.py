"""`tunelab train`: presets, overrides, the run folder, and bad input as one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import pytest
from click.testing import CliRunner

from tunelab.cli import main
from tunelab.config import load_config


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_list_presets(runner: CliRunner) -> None:
    result = runner.invoke(main, ["train", "--list-presets"])
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.output.splitlines()]
    assert names == ["tutorial-exp-decay", "tutorial-rmsprop", "tutorial-sgd-time-decay"]


def test_a_preset_for_one_epoch_writes_the_run_folder(runner: CliRunner, tmp_path: Path
                                                      ) -> None:
    result = runner.invoke(main, ["train", "--preset", "tutorial-rmsprop", "--epochs", "1",
                                  "--out", "run", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "training on digits" in result.output and "val_accuracy" in result.output
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        "config.toml", "curves.png", "history.csv", "history.json", "model.keras"]
    cfg = load_config(run / "config.toml")
    assert (cfg.optimizer.name, cfg.training.batch_size, cfg.training.epochs) == (
        "RMSprop", 784, 1)
    summary = json.loads((run / "history.json").read_text())
    assert summary["status"] == "done" and len(summary["history"]["loss"]) == 1
    assert keras.saving.load_model(run / "model.keras").output_shape == (None, 10)


def test_a_config_file_with_overrides(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "run.toml").write_text(
        '[model]\nunits = [16]\n[optimizer]\nname = "SGD"\nmomentum = 0.9\n'
        '[training]\nepochs = 5\nbatch_size = 128\n')
    result = runner.invoke(main, ["train", "run.toml", "--epochs", "2", "--learning-rate",
                                  "0.05", "--seed", "3", "--optimizer", "adam",
                                  "--no-progress"])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("run-")
    cfg = load_config(folder / "config.toml")
    assert (cfg.optimizer.name, cfg.optimizer.learning_rate, cfg.optimizer.momentum) == (
        "Adam", 0.05, None)  # momentum belonged to SGD
    assert (cfg.training.epochs, cfg.seed, cfg.model.units) == (2, 3, [16])


@pytest.mark.parametrize(("args", "message"), [
    (["--learning-rate", "-0.1"], "key 'optimizer.learning_rate': Input should be greater"
                                  " than 0"),
    (["--optimizer", "Adamm"], "key 'optimizer.name': unknown optimizer 'Adamm'"),
    (["--batch-size", "5000"], "training.batch_size: 5000 is larger than the 1150 training"
                               " samples"),
    (["--preset", "nope"], "--preset: unknown preset 'nope'"),
    (["--dataset", "no-such-set"], "unknown dataset 'no-such-set'"),
])
def test_bad_input_is_one_line_naming_the_key(runner: CliRunner, args: list[str],
                                              message: str) -> None:
    result = runner.invoke(main, ["train", "--epochs", "1", "--no-progress", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("toml", "message"), [
    ('[schedule]\nname = "warp"\n', "key 'schedule.name': unknown schedule 'warp'"),
    ('[training]\nloss = "binary_crossentropy"\n', "training.loss: 'binary_crossentropy' does"
                                                   " not fit a multiclass task"),
    ('[optimizer]\nname = "Adam"\nrho = 0.9\n', "optimizer.rho does not apply to Adam"),
])
def test_bad_config_files_name_the_key(runner: CliRunner, tmp_path: Path, toml: str,
                                       message: str) -> None:
    (tmp_path / "bad.toml").write_text(toml)
    result = runner.invoke(main, ["train", "bad.toml", "--epochs", "1", "--no-progress"])
    assert result.exit_code == 2 and message in result.output


def test_config_and_preset_together_is_an_error(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text("")
    result = runner.invoke(main, ["train", "a.toml", "--preset", "tutorial-rmsprop"])
    assert result.exit_code == 2 and "not both" in result.output
    assert os.listdir(tmp_path) == ["a.toml"]
