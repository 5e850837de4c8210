"""Train a list of configurations to their end through an executor: the one training path.

:func:`train_runs` is what ``fit``, ``fit_cohort``, the guide's evidence re-runs, its
learning-rate range tests and its final models call. It groups the runs into cohorts (one per
structure, or one per structure and replicate seed), sends each cohort's requests to an idle
lane of the executor, refills freed slots from the same group, and gathers one
:class:`~tunelab.train.Result` per run. It runs on the one driver loop,
:func:`~tunelab.execute.drive`, with a first-in-first-out policy; a study session runs on the
same loop with its own policy (asking, pruning and telling).

**Replicates.** A run's seed decides everything random in it: initial arrays, dropout masks,
and (because a cohort's data order comes from its seed) the order of the minibatches. With
``cohorts="replicate"`` runs share a data order only when they share their seed — one cohort
per replicate, or, where every replicate of a structure has as many runs, one cohort split into
replicate groups, each on its own seed's order — so two configurations trained with the same
seed saw the same data order: their scores are a genuine pair.

Example:
    >>> from tunelab.config import parse_config
    >>> from tunelab.data import load_dataset
    >>> cfgs = [parse_config({"training": {"epochs": 2, "batch_size": 128}, "seed": s})
    ...         for s in (1, 2)]
    >>> results = train_runs(cfgs, load_dataset("digits"), cohorts="replicate")
    >>> [str(r.status) for r in results], results[0].config.seed
    (['done', 'done'], 1)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tunelab import errors
from tunelab._interrupt import latched
from tunelab.config import RunConfig
from tunelab.errors import ConfigError, TrialError
from tunelab.execute._base import Executor
from tunelab.execute._drive import drive
from tunelab.execute._local import LocalExecutor
from tunelab.execute._protocol import Assignment, SlotReport, StepRequest, StepResult
from tunelab.model import Builder
from tunelab.runs import SlotStatus
from tunelab.train import Callback, DatasetLike, Result, structure_key

__all__ = ["Run", "RunsProgress", "train_runs"]

Grouping = Literal["structure", "replicate"]


@dataclass
class Run:
    """One configuration to train, with what it needs besides its configuration.

    Attributes:
        config: The configuration.
        out_dir: Folder for its callbacks' files (checkpoints, CSV log).
        callbacks: Extra callback objects for this run.
        record_steps: Keep every update step's loss (``Result.step_losses``).
    """

    config: RunConfig
    out_dir: str | os.PathLike[str] | None = None
    callbacks: Sequence[Callback] = ()
    record_steps: bool = False


@dataclass
class RunsProgress:
    """Where a :func:`train_runs` call stands, after every cohort epoch.

    Attributes:
        epochs_done: Epochs trained or skipped (early stopping) so far, over every run.
        epochs_total: Epochs of every run's budget.
        logs: This epoch's logs, by run index.
        running: Runs training now.
        width: Slots of the cohort that trained this epoch.
    """

    epochs_done: int
    epochs_total: int
    logs: dict[int, dict[str, float]]
    running: int
    width: int


@dataclass
class _Group:
    runs: list[int]
    width: int
    queue: list[int] = field(default_factory=list)
    replicates: list[int] | None = None


def _merge_replicates(groups: dict[Hashable, _Group], items: list[Run], width: int | None
                      ) -> dict[Hashable, _Group]:
    """One cohort for every replicate of a structure, where each replicate has as many runs
    (two or more).

    Its slots split into one group per replicate seed, each group on its seed's data order
    (``Cohort(replicates=...)``): the same runs as one cohort per replicate, trained at once.
    """
    by_structure: dict[Hashable, list[tuple[int, _Group]]] = {}
    for pair, group in groups.items():
        parts_of: tuple[Hashable, int] = pair  # type: ignore[assignment]
        by_structure.setdefault(parts_of[0], []).append((int(parts_of[1]), group))
    out: dict[Hashable, _Group] = {}
    for structure, parts in by_structure.items():
        sizes = {len(g.runs) for _, g in parts}
        total = sum(len(g.runs) for _, g in parts)
        # Grouping pays when a group shares its minibatch between two or more slots (the
        # fused first layer); one run per replicate trains faster as cohorts of one (the
        # unbatched path) than as a batch of unrelated products (measured on Fashion-MNIST).
        if len(parts) > 1 and sizes == {len(parts[0][1].runs)} and min(sizes) >= 2 \
                and (width is None or total <= width):
            runs = [i for _, g in parts for i in g.runs]
            out[structure] = _Group(runs, total, replicates=[seed for seed, _ in parts])
        else:
            out.update({(structure, seed): g for seed, g in parts})
    return out


@dataclass
class _Lane:
    group: _Group | None = None
    slots: dict[int, int] = field(default_factory=dict)  # slot -> run index
    compile_seconds: float = 0.0
    train_seconds: float = 0.0
    members: list[int] = field(default_factory=list)
    cohort: int = -1


def _data_key(data: DatasetLike) -> str:
    return f"{getattr(data, 'name', 'data')}#{id(data)}"


def train_runs(
    runs: Sequence[Run | RunConfig],
    data: DatasetLike,
    *,
    executor: Executor | None = None,
    width: int | None = None,
    cohorts: Grouping = "structure",
    builder: Builder | None = None,
    collect: bool = True,
    on_epoch: Callable[[RunsProgress], None] | None = None,
) -> list[Result]:
    """Train every run to its end; return one :class:`~tunelab.train.Result` per run, in order.

    Args:
        runs: Configurations (or :class:`Run` with callbacks and folders).
        data: The dataset every run trains on.
        executor: Where cohorts train (default: this process). An executor given is left
            open, so a guide can use one for all its work.
        width: Slots per cohort (default: every run of a group at once).
        cohorts: ``structure``: runs that share a structure share cohorts; ``replicate``:
            runs share a cohort only when they also share their seed (a paired design).
        builder: A Python callable that builds the model (instead of ``model.builder``).
        collect: Bring back each run's weights and test metrics (``Result.model()`` needs
            them); without, only histories come back.
        on_epoch: Called after every cohort epoch with a :class:`RunsProgress`.

    Raises:
        ConfigError: No runs, a bad width, or a configuration that cannot train.
        TrialError: A cohort failed (the executor's message).
    """
    items = [r if isinstance(r, Run) else Run(r) for r in runs]
    if not items:
        raise ConfigError("nothing to train: give at least one configuration")
    if width is not None and width < 1:
        raise ConfigError(f"width: must be >= 1, got {width}")
    groups: dict[Hashable, _Group] = {}
    for i, run in enumerate(items):
        key: Hashable = structure_key(run.config, builder)
        if cohorts == "replicate":
            key = (key, int(run.config.seed))
        groups.setdefault(key, _Group([], 0)).runs.append(i)
    if cohorts == "replicate":
        groups = _merge_replicates(groups, items, width)
    for group in groups.values():
        group.width = min(width or len(group.runs), len(group.runs))
        group.queue = list(group.runs)
    owned = executor is None
    ex = executor or LocalExecutor()
    policy = _FirstInFirstOut(items, list(groups.values()), ex.lanes, data, builder, collect,
                              on_epoch)
    with latched():
        try:
            if owned:
                ex.start()
            drive(ex, policy)
        finally:
            if owned:
                ex.close()
            else:
                # A lent executor goes on serving its owner: leave no answer in flight.
                while ex.busy():
                    ex.wait()
    return [policy.results[i] for i in range(len(items))]


class _FirstInFirstOut:
    """:func:`train_runs`'s policy for :func:`~tunelab.execute.drive`: groups open cohorts in
    order, a freed slot takes its group's next run, every run trains to its end."""

    def __init__(self, items: list[Run], groups: list[_Group], lanes: int, data: DatasetLike,
                 builder: Builder | None, collect: bool,
                 on_epoch: Callable[[RunsProgress], None] | None) -> None:
        self.items, self.pending, self.data = items, groups, data
        self.builder, self.collect, self.on_epoch = builder, collect, on_epoch
        self.lanes = [_Lane() for _ in range(lanes)]
        self.key = _data_key(data)
        self.total = sum(int(r.config.training.epochs) for r in items)
        self.state = {"done": 0, "cohorts": 0}
        self.results: dict[int, Result] = {}

    def request(self, lane_no: int) -> StepRequest | None:
        lane = self.lanes[lane_no]
        if lane.group is not None:
            request = StepRequest(data_key=self.key, builder=self.builder,
                                  collect=self.collect)
            _refill(lane, self.items, request)
            if lane.slots:
                return request
            lane.group = None  # its runs all finished: the lane opens the next group
        todo = next((g for g in self.pending if g.queue), None)
        if todo is None:
            return None
        lane.group, lane.slots, lane.members = todo, {}, []
        lane.compile_seconds = lane.train_seconds = 0.0
        lane.cohort, self.state["cohorts"] = self.state["cohorts"], self.state["cohorts"] + 1
        template = self.items[todo.queue[0]].config
        request = StepRequest(template=template.model_dump(mode="json"), width=todo.width,
                              data=self.data, data_key=self.key, builder=self.builder,
                              collect=self.collect, replicates=todo.replicates)
        _refill(lane, self.items, request)
        return request

    def absorb(self, lane_no: int, answer: StepResult) -> None:
        _absorb(self.lanes[lane_no], answer, self.items, self.data, self.builder, self.results,
                self.state, self.total, self.on_epoch)

    def idle(self) -> bool:
        if len(self.results) < len(self.items):
            raise TrialError("training stalled: no cohort is running and runs are left")
        return False

    def waiting(self) -> None:
        pass

    def after_round(self) -> None:
        pass


def _refill(lane: _Lane, items: list[Run], request: StepRequest) -> None:
    """Fill the lane's free slots from its group's queue, into ``request``."""
    group = lane.group
    assert group is not None
    for slot in range(group.width):
        if slot in lane.slots or not group.queue:
            continue
        i = group.queue.pop(0)
        run = items[i]
        request.assigns[slot] = Assignment(
            config=run.config.model_dump(mode="json"), tag=i,
            out_dir=None if run.out_dir is None else os.fspath(run.out_dir),
            callbacks=list(run.callbacks), record_steps=run.record_steps)
        lane.slots[slot] = i
        lane.members.append(i)


def _absorb(lane: _Lane, answer: StepResult, items: list[Run], data: DatasetLike,
            builder: Builder | None, results: dict[int, Result], state: dict[str, int],
            total: int, on_epoch: Callable[[RunsProgress], None] | None) -> None:
    """Take one answer: errors, finished runs, progress."""
    if answer.error is not None:
        kind = getattr(errors, answer.error_kind or "", None)
        if isinstance(kind, type) and issubclass(kind, errors.TunelabError):
            raise kind(answer.error)  # bad input: the same error the engine raised
        raise TrialError(f"training failed: {answer.error}")
    if answer.assign_errors:
        slot, message = next(iter(answer.assign_errors.items()))
        raise ConfigError(f"run {lane.slots.get(slot, slot)}: {message}")
    lane.compile_seconds += answer.compile_seconds
    lane.train_seconds += answer.train_seconds
    logs: dict[int, dict[str, float]] = {}
    for slot, report in answer.slots.items():
        i = lane.slots[slot]
        logs[i] = report.log
        state["done"] += 1
        if report.status != SlotStatus.RUNNING:
            run = items[i]
            trained = len((report.history or {}).get("loss", []))
            state["done"] += max(0, int(run.config.training.epochs) - trained)
            results[i] = _result(run, report, answer, lane, data, builder)
            del lane.slots[slot]
    for i in lane.members:
        if i in results:  # timings are the cohort's, shared by its runs
            results[i].compile_seconds = lane.compile_seconds
            results[i].train_seconds = lane.train_seconds
    if on_epoch is not None and logs:
        width = lane.group.width if lane.group is not None else len(logs)
        on_epoch(RunsProgress(state["done"], total, logs, len(lane.slots), width))


def _result(run: Run, report: SlotReport, answer: StepResult, lane: _Lane, data: DatasetLike,
            builder: Builder | None) -> Result:
    from tunelab.train import model_spec

    history = report.history or {}
    final = {k: v[-1] for k, v in history.items() if v and k not in ("epoch", "seconds")}
    final.update(report.test or {})
    spec = answer.spec if answer.spec is not None else model_spec(data)
    return Result(config=run.config, history=history, status=SlotStatus(report.status),
                  final=final, compile_seconds=lane.compile_seconds,
                  train_seconds=lane.train_seconds, dataset=str(data.name), spec=spec,
                  weights=report.weights, builder=builder, tag=report.tag,
                  step_losses=list(report.step_losses or []), cohort=lane.cohort)
