"""The run folder of a study, and every file tunelab writes there.

Layout::

    RUN_DIR/
      study.db                 the Optuna study (SQLite; unless another storage was given)
      tune.toml                the configuration the study runs (base, search, study)
      stats.json               compile/train seconds, mean cohort width, per session
      best.keras               the best model so far (single objective), replaced atomically
      best.json                which trial best.keras holds, and its value
      trials/<number>/
        config.toml            the trial's resolved configuration (runnable by tunelab train)
        history.json           its per-epoch history
        model.keras            its model, for a best trial (or a Pareto trial)

Example:
    >>> import tempfile
    >>> run = RunDir(tempfile.mkdtemp())
    >>> run.default_storage().startswith("sqlite:///")
    True
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tunelab._files import write_json, write_text
from tunelab.config import RunConfig, TuneConfig, dump_config, load_config
from tunelab.errors import ConfigError
from tunelab.runs import RunLayout

__all__ = ["RunDir"]


class RunDir(RunLayout):
    """Paths and atomic writes under one study's run folder (paths from ``RunLayout``)."""

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def make(self) -> RunDir:
        """Create the folder (and ``trials/``) if missing."""
        self.trials_dir.mkdir(parents=True, exist_ok=True)
        return self

    def trial_model(self, number: int) -> Path:
        return RunLayout(self.trial_dir(number)).model

    def write_trial(
        self, number: int, cfg: RunConfig | None, history: Mapping[str, Sequence[float]]
    ) -> None:
        """Write ``trials/<number>/history.json`` and ``config.toml``, each atomically."""
        folder = self.trial_dir(number)
        write_json(RunLayout(folder).history_json, {k: list(v) for k, v in history.items()})
        if cfg is not None:
            write_text(RunLayout(folder).config_toml, dump_config(cfg))

    def trial_config(self, number: int) -> RunConfig | None:
        """A trial's resolved configuration, if it was written."""
        path = RunLayout(self.trial_dir(number)).config_toml
        return load_config(path) if path.exists() else None

    def write_tune(self, cfg: TuneConfig) -> None:
        write_text(self.tune_toml, dump_config(cfg))

    def read_tune(self) -> TuneConfig | None:
        """The configuration the study was run with, or None when the folder has none."""
        if not self.tune_toml.exists():
            return None
        cfg = load_config(self.tune_toml, model=TuneConfig)
        assert isinstance(cfg, TuneConfig)
        return cfg

    def read_best(self) -> dict[str, Any] | None:
        """``best.json``: ``{"trial": n, "value": v}`` for the model in ``best.keras``."""
        if not (self.best_json.exists() and self.best_model.exists()):
            return None
        try:
            data = json.loads(self.best_json.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) and "trial" in data else None

    def promote(self, number: int, value: float, metric: str) -> None:
        """Make trial ``number``'s saved model ``best.keras`` (atomic copy) and record it."""
        source = self.trial_model(number)
        fd, tmp = tempfile.mkstemp(prefix=".best.", suffix=".keras", dir=self.path)
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, self.best_model)
        finally:
            Path(tmp).unlink(missing_ok=True)
        write_json(self.best_json, {"trial": number, "value": value, "metric": metric})

    def append_stats(self, stats: Mapping[str, Any]) -> None:
        """Add one session's figures to ``stats.json`` (a resumed study has several)."""
        sessions: list[Any] = []
        if self.stats_json.exists():
            try:
                sessions = list(json.loads(self.stats_json.read_text("utf-8"))["sessions"])
            except (OSError, ValueError, KeyError, TypeError):
                sessions = []
        sessions.append(dict(stats))
        write_json(self.stats_json, {"sessions": sessions})

    def read_stats(self) -> list[dict[str, Any]]:
        """Every session's figures from ``stats.json`` (empty when there is none)."""
        try:
            return list(json.loads(self.stats_json.read_text("utf-8"))["sessions"])
        except (OSError, ValueError, KeyError, TypeError):
            return []

    def require(self) -> RunDir:
        """Raise :class:`ConfigError` unless this looks like a study's run folder."""
        if not self.path.is_dir():
            raise ConfigError(f"{self.path}: no such run folder")
        if not (self.tune_toml.exists() or self.study_db.exists()):
            raise ConfigError(
                f"{self.path}: not a study's run folder (no tune.toml or study.db);"
                " give the --out folder of a `tunelab tune` run"
            )
        return self
