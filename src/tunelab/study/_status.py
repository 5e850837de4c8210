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

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Protocol

__all__ = [
    "EPOCHS_ATTR",
    "REASON_ATTR",
    "RETRIED_ATTR",
    "PARTS_ATTR",
    "RETRY_OF_ATTR",
    "STATUS_ATTR",
    "TrialStateName",
    "TrialStatus",
    "counts",
    "epochs_in",
    "epochs_of",
    "is_retried",
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
#: User attribute: the epochs the trial trained (kept up to date while it trains in a study
#: whose sessions share an epoch budget).
EPOCHS_ATTR = "epochs"


class _Stored(Protocol):
    """What the definitions below read of a trial (an Optuna ``FrozenTrial``)."""

    @property
    def state(self) -> Any: ...

    @property
    def user_attrs(self) -> dict[str, Any]: ...


def is_retried(trial: _Stored) -> bool:
    """Whether ``trial`` was stopped unfinished and enqueued again (a FAIL marked
    :data:`RETRIED_ATTR`): no failure of its configuration; its copy runs instead.

    Example:
        >>> import optuna
        >>> fail = optuna.trial.TrialState.FAIL
        >>> is_retried(optuna.trial.create_trial(state=fail, user_attrs={RETRIED_ATTR: True}))
        True
    """
    return str(trial.state.name) == "FAIL" and bool(trial.user_attrs.get(RETRIED_ATTR))


def counts(trial: _Stored) -> bool:
    """Whether ``trial`` counts toward the study's trials and epochs: a trial retried does
    not (its copy does), every other one does, finished or running.

    Example:
        >>> import optuna
        >>> counts(optuna.trial.create_trial(value=0.5))
        True
    """
    return not is_retried(trial)


def epochs_of(trial: _Stored) -> int:
    """The epochs a stored trial trained (:data:`EPOCHS_ATTR`; 0 when it never said)."""
    return int(trial.user_attrs.get(EPOCHS_ATTR, 0))


def epochs_in(history: Mapping[str, Sequence[float]]) -> int:
    """The epochs in a history or a live trial's logs: one loss value per epoch.

    Example:
        >>> epochs_in({"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]}), epochs_in({})
        (2, 0)
    """
    return len(history.get("loss", ()))


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
