"""Configuration errors carry the message a user sees: file, dotted key, what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunelab.config import (
    DataConfig,
    RunConfig,
    dump_config,
    load_config,
    parse_config,
    save_config,
    with_overrides,
)
from tunelab.errors import ConfigError, TunelabError


def _load(tmp_path: Path, text: str) -> RunConfig:
    p = tmp_path / "run.toml"
    p.write_text(text)
    return load_config(p)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    msg = str(err.value)
    assert msg.startswith(str(tmp_path / "run.toml") + ": ")
    assert "\n" not in msg
    return msg


def test_defaults_and_a_valid_file(tmp_path: Path) -> None:
    cfg = _load(tmp_path, "seed = 3\n[data]\nname = 'iris'\nlimit = 100\n[training]\nepochs = 4\n")
    assert (cfg.seed, cfg.data.name, cfg.data.limit, cfg.training.epochs) == (3, "iris", 100, 4)
    assert cfg.data.validation_split == 0.2 and cfg.data.scale == "auto"


def test_unknown_key_lists_allowed_keys(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[data]\nnmae = 'iris'\n")
    assert "unknown key 'data.nmae'" in msg
    assert "allowed keys here: flatten, header, label_column, limit, name, path" in msg
    top = _error(tmp_path, "[modell]\nunits = [8]\n")
    assert "unknown key 'modell'" in top and "data, model, optimizer" in top


def test_wrong_type(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[training]\nepochs = 'five'\n")
    assert "key 'training.epochs': Input should be a valid integer" in msg
    assert "(got 'five')" in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[data]\nvalidation_split = 1.5\n",
         "key 'data.validation_split': Input should be less than 1"),
        ("[data]\nlimit = 0\n", "key 'data.limit': Input should be greater than 0"),
        ("[data]\ntask = 'clustering'\n", "key 'data.task': Input should be 'auto', 'multiclass'"),
        ("[model]\nunits = [64, 0]\n", "key 'model.units': every hidden width must be >= 1"),
        ("[optimizer]\nname = 'sgdd'\n", "unknown optimizer 'sgdd'; expected one of: SGD, RMSprop"),
    ],
)
def test_impossible_values(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[training]\nepochs = 5\nbatch_size = \n")
    assert "not valid TOML" in msg and "line 3" in msg


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.toml: no such configuration file"):
        load_config(tmp_path / "nope.toml")
    p = tmp_path / "run.toml"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        load_config(p)


def test_config_errors_are_tunelab_errors() -> None:
    with pytest.raises(TunelabError, match="<config>: unknown key 'sede'"):
        parse_config({"sede": 1})


def test_round_trip_through_toml(tmp_path: Path) -> None:
    cfg = parse_config({"data": {"name": "breast-cancer", "label_column": 3}, "seed": 9})
    path = save_config(cfg, tmp_path / "out" / "run.toml")
    again = load_config(path)
    assert again == cfg
    assert "[data]" in dump_config(cfg) and "path" not in dump_config(cfg)  # None left out


def test_overrides_are_validated_again() -> None:
    cfg = with_overrides(RunConfig(), {"data.limit": 500, "data.name": "digits"})
    assert cfg.data.limit == 500
    with pytest.raises(ConfigError, match="<overrides>: key 'data.limit': Input should be"):
        with_overrides(RunConfig(), {"data.limit": -3})
    with pytest.raises(ConfigError, match="key 'seed.x': 'seed' is not a section"):
        with_overrides(RunConfig(), {"seed.x": 1})


def test_data_config_accepts_label_column_by_name_or_index() -> None:
    assert DataConfig.model_validate({"label_column": "species"}).label_column == "species"
    assert DataConfig.model_validate({"label_column": -1}).label_column == -1
