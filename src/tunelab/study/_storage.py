"""The store: the only code that touches a study's Optuna storage.

Opening a study (storage by URL, resume checks), the raw reads and writes others build on
(trial ids, counts, heartbeats), and the trials to run again: those left behind by a dead
process, those whose session stopped sending heartbeats, and those a session stops
unfinished (:func:`retire`). Everything else (the recorder's asks and tells, the shared
study's totals, the heartbeat thread) goes through Optuna's public ``Study`` API or through
the functions here.

Storage is SQLite in the run folder unless a URL is given: ``sqlite:///path.db``,
``postgresql://...``, ``mysql://...`` (any SQLAlchemy URL Optuna accepts), or
``journal:PATH`` for Optuna's journal file. Opening an existing study resumes it:

- the search space and the base configuration are stored on the study; a different one on
  resume is an error (a different study needs a new run folder or study name);
- a trial still RUNNING whose process is gone (killed, crashed) is marked FAIL with the
  reason and enqueued again with the same parameters, so it is retried first.

Example:
    >>> import optuna
    >>> from tunelab.study import Space
    >>> from tunelab.config import RunConfig
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study, resumed = open_study(storage=None, name="demo", directions=["maximize"],
    ...     sampler=None, pruner=None, space=Space({"training.epochs": [1, 2]}),
    ...     base=RunConfig(), metric_names=["val_accuracy"])
    >>> resumed, study.user_attrs["tunelab_space_fingerprint"] == Space(
    ...     {"training.epochs": [1, 2]}).fingerprint()
    (False, True)
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import sqlite3
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import optuna
from optuna.trial import TrialState

from tunelab.config import RunConfig
from tunelab.errors import ConfigError, SpaceError
from tunelab.study._decide import Standing
from tunelab.study._space import Space
from tunelab.study._status import PARTS_ATTR, REASON_ATTR, RETRIED_ATTR, RETRY_OF_ATTR, counts

if TYPE_CHECKING:
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler
    from optuna.storages import BaseStorage

__all__ = [
    "HEARTBEAT_REASON",
    "OWNER_ATTR",
    "best_of",
    "best_standing",
    "counted_trials",
    "fail_stale",
    "heartbeat_settings",
    "make_storage",
    "open_study",
    "owner_token",
    "record_heartbeat",
    "retire",
    "retire_stale",
    "storage_of",
    "trial_id",
]

OWNER_ATTR = "tunelab_owner"
SPACE_ATTR = "tunelab_space"
BASE_ATTR = "tunelab_base"


def make_storage(url: str | None, default: str | None = None, *,
                 heartbeat_interval: int | None = None,
                 grace_period: int | None = None) -> BaseStorage | None:
    """An Optuna storage from a URL (``None`` and no default: in memory).

    Args:
        url: ``sqlite:///PATH``, ``postgresql://...``, ``mysql://...`` (any SQLAlchemy URL
            Optuna accepts) or ``journal:PATH``.
        default: The URL when ``url`` is None.
        heartbeat_interval: Seconds between heartbeats of running trials, on a database
            storage (None or 0: none); see :class:`~tunelab.study.Heartbeat`.
        grace_period: Seconds without a heartbeat before a running trial counts as stale
            (default three intervals).

    Raises:
        ConfigError: The URL cannot be opened (unknown scheme, missing database driver).
    """
    url = url or default
    if url is None:
        return None
    try:
        if url.startswith("journal:"):
            journal = Path(url.removeprefix("journal:").removeprefix("//"))
            journal.parent.mkdir(parents=True, exist_ok=True)
            from optuna.storages.journal import JournalFileBackend

            backend = JournalFileBackend(str(journal))
            return optuna.storages.JournalStorage(backend)
        engine_kwargs: dict[str, Any] = {}
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            db = url.removeprefix("sqlite:///")
            Path(db).parent.mkdir(parents=True, exist_ok=True)
            _new_sqlite(Path(db))
            engine_kwargs = {"creator": _sqlite_connect(db)}
        beats: dict[str, Any] = {}
        if heartbeat_interval:
            beats = {"heartbeat_interval": int(heartbeat_interval),
                     "grace_period": int(grace_period or 3 * heartbeat_interval)}
        for attempt in range(5):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                                      **beats)
            except Exception as exc:  # noqa: BLE001 - see below
                # Sessions on other machines may create a new database's tables at the same
                # moment; the loser finds them made and opens them next time.
                if "already exists" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")
    except (ImportError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"study.storage: {_shown(url)!r} needs a database driver that is not installed"
            f" ({exc}); for PostgreSQL: pip install 'tunelab[postgresql]'"
        ) from None
    except Exception as exc:  # SQLAlchemy's errors for a bad URL are many and untyped here
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()),
                     type(exc).__name__)
        raise ConfigError(f"study.storage: cannot open {_shown(url)!r}: {first}") from None


def _shown(url: str) -> str:
    """A storage URL as an error shows it: without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a database URL (a journal path): as it is
        return url


