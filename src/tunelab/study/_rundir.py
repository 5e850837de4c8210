"""The run folder of a study, and every file tunelab writes there.

Layout::

    RUN_DIR/
      study.db                 the Optuna study (SQLite; unless another storage was given)
      tune.toml                the configuration the study runs (base, search, study)
      stats.json               compile/train seconds, mean cohort width, per session
      best.keras               the best model so far (single objective), replaced atomically
      best.json                which trial best.keras holds, and its value
      .best.lock               taken while a session decides which trial best.keras holds
      .sessions                one line per session that opened the folder
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

import contextlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tunelab._files import write_json, write_text
from tunelab.config import RunConfig, TuneConfig, dump_config, load_config
from tunelab.errors import ConfigError
from tunelab.runs import RunLayout

__all__ = ["RunDir", "damaged_keras"]


def damaged_keras(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is not a complete ``.keras`` file (None when it is one).

    A ``.keras`` file is a zip archive holding ``config.json`` and the weights; a truncated
    or overwritten one fails the archive's own checks (its directory, every member's CRC),
    which cost no Keras import.

    Example:
        >>> import tempfile, pathlib
        >>> bad = pathlib.Path(tempfile.mkdtemp()) / "m.keras"
        >>> _ = bad.write_bytes(b"PK")
        >>> damaged_keras(bad)
        'not a complete zip archive (truncated or overwritten)'
    """
    target = Path(path)
    if not target.is_file():
        return "missing"
    try:
        if not zipfile.is_zipfile(target):
            return "not a complete zip archive (truncated or overwritten)"
        with zipfile.ZipFile(target) as archive:
            bad = archive.testzip()
            if bad is not None:
                return f"member {bad!r} fails its checksum"
            if "config.json" not in archive.namelist():
                return "no config.json inside: not a Keras model file"
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        return f"cannot be read ({exc})"
    return None


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
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None  # damaged: the caller rebuilds it from the study's best trial
        trial = data.get("trial") if isinstance(data, dict) else None
        if not isinstance(trial, int) or isinstance(trial, bool) or trial < 0:
            return None
        return data

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

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run folder's lock, taken while ``best.keras`` is decided and while
        ``stats.json`` grows (across processes on this machine, or on a shared file system
        with POSIX locks)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".best.lock", "a+b") as handle:
            try:
                import fcntl
            except ImportError:  # no POSIX locks (Windows): one session per folder there
                yield
                return
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def register_session(self) -> int:
        """Record that a session opens this folder; return how many opened it before.

        Sessions that share the folder (started at the same moment) get different numbers,
        so each can seed its sampler apart from the others.
        """
        marker = self.path / ".sessions"
        with self.lock():
            try:
                before = len(marker.read_bytes().splitlines())
            except OSError:
                before = 0
            with open(marker, "a", encoding="utf-8") as handle:
                handle.write(f"{os.getpid()} {time.time():.3f}\n")
        return before

    def follow_best(self, best: Callable[[], tuple[int, float] | None],
                    metric: str) -> int | None:
        """Make ``best.keras`` the model of the study's best trial, under :meth:`lock`.

        ``best`` reads the study's best (trial number, value) from the storage inside the
        lock, so two sessions finishing trials at once cannot leave ``best.keras`` holding the
        worse one. Nothing changes when the best trial's model is not written (yet).

        Returns:
            The trial ``best.keras`` holds afterwards (None when it holds none).
        """
        with self.lock():
            found = best()
            current = self.read_best()
            held = int(current["trial"]) if current is not None else None
            if found is None:
                return held
            number, value = found
            if held == number or damaged_keras(self.trial_model(number)) is not None:
                return held
            self.promote(number, value, metric)
            return number

    def repair_best(self, best: tuple[int, float] | None, metric: str) -> str | None:
        """Check ``best.keras`` when a run folder is opened again; rebuild a damaged one.

        Args:
            best: The study's best (trial number, value) as the storage has it.
            metric: The objective's name (recorded in ``best.json``).

        Returns:
            A line saying what was rebuilt, or None when nothing needed it.

        Raises:
            ConfigError: ``best.keras`` is damaged and the trial model to rebuild it from is
                missing or damaged too (the message names both files and the fix).
        """
        if not self.best_model.exists():
            return None
        problem = damaged_keras(self.best_model)
        if problem is None:
            return None
        recorded = self.read_best()
        number = best[0] if best is not None else (
            int(recorded["trial"]) if recorded is not None else None)
        if number is None:
            raise ConfigError(
                f"{self.best_model}: damaged ({problem}) and the study has no completed trial"
                " to rebuild it from; delete the file and run again")
        source = self.trial_model(number)
        why = damaged_keras(source)
        if why is not None:
            raise ConfigError(
                f"{self.best_model}: damaged ({problem}), and {source}, the best trial's model"
                f" to rebuild it from, is {why}; delete {self.best_model.name} and"
                f" {self.best_json.name}, then retrain the best configuration: tunelab best"
                f" {self.path} --out best.toml && tunelab train best.toml")
        value = best[1] if best is not None else float((recorded or {}).get("value", "nan"))
        with self.lock():
            self.promote(number, value, metric)
        return f"{self.best_model}: was damaged ({problem}); rebuilt from {source}"

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
