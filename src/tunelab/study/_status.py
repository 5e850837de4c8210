"""The words a study writes on its trials: how a trial ended, its state, and the attributes.

Each is defined here once; the study's writers (the recorder, the scheduler, the storage's
retries) and its readers (:func:`tunelab.study.trial_state`, ``tunelab trials``, the report)
import them. ``StrEnum`` members are ``str``: they compare equal to the plain words a
study stores, so studies written before these enums existed read the same.

Example:
    >>> TrialStatus("budget") is TrialStatus.BUDGET, TrialStateName.RETRIED == "retried"
    (True, True)
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "REASON_ATTR",
    "RETRIED_ATTR",
    "PARTS_ATTR",
    "RETRY_OF_ATTR",
    "STATUS_ATTR",
    "TrialStateName",
    "TrialStatus",
]

#: User attribute: why a trial failed (``"diverged: ..."``, ``"error: ..."``, ...).
REASON_ATTR = "reason"
#: User attribute: True on a trial stopped unfinished (Ctrl-C, a dead process, the study's
#: timeout) and enqueued again; it is not a failure of its configuration.
RETRIED_ATTR = "tunelab_retried"
#: Study user attribute: the pruner's steps per epoch its trials report in (``1 /
#: report_every``; sub-epoch fidelity). Absent: one, a step per epoch.
PARTS_ATTR = "tunelab_report_parts"
#: User attribute of the enqueued copy: the number of the trial it retries.
RETRY_OF_ATTR = "tunelab_retry_of"
#: User attribute: how the trial's training ended, a :class:`TrialStatus`.
STATUS_ATTR = "status"


class TrialStatus(StrEnum):
    """How a trial's training ended: its ``status`` user attribute.

    The first four are the engine's own ends of a slot; ``pruned`` is the pruner's verdict and
    ``budget`` the study's epoch budget running out while the trial trained.
    """

    DONE = "done"
    EARLY_STOPPED = "early_stopped"
    DIVERGED = "diverged"
    STOPPED = "stopped"
    PRUNED = "pruned"
    BUDGET = "budget"


class TrialStateName(StrEnum):
    """The state tunelab shows for a trial: Optuna's, with its failures told apart.

    ``diverged`` and ``failed`` are Optuna's FAIL by their reason; ``retried`` is a FAIL that
    was stopped unfinished and enqueued again (:data:`RETRIED_ATTR`), never counted as a
    failure.
    """

    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"
    DIVERGED = "diverged"
    RETRIED = "retried"
    RUNNING = "running"
    WAITING = "waiting"
