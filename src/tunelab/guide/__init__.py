"""The guide: the tutorial's step-by-step tuning procedure, run for real.

A procedure is plain data (TOML): steps that each compare scientific hyperparameters, tune the
nuisance ones (the learning rate always) for a fair comparison, and adopt a change only when
re-runs on fresh replicate seeds show, by a one-sided paired t test at a stated alpha, that it
beats the current configuration; the scientific value is credited only when it also beats the
current value run with its nuisance values (:func:`attribute`). The package is also callable:
``tunelab.guide(data=..., budget="quick")`` runs it from a notebook (:func:`tunelab.api.guide`).

Example:
    >>> from tunelab.guide import default_procedure
    >>> [s.name for s in default_procedure("quick").selected()]
    ['topology', 'learning_rate', 'optimizer', 'batch_size']
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

from tunelab.guide._batch import BatchChoice, choose_batch, pareto_front  # noqa: E402
from tunelab.guide._credit import Attribution, ablation_label, attribute  # noqa: E402
from tunelab.guide._evidence import compare, replicate_runs  # noqa: E402
from tunelab.guide._lr_range import RangeTest, lr_range_test, plot_range_test  # noqa: E402
from tunelab.guide._procedure import (  # noqa: E402
    BUDGET_FIELDS,
    KINDS,
    LEVELS,
    STEP_FIELDS,
    Budget,
    Procedure,
    Step,
    default_procedure,
    load_procedure,
    parse_procedure,
)
from tunelab.guide._record import GuideRun  # noqa: E402
from tunelab.guide._runner import (  # noqa: E402
    GUIDE_CALLBACKS,
    GuideResult,
    guide_callbacks,
    run_guide,
)

__all__ = [
    "GUIDE_CALLBACKS",
    "BUDGET_FIELDS",
    "KINDS",
    "LEVELS",
    "STEP_FIELDS",
    "Attribution",
    "BatchChoice",
    "Budget",
    "GuideResult",
    "GuideRun",
    "Procedure",
    "RangeTest",
    "Step",
    "ablation_label",
    "attribute",
    "choose_batch",
    "compare",
    "default_procedure",
    "load_procedure",
    "lr_range_test",
    "pareto_front",
    "parse_procedure",
    "plot_range_test",
    "replicate_runs",
    "guide_callbacks",
    "run_guide",
]

from tunelab._callable import callable_module  # noqa: E402

callable_module(__name__, "tunelab.api:guide")