def _new_sqlite(db: Path) -> None:
    """Make a new SQLite study database whole or not at all.

    Its tables and indexes are created in a temporary file beside it, which is then linked
    into place (an existing database is never replaced: a session that made it first wins).
    A process stopped while they are made (Ctrl-C in the first second of a run) leaves no
    database without its indexes, where a later session's ``create_study`` would add a second
    study of the same name.
    """
    if db.exists():
        return
    tmp = db.with_name(f".{db.name}.{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = optuna.storages.RDBStorage(f"sqlite:///{tmp}")
        storage.engine.dispose()
        with contextlib.suppress(FileExistsError):
            os.link(tmp, db)
    finally:
        tmp.unlink(missing_ok=True)


def _sqlite_connect(path: str) -> Callable[[], sqlite3.Connection]:
    """Connections in write-ahead-log mode with ``synchronous=NORMAL``.

    A study writes a row per reported epoch; with SQLite's defaults every commit waits for
    the disk (about 20 ms here), with these settings it does not, and a killed process still
    leaves a consistent database (a power cut may lose the last commits). Several processes
    may share the file: a locked database is waited for, not failed on.
    """

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=60, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    return connect


def owner_token() -> dict[str, Any]:
    """Who runs a trial: host, process id and the process's start time (pid reuse safe)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _start_time(os.getpid())}


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _owner_alive(owner: Any) -> bool:
    """Whether the process that owns a trial still runs (another host: assume it does)."""
    if not isinstance(owner, Mapping) or "pid" not in owner:
        return False
    if owner.get("host") != socket.gethostname():
        return True
    pid = int(owner["pid"])
    if pid == os.getpid():
        return owner.get("start") == _start_time(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    start = _start_time(pid)
    return start is None or owner.get("start") in (None, start)


def storage_of(study: optuna.Study) -> BaseStorage:
    """The study's storage. Optuna has no public accessor, so this is the one read of
    ``Study._storage``; the calls made on it below are the storage's public methods."""
    return cast("BaseStorage", study._storage)


def trial_id(study: optuna.Study, number: int) -> int:
    """The storage's id of trial ``number`` (what its per-trial methods take)."""
    storage = storage_of(study)
    study_id = storage.get_study_id_from_name(study.study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, number)


def heartbeat_settings(study: optuna.Study) -> tuple[int | None, float | None]:
    """The storage's heartbeat interval and grace period in seconds (None, None without
    heartbeats: in memory, journal files, or ``heartbeat_interval = 0``)."""
    storage: Any = storage_of(study)  # a database storage, wrapped in Optuna's cache
    interval = getattr(storage, "get_heartbeat_interval", lambda: None)()
    if interval is None:
        return None, None
    return interval, float(getattr(storage, "grace_period", None) or 2 * interval)


def record_heartbeat(study: optuna.Study, trial: int) -> None:
    """Record a heartbeat for the trial of storage id ``trial`` (see :func:`trial_id`)."""
    storage: Any = storage_of(study)
    storage.record_heartbeat(trial)


#: Why a trial whose session stopped beating was failed (and retried).
HEARTBEAT_REASON = ("interrupted: the session running it stopped sending heartbeats (killed,"
                    " crashed or cut off); retried by another session")


def fail_stale(study: optuna.Study) -> list[int]:
    """Fail the study's RUNNING trials whose heartbeat is older than the grace period, each
    marked ``retried`` and enqueued again with its parameters; return their numbers.

    Several sessions may do this at once: a trial is failed, and enqueued, by one of them.
    Optuna's public ``optuna.storages.fail_stale_trials`` fails them first and marks them
    after (the retry's ``failed_trial`` system attribute), but a finished trial takes no user
    attribute, and ``retried`` must be on the failed trial itself (every reader, resumes
    of older studies included, tells a retry from a failure by it); so the stale trials are
    read with the storage's ``_get_stale_trial_ids``, the one private call left here.

    Example:
        >>> fail_stale(optuna.create_study())  # in memory: no heartbeats, nothing stale
        []
    """
    if heartbeat_settings(study)[0] is None:
        return []
    storage: Any = storage_of(study)
    retried = []
    study_id = storage.get_study_id_from_name(study.study_name)
    for tid in storage._get_stale_trial_ids(study_id):
        try:
            trial = storage.get_trial(tid)
            if trial.state != TrialState.RUNNING:
                continue
            storage.set_trial_user_attr(tid, REASON_ATTR, HEARTBEAT_REASON)
            storage.set_trial_user_attr(tid, RETRIED_ATTR, True)
            won = storage.set_trial_state_values(tid, state=TrialState.FAIL)
        except (optuna.exceptions.UpdateFinishedTrialError,
                optuna.exceptions.StorageInternalError):
            continue  # another session failed it first
        if won:
            study.enqueue_trial(dict(trial.params), user_attrs={RETRY_OF_ATTR: trial.number},
                                skip_if_exists=False)
            retried.append(trial.number)
    return retried


def best_of(study: optuna.Study) -> tuple[int, float] | None:
    """The study's best trial number and value as its storage has them now (single
    objective); None before any trial completed."""
    try:
        best = study.best_trial
    except ValueError:  # no trial completed
        return None
    return (best.number, float(best.values[0])) if best.values else None


def best_standing(study: optuna.Study) -> list[Standing]:
    """The study's best trial (one objective) or the trials on its Pareto front (several),
    as the storage has them now, as plain data: what :func:`~tunelab.study._decide.decide_best`
    compares a finished trial with."""
    if len(study.directions) > 1:
        return [Standing(t.number, tuple(t.values)) for t in study.best_trials]
    best = best_of(study)
    return [] if best is None else [Standing(best[0], (best[1],))]


def counted_trials(study: optuna.Study) -> int:
    """Finished trials that count toward the budget (a trial retried does not count twice)."""
    n = 0
    for t in study.get_trials(deepcopy=False):
        if t.state.is_finished() and counts(t):
            n += 1
    return n


def retire(
    study: optuna.Study,
    trial: optuna.Trial | int,
    params: Mapping[str, Any],
    reason: str,
) -> None:
    """Mark an unfinished trial FAIL with ``reason`` and enqueue its parameters to run again.

    The trial's state is then ``retried`` (:data:`RETRIED_ATTR`); it does not count toward
    the budget, and its copy (:data:`RETRY_OF_ATTR`) runs first.
    """
    number = trial if isinstance(trial, int) else trial.number
    storage, tid = storage_of(study), trial_id(study, number)
    storage.set_trial_user_attr(tid, REASON_ATTR, reason)
    storage.set_trial_user_attr(tid, RETRIED_ATTR, True)
    study.tell(trial, state=TrialState.FAIL)
    study.enqueue_trial(dict(params), user_attrs={RETRY_OF_ATTR: number})


#: Seconds a RUNNING trial may go without its owner recorded (a session writes it right
#: after asking) before it counts as left behind by a dead process.
_UNOWNED_GRACE = 60.0


def _left_behind(trial: optuna.trial.FrozenTrial) -> bool:
    owner = trial.user_attrs.get(OWNER_ATTR)
    if isinstance(owner, Mapping) and "pid" in owner:
        return not _owner_alive(owner)
    # No owner yet: another session may be between its ask and its first write.
    start = trial.datetime_start
    return start is None or (datetime.datetime.now() - start).total_seconds() > _UNOWNED_GRACE


#: Why a trial left RUNNING by a process that is gone (on this machine) was failed.
PROCESS_GONE_REASON = "interrupted: the process running it stopped (killed or crashed); retried"


def retire_stale(study: optuna.Study) -> list[int]:
    """Retire RUNNING trials whose process is gone; return their numbers."""
    stale = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
             if _left_behind(t)]
    retired = []
    for t in stale:
        try:
            retire(study, t.number, t.params, PROCESS_GONE_REASON)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another session retired it (or its owner told it) first
        retired.append(t.number)
    return retired


