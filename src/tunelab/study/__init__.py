"""Studies: search spaces, samplers and pruners by name, storage, and the cohort ask/tell loop.

A tunelab study is an Optuna study. :func:`tune` runs one (or resumes it) and returns a
:class:`StudyResult`; :func:`open_run` reopens a run folder.

Example:
    >>> from tunelab.study import Float, Space
    >>> Space({"optimizer.learning_rate": Float(1e-4, 1.0, log=True)}).names
    ['optimizer.learning_rate']
"""

from tunelab.study._objective import Objective, default_metric, metric_direction
from tunelab.study._params import Categorical, Fixed, Float, Int, Param
from tunelab.study._result import StudyResult, open_run, trial_state
from tunelab.study._rundir import RunDir
from tunelab.study._samplers import CohortSampler, make_pruner, make_sampler
from tunelab.study._scheduler import CohortScheduler
from tunelab.study._sizing import structural_names
from tunelab.study._space import Space
from tunelab.study._stats import Progress, SessionStats
from tunelab.study._storage import make_storage, open_study, retire_stale
from tunelab.study._tune import as_tune_config, tune

__all__ = [
    "Categorical",
    "CohortSampler",
    "CohortScheduler",
    "Fixed",
    "Float",
    "Int",
    "Objective",
    "Param",
    "Progress",
    "RunDir",
    "SessionStats",
    "Space",
    "StudyResult",
    "as_tune_config",
    "default_metric",
    "make_pruner",
    "make_sampler",
    "make_storage",
    "metric_direction",
    "open_run",
    "open_study",
    "retire_stale",
    "structural_names",
    "trial_state",
    "tune",
]
