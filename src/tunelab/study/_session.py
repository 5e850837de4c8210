"""A study session's settings: one frozen record that ``tune`` builds and the scheduler reads.

:func:`~tunelab.study.tune` turns a study's ``[study]`` settings, its search space and its
storage (the trials already counted) into one :class:`SessionSettings`; the
:class:`~tunelab.study.CohortScheduler` takes it beside its collaborators (the study, the
sampler, the executor, the run folder). A new setting is one field here, set in ``tune``.

Example:
    >>> settings = SessionSettings(trials=12, width=4, epoch_budget=30)
    >>> settings.timeout is None, settings.parts, settings.fix_structure
    (True, 1, True)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SessionSettings"]


@dataclass(frozen=True)
class SessionSettings:
    """What one study session is asked to do, as plain values.

    Attributes:
        trials: Trials to start in this session (the study's budget left).
        width: Slots per cohort asked for (the policy may narrow it for a small budget).
        total: Trials in the whole study (for the display, and a shared study's count;
            None: ``trials``).
        timeout: Seconds after which no new trial is asked; trials asked before it train.
        max_epochs: The most epochs a trial can train (None: the base configuration's).
        epoch_budget: Training epochs for the whole study, summed over its trials (None: no
            limit). Trials running when it is spent end there, with the value of the epochs
            they trained; no trial starts that could not train one epoch.
        expected_epochs: Epochs a trial trains on average (see
            :func:`~tunelab.study._sizing.expected_epochs`), to turn an epoch budget into a
            number of trials when sizing cohorts (None: ``max_epochs``).
        parts: Pieces of an epoch between the pruner's reports (sub-epoch fidelity): the
            pruner's steps are ``1 / parts`` of an epoch, and cohorts train in pieces.
        report_at: Mid-epoch steps (in pieces since a trial started) where a trial reports
            to the pruner (see ``report_points``); epoch ends always do.
        shared: Other sessions may run the study at the same time: ``total`` trials and the
            epoch budget are the study's totals as its storage has them
            (:class:`~tunelab.study.StudyLedger`), a retry of another session's trial does
            not spend this session's ``trials``, and a session with nothing left to start
            waits while others' trials run where heartbeats can tell a dead session's
            trials, to retry them.
        fix_structure: Refill slots with trials asked with the structure fixed (not for a
            grid).
        depth_first: Whole epochs after which a running trial keeps its cohort's free slots
            empty (the cohort drains and narrows to it; None: every free slot is refilled).
    """

    trials: int
    width: int
    total: int | None = None
    timeout: float | None = None
    max_epochs: int | None = None
    epoch_budget: int | None = None
    expected_epochs: float | None = None
    parts: int = 1
    report_at: tuple[int, ...] = ()
    shared: bool = False
    fix_structure: bool = True
    depth_first: int | None = None