def _changes(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if isinstance(a, Mapping) and isinstance(b, Mapping) and not ("type" in a or "type" in b):
            keys += _changes(a, b, f"{prefix}{k}.")
        elif a != b:
            keys.append(f"{prefix}{k}")
    return keys


def open_study(
    *,
    storage: BaseStorage | str | None,
    name: str,
    directions: Sequence[str],
    sampler: BaseSampler | None,
    pruner: BasePruner | None,
    space: Space,
    base: RunConfig,
    metric_names: Sequence[str],
    source: str = "study",
    parts: int = 1,
) -> tuple[optuna.Study, bool]:
    """Create the study, or load it and check that it is the same study; retire stale trials.

    Returns:
        The study and whether it existed before.

    Raises:
        SpaceError: The stored search space differs from ``space``.
        ConfigError: The stored base configuration or objectives differ.
    """
    existing = False
    if storage is not None:
        try:
            summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
            existing = any(s.study_name == name for s in summaries)
        except Exception:  # noqa: BLE001 - a fresh database has no tables yet
            existing = False
    try:
        study = optuna.create_study(
            storage=storage,
            sampler=sampler,
            pruner=pruner,
            study_name=name,
            directions=cast("list[Any]", list(directions)),
            load_if_exists=True,
        )
    except ValueError as exc:
        raise ConfigError(f"{source}: cannot open study {name!r}: {exc}") from None
    spec = space.spec()
    base_data = base.model_dump(mode="json")
    attrs = study.user_attrs
    if existing and SPACE_ATTR in attrs:
        stored_dirs = [d.name.lower() for d in study.directions]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            stored_names = list(study.metric_names or [])
        if stored_dirs != [d.lower() for d in directions] or stored_names != list(metric_names):
            raise ConfigError(
                f"{source}: study {name!r} optimises {study.metric_names} ({stored_dirs}), not"
                f" {list(metric_names)} ({list(directions)}); start a new study: give another"
                " --out folder (or study name)"
            )
        old_spec = json.loads(attrs[SPACE_ATTR])
        if old_spec != json.loads(json.dumps(spec, default=str)):
            changed = ", ".join(_changes(old_spec, spec)) or "the parameters"
            raise SpaceError(
                f"{source}: the search space differs from the one study {name!r} was started"
                f" with (changed: {changed}); a study's space cannot change: start a new study"
                " with another --out folder (or study name)"
            )
        old_base = json.loads(attrs.get(BASE_ATTR, "{}"))
        if old_base and old_base != base_data:
            changed = ", ".join(_changes(old_base, base_data)) or "some keys"
            raise ConfigError(
                f"{source}: the base configuration differs from the one study {name!r} was"
                f" started with (changed: {changed}); start a new study with another --out"
                " folder (or study name)"
            )
        old_parts = int(attrs.get(PARTS_ATTR, 1))
        if old_parts != parts:
            raise ConfigError(
                f"{source}: study {name!r} reports to its pruner every 1/{old_parts} epoch,"
                f" not every 1/{parts}: its trials' steps would not compare; keep"
                f" study.report_every = {1 / old_parts:g}, or start a new study with another"
                " --out folder (or study name)"
            )
        retire_stale(study)
        return study, True
    study.set_user_attr(PARTS_ATTR, int(parts))
    study.set_user_attr(SPACE_ATTR, json.dumps(spec, default=str, sort_keys=True))
    study.set_user_attr("tunelab_space_fingerprint", space.fingerprint())
    study.set_user_attr(BASE_ATTR, json.dumps(base_data, sort_keys=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(list(metric_names))
    retire_stale(study)
    return study, existing
