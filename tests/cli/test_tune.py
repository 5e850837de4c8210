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
                                  "--sampler", "RANDOM", "--seed", "1", "--pad-widths", "none",
                                  "--reduce", "best", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Trials: 3 complete" in result.output
    assert "Best val_accuracy: " in result.output
    assert "mean cohort width" in result.output and "compiling" in result.output
    assert (run / "study.db").exists() and (run / "best.keras").exists()
    tune_toml = tomllib.loads((run / "tune.toml").read_text())
    assert tune_toml["study"]["trials"] == 3 and tune_toml["study"]["sampler"] == "random"
    assert tune_toml["study"]["pad_widths"] == "none" and tune_toml["study"]["reduce"] == "best"
    assert tune_toml["study"]["cohort"] == 4  # not given: the file's value is kept

    table = runner.invoke(main, ["trials", str(run)])
    assert table.exit_code == 0, table.output
    assert "val_accuracy" in table.output and table.output.count("complete") == 3
    assert "learning_rate" in table.output and "momentum" in table.output
    retried = runner.invoke(main, ["trials", str(run), "--state", "retried"])
    assert retried.exit_code == 0 and "0 trials" in retried.output
    old_word = runner.invoke(main, ["trials", str(run), "--state", "interrupted"])
    assert old_word.exit_code == 0 and "0 trials" in old_word.output
    assert "--state interrupted is now called retried" in old_word.output
    bad_state = runner.invoke(main, ["trials", str(run), "--state", "lost"])
    assert bad_state.exit_code == 2 and "'lost' is not one of" in bad_state.output
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


def _captured(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    import tunelab.study

    calls: list[dict[str, object]] = []

    def fake(config: object, **kwargs: object) -> None:
        calls.append(kwargs)
        raise KeyboardInterrupt  # the command stops there, as after Ctrl-C

    monkeypatch.setattr(tunelab.study, "tune", fake)
    return calls


def test_every_study_key_is_an_option_of_tune(runner: CliRunner) -> None:
    from tunelab.cli._tune import option_name
    from tunelab.config import StudyConfig

    params = {p.name: p for p in main.commands["tune"].params}
    for key, field in StudyConfig.model_fields.items():
        assert key in params, f"no option for [study] {key}"
        assert option_name(key) in params[key].opts
        assert field.description and field.description[1:] in (params[key].help or "")
    assert params["name"].opts == ["--study-name"]


def test_options_reach_tune_as_study_keys(runner: CliRunner, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _captured(monkeypatch)
    config = tmp_path / "study.toml"
    config.write_text(STUDY)
    result = runner.invoke(main, [
        "tune", str(config), "--out", str(tmp_path / "run"), "--study-name", "s",
        "--epoch-budget", "30", "--pad-widths", "pow2", "--reduction-factor", "2",
        "--percentile", "40", "--objective", "val_loss", "--objective", "seconds",
        "--direction", "MINIMIZE", "--direction", "minimize", "--pruner", "ASHA", "--quiet"])
    assert result.exit_code == 130, result.output
    (kwargs,) = calls
    assert kwargs == {
        "run_dir": tmp_path / "run", "dataset": None, "progress": False, "name": "s",
        "epoch_budget": 30, "pad_widths": "pow2", "reduction_factor": 2, "percentile": 40.0,
        "objective": ["val_loss", "seconds"], "direction": ["minimize", "minimize"],
        "pruner": "asha",
    }


def test_option_values_are_checked_by_the_fields_types_and_ranges(runner: CliRunner,
                                                                  tmp_path: Path) -> None:
    config = tmp_path / "study.toml"
    config.write_text(STUDY)
    for option, value, says in (("--warmup-epochs", "-1", "-1 is not in the range x>=0"),
                                ("--percentile", "100", "100.0 is not in the range"),
                                ("--pad-widths", "wide", "'wide' is not one of"),
                                ("--cohort", "many", "'many' is not a valid integer")):
        result = runner.invoke(main, ["tune", str(config), option, value])
        assert result.exit_code == 2 and says in result.output, (option, result.output)
        assert option in result.output


def test_a_new_field_adds_an_option_and_an_untyped_one_is_refused() -> None:
    from typing import Literal

    import click
    from pydantic import BaseModel, Field

    from tunelab.cli._tune import study_options

    class Study(BaseModel):
        patience: int = Field(3, ge=1, description="rounds without progress before stopping")
        mode: Literal["fast", "exact"] = "fast"
        verbose: bool = False

    @click.command()
    @study_options(Study)
    def command(**study: object) -> None:
        click.echo(repr(sorted(study.items())))

    result = CliRunner().invoke(command, ["--patience", "2", "--mode", "exact", "--verbose"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "[('mode', 'exact'), ('patience', 2), ('verbose', True)]"
    helped = CliRunner().invoke(command, ["--help"]).output
    assert "Rounds without progress before stopping; default: 3." in helped
    assert "--no-verbose" in helped

    class Nested(BaseModel):
        table: dict[str, int] = {}

    with pytest.raises(TypeError, match="Nested.table: a field of type"):
        study_options(Nested)

    class Clash(BaseModel):
        out: str = "x"

    with pytest.raises(TypeError, match="Clash.out: the name is taken"):
        study_options(Clash)
