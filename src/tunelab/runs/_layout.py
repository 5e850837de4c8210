"""The run folder: every file tunelab writes there, named once.

``tunelab train``, ``tune`` and ``guide`` write run folders; the report and the CLI read them.
All of them take their paths from :class:`RunLayout`, so a file's name is spelled in one place.

Layout::

    RUN_DIR/
      report.html                the HTML report
      landscape.json, landscape.png   the 1-D loss slice of the final model (train, guide)
      inputs/                    arrays and keras.Model templates given from Python, saved
                                 so that workers and a resumed run find them
      # tunelab train
      config.toml, history.json, history.csv, model.keras, curves.png
      # tunelab tune
      study.db                   the Optuna study (SQLite, unless another storage was given)
      tune.toml                  the configuration the study runs
      stats.json                 compile/train seconds and cohort widths, per session
      best.keras, best.json      the best model so far and which trial it is
      trials/<number>/           config.toml, history.json, model.keras (best trials)
      # tunelab guide
      guide.json                 the settings the run started with (a resume must match)
      procedure.toml             the procedure as run
      decisions.json             per step: values, test, decision; the tuning check
      range_tests.json           every range test run (reused by later steps)
      <i>-<step>/                the step's study (as above), evidence.json, timing.json,
                                 lr_range.json, lr_range*.png
      final.toml, final.json     the configuration best.keras holds (the adopted one when the
                                 tuning check confirmed it, else the start), its evaluation
      adopted.toml               the adopted configuration, when the start was shipped
      best.keras                 the final model

Example:
    >>> import tempfile
    >>> run = RunLayout(tempfile.mkdtemp())
    >>> run.step_dir(1, "topology").name, run.trial_dir(3).name
    ('1-topology', '3')
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["RunLayout"]

class RunLayout:
    """The paths of one run folder (of any kind)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunLayout({str(self.path)!r})"

    @staticmethod
    def default_path(name: str, *, dated: bool = True) -> Path:
        r"""The run folder a command uses when it is given none: ``runs/<name>-<date-time>``
        (``dated=False``: ``runs/<name>``, the same folder each time, so a rerun resumes).

        Example:
            >>> RunLayout.default_path("guide-digits-quick", dated=False).as_posix()
            'runs/guide-digits-quick'
            >>> import re
            >>> bool(re.fullmatch(r"runs/lr-\d{8}-\d{6}", RunLayout.default_path("lr").as_posix()))
            True
        """
        return Path("runs") / (f"{name}-{time.strftime('%Y%m%d-%H%M%S')}" if dated else name)

    def kind(self) -> str | None:
        """``guide``, ``tune``, ``train`` or ``race`` by the files present; None if empty."""
        if self.decisions_json.is_file() or self.guide_json.is_file():
            return "guide"
        if self.study_db.is_file() or self.tune_toml.is_file():
            return "tune"
        if self.history_json.is_file():
            return "train"
        if (self.path / "race.json").is_file():
            return "race"
        return None

    # ---------------------------------------------------------------- every kind
    @property
    def report_html(self) -> Path:
        return self.path / "report.html"

    @property
    def landscape_json(self) -> Path:
        """The loss landscape of the run's final model (``tunelab.runs.LossLandscape``)."""
        return self.path / "landscape.json"

    @property
    def landscape_png(self) -> Path:
        return self.path / "landscape.png"

    @property
    def inputs_dir(self) -> Path:
        """Arrays and model templates given from Python, saved for workers and resumes."""
        return self.path / "inputs"

    @property
    def best_model(self) -> Path:
        """``best.keras``: a study's best trial, or a guide's final model."""
        return self.path / "best.keras"

    # ---------------------------------------------------------------- train
    @property
    def config_toml(self) -> Path:
        return self.path / "config.toml"

    @property
    def history_json(self) -> Path:
        return self.path / "history.json"

    @property
    def history_csv(self) -> Path:
        return self.path / "history.csv"

    @property
    def model(self) -> Path:
        return self.path / "model.keras"

    @property
    def curves_png(self) -> Path:
        return self.path / "curves.png"

    # ---------------------------------------------------------------- tune
    @property
    def study_db(self) -> Path:
        return self.path / "study.db"

    @property
    def study_journal(self) -> Path:
        """A Keras Tuner project's study: an Optuna journal file (``tunelab.keras_tuner``)."""
        return self.path / "study.log"

    @property
    def tune_toml(self) -> Path:
        return self.path / "tune.toml"

    @property
    def stats_json(self) -> Path:
        return self.path / "stats.json"

    @property
    def best_json(self) -> Path:
        return self.path / "best.json"

    @property
    def trials_dir(self) -> Path:
        return self.path / "trials"

    def trial_dir(self, number: int) -> Path:
        return self.trials_dir / str(number)

    def journal_storage(self) -> str:
        """``journal:`` URL of ``study.log`` in this folder (absolute, so any cwd works)."""
        return f"journal:{self.study_journal.resolve()}"

    def default_storage(self) -> str:
        """``sqlite:///`` URL of ``study.db`` in this folder (absolute, so any cwd works)."""
        return f"sqlite:///{self.study_db.resolve()}"

    # ---------------------------------------------------------------- guide
    @property
    def guide_json(self) -> Path:
        return self.path / "guide.json"

    @property
    def procedure_toml(self) -> Path:
        return self.path / "procedure.toml"

    @property
    def decisions_json(self) -> Path:
        return self.path / "decisions.json"

    @property
    def range_tests_json(self) -> Path:
        return self.path / "range_tests.json"

    @property
    def final_toml(self) -> Path:
        return self.path / "final.toml"

    @property
    def adopted_toml(self) -> Path:
        """The adopted configuration, written when the start is shipped instead."""
        return self.path / "adopted.toml"

    @property
    def final_json(self) -> Path:
        return self.path / "final.json"

    def step_dir(self, index: int, name: str) -> Path:
        """The folder of step ``index`` (counted from 1 in the procedure's order)."""
        return self.path / f"{index}-{name}"

    @staticmethod
    def evidence_json(step_dir: Path) -> Path:
        return step_dir / "evidence.json"

    @staticmethod
    def timing_json(step_dir: Path) -> Path:
        return step_dir / "timing.json"

    @staticmethod
    def lr_range_json(step_dir: Path) -> Path:
        return step_dir / "lr_range.json"
