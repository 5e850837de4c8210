"""Read a run folder into a :class:`ReportData`, and write its report.

Run folders, by what made them (the first marker found decides):

- ``tunelab guide``: ``decisions.json`` (format in :class:`~tunelab.report.GuideStep`),
  ``final.toml``, and the steps' Optuna studies in ``study.db`` files (in the folder or one
  level below, each with its ``trials/<number>/``).
- ``tunelab landscape race --out DIR``: ``race.json`` (see :mod:`tunelab.report._race`).
- ``tunelab tune``: ``study.db`` (or the storage named in ``tune.toml``), ``tune.toml``,
  ``stats.json``, ``best.json``, ``trials/<number>/{history.json,config.toml}``.
- ``tunelab train``: ``config.toml`` and ``history.json``.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.errors import ConfigError
from tunelab.report._data import (
    BatchSizeRow,
    GuideStep,
    Image,
    ReportData,
    StudySection,
    Summary,
    TrainingCurves,
    ValueStats,
)
from tunelab.report._race import is_race_folder, read_races
from tunelab.report._render import render_report

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
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"{path}: not valid JSON (line {err.lineno}: {err.msg}); the file is damaged:"
            " restore it or run the command that wrote it again"
        ) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None


def read_history(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """A history JSON file; ``null`` (a NaN) becomes ``NaN``.

    Either the history itself (``{"loss": [...], ...}``, as a study's trials store it) or a
    training run's record holding it under ``"history"`` (as ``tunelab train`` writes it).

    Raises:
        ConfigError: The file is not JSON, or its history is not an object of lists of numbers.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "history.json"
        >>> _ = p.write_text('{"loss": [1.0, null]}')
        >>> read_history(p)
        {'loss': [1.0, nan]}
    """
    path = Path(path)
    raw = _read_json(path)
    if isinstance(raw, dict) and isinstance(raw.get("history"), dict):
        raw = raw["history"]
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: a history must be a JSON object of lists, got {type(raw).__name__}"
        )
    history: dict[str, list[float]] = {}
    for key, values in raw.items():
        if not isinstance(values, list) or not all(
            v is None or isinstance(v, int | float) for v in values
        ):
            raise ConfigError(f"{path}: key {key!r} must be a list of numbers")
        history[str(key)] = [math.nan if v is None else float(v) for v in values]
    return history


def _steps(raw: Any, path: Path) -> list[Any]:
    steps = raw.get("steps") if isinstance(raw, dict) else raw
    if not isinstance(steps, list):
        raise ConfigError(f"{path}: expected {{\"steps\": [...]}} (or a list of steps)")
    return steps


def _field(item: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in item:
        raise ConfigError(f"{where}: missing key {key!r}")
    value = item[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)},"
                          f" got {value!r}")
    return value


def _step_details(item: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    trials = item.get("trials")
    if isinstance(trials, dict) and trials:
        details["trials"] = ", ".join(f"{n} {state}" for state, n in trials.items() if n)
    for key, label in (("seconds", "step time (s)"), ("compile_seconds", "compile time (s)"),
                       ("train_seconds", "training time (s)"),
                       ("mean_cohort_width", "mean cohort width")):
        value = item.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            details[label] = round(float(value), 2)
    tests = item.get("range_tests")
    if isinstance(tests, list):
        for i, test in enumerate(t for t in tests if isinstance(t, dict)):
            if isinstance(test.get("suggested"), int | float):
                name = "range test" if len(tests) == 1 else f"range test {i + 1}"
                why = f" ({test['stop_reason']})" if test.get("stop_reason") else ""
                details[name] = f"suggested learning rate {test['suggested']:.3g}{why}"
    return details


def _step_images(folder: Path) -> list[Image]:
    if not folder.is_dir():
        return []
    return [Image(f"{folder.name}-{p.stem}", f"{folder.name}: {p.stem.replace('_', ' ')}",
                  p.read_bytes(), source=p)
            for p in sorted(folder.glob("*.png")) if p.is_file()]


def read_decisions(path: str | os.PathLike[str]) -> list[GuideStep]:
    """The steps of a guide run from its ``decisions.json``.

    Raises:
        ConfigError: Naming the file, the step and the key at fault.

    Example:
        >>> import tempfile, pathlib, json
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "decisions.json"
        >>> _ = p.write_text(json.dumps({"steps": [{"step": "topology", "scientific": ["units"],
        ...     "values": [{"value": "64", "mean": 0.97, "std": 0.01, "n": 3}],
        ...     "current": "64", "candidate": "64", "adopted": False, "reason": "kept"}]}))
        >>> read_decisions(p)[0].name
        'topology'
    """
    path = Path(path)
    out = []
    number = (int, float, type(None))
    label = (str, int, float, bool)
    for i, item in enumerate(_steps(_read_json(path), path)):
        where = f"{path}: steps[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected an object")
        values = []
        for j, v in enumerate(_field(item, "values", list, where)):
            w = f"{where}.values[{j}]"
            if not isinstance(v, dict):
                raise ConfigError(f"{w}: expected an object")
            values.append(ValueStats(str(_field(v, "value", label, w)),
                                     _field(v, "mean", number, w), _field(v, "std", number, w),
                                     int(_field(v, "n", int, w))))
        rows = []
        for j, r in enumerate(item.get("batch_sizes") or []):
            w = f"{where}.batch_sizes[{j}]"
            if not isinstance(r, dict):
                raise ConfigError(f"{w}: expected an object")
            std = r.get("accuracy_std")
            rows.append(BatchSizeRow(int(_field(r, "batch_size", int, w)),
                                     _field(r, "seconds_per_epoch", number, w),
                                     _field(r, "accuracy", number, w),
                                     None if std is None else float(std)))
        direction = item.get("direction", "maximize")
        if direction not in ("maximize", "minimize"):
            raise ConfigError(f"{where}.direction: 'maximize' or 'minimize', got {direction!r}")
        folder = item.get("folder")
        out.append(GuideStep(
            name=str(_field(item, "step", str, where)),
            scientific=[str(s) for s in _field(item, "scientific", list, where)],
            values=values,
            current=str(_field(item, "current", label, where)),
            candidate=str(_field(item, "candidate", label, where)),
            adopted=bool(_field(item, "adopted", bool, where)),
            reason=str(_field(item, "reason", str, where)),
            metric=str(item.get("metric", "val_accuracy")),
            direction=direction,
            study=item.get("study"),
            batch_sizes=rows,
            title=str(item["title"]) if item.get("title") else None,
            images=_step_images(path.parent / str(folder)) if folder else [],
            details=_step_details(item),
        ))
    return out


def _storage(url: str) -> Any:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if url.startswith("journal:"):
        path = url.removeprefix("journal:").removeprefix("//")
        return optuna.storages.JournalStorage(JournalFileBackend(path))
    # One storage object for every study in it: opening an RDB storage checks its schema,
    # which costs more than reading the trials.
    return optuna.storages.get_storage(url)


def _load_studies(url: str, source: Path) -> list[optuna.Study]:
    import optuna

    try:
        storage = _storage(url)
        names = optuna.get_all_study_names(storage)
        return [optuna.load_study(study_name=n, storage=storage) for n in names]
    except (ImportError, ValueError, KeyError, OSError) as err:
        raise ConfigError(f"{source}: cannot open the study storage {url!r}: {err}") from None


def _study_dbs(run_dir: Path) -> list[Path]:
    found = [run_dir / "study.db"] if (run_dir / "study.db").is_file() else []
    found += sorted(p for p in run_dir.glob("*/study.db") if p.is_file())
    return found


def _ranked(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    import optuna

    if len(study.directions) > 1:
        return sorted(study.best_trials, key=lambda t: t.number)
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
    return sorted(done, key=lambda t: (sign * float(t.value or 0.0), t.number))


def _best_curves(study: optuna.Study, folder: Path, prefix: str) -> list[TrainingCurves]:
    curves = []
    for trial in _ranked(study):
        path = folder / "trials" / str(trial.number) / "history.json"
        if not path.is_file():
            continue
        value = trial.values[0] if trial.values else None
        curves.append(TrainingCurves(f"{prefix}trial {trial.number}", read_history(path),
                                     value=value, params=dict(trial.params)))
        if len(curves) == BEST_CURVES:
            break
    return curves


def _objective(study: optuna.Study, names: list[str]) -> str:
    return ", ".join(f"{d.name.lower()} {n}" for d, n in zip(study.directions, names, strict=False))


def _text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _data_facts(config: dict[str, Any]) -> tuple[str | None, str | None]:
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    assert isinstance(data, dict)
    name, task = data.get("name"), data.get("task")
    return (str(name) if name else "digits", str(task) if task else "auto")


def _read_tune(run_dir: Path) -> ReportData:
    tune_toml = run_dir / "tune.toml"
    config = _read_toml(tune_toml) if tune_toml.is_file() else {}
    study_cfg = config.get("study") if isinstance(config.get("study"), dict) else {}
    assert isinstance(study_cfg, dict)
    url = study_cfg.get("storage")
    if not url:
        if not (run_dir / "study.db").is_file():
            raise ConfigError(f"{run_dir}: no study.db, and tune.toml names no storage")
        url = f"sqlite:///{(run_dir / 'study.db').resolve()}"
    studies = _load_studies(str(url), run_dir)
    wanted = study_cfg.get("name")
    if wanted:
        studies = [s for s in studies if s.study_name == wanted] or studies
    sections = [StudySection(s.study_name, s) for s in studies]
    dataset, task = _data_facts(config)
    summary = Summary(kind="tune", dataset=dataset, task=task, base_config=_text(tune_toml))
    curves: list[TrainingCurves] = []
    for section in sections:
        curves += _best_curves(section.study, run_dir, "" if len(sections) == 1 else
                               f"{section.name} · ")
    if sections:
        main = sections[0]
        summary.objective = _objective(main.study, main.objective_names())
        _fill_best(summary, main.study, run_dir)
    _fill_stats(summary, run_dir)
    title = f"{dataset} — tune" + (f" ({sections[0].name})" if sections else "")
    return ReportData(title, summary, curves=curves, studies=sections)


def _fill_best(summary: Summary, study: optuna.Study, folder: Path) -> None:
    ranked = _ranked(study)
    if not ranked:
        return
    if len(study.directions) > 1:
        summary.details["Pareto-optimal trials"] = len(ranked)
        return
    best = ranked[0]
    summary.best_value = best.value
    summary.best_params = dict(best.params)
    summary.best_config = _text(folder / "trials" / str(best.number) / "config.toml")
    summary.details["best trial"] = best.number
    saved = folder / "best.json"
    if (folder / "best.keras").is_file() and saved.is_file():
        info = _read_json(saved)
        if isinstance(info, dict) and "trial" in info:
            summary.details["saved model"] = f"best.keras (trial {info['trial']})"


def _fill_stats(summary: Summary, run_dir: Path) -> None:
    path = run_dir / "stats.json"
    if not path.is_file():
        return
    raw = _read_json(path)
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


def _chosen_mean(step: GuideStep) -> float | None:
    label = step.candidate if step.adopted else step.current
    chosen = next((v for v in step.values if v.value == label), None)
    return None if chosen is None or math.isnan(chosen.mean) else chosen.mean


def _read_guide(run_dir: Path) -> ReportData:
    decisions = run_dir / "decisions.json"
    raw = _read_json(decisions)
    steps = read_decisions(decisions)
    facts = raw if isinstance(raw, dict) else {}
    sections: list[StudySection] = []
    curves: list[TrainingCurves] = []
    for db in _study_dbs(run_dir):
        for study in _load_studies(f"sqlite:///{db.resolve()}", db):
            sections.append(StudySection(study.study_name, study))
            curves += _best_curves(study, db.parent, f"{study.study_name} · ")[:1]
    order = {s.study or s.name: i for i, s in enumerate(steps)}
    sections.sort(key=lambda s: order.get(s.name, len(order)))
    curves.sort(key=lambda c: order.get(c.label.split(" · ")[0], len(order)))

    def number(key: str) -> float | None:
        value = facts.get(key)
        return float(value) if isinstance(value, int | float) else None

    metric = facts.get("metric") or (steps[-1].metric if steps else None)
    direction = facts.get("direction") or (steps[-1].direction if steps else None)
    summary = Summary(
        kind="guide",
        dataset=str(facts.get("dataset") or "—"),
        task=str(facts["task"]) if facts.get("task") else None,
        base_config=_text(run_dir / "procedure.toml"),
        objective=f"{direction} {metric}" if metric else None,
        best_config=_text(run_dir / "final.toml"),
        test_accuracy=number("test_accuracy"),
        wall_seconds=number("wall_seconds"),
    )
    means = [m for m in (_chosen_mean(s) for s in steps) if m is not None]
    summary.best_value = means[-1] if means else None
    for key in ("procedure", "budget"):
        if facts.get(key):
            summary.details[key] = str(facts[key])
    summary.details["steps"] = len(steps)
    adopted = [s.name for s in steps if s.adopted]
    summary.details["changes adopted"] = ", ".join(adopted) if adopted else "none"
    if number("test_loss") is not None:
        summary.details["test loss"] = number("test_loss")
    if (run_dir / "best.keras").is_file():
        summary.details["saved model"] = "best.keras"
    return ReportData(f"{summary.dataset} — guide", summary, curves=curves, studies=sections,
                      guide=steps)


def _read_train(run_dir: Path) -> ReportData:
    history_path = run_dir / "history.json"
    history = read_history(history_path)
    record = _read_json(history_path)
    record = record if isinstance(record, dict) and "history" in record else {}
    config_path = run_dir / "config.toml"
    config = _read_toml(config_path) if config_path.is_file() else {}
    dataset, task = _data_facts(config)
    if record.get("dataset"):
        dataset = str(record["dataset"])
    curves = TrainingCurves("run", history)
    summary = Summary(kind="train", dataset=dataset, task=task, base_config=_text(config_path))
    metric = curves.metric
    key = f"val_{metric}" if metric and history.get(f"val_{metric}") else "val_loss"
    if history.get(key):
        summary.objective = f"{key} at the last epoch"
        summary.best_value = history[key][-1]
    summary.details["epochs"] = curves.epochs
    if record.get("status"):
        summary.details["status"] = str(record["status"])
    final = record.get("final") if isinstance(record.get("final"), dict) else {}
    assert isinstance(final, dict)
    for name, value in final.items():
        if str(name).startswith("test_") and isinstance(value, int | float):
            summary.details[str(name).replace("_", " ")] = float(value)
    if isinstance(final.get("test_accuracy"), int | float):
        summary.test_accuracy = float(final["test_accuracy"])
    for key_, label in (("compile_seconds", "compile time (s)"),
                        ("train_seconds", "training time (s)")):
        if isinstance(record.get(key_), int | float):
            summary.details[label] = round(float(record[key_]), 2)
    seconds = [v for v in history.get("seconds", []) if math.isfinite(v)]
    if seconds:
        summary.wall_seconds = float(sum(seconds))
    return ReportData(f"{dataset} — train", summary, curves=[curves])


def storage_url(run_dir: str | os.PathLike[str]) -> str:
    """The Optuna storage URL of a ``tune`` or ``guide`` run folder.

    It is the storage ``tune.toml`` names, else the folder's ``study.db``, else the one
    ``study.db`` one level below.

    Raises:
        ConfigError: The folder holds no study, or several storages (the message lists them).

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "study.db").write_bytes(b"")
        >>> storage_url(d).endswith("/study.db")
        True
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise ConfigError(f"{path}: no such run folder")
    tune_toml = path / "tune.toml"
    if tune_toml.is_file():
        study = _read_toml(tune_toml).get("study")
        if isinstance(study, dict) and study.get("storage"):
            return str(study["storage"])
    dbs = _study_dbs(path)
    if not dbs:
        raise ConfigError(f"{path}: no study here (no study.db, and no tune.toml naming a"
                          " storage); give the --out folder of tunelab tune or guide")
    if len(dbs) > 1 and dbs[0] != path / "study.db":
        listed = ", ".join(str(db.parent) for db in dbs)
        raise ConfigError(f"{path}: several study storages ({listed}); give one of those folders")
    return f"sqlite:///{dbs[0].resolve()}"


def read_run(run_dir: str | os.PathLike[str]) -> ReportData:
    """What a run folder holds, ready to render.

    Raises:
        ConfigError: The folder does not exist, is not a tunelab run folder, or a file in it
            is damaged (the message names it).

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
    if (path / "decisions.json").is_file():
        return _read_guide(path)
    if is_race_folder(path):
        return read_races(path)
    if (path / "study.db").is_file() or (path / "tune.toml").is_file():
        return _read_tune(path)
    if (path / "history.json").is_file():
        return _read_train(path)
    raise ConfigError(
        f"{path}: not a tunelab run folder (no decisions.json, race.json, study.db, tune.toml"
        " or history.json); give the --out folder of tunelab train, tune, guide or"
        " landscape race"
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

    Example:
        >>> import tempfile, pathlib, json
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "history.json").write_text(json.dumps({"loss": [1.0, 0.6, 0.5]}))
        >>> write_report(d).name
        'report.html'
    """
    run = Path(run_dir)
    data = read_run(run)
    return render_report(data, Path(out) if out is not None else run / "report.html",
                         figures_dir=run / "figures")
