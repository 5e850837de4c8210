"""Read a run folder into a :class:`ReportData`, and write its report.

Every path comes from :class:`tunelab.runs.RunLayout` and every file tunelab writes as a record
is read with :func:`tunelab.runs.read_record`, the same definitions the writers use. By what
made the folder (the first marker found decides):

- ``tunelab guide``: ``decisions.json`` (a :class:`~tunelab.runs.Decisions` record),
  ``final.json`` (:class:`~tunelab.runs.FinalResult`), ``procedure.toml``, ``final.toml``,
  the step folders' pictures, and the steps' Optuna studies in ``study.db`` files (in the
  folder or one level below, each with its ``trials/<number>/``).
- ``tunelab landscape race --out DIR``: ``race.json`` (see :mod:`tunelab.report._race`).
- ``tunelab tune``: ``study.db`` (or the storage named in ``tune.toml``), ``tune.toml``,
  ``stats.json``, ``best.json``, ``trials/<number>/{history.json,config.toml}``.
- ``tunelab train``: ``config.toml`` and ``history.json`` (a
  :class:`~tunelab.runs.RunSummary`).

A record written by another tunelab version, or damaged, stops the report with a
:class:`~tunelab.runs.RecordError` naming the file and the fix; a damaged trial history only
leaves that trial's curves out, with a warning on the page.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from tunelab.config import read_toml
from tunelab.errors import ConfigError
from tunelab.report._data import (
    Finding,
    GuideStep,
    Image,
    ReportData,
    StudySection,
    Summary,
    TrainingCurves,
)
from tunelab.report._race import is_race_folder, read_races
from tunelab.report._render import FIGURES_DIR, render_report
from tunelab.runs import (
    SCHEMA_VERSION,
    Decisions,
    FinalResult,
    GuideSettings,
    LossLandscape,
    RecordError,
    RunLayout,
    RunSummary,
    read_record,
)

if TYPE_CHECKING:
    import optuna

__all__ = [
    "BEST_CURVES",
    "read_decisions",
    "read_history",
    "read_run",
    "storage_url",
    "write_report",
]

# Curves of this many best trials per study: the best alone can be a lucky draw, and more than
# three make the page long without showing anything new.
BEST_CURVES = 3


def _read_json(path: Path) -> Any:
    # For the files no record describes (stats.json, best.json): read as plain JSON.
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"{path}: not valid JSON (line {err.lineno}: {err.msg}); the file is damaged:"
            " restore it or run the command that wrote it again"
        ) from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                     for e in exc.errors()[:5])


def _summary(path: Path, raw: dict[str, Any]) -> RunSummary:
    if "version" in raw:
        record = read_record(path, RunSummary, required=True)  # refuses another version
        assert record is not None
        return record
    # `tunelab train` wrote these same keys before its record carried a version: read it as one.
    try:
        return RunSummary.model_validate({**raw, "version": SCHEMA_VERSION})
    except ValidationError as exc:
        raise RecordError(f"{path}: not a valid {RunSummary.__name__} record ({_problems(exc)});"
                          " run the command that wrote it again") from None


def _bare_history(path: Path, raw: Any) -> dict[str, list[float]]:
    # A history made by hand (Keras' `History.history` dumped as JSON), or a study trial's.
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: a history must be a JSON object of lists, got {type(raw).__name__}"
        )
    history: dict[str, list[float]] = {}
    for key, values in raw.items():
        if not isinstance(values, list) or not all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
        ):
            raise ConfigError(f"{path}: key {key!r} must be a list of numbers")
        history[str(key)] = [math.nan if v is None else float(v) for v in values]
    return history


def _history_file(path: Path) -> tuple[dict[str, list[float]], RunSummary | None]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise RecordError(f"{path}: damaged, not valid JSON (line {err.lineno}: {err.msg});"
                          " restore it or run the command that wrote it again") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RecordError(f"{path}: damaged, cannot read it ({err}); restore it or run the"
                          " command that wrote it again") from None
    if isinstance(raw, dict) and ("version" in raw or isinstance(raw.get("history"), dict)):
        summary = _summary(path, raw)
        return dict(summary.history), summary
    return _bare_history(path, raw), None


def read_history(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """The per-epoch history in a ``history.json``; ``null`` (a NaN) becomes ``NaN``.

    Either a training run's record (:class:`tunelab.runs.RunSummary`, as ``tunelab train``
    writes it: the history under ``"history"``) or the history itself, as Keras'
    ``History.history`` holds it (``{"loss": [...], ...}``: a study trial's file, or one made by
    hand).

    Raises:
        ConfigError: The file is damaged (a :class:`~tunelab.runs.RecordError`), the record was
            written by another tunelab version, or the history is not an object of lists of
            numbers; the message names the file.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "history.json"
        >>> _ = p.write_text('{"loss": [1.0, null]}')
        >>> read_history(p)
        {'loss': [1.0, nan]}
    """
    return _history_file(Path(path))[0]


def _step_images(folder: Path) -> list[Image]:
    if not folder.is_dir():
        return []
    return [Image(f"{folder.name}-{p.stem}", f"{folder.name}: {p.stem.replace('_', ' ')}",
                  p.read_bytes(), source=p)
            for p in sorted(folder.glob("*.png")) if p.is_file()]


def _guide_steps(layout: RunLayout, decisions: Decisions) -> list[GuideStep]:
    steps = []
    for index, decision in enumerate(decisions.steps, start=1):
        folder = (layout.path / decision.folder if decision.folder
                  else layout.step_dir(index, decision.step))
        steps.append(GuideStep(decision, _step_images(folder)))
    return steps


def read_decisions(path: str | os.PathLike[str]) -> list[GuideStep]:
    """The steps of a guide run from its ``decisions.json``, each with its folder's pictures.

    The file is the guide's :class:`tunelab.runs.Decisions` record (read it alone with
    ``read_record(path, Decisions)``); each step holds its :class:`tunelab.runs.StepDecision`.

    Raises:
        RecordError: The file is missing or damaged, was written by another tunelab version
            (an older run folder), or has a missing or wrong key; the message names the file
            and says what to do.

    Example:
        >>> import tempfile
        >>> from tunelab.runs import Decisions, StepDecision, ValueStats, write_record
        >>> p = RunLayout(tempfile.mkdtemp()).decisions_json
        >>> _ = write_record(p, Decisions(steps=[StepDecision(
        ...     step="topology", current="units [64]", candidate="units [64]", adopted=False,
        ...     reason="kept", values=[ValueStats(label="units [64]", scores=[0.97, 0.96])])]))
        >>> read_decisions(p)[0].name
        'topology'
    """
    path = Path(path)
    decisions = read_record(path, Decisions, required=True)
    assert decisions is not None
    return _guide_steps(RunLayout(path.parent), decisions)


def _storage(url: str) -> Any:
    from tunelab.study import make_storage

    # The study's own opener (journal files, SQLite as tunelab writes it, any Optuna URL).
    # One storage object for every study in it: opening an RDB storage checks its schema,
    # which costs more than reading the trials.
    return make_storage(url)


def _load_studies(url: str, source: Path) -> list[optuna.Study]:
    import optuna

    try:
        storage = _storage(url)
        names = optuna.get_all_study_names(storage)
        return [optuna.load_study(study_name=n, storage=storage) for n in names]
    except (ImportError, ValueError, KeyError, OSError) as err:
        raise ConfigError(f"{source}: cannot open the study storage {url!r}: {err}") from None


def _study_dbs(run_dir: Path) -> list[Path]:
    below = sorted(RunLayout(p).study_db for p in run_dir.iterdir() if p.is_dir()
                   ) if run_dir.is_dir() else []
    return [db for db in (RunLayout(run_dir).study_db, *below) if db.is_file()]


def _ranked(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    import optuna

    if len(study.directions) > 1:
        return sorted(study.best_trials, key=lambda t: t.number)
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
    return sorted(done, key=lambda t: (sign * float(t.value or 0.0), t.number))


def _damaged(err: ConfigError, path: Path, subject: str) -> Finding:
    return Finding("damaged-file", "warning",
                   f"{err}. The report leaves this trial's curves out and shows the rest.",
                   {"file": str(path)}, subject)


def _best_curves(study: optuna.Study, folder: Path, prefix: str, limit: int = BEST_CURVES
                 ) -> tuple[list[TrainingCurves], list[Finding]]:
    layout = RunLayout(folder)
    curves: list[TrainingCurves] = []
    findings: list[Finding] = []
    for trial in _ranked(study):
        path = RunLayout(layout.trial_dir(trial.number)).history_json
        if not path.is_file():
            continue
        label = f"{prefix}trial {trial.number}"
        try:
            history = read_history(path)
        except ConfigError as err:  # one damaged trial must not cost the whole report
            findings.append(_damaged(err, path, label))
            continue
        value = trial.values[0] if trial.values else None
        curves.append(TrainingCurves(label, history, value=value, params=dict(trial.params)))
        if len(curves) == limit:
            break
    return curves, findings


def _objective(study: optuna.Study, names: list[str]) -> str:
    return ", ".join(f"{d.name.lower()} {n}" for d, n in zip(study.directions, names, strict=False))


def _text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _data_facts(config: dict[str, Any]) -> tuple[str | None, str | None]:
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    assert isinstance(data, dict)
    name, task = data.get("name"), data.get("task")
    return (str(name) if name else "digits", str(task) if task else "auto")


def _read_tune(run_dir: Path) -> ReportData:
    layout = RunLayout(run_dir)
    config = read_toml(layout.tune_toml) if layout.tune_toml.is_file() else {}
    study_cfg = config.get("study") if isinstance(config.get("study"), dict) else {}
    assert isinstance(study_cfg, dict)
    url = study_cfg.get("storage")
    if not url:
        if not layout.study_db.is_file():
            raise ConfigError(f"{run_dir}: no {layout.study_db.name}, and"
                              f" {layout.tune_toml.name} names no storage")
        url = layout.default_storage()
    studies = _load_studies(str(url), run_dir)
    wanted = study_cfg.get("name")
    if wanted:
        studies = [s for s in studies if s.study_name == wanted] or studies
    sections = [StudySection(s.study_name, s) for s in studies]
    dataset, task = _data_facts(config)
    summary = Summary(kind="tune", dataset=dataset, task=task,
                      base_config=_text(layout.tune_toml))
    curves: list[TrainingCurves] = []
    findings: list[Finding] = []
    for section in sections:
        got, bad = _best_curves(section.study, run_dir, "" if len(sections) == 1 else
                                f"{section.name} · ")
        curves += got
        findings += bad
    if sections:
        main = sections[0]
        summary.objective = _objective(main.study, main.objective_names())
        _fill_best(summary, main.study, layout)
    _fill_stats(summary, layout)
    title = f"{dataset} — tune" + (f" ({sections[0].name})" if sections else "")
    return ReportData(title, summary, curves=curves, studies=sections, findings=findings)


def _fill_best(summary: Summary, study: optuna.Study, layout: RunLayout) -> None:
    ranked = _ranked(study)
    if not ranked:
        return
    if len(study.directions) > 1:
        summary.details["Pareto-optimal trials"] = len(ranked)
        return
    best = ranked[0]
    summary.best_value = best.value
    summary.best_params = dict(best.params)
    summary.best_config = _text(RunLayout(layout.trial_dir(best.number)).config_toml)
    summary.details["best trial"] = best.number
    if layout.best_model.is_file() and layout.best_json.is_file():
        info = _read_json(layout.best_json)
        if isinstance(info, dict) and "trial" in info:
            summary.details["saved model"] = f"{layout.best_model.name} (trial {info['trial']})"


def _fill_stats(summary: Summary, layout: RunLayout) -> None:
    if not layout.stats_json.is_file():
        return
    raw = _read_json(layout.stats_json)
    sessions = raw.get("sessions", []) if isinstance(raw, dict) else []
    sessions = [s for s in sessions if isinstance(s, dict)]
    if not sessions:
        return

    def total(key: str) -> float:
        return float(sum(float(s.get(key) or 0.0) for s in sessions))

    summary.wall_seconds = total("wall_seconds") or summary.wall_seconds
    summary.details["compile time (s)"] = round(total("compile_seconds"), 2)
    summary.details["training time (s)"] = round(total("train_seconds"), 2)
    cohort_epochs, slot_epochs = total("cohort_epochs"), total("slot_epochs")
    if cohort_epochs:
        summary.details["mean cohort width"] = round(slot_epochs / cohort_epochs, 2)
    if len(sessions) > 1:
        summary.details["sessions (resumed)"] = len(sessions)


def _guide_dataset(layout: RunLayout, decisions: Decisions) -> str:
    if decisions.dataset:
        return decisions.dataset
    settings = read_record(layout.guide_json, GuideSettings)
    name = settings.dataset.get("name") if settings is not None else None
    return str(name) if name else "—"


def _read_guide(run_dir: Path) -> ReportData:
    layout = RunLayout(run_dir)
    # A guide that has not finished its first step has no decisions yet: its studies still show.
    decisions = read_record(layout.decisions_json, Decisions) or Decisions()
    final = read_record(layout.final_json, FinalResult)
    steps = _guide_steps(layout, decisions)
    sections: list[StudySection] = []
    curves: list[TrainingCurves] = []
    findings: list[Finding] = []
    for db in _study_dbs(run_dir):
        for study in _load_studies(RunLayout(db.parent).default_storage(), db):
            sections.append(StudySection(study.study_name, study))
            got, bad = _best_curves(study, db.parent, f"{study.study_name} · ", limit=1)
            curves += got
            findings += bad
    order = {s.decision.study or s.name: i for i, s in enumerate(steps)}
    sections.sort(key=lambda s: order.get(s.name, len(order)))
    curves.sort(key=lambda c: order.get(c.label.split(" · ")[0], len(order)))

    test_accuracy = final.test_accuracy if final is not None else None
    test_loss = final.test.get("test_loss") if final is not None else None
    summary = Summary(
        kind="guide",
        dataset=_guide_dataset(layout, decisions),
        task=decisions.task or None,
        base_config=_text(layout.procedure_toml),
        objective=f"{decisions.direction} {decisions.metric}",
        best_config=_text(layout.final_toml),
        test_accuracy=_finite(test_accuracy if test_accuracy is not None
                              else decisions.test_accuracy),
        wall_seconds=_finite(decisions.wall_seconds),
    )
    chosen = [c.mean for c in (s.decision.chosen() for s in steps)
              if c is not None and math.isfinite(c.mean)]
    summary.best_value = chosen[-1] if chosen else None
    for key, value in (("procedure", decisions.procedure), ("budget", decisions.budget)):
        if value:
            summary.details[key] = value
    summary.details["steps"] = len(steps)
    adopted = [s.name for s in steps if s.decision.adopted]
    summary.details["changes adopted"] = ", ".join(adopted) if adopted else "none"
    loss = _finite(test_loss if test_loss is not None else decisions.test_loss)
    if loss is not None:
        summary.details["test loss"] = loss
    if layout.best_model.is_file():
        summary.details["saved model"] = layout.best_model.name
    tuning = decisions.tuning or (final.tuning if final is not None else None)
    return ReportData(f"{summary.dataset} — guide", summary, curves=curves, studies=sections,
                      guide=steps, tuning=tuning, final=final, findings=findings)


def _read_train(run_dir: Path) -> ReportData:
    layout = RunLayout(run_dir)
    history, record = _history_file(layout.history_json)
    config = read_toml(layout.config_toml) if layout.config_toml.is_file() else {}
    dataset, task = _data_facts(config)
    if record is not None and record.dataset:
        dataset = record.dataset
    curves = TrainingCurves("run", history)
    summary = Summary(kind="train", dataset=dataset, task=task,
                      base_config=_text(layout.config_toml))
    metric = curves.metric
    key = f"val_{metric}" if metric and history.get(f"val_{metric}") else "val_loss"
    if history.get(key):
        summary.objective = f"{key} at the last epoch"
        summary.best_value = history[key][-1]
    summary.details["epochs"] = curves.epochs
    if record is not None:
        if record.status:
            summary.details["status"] = record.status
        for name, value in record.final.items():
            if name.startswith("test_"):
                summary.details[name.replace("_", " ")] = value
        summary.test_accuracy = _finite(record.final.get("test_accuracy"))
        summary.details["compile time (s)"] = round(record.compile_seconds, 2)
        summary.details["training time (s)"] = round(record.train_seconds, 2)
    seconds = [v for v in history.get("seconds", []) if math.isfinite(v)]
    if seconds:
        summary.wall_seconds = float(sum(seconds))
    return ReportData(f"{dataset} — train", summary, curves=[curves])


def storage_url(run_dir: str | os.PathLike[str]) -> str:
    """The Optuna storage URL of a ``tune`` or ``guide`` run folder.

    It is the storage ``tune.toml`` names, else the folder's ``study.db``, else the one
    ``study.db`` one level below, else the journal ``study.log`` of a Keras Tuner project
    (``tunelab.keras_tuner``'s ``directory/project_name``).

    Raises:
        ConfigError: The folder holds no study, or several storages (the message lists them).

    Example:
        >>> import tempfile
        >>> run = RunLayout(tempfile.mkdtemp())
        >>> _ = run.study_db.write_bytes(b"")
        >>> storage_url(run.path) == run.default_storage()
        True
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise ConfigError(f"{path}: no such run folder")
    layout = RunLayout(path)
    if layout.tune_toml.is_file():
        study = read_toml(layout.tune_toml).get("study")
        if isinstance(study, dict) and study.get("storage"):
            return str(study["storage"])
    dbs = _study_dbs(path)
    if not dbs and layout.study_journal.is_file():
        return layout.journal_storage()
    if not dbs:
        raise ConfigError(f"{path}: no study here (no {layout.study_db.name}, and no"
                          f" {layout.tune_toml.name} naming a storage); give the --out folder"
                          " of tunelab tune or guide")
    if len(dbs) > 1 and dbs[0] != layout.study_db:
        listed = ", ".join(str(db.parent) for db in dbs)
        raise ConfigError(f"{path}: several study storages ({listed}); give one of those folders")
    return RunLayout(dbs[0].parent).default_storage()


def _with_landscape(data: ReportData, layout: RunLayout) -> ReportData:
    """Add the final model's loss slice (``landscape.json``), when the run has one."""
    data.landscape = read_record(layout.landscape_json, LossLandscape)
    return data


def read_run(run_dir: str | os.PathLike[str]) -> ReportData:
    """What a run folder holds, ready to render.

    Raises:
        ConfigError: The folder does not exist, is not a tunelab run folder, or a file in it
            is damaged or written by another tunelab version (a
            :class:`~tunelab.runs.RecordError`; the message names the file and the fix).

    Example:
        >>> import tempfile, pathlib, json
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "history.json").write_text(json.dumps({"loss": [1.0, 0.6, 0.5]}))
        >>> read_run(d).summary.kind
        'train'
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise ConfigError(f"{path}: no such run folder")
    layout = RunLayout(path)
    kind = layout.kind()
    if kind == "guide":
        return _with_landscape(_read_guide(path), layout)
    if is_race_folder(path):
        return read_races(path)
    if kind == "tune":
        return _read_tune(path)
    if kind == "train":
        return _with_landscape(_read_train(path), layout)
    markers = ", ".join(p.name for p in (layout.decisions_json, layout.guide_json,
                                         layout.study_db, layout.tune_toml))
    raise ConfigError(
        f"{path}: not a tunelab run folder (no {markers}, {layout.history_json.name} or race"
        " results); give the --out folder of tunelab train, tune, guide or landscape race"
    )


def write_report(
    run_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None
) -> Path:
    """Write ``report.html`` for a run folder (PNGs go to ``RUN_DIR/figures/``).

    Args:
        run_dir: The folder of a ``tunelab train``, ``tune``, ``guide`` or ``landscape race``.
        out: The page to write; default ``RUN_DIR/report.html``.

    Returns:
        The path of the page.

    Raises:
        ConfigError: As :func:`read_run`.

    Example:
        >>> import tempfile, pathlib, json
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "history.json").write_text(json.dumps({"loss": [1.0, 0.6, 0.5]}))
        >>> write_report(d).name
        'report.html'
    """
    layout = RunLayout(run_dir)
    data = read_run(layout.path)
    return render_report(data, Path(out) if out is not None else layout.report_html,
                         figures_dir=layout.path / FIGURES_DIR)
