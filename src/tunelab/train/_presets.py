"""Presets: ready-made configurations shipped with tunelab as TOML files.

The three ``tutorial-*`` presets reproduce the tutorial's experiments exactly as its code
configured them (optimizer, decay, schedule, batch size, epochs, the MLP). They train on
the bundled ``digits`` data unless a dataset is given; the tutorial itself used MNIST.
"""

from __future__ import annotations

import tomllib
from importlib import resources

from tunelab.config import RunConfig, parse_config
from tunelab.errors import ConfigError

__all__ = ["list_presets", "load_preset"]


def _files() -> dict[str, str]:
    folder = resources.files("tunelab.train").joinpath("presets")
    return {entry.name.removesuffix(".toml"): entry.read_text(encoding="utf-8")
            for entry in folder.iterdir() if entry.name.endswith(".toml")}


def list_presets() -> dict[str, str]:
    """Preset names and their one-line descriptions, sorted by name.

    Example:
        >>> sorted(list_presets())
        ['tutorial-exp-decay', 'tutorial-rmsprop', 'tutorial-sgd-time-decay']
    """
    out = {}
    for name, text in sorted(_files().items()):
        first = text.splitlines()[0] if text else ""
        out[name] = first.removeprefix("#").strip() if first.startswith("#") else ""
    return out


def load_preset(name: str) -> RunConfig:
    """The configuration of a preset.

    Raises:
        ConfigError: for an unknown name, listing the presets.

    Example:
        >>> cfg = load_preset("tutorial-rmsprop")
        >>> cfg.optimizer.name, cfg.training.batch_size, cfg.training.epochs
        ('RMSprop', 784, 60)
    """
    files = _files()
    if name not in files:
        raise ConfigError(
            f"--preset: unknown preset {name!r}; available: {', '.join(sorted(files))}"
        )
    return parse_config(tomllib.loads(files[name]), source=f"preset {name}")
