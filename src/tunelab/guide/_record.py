"""A guide run folder: its paths come from :class:`~tunelab.runs.RunLayout`, its files are the
typed records of :mod:`tunelab.runs` (each written atomically, each checked when read).

Example:
    >>> import tempfile
    >>> run = GuideRun(tempfile.mkdtemp())
    >>> run.step_dir(1, "topology").name
    '1-topology'
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tunelab._files import write_text
from tunelab.errors import ConfigError
from tunelab.runs import Decisions, GuideSettings, RunLayout, Timing, read_record, write_record

__all__ = ["GuideRun"]


class GuideRun(RunLayout):
    """The guide's run folder: the layout, plus starting, resuming and recording."""

    def __repr__(self) -> str:
        return f"GuideRun({str(self.path)!r})"

    def start(self, settings: GuideSettings, procedure_text: str) -> bool:
        """Record the settings of a new run, or check a resumed run's; True when resumed.

        Raises:
            ConfigError: The folder holds a run started with other settings.
        """
        old = read_record(self.guide_json, GuideSettings)
        if old is None:
            self.path.mkdir(parents=True, exist_ok=True)
            stamped = settings.model_copy(update={"started": time.strftime("%Y-%m-%d %H:%M:%S")})
            write_record(self.guide_json, stamped)
            write_text(self.procedure_toml, procedure_text)
            return False
        changed = old.differences(settings)
        if changed:
            shown = "; ".join(f"{k}: {_short(getattr(old, k))} then,"
                              f" {_short(getattr(settings, k))} now" for k in changed)
            raise ConfigError(
                f"{self.path}: this run folder holds a guide run started with other settings"
                f" ({shown}); run the same command as before to continue it, or give another"
                " --out to start a new run")
        return True

    def decisions(self) -> Decisions:
        """``decisions.json`` (an empty record when there is none yet)."""
        return read_record(self.decisions_json, Decisions) or Decisions()

    def save_decisions(self, data: Decisions) -> None:
        write_record(self.decisions_json, data)

    def add_seconds(self, folder: Path, seconds: float) -> float:
        """Add one session's seconds to a step's ``timing.json``; return the total."""
        path = self.timing_json(folder)
        old = read_record(path, Timing) or Timing()
        total = old.seconds + seconds
        write_record(path, Timing(seconds=round(total, 3), sessions=old.sessions + 1))
        return total

    def step_seconds(self, folder: Path) -> float:
        """Seconds a step took over every session."""
        timing = read_record(self.timing_json(folder), Timing)
        return timing.seconds if timing is not None else 0.0


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else "a different procedure"
