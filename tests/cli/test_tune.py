"""`tunelab tune / trials / best` through CliRunner, on digits with a tiny budget."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from tunelab.cli import main
from tunelab.config import load_config, parse_config

STUDY = """
seed = 0

[model]
units = [16]
dropout = 0.0

[optimizer]
name = "SGD"
learning_rate = 0.1

[training]
epochs = 2
batch_size = 128

[search]
"optimizer.learning_rate" = { low = 0.01, high = 0.5, log = true }
"optimizer.momentum" = { low = 0.0, high = 0.9 }

[study]
trials = 4
cohort = 4
pruner = "none"
"""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TUNELAB_OFFLINE", "1")
    return CliRunner()


def test_tune_then_trials_then_best(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "study.toml"
    config.write_text(STUDY)
    run = tmp_path / "run"
    result = runner.invoke(main, ["tune", str(config), "--out", str(run), "--trials", "3",
                                  "--sampler", "random", "--seed", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Trials: 3 complete" in result.output
    assert "Best val_accuracy: " in result.output
    assert "mean cohort width" in result.output and "compiling" in result.output
    assert (run / "study.db").exists() and (run / "best.keras").exists()
    tune_toml = tomllib.loads((run / "tune.toml").read_text())
    assert tune_toml["study"]["trials"] == 3 and tune_toml["study"]["sampler"] == "random"

    table = runner.invoke(main, ["trials", str(run)])
    assert table.exit_code == 0, table.output
    assert "val_accuracy" in table.output and table.output.count("complete") == 3
    assert "learning_rate" in table.output and "momentum" in table.output
    by_number = runner.invoke(main, ["trials", str(run), "--sort", "number", "--limit", "1"])
    assert by_number.exit_code == 0 and "1 trials" in by_number.output
    bad_sort = runner.invoke(main, ["trials", str(run), "--sort", "colour"])
    assert bad_sort.exit_code == 2
    assert bad_sort.output.startswith("Error: --sort: no column 'colour'")

    shown = runner.invoke(main, ["best", str(run)])
    assert shown.exit_code == 0, shown.output
    best = parse_config(tomllib.loads(shown.output))
    assert best.model.units == [16] and best.training.epochs == 2
    out = tmp_path / "best.toml"
    written = runner.invoke(main, ["best", str(run), "--out", str(out)])
    assert written.exit_code == 0 and load_config(out) == best
    other = runner.invoke(main, ["best", str(run), "--trial", "0"])
    assert other.exit_code == 0 and other.output.startswith("# trial 0 of")

    # The same command on the same folder resumes; more trials are added.
    again = runner.invoke(main, ["tune", str(config), "--out", str(run), "--trials", "4",
                                 "--sampler", "random", "--seed", "1", "--quiet"])
    assert again.exit_code == 0, again.output
    assert "Trials: 4 complete" in again.output


def test_an_invalid_space_is_one_line_and_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(STUDY.replace("low = 0.01, high = 0.5", "low = 0.5, high = 0.01"))
    result = runner.invoke(main, ["tune", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last == (f"Error: {config} [search]: search parameter 'optimizer.learning_rate':"
                    " `low <= high` must hold, got low=0.5, high=0.01; swap them")
    assert "Traceback" not in result.output


def test_trials_and_best_need_a_run_folder(runner: CliRunner, tmp_path: Path) -> None:
    for command in ("trials", "best"):
        result = runner.invoke(main, [command, str(tmp_path)])
        assert result.exit_code == 2
        assert "not a study's run folder" in result.output


def test_help_texts(runner: CliRunner) -> None:
    for command in ("tune", "trials", "best"):
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
    assert "--cohort" in runner.invoke(main, ["tune", "--help"]).output


def test_ctrl_c_says_how_to_resume(runner: CliRunner, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import tunelab.study

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tunelab.study, "tune", interrupted)
    config = tmp_path / "study.toml"
    config.write_text(STUDY)
    result = runner.invoke(main, ["tune", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 130
    assert "Interrupted. Finished trials are kept in" in result.output
    assert f"with --out {tmp_path / 'run'} to resume" in result.output
