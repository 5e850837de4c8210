"""Executors: where cohorts train. They train and answer; they never touch the study.

Example:
    >>> from tunelab.execute import make_executor
    >>> make_executor("processes", workers=2).lanes
    2
"""

from tunelab.execute._base import Borrowed, Executor
from tunelab.execute._drive import Policy, drive
from tunelab.execute._fit import fit, fit_cohort
from tunelab.execute._local import LocalExecutor
from tunelab.execute._make import EXECUTORS, make_executor
from tunelab.execute._processes import ProcessExecutor
from tunelab.execute._protocol import FINISHED, Assignment, SlotReport, StepRequest, StepResult
from tunelab.execute._ray import RayExecutor
from tunelab.execute._run import Run, RunsProgress, train_runs
from tunelab.execute._worker import CohortWorker

__all__ = [
    "EXECUTORS",
    "FINISHED",
    "Assignment",
    "Borrowed",
    "CohortWorker",
    "Executor",
    "LocalExecutor",
    "Policy",
    "ProcessExecutor",
    "RayExecutor",
    "Run",
    "RunsProgress",
    "SlotReport",
    "StepRequest",
    "StepResult",
    "drive",
    "fit",
    "fit_cohort",
    "make_executor",
    "train_runs",
]
