"""A guide run folder, and every file the guide writes there (each written atomically).

Layout::

    RUN_DIR/
      guide.json               the settings the run was started with (a resume must match)
      procedure.toml           the procedure as run (budget level resolved)
      decisions.json           one entry per finished step: values, decision, reason, numbers
      1-topology/              the step's Optuna study (study.db, trials/, tune.toml ...)
        evidence.json          the re-runs of the finalists (mean ± std per value)
        timing.json            seconds the step took, over every session
      2-learning_rate/
        lr_range.json, lr_range.png     the learning-rate range test
      ...
      final.toml               the configuration adopted (runnable by `tunelab train`)
      best.keras               the final model, trained with the run's seed
      final.json               its evaluation on the test split (and over extra seeds)
      report.html              the HTML report

``decisions.json`` is ``{"dataset", "task", "metric", "direction", "budget", "steps": [...],
"test_accuracy", "test_loss", "wall_seconds"}``; its step entries are what
:func:`tunelab.report.read_decisions` reads (see ``docs/guide.md``).

Example:
    >>> import tempfile
    >>> run = GuideRun(tempfile.mkdtemp())
    >>> run.step_dir(1, "topology").name
    '1-topology'
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from tunelab._files import write_json, write_text
from tunelab.errors import ConfigError

__all__ = ["GuideRun", "read_json"]

_COMPARED = ("dataset", "budget", "seed", "steps", "procedure")


def read_json(path: Path) -> Any:
    """A JSON file's content, or None when it is missing.

    Raises:
        ConfigError: The file exists but is damaged (named, with how to recover).
    """
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc}); delete it to redo what it"
                          " recorded, or start a new run with another --out") from None


class GuideRun:
    """Paths and atomic writes under one guide run folder."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"GuideRun({str(self.path)!r})"

    @property
    def settings(self) -> Path:
        return self.path / "guide.json"

    @property
    def procedure_toml(self) -> Path:
        return self.path / "procedure.toml"

    @property
    def decisions_json(self) -> Path:
        return self.path / "decisions.json"

    @property
    def final_toml(self) -> Path:
        return self.path / "final.toml"

    @property
    def final_json(self) -> Path:
        return self.path / "final.json"

    @property
    def best_model(self) -> Path:
        return self.path / "best.keras"

    def step_dir(self, index: int, name: str) -> Path:
        """The folder of step ``index`` (counted from 1 in the procedure's order)."""
        return self.path / f"{index}-{name}"

    def start(self, settings: dict[str, Any], procedure_text: str) -> bool:
        """Record the settings of a new run, or check a resumed run's; True when resumed.

        Raises:
            ConfigError: The folder holds a run started with other settings.
        """
        old = read_json(self.settings)
        if old is None:
            self.path.mkdir(parents=True, exist_ok=True)
            write_json(self.settings, {**settings, "started": time.strftime("%Y-%m-%d %H:%M:%S")})
            write_text(self.procedure_toml, procedure_text)
            return False
        changed = [k for k in _COMPARED if json.dumps(old.get(k), sort_keys=True)
                   != json.dumps(settings.get(k), sort_keys=True)]
        if changed:
            shown = "; ".join(f"{k}: {_short(old.get(k))} then, {_short(settings.get(k))} now"
                              for k in changed)
            raise ConfigError(
                f"{self.path}: this run folder holds a guide run started with other settings"
                f" ({shown}); run the same command as before to continue it, or give another"
                " --out to start a new run")
        return True

    def decisions(self) -> dict[str, Any]:
        """``decisions.json`` (an empty record when there is none yet)."""
        data = read_json(self.decisions_json)
        return data if isinstance(data, dict) else {"steps": []}

    def save_decisions(self, data: dict[str, Any]) -> None:
        write_json(self.decisions_json, data)

    def add_seconds(self, folder: Path, seconds: float) -> float:
        """Add one session's seconds to a step's ``timing.json``; return the total."""
        path = folder / "timing.json"
        data = read_json(path) or {}
        total = float(data.get("seconds", 0.0)) + seconds
        write_json(path, {"seconds": round(total, 3),
                          "sessions": int(data.get("sessions", 0)) + 1})
        return total


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else "a different procedure"
