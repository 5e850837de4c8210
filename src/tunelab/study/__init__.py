"""Studies: search spaces, samplers and pruners by name, storage, and the cohort ask/tell loop.

A tunelab study is an Optuna study. :func:`tune` runs one (or resumes it) and returns a
:class:`StudyResult`; :func:`open_run` reopens a run folder.

Names are imported on first use, so that the words a study writes on its trials
(:class:`TrialStatus`, :class:`TrialStateName`, :data:`RETRIED_ATTR`) cost no Optuna import
to a reader that only needs them (the command line, the report).

Example:
    >>> from tunelab.study import Float, Space
    >>> Space({"optimizer.learning_rate": Float(1e-4, 1.0, log=True)}).names
    ['optimizer.learning_rate']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunelab.study._cost import CompileTrade, Prices, measured_prices, pays_to_compile
    from tunelab.study._heartbeat import Heartbeat, fail_stale
    from tunelab.study._objective import Objective, default_metric, metric_direction
    from tunelab.study._params import Categorical, Fixed, Float, Int, Param
    from tunelab.study._policy import CohortPolicy, Refill, SlotView
    from tunelab.study._recorder import TrialCallback
    from tunelab.study._result import StudyResult, open_run, trial_state
    from tunelab.study._rundir import RunDir
    from tunelab.study._samplers import CohortSampler, make_pruner, make_sampler
    from tunelab.study._scheduler import CohortScheduler
    from tunelab.study._session import SessionSettings
    from tunelab.study._shared import StudyLedger
    from tunelab.study._sizing import shared_micro_batch, structural_names
    from tunelab.study._space import Space
    from tunelab.study._stats import Progress, SessionStats
    from tunelab.study._status import (
        PARTS_ATTR,
        REASON_ATTR,
        RETRIED_ATTR,
        TrialStateName,
        TrialStatus,
        counts,
        epochs_in,
        epochs_of,
        is_retried,
    )
    from tunelab.study._storage import make_storage, open_study, retire_stale
    from tunelab.study._tune import as_tune_config, tune

_WHERE = {
    "CompileTrade": "_cost",
    "Prices": "_cost",
    "measured_prices": "_cost",
    "pays_to_compile": "_cost",
    "Heartbeat": "_heartbeat",
    "fail_stale": "_heartbeat",
    "Objective": "_objective",
    "default_metric": "_objective",
    "metric_direction": "_objective",
    "Categorical": "_params",
    "Fixed": "_params",
    "Float": "_params",
    "Int": "_params",
    "Param": "_params",
    "CohortPolicy": "_policy",
    "Refill": "_policy",
    "SlotView": "_policy",
    "TrialCallback": "_recorder",
    "StudyResult": "_result",
    "open_run": "_result",
    "trial_state": "_result",
    "RunDir": "_rundir",
    "CohortSampler": "_samplers",
    "make_pruner": "_samplers",
    "make_sampler": "_samplers",
    "StudyLedger": "_shared",
    "CohortScheduler": "_scheduler",
    "SessionSettings": "_session",
    "shared_micro_batch": "_sizing",
    "structural_names": "_sizing",
    "Space": "_space",
    "Progress": "_stats",
    "SessionStats": "_stats",
    "PARTS_ATTR": "_status",
    "REASON_ATTR": "_status",
    "RETRIED_ATTR": "_status",
    "TrialStateName": "_status",
    "TrialStatus": "_status",
    "counts": "_status",
    "epochs_in": "_status",
    "epochs_of": "_status",
    "is_retried": "_status",
    "make_storage": "_storage",
    "open_study": "_storage",
    "retire_stale": "_storage",
    "as_tune_config": "_tune",
    "tune": "_tune",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tunelab.study' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tunelab.study.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "PARTS_ATTR",
    "REASON_ATTR",
    "RETRIED_ATTR",
    "Categorical",
    "CohortPolicy",
    "CohortSampler",
    "CohortScheduler",
    "CompileTrade",
    "Fixed",
    "Float",
    "Heartbeat",
    "Int",
    "Objective",
    "Param",
    "Prices",
    "Progress",
    "Refill",
    "RunDir",
    "SessionSettings",
    "SessionStats",
    "SlotView",
    "Space",
    "StudyLedger",
    "StudyResult",
    "TrialStateName",
    "TrialCallback",
    "TrialStatus",
    "as_tune_config",
    "counts",
    "default_metric",
    "epochs_in",
    "epochs_of",
    "fail_stale",
    "is_retried",
    "make_pruner",
    "make_sampler",
    "make_storage",
    "measured_prices",
    "metric_direction",
    "open_run",
    "open_study",
    "pays_to_compile",
    "retire_stale",
    "shared_micro_batch",
    "structural_names",
    "trial_state",
    "tune",
]
