"""Configurations from and to TOML, and validation errors as one line naming file and key."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ValidationError

from tunelab._files import write_text
from tunelab.config._run import RunConfig
from tunelab.errors import ConfigError

__all__ = ["config_error", "dump_config", "load_config", "parse_config", "read_toml",
           "save_config", "with_overrides"]


def _key(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a user writes it: ``steps[2].budget.trials``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(err: dict[str, Any], model: type[BaseModel]) -> str:
    key = _key(err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"unknown key '{key}'{hint}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in ("model_type", "dict_type"):
        msg = "expected a table"  # not pydantic's "instance of <class>"
    got = err.get("input")
    shown = "" if isinstance(got, dict) or "got " in msg else f" (got {got!r})"
    return f"key '{key}': {msg}{shown}"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds (``Model``, ``Model | None``, ``list[Model]``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a list of tables: the same model
        field = current.model_fields.get(part) if current is not None else None
        if field is None:
            return []
        current = _model_in(field.annotation)
    return sorted(current.model_fields) if current is not None else []


def config_error(exc: ValidationError, model: type[BaseModel], source: str) -> ConfigError:
    """A pydantic error as one line for a user: ``source``, then every bad key and what was
    expected; an unknown key comes with the keys allowed where it stands.

    Example:
        >>> try:
        ...     RunConfig.model_validate({"training": {"epochs": 0, "epoch": 3}})
        ... except ValidationError as exc:
        ...     print(config_error(exc, RunConfig, "run.toml"))  # doctest: +NORMALIZE_WHITESPACE
        run.toml: key 'training.epochs': Input should be greater than or equal to 1 (got 0);
        unknown key 'training.epoch'; allowed keys here: batch_size, epochs, loss, metrics,
        micro_batch, shuffle
    """
    problems = [_describe(dict(e), model) for e in exc.errors()]
    return ConfigError(f"{source}: " + "; ".join(problems))


def parse_config(
    data: dict[str, Any], source: str = "<config>", model: type[RunConfig] = RunConfig
) -> RunConfig:
    """Validate a plain dict (as read from TOML) into a :class:`RunConfig`.

    Raises:
        ConfigError: naming ``source``, every bad key, and what was expected.

    Example:
        >>> parse_config({"training": {"epochs": 3}}).training.epochs
        3
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, model, source) from None


def load_config(path: str | os.PathLike[str], model: type[RunConfig] = RunConfig) -> RunConfig:
    """Read and validate a TOML configuration file (``model``: RunConfig or TuneConfig).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
        >>> _ = p.write_text("[training]\\nepochs = 5\\n")
        >>> load_config(p).training.epochs
        5
    """
    return parse_config(read_toml(path), source=str(Path(path)), model=model)


def read_toml(path: str | os.PathLike[str], what: str = "configuration file") -> dict[str, Any]:
    """The tables of a TOML file: the one place tunelab reads a TOML file a user gives.

    Raises:
        ConfigError: naming the file, when it is missing, a folder, unreadable, not UTF-8
            text or not TOML (``what`` says what the file was meant to be).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "a.toml").write_text("x = 1\\n")
        >>> read_toml(folder / "a.toml")
        {'x': 1}
        >>> read_toml(folder, "procedure file")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tunelab.errors.ConfigError: ...: a folder, not a procedure file
    """
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such {what}") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: a folder, not a {what}") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None


def dump_config(cfg: BaseModel) -> str:
    """Render a configuration as TOML (unset optional values are left out).

    Example:
        >>> "[optimizer]" in dump_config(RunConfig())
        True
    """
    return tomli_w.dumps(cfg.model_dump(mode="json", exclude_none=True))


def save_config(cfg: BaseModel, path: str | os.PathLike[str]) -> Path:
    """Write a configuration as TOML, atomically."""
    return write_text(path, dump_config(cfg))


def with_overrides(
    cfg: RunConfig, overrides: dict[str, Any], source: str = "<overrides>"
) -> RunConfig:
    """Return a copy of ``cfg`` with dotted keys replaced, validated again.

    Example:
        >>> with_overrides(RunConfig(), {"optimizer.learning_rate": 0.05}).optimizer.learning_rate
        0.05
    """
    raw = cfg.model_dump(mode="python")
    for dotted, value in overrides.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            child = node.get(part)
            if child is None:
                child = {}
                node[part] = child
            if not isinstance(child, dict):
                raise ConfigError(f"{source}: key '{dotted}': '{part}' is not a section")
            node = child
        node[leaf] = value
    return parse_config(raw, source=source, model=type(cfg))
