"""The messages between a study's driver and the place where a cohort trains.

Plain picklable data, so the same messages travel to an in-process worker, to worker
processes through pipes, or to Ray actors. One :class:`StepRequest` asks a worker to save
finished slots, stop slots, fill slots with new configurations, and run one epoch; one
:class:`StepResult` answers with each slot's epoch log and what finished.

Example:
    >>> req = StepRequest(assigns={0: Assignment(config={"seed": 1}, tag=7)})
    >>> req.assigns[0].tag, req.run_epoch
    (7, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tunelab.runs import FINISHED, SlotStatus

__all__ = ["FINISHED", "Assignment", "SlotReport", "StepRequest", "StepResult"]


@dataclass
class Assignment:
    """A configuration for one slot.

    Attributes:
        config: A RunConfig as plain data.
        tag: What the driver calls this run (a trial number, a run index).
        out_dir: Folder for the run's callback files (checkpoints, CSV log), if any.
        callbacks: Extra callback objects for this run (they run where the cohort trains).
        record_steps: Keep the loss of every update step (a learning-rate range test).
        report_at: Positions in mid-epoch, in pieces since the start, where the slot also
            reports its validation values (sub-epoch fidelity; see ``Cohort.run_part``).
    """

    config: dict[str, Any]
    tag: int
    out_dir: str | None = None
    callbacks: list[Any] = field(default_factory=list)
    record_steps: bool = False
    report_at: list[int] = field(default_factory=list)


@dataclass
class StepRequest:
    """One round of work for one worker.

    Attributes:
        template: A RunConfig as plain data that opens a cohort of its structure (kept when
            the worker's cohort already has that structure and width).
        width: Slots in the cohort opened by ``template``.
        saves: Slot -> path: write that slot's model as ``.keras`` (atomically) first.
        stops: Slot -> reason: stop these slots (for example "pruned") next. Saves and stops
            address the cohort open before this request, even when ``template`` opens
            another one.
        keep: Then narrow the open cohort to these slots, in this order (slot ``keep[i]``
            becomes slot ``i``; see ``Cohort.narrow``); None keeps it as it is.
        assigns: Slot -> configuration: (re)initialise these slots in place after that.
        run_epoch: Then train one epoch of every running slot.
        data: The dataset object to train on, instead of loading ``template``'s ``data``
            section. Executors send it to a lane once: a later request with the same
            ``data_key`` arrives without it and the worker reuses its copy.
        data_key: Names ``data`` (required with it).
        builder: A Python callable building the model (instead of ``model.builder``).
        collect: A slot that finishes comes back with its weights and test metrics.
        replicates: With ``template``: open a cohort of these replicate groups (equal groups
            of slots in order; see ``Cohort``); None: one group, the template's seed.
        parts: With ``template``: the cohort trains an epoch in this many pieces, and
            ``run_epoch`` trains one piece (sub-epoch fidelity).
    """

    template: dict[str, Any] | None = None
    width: int = 1
    saves: dict[int, str] = field(default_factory=dict)
    stops: dict[int, str] = field(default_factory=dict)
    keep: list[int] | None = None
    assigns: dict[int, Assignment] = field(default_factory=dict)
    run_epoch: bool = True
    data: Any = None
    data_key: str | None = None
    builder: Any = None
    collect: bool = False
    replicates: list[int] | None = None
    parts: int = 1


@dataclass
class SlotReport:
    """What one slot did in one epoch.

    Attributes:
        tag: The trial the slot trains.
        status: The engine's slot status after the epoch: ``running``, ``done``,
            ``early_stopped``, ``diverged``, ``stopped``.
        log: The epoch's values (loss, val_loss, val metric, lr, seconds, ...).
        history: The slot's whole history, sent once the slot has finished.
        step_losses: Every update step's loss, once finished (``record_steps`` runs).
        weights: The slot's (trainable, non-trainable) arrays, once finished (``collect``).
        test: Its test-split loss and metrics, once finished (``collect``).
        partial: The log is a mid-epoch report (``progress`` in epochs and validation
            values, not an epoch of the history).
    """

    tag: int
    status: SlotStatus
    log: dict[str, float]
    history: dict[str, list[float]] | None = None
    step_losses: list[float] | None = None
    weights: tuple[list[Any], list[Any]] | None = None
    test: dict[str, float] | None = None
    partial: bool = False


@dataclass
class StepResult:
    """A worker's answer to one :class:`StepRequest`.

    Attributes:
        slots: Slot -> report, for every slot that trained this epoch.
        saved: Slot -> path written. ``save_errors``/``assign_errors``: slot -> message.
        compile_seconds: Seconds spent compiling during this step.
        train_seconds: Seconds spent training during this step.
        running: Slots running after the step.
        spec: The model's data spec (input shape, task, outputs), with ``collect``.
        error: Set when the cohort itself failed (every slot's trial fails with it).
        error_kind: The :mod:`tunelab.errors` class of that failure when it was bad input
            (``ConfigError``, ``DataError``...), so the driver raises the same kind.
        retries: Times the executor ran this request again on a new worker because the one
            running it was lost (a Ray node gone); the answer is the retry's, given once.
        trained: Slots that trained in this step.
        fraction: The part of an epoch each of them trained (1, or one piece's share).
    """

    slots: dict[int, SlotReport] = field(default_factory=dict)
    saved: dict[int, str] = field(default_factory=dict)
    save_errors: dict[int, str] = field(default_factory=dict)
    assign_errors: dict[int, str] = field(default_factory=dict)
    compile_seconds: float = 0.0
    train_seconds: float = 0.0
    running: list[int] = field(default_factory=list)
    spec: Any = None
    error: str | None = None
    error_kind: str | None = None
    retries: int = 0
    trained: int = 0
    fraction: float = 1.0
