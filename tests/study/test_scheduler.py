"""The cohort ask/tell loop, driven against a simulated executor (fast, deterministic).

The simulated executor follows the engine's contract: a slot's validation accuracy climbs
with its epochs, faster for a learning rate near 0.1; a learning rate above 1 diverges.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from tunelab.config import RunConfig, parse_config
from tunelab.execute import Executor, SlotReport, StepRequest, StepResult
from tunelab.study import (
    CohortSampler,
    CohortScheduler,
    Objective,
    RunDir,
    SessionSettings,
    Space,
    TrialStateName,
    TrialStatus,
    make_pruner,
    make_sampler,
    open_study,
    structural_names,
    trial_state,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def key_fn(cfg: RunConfig) -> Hashable:
    from tunelab.model import hidden_widths

    return (cfg.training.batch_size, cfg.optimizer.name, tuple(hidden_widths(cfg.model)))


class FakeExecutor(Executor):
    """Cohorts simulated in a few lines; records what the driver asked of it."""

    def __init__(self, lanes: int = 1, interrupt_after: int | None = None,
                 fail_on_batch: int | None = None) -> None:
        self._lanes = lanes
        self._pending: dict[int, StepRequest] = {}
        self._state: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[int, StepRequest]] = []
        self.results: list[StepResult] = []
        self.widths: list[int] = []
        self.opened: list[Hashable] = []
        self.narrowed: list[int] = []
        self.depth_at_assign: list[int] = []  # most epochs of a running slot, per refill
        self.interrupt_after = interrupt_after
        self.fail_on_batch = fail_on_batch
        self.waits = 0

    @property
    def lanes(self) -> int:
        return self._lanes

    def submit(self, lane: int, request: StepRequest) -> None:
        assert lane not in self._pending
        self._pending[lane] = request
        self.requests.append((lane, request))

    def busy(self) -> set[int]:
        return set(self._pending)

    def wait(self, timeout: float | None = None) -> list[tuple[int, StepResult]]:
        self.waits += 1
        if self.interrupt_after is not None and self.waits > self.interrupt_after:
            raise KeyboardInterrupt
        out = [(lane, self._handle(lane, req)) for lane, req in sorted(self._pending.items())]
        self._pending.clear()
        self.results += [r for _, r in out]
        return out

    def _handle(self, lane: int, req: StepRequest) -> StepResult:
        state = self._state.setdefault(lane, {"key": None, "slots": {}, "width": 0})
        result = StepResult()
        for slot, path in req.saves.items():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(path, "w") as archive:  # shaped like a .keras file
                archive.writestr("config.json", f'{{"model of slot": {slot}}}')
            result.saved[slot] = path
        for slot in req.stops:  # like the worker: stops address the cohort open before
            assert 0 <= slot < state["width"], f"stop for slot {slot} of {state['width']}"
            state["slots"].pop(slot, None)
        if req.keep is not None:  # like Cohort.narrow: running slots move, none is dropped
            assert req.template is None and not set(state["slots"]) - set(req.keep)
            state["slots"] = {new: state["slots"][old] for new, old in enumerate(req.keep)
                              if old in state["slots"]}
            state["width"] = len(req.keep)
            self.narrowed.append(len(req.keep))
        if req.template is not None:
            cfg = RunConfig.model_validate(req.template)
            if cfg.training.batch_size == self.fail_on_batch:
                result.error = "ConfigError: training.batch_size: too large for this data"
                return result
            state["key"], state["slots"], state["width"] = key_fn(cfg), {}, req.width
            self.opened.append(state["key"])
            self.widths.append(req.width)
            result.compile_seconds = 1.0
        if req.assigns and req.template is None:
            self.depth_at_assign.append(max(
                (len(s["hist"].get("loss", [])) for s in state["slots"].values()), default=0))
        for slot, a in req.assigns.items():
            assert 0 <= slot < state["width"], f"assign to slot {slot} of {state['width']}"
            cfg = RunConfig.model_validate(a.config)
            if key_fn(cfg) != state["key"]:
                result.assign_errors[slot] = "structure differs from the cohort's"
                continue
            state["slots"][slot] = {"cfg": cfg, "tag": a.tag, "hist": {}}
        if req.run_epoch:
            for slot, s in sorted(state["slots"].items()):
                cfg, hist = s["cfg"], s["hist"]
                epoch = len(hist.get("loss", []))
                lr = float(cfg.optimizer.learning_rate or 0.01)
                quality = max(0.0, 1.0 - abs(math.log10(lr) + 1.0) / 3.0)
                acc = quality * (1 - 0.5 ** (epoch + 1))
                loss = float("nan") if lr > 1.0 else 1.0 - acc
                log = {"epoch": float(epoch), "loss": loss, "val_loss": loss,
                       "val_accuracy": acc, "lr": lr,
                       "seconds": 0.01 * 64 / cfg.training.batch_size}
                for k, v in log.items():
                    hist.setdefault(k, []).append(v)
                done = epoch + 1 >= cfg.training.epochs
                status = "diverged" if lr > 1.0 else ("done" if done else "running")
                result.slots[slot] = SlotReport(s["tag"], status, log,
                                                None if status == "running" else hist)
                if status != "running":
                    del state["slots"][slot]
            result.train_seconds = 0.01 * len(result.slots)
            result.trained = len(result.slots)
        result.running = sorted(state["slots"])
        return result


BASE = parse_config({"training": {"epochs": 3, "batch_size": 64},
                     "optimizer": {"learning_rate": 0.1}})


def _scheduler(tmp_path: Path, space: Space, *, trials: int = 12, width: int = 4,
               sampler: str = "random", pruner: str = "none", metrics=("val_accuracy",),
               executor: FakeExecutor | None = None, timeout: float | None = None,
               base: RunConfig = BASE, seed: int = 0,
               callbacks: Any = (),
               depth_first: int | None = None) -> tuple[CohortScheduler, FakeExecutor]:
    obj = Objective(list(metrics))
    cs = CohortSampler(make_sampler(sampler, seed=seed, space=space, n_objectives=len(metrics)))
    study, _ = open_study(storage=None, name="t", directions=obj.directions, sampler=cs,
                          pruner=make_pruner(pruner, n_objectives=len(metrics), startup_trials=2,
                                             warmup_epochs=0),
                          space=space, base=base, metric_names=obj.metrics)
    ex = executor or FakeExecutor()
    settings = SessionSettings(trials=trials, width=width, timeout=timeout,
                               fix_structure=sampler != "grid", depth_first=depth_first)
    sched = CohortScheduler(study=study, sampler=cs, space=space, base=base, objective=obj,
                            executor=ex, run_dir=RunDir(tmp_path).make(), settings=settings,
                            key_fn=key_fn, callbacks=callbacks)
    return sched, ex


LR = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True}})


def test_one_structure_keeps_every_lane_busy(tmp_path: Path) -> None:
    sched, ex = _scheduler(tmp_path, LR, trials=12, width=4)
    stats = sched.run()
    states = [t.state for t in sched.study.trials]
    assert states == [TrialState.COMPLETE] * 12
    assert stats.mean_cohort_width == 4.0
    assert stats.cohorts == 1 and ex.opened == [(64, "SGD", (64, 64))]
    assert stats.compile_seconds == 1.0 and stats.started == 12
    for t in sched.study.trials:
        folder = tmp_path / "trials" / str(t.number)
        assert (folder / "history.json").exists() and (folder / "config.toml").exists()
        assert t.user_attrs["epochs"] == 3 and t.user_attrs["status"] == "done"


def test_pruned_slots_are_stopped_and_refilled(tmp_path: Path) -> None:
    sched, ex = _scheduler(tmp_path, LR, trials=16, width=4, pruner="median")
    stats = sched.run()
    pruned = [t for t in sched.study.trials if t.state == TrialState.PRUNED]
    assert pruned, "some trials are below the median"
    stops = {req.stops.get(slot) for _, req in ex.requests for slot in req.stops}
    assert stops == {"pruned"}
    assert all(len(t.intermediate_values) < 3 for t in pruned)
    # TPE learns from pruned trials by their deepest intermediate value (Optuna ranks them
    # by step, then value): each was told with the value of its last epoch at that step.
    for t in pruned:
        deepest = max(t.intermediate_values)
        assert deepest == t.user_attrs["epochs"]
        assert t.intermediate_values[deepest] == t.user_attrs["last"]["val_accuracy"]
    # Refilled slots keep the cohort full until the budget runs out.
    assert stats.mean_cohort_width > 3.0
    assert stats.finished["pruned"] == len(pruned)


def test_callbacks_see_every_trial_right_after_it_is_told(tmp_path: Path) -> None:
    """Optuna's ``optimize(callbacks=)`` contract: each callback, in order, gets the study and
    the told trial (COMPLETE, PRUNED or FAIL) once, when that trial is already finished in
    the storage."""
    seen: list[tuple[str, int, TrialState, TrialState]] = []

    def recorder(name: str) -> Any:
        def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            stored = study.get_trials(deepcopy=False)[trial.number].state
            seen.append((name, trial.number, trial.state, stored))
        return callback

    space = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 3.0, "log": True}})
    sched, _ = _scheduler(tmp_path, space, trials=16, width=4, pruner="median", seed=1,
                          callbacks=[recorder("a"), recorder("b")])
    sched.run()
    trials = sched.study.trials
    states = {t.state for t in trials}
    assert {TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL} <= states
    assert [(n, s) for name, n, s, _ in seen if name == "a"] == \
        [(n, s) for name, n, s, _ in seen if name == "b"]
    assert seen[0::2] == [("a", *row[1:]) for row in seen[1::2]], "a before b, each trial"
    assert sorted(n for name, n, _, _ in seen if name == "a") == [t.number for t in trials]
    assert all(told == stored and told.is_finished() for _, _, told, stored in seen)
    assert {n: s for _, n, s, _ in seen} == {t.number: t.state for t in trials}


def test_slots_that_reach_a_rung_together_compete_there_together(tmp_path: Path) -> None:
    """Successive halving keeps the top 1/3 of the trials at a rung. A cohort's slots report
    the same epoch at once: all are reported before the pruner is asked about any, so 8
    trials at the first rung leave 8 // 3 = 2, the best two, whatever their slots (asked one
    by one, the first slot would meet no rival at its rung and always be promoted)."""
    sched, _ = _scheduler(tmp_path, LR, trials=8, width=8, pruner="asha")
    sched.run()
    trials = sched.study.trials
    first = sorted(trials, key=lambda t: -t.intermediate_values[1])
    survivors = [t.number for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(survivors) == sorted(t.number for t in first[:2])
    assert all(t.state == TrialState.PRUNED for t in first[2:])


def test_structures_train_in_their_own_cohorts(tmp_path: Path) -> None:
    space = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True},
                   "training.batch_size": [32, 64, 128], "optimizer.name": ["SGD", "Adam"]})
    assert structural_names(space, BASE, key_fn) == ["training.batch_size", "optimizer.name"]
    sched, ex = _scheduler(tmp_path, space, trials=30, width=4)
    stats = sched.run()
    assert all(t.state == TrialState.COMPLETE for t in sched.study.trials)
    assert len(sched.study.trials) == 30
    assert not any(r.assign_errors for r in ex.results), "every slot got its structure"
    assert stats.cohorts >= 2 and len(set(ex.opened)) >= 2
    assert stats.mean_cohort_width >= 2.0


def test_diverged_trials_fail_with_the_reason_and_are_never_best(tmp_path: Path) -> None:
    space = Space({"optimizer.learning_rate": {"low": 1e-2, "high": 1e3, "log": True}})
    sched, _ = _scheduler(tmp_path, space, trials=12, width=4)
    sched.run()
    failed = [t for t in sched.study.trials if t.state == TrialState.FAIL]
    assert failed and all(t.params["optimizer.learning_rate"] > 1.0 for t in failed)
    assert all(t.user_attrs["reason"].startswith("diverged: the loss became nan") for t in failed)
    best = sched.study.best_trial
    assert best.params["optimizer.learning_rate"] <= 1.0
    assert RunDir(tmp_path).read_best()["trial"] == best.number
    assert (tmp_path / "best.keras").read_bytes() == (
        tmp_path / "trials" / str(best.number) / "model.keras").read_bytes()


def test_best_model_is_replaced_only_by_a_better_trial(tmp_path: Path) -> None:
    sched, ex = _scheduler(tmp_path, LR, trials=12, width=2)
    sched.run()
    saved = [int(Path(p).parent.name) for _, r in ex.requests for p in r.saves.values()]
    values = {t.number: t.value for t in sched.study.trials}
    assert saved, "the first complete trial is saved"
    assert all(values[b] > values[a] for a, b in zip(saved, saved[1:], strict=False))
    assert RunDir(tmp_path).read_best()["trial"] == sched.study.best_trial.number


def test_a_stop_and_a_save_go_out_in_the_lanes_very_next_request(tmp_path: Path) -> None:
    """A trial pruned, or ended as the best so far, in the answer to request k has its stop
    or its model's save in request k + 1: the same round's decision, before the lane trains
    again (one lane: the k-th answer is the k-th request's)."""
    sched, ex = _scheduler(tmp_path, LR, trials=16, width=4, pruner="median")
    sched.run()
    states = {t.number: t.state for t in sched.study.trials}
    last: dict[int, tuple[int, int]] = {}  # trial -> (answer, slot) of its last report
    for k, result in enumerate(ex.results):
        for slot, report in result.slots.items():
            last[report.tag] = (k, slot)
    pruned = [n for n, s in states.items() if s == TrialState.PRUNED]
    assert pruned and len(ex.requests) == len(ex.results)
    for number in pruned:
        k, slot = last[number]
        if k + 1 == len(ex.requests):
            continue  # pruned in the last answer: nothing trains again, no request follows
        assert ex.requests[k + 1][1].stops.get(slot) == "pruned", number
    assert any(last[n][0] + 1 < len(ex.requests) for n in pruned)
    saves = [(k, slot, int(Path(p).parent.name)) for k, (_, req) in enumerate(ex.requests)
             for slot, p in req.saves.items()]
    assert saves, "the first complete trial is saved"
    for k, slot, number in saves:
        assert last[number] == (k - 1, slot), number


def test_multi_objective_gives_a_pareto_front(tmp_path: Path) -> None:
    space = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True},
                   "training.batch_size": [32, 128]})
    sched, _ = _scheduler(tmp_path, space, trials=12, width=4, sampler="nsga2",
                          metrics=("val_accuracy", "seconds"))
    sched.run()
    front = sched.study.best_trials
    assert front and all(len(t.values) == 2 for t in front)
    assert all(t.intermediate_values == {} for t in sched.study.trials), "no pruning reports"
    for t in front:
        assert (tmp_path / "trials" / str(t.number) / "model.keras").exists()
    assert not (tmp_path / "best.keras").exists()
    fast = [t for t in sched.study.trials if t.params["training.batch_size"] == 128]
    slow = [t for t in sched.study.trials if t.params["training.batch_size"] == 32]
    assert fast and slow and max(t.values[1] for t in fast) < min(t.values[1] for t in slow)


def test_ctrl_c_keeps_finished_trials_and_enqueues_the_rest(tmp_path: Path) -> None:
    ex = FakeExecutor(interrupt_after=5)
    sched, _ = _scheduler(tmp_path, LR, trials=12, width=4, executor=ex)
    with pytest.raises(KeyboardInterrupt):
        sched.run()
    trials = sched.study.trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    retried = [t for t in trials if t.state == TrialState.FAIL]
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    assert len(complete) == 4 and len(retried) == 4
    assert all("Ctrl-C" in t.user_attrs["reason"] and t.user_attrs["tunelab_retried"]
               for t in retried)
    assert {trial_state(t) for t in retried} == {TrialStateName.RETRIED}
    assert sorted(t.user_attrs["tunelab_retry_of"] for t in waiting) == sorted(
        t.number for t in retried)
    assert sched.stats.retried == 4 and sched.stats.as_dict()["retried"] == 4


def test_statuses_are_recorded_and_an_unknown_one_fails_its_trial(tmp_path: Path) -> None:
    class Renaming(FakeExecutor):
        def _handle(self, lane: int, req: StepRequest) -> StepResult:
            result = super()._handle(lane, req)
            for report in result.slots.values():
                if report.status == "done" and report.tag % 2:
                    report.status = "vanished"  # type: ignore[assignment]
            return result

    sched, _ = _scheduler(tmp_path, LR, trials=4, width=2, executor=Renaming())
    sched.run()
    by_number = {t.number: t for t in sched.study.trials}
    for number, t in by_number.items():
        if number % 2:
            assert t.state == TrialState.FAIL
            assert t.user_attrs["reason"] == ("error: the engine ended this slot with an unknown"
                                              " status 'vanished'")
        else:
            assert t.state == TrialState.COMPLETE and t.user_attrs["status"] == TrialStatus.DONE
            assert type(t.user_attrs["status"]) is str  # stored as the plain word


def test_timeout_starts_no_new_trial(tmp_path: Path) -> None:
    sched, _ = _scheduler(tmp_path, LR, trials=12, width=4, timeout=1e-9)
    stats = sched.run()
    assert stats.started == 0 and not sched.study.trials


def test_a_failing_cohort_fails_its_trials_and_the_study_goes_on(tmp_path: Path) -> None:
    space = Space({"training.batch_size": [64, 4096],
                   "optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True}})
    sched, _ = _scheduler(tmp_path, space, trials=10, width=2,
                          executor=FakeExecutor(fail_on_batch=4096))
    sched.run()
    failed = [t for t in sched.study.trials if t.state == TrialState.FAIL]
    assert failed and all(t.params["training.batch_size"] == 4096 for t in failed)
    assert all(t.user_attrs["reason"].startswith("error: ConfigError: training.batch_size")
               for t in failed)
    assert any(t.state == TrialState.COMPLETE for t in sched.study.trials)


def test_two_lanes_train_at_once(tmp_path: Path) -> None:
    sched, ex = _scheduler(tmp_path, LR, trials=16, width=4, executor=FakeExecutor(lanes=2))
    stats = sched.run()
    assert {lane for lane, _ in ex.requests} == {0, 1}
    assert len(sched.study.trials) == 16 and stats.mean_cohort_width == 4.0


def test_progress_reports_counts_and_best(tmp_path: Path) -> None:
    seen = []
    sched, _ = _scheduler(tmp_path, LR, trials=6, width=3)
    sched.on_progress = seen.append
    sched.run()
    last = seen[-1]
    assert (last.total, last.done, last.complete, last.running) == (6, 6, 6, 0)
    assert last.best_value == pytest.approx(sched.study.best_value)
    assert [p.done for p in seen] == sorted(p.done for p in seen)


def test_near_the_end_a_new_cohort_is_only_as_wide_as_its_trials(tmp_path: Path) -> None:
    space = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True},
                   "training.batch_size": [32, 64, 128], "model.units": [[16], [32]]})
    # 48 trials: a full cohort for each of the 6 structures (a large budget; see below for
    # small ones).
    sched, ex = _scheduler(tmp_path, space, trials=48, width=8, pruner="asha")
    sched.max_epochs = 1000  # training outweighs compiling: narrowing pays
    stats = sched.run()
    assert not any(r.error for r in ex.results)
    assert all(t.state != TrialState.FAIL for t in sched.study.trials)
    assert ex.widths[0] == 8 and min(ex.widths) < 8
    assert stats.lane_epochs == sum(
        w for w, r in zip(_cohort_widths(ex), ex.results, strict=True) if r.slots)
    assert 0 < stats.utilisation <= 1


def test_a_draining_cohort_moves_its_last_trials_to_a_narrower_one(tmp_path: Path) -> None:
    space = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True},
                   "training.batch_size": [32, 64]})
    base = BASE.model_copy(update={"training": BASE.training.model_copy(update={"epochs": 9})})
    sched, ex = _scheduler(tmp_path, space, trials=24, width=8, pruner="asha", base=base)
    sched.max_epochs = 1000  # the trials' remaining epochs outweigh a compilation
    stats = sched.run()
    assert ex.narrowed and all(w in (1, 2, 4) for w in ex.narrowed)
    assert stats.narrowed == len(ex.narrowed)
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in sched.study.trials)
    assert all(t.user_attrs["epochs"] == 9 for t in sched.study.trials
               if t.state == TrialState.COMPLETE)
    assert stats.lane_epochs == sum(
        w for w, r in zip(_cohort_widths(ex), ex.results, strict=True) if r.slots)
    # The width saved shows: fewer idle slot-epochs than the same study at full width.
    wide, _ = _scheduler(tmp_path / "wide", space, trials=24, width=8, pruner="asha", base=base)
    assert stats.utilisation > wide.run().utilisation


def test_depth_first_holds_a_cohort_for_its_deep_trials(tmp_path: Path) -> None:
    base = BASE.model_copy(update={"training": BASE.training.model_copy(update={"epochs": 9})})

    def run(folder: str, depth_first: int | None) -> tuple[CohortScheduler, FakeExecutor, int]:
        sched, ex = _scheduler(tmp_path / folder, LR, trials=32, width=8, pruner="asha",
                               base=base, depth_first=depth_first)
        sched.max_epochs = 1000  # the trials' remaining epochs outweigh a compilation
        sched.run()
        # Slot-epochs computed (the cohorts' widths, round by round) before the first trial
        # finished its 9 epochs: what a user waits for the first fully trained model.
        widths, spent = _cohort_widths(ex), 0
        for width, result in zip(widths, ex.results, strict=True):
            spent += width if result.slots else 0
            if any(r.status == "done" for r in result.slots.values()):
                break
        return sched, ex, spent

    deep, ex, deep_spent = run("deep", 3)
    _, plain_ex, plain_spent = run("plain", None)
    # No trial joins a cohort that holds a trial of 3 epochs or more; without the setting
    # freed slots are refilled beside deep trials.
    assert ex.depth_at_assign and max(ex.depth_at_assign) < 3
    assert max(plain_ex.depth_at_assign) >= 3
    assert ex.narrowed and deep_spent < plain_spent
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in deep.study.trials)
    assert len(deep.study.trials) == 32


def _cohort_widths(ex: FakeExecutor) -> list[int]:
    widths, current = [], 0
    for _, req in ex.requests:
        if req.template is not None:
            current = req.width
        if req.keep is not None:
            current = len(req.keep)
        widths.append(current)
    return widths


def test_when_compiling_outweighs_training_cohorts_keep_their_width(tmp_path: Path) -> None:
    space = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True},
                   "training.batch_size": [32, 64, 128], "model.units": [[16], [32]]})
    sched, ex = _scheduler(tmp_path, space, trials=48, width=8, pruner="asha")
    stats = sched.run()
    assert set(ex.widths) == {8}, "a new shape would cost more than the idle slots"
    assert stats.utilisation < 1


@pytest.mark.parametrize("pruner", ["asha", "hyperband", "percentile"])
def test_every_pruner_prunes_through_the_loop(tmp_path: Path, pruner: str) -> None:
    base = parse_config({"training": {"epochs": 9, "batch_size": 64}})
    sched, _ = _scheduler(tmp_path, LR, trials=24, width=4, pruner=pruner, base=base)
    sched.run()
    states = [t.state for t in sched.study.trials]
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states
    assert len(states) == 24


def test_grid_search_runs_every_point_once_across_structures(tmp_path: Path) -> None:
    space = Space({"training.batch_size": [32, 64], "optimizer.learning_rate": [0.01, 0.1, 0.3]})
    sched, ex = _scheduler(tmp_path, space, trials=6, width=3, sampler="grid")
    sched.run()
    points = {(t.params["training.batch_size"], t.params["optimizer.learning_rate"])
              for t in sched.study.trials}
    assert len(points) == 6 and len(sched.study.trials) == 6
    assert sorted(ex.opened) == [(32, "SGD", (64, 64)), (64, "SGD", (64, 64))]


def test_a_small_budget_is_not_locked_into_the_first_structure(tmp_path: Path) -> None:
    space = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True},
                   "training.batch_size": [32, 64, 128, 256]})
    sched, ex = _scheduler(tmp_path, space, trials=24, width=8)
    stats = sched.run()
    assert sched.width == 3  # half the budget's share per structure, not 8
    assert len({key for key in ex.opened}) >= 3  # the sampler's structures were trained
    assert stats.started == 24 and len(sched.study.trials) == 24
    assert all(t.state == TrialState.COMPLETE for t in sched.study.trials)


def test_padding_lets_widths_share_a_cohort(tmp_path: Path) -> None:
    from tunelab.study._padding import padder

    space = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True},
                   "model.units": [16, 32, 64]})
    obj = Objective(["val_accuracy"])
    cs = CohortSampler(make_sampler("random", seed=0, space=space, n_objectives=1))
    study, _ = open_study(storage=None, name="t", directions=obj.directions, sampler=cs,
                          pruner=make_pruner("none", n_objectives=1), space=space, base=BASE,
                          metric_names=obj.metrics)
    ex = FakeExecutor()
    sched = CohortScheduler(study=study, sampler=cs, space=space, base=BASE, objective=obj,
                            executor=ex, run_dir=RunDir(tmp_path).make(),
                            settings=SessionSettings(trials=8, width=4), key_fn=key_fn,
                            pad=padder("max", space, BASE))
    sched.run()
    assert sched.structural == [] and len(set(ex.opened)) == 1
    assert {len(t.params) for t in study.trials} == {2}
    units = {t.params["model.units"] for t in study.trials}
    assert len(units) > 1  # different real widths, one cohort
    saved = (tmp_path / "trials" / "0" / "config.toml").read_text()
    assert "padded_units" not in saved  # what a user reruns is the real configuration


def test_a_timeout_leaves_no_trial_failed_or_waiting(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Every round of the fake executor takes one second of a fake clock, and says so.
    clock = {"now": 0.0}
    monkeypatch.setattr("tunelab.study._scheduler.time.monotonic", lambda: clock["now"])

    class Slow(FakeExecutor):
        def wait(self, timeout: float | None = None) -> list[tuple[int, StepResult]]:
            clock["now"] += 1.0
            out = super().wait(timeout)
            for _, result in out:
                result.train_seconds = 1.0 / len(out)
            return out

    space = Space({"training.batch_size": [32, 64, 128, 256],
                   "optimizer.learning_rate": {"low": 1e-3, "high": 0.5, "log": True}})
    sched, _ = _scheduler(tmp_path, space, trials=200, width=3, sampler="random",
                          executor=Slow(), timeout=20.0)
    stats = sched.run()
    trials = sched.study.trials
    assert 0 < len(trials) < 200  # the timeout ended the study
    states = {t.state for t in trials}
    assert states <= {TrialState.COMPLETE, TrialState.FAIL}
    assert all(t.user_attrs.get("reason", "").startswith("diverged") for t in trials
               if t.state == TrialState.FAIL)  # only the space's diverging rates fail
    assert stats.retried == 0 and stats.started == len(trials)
    # Trials asked before the timeout train after it, but near it the running cohort takes
    # no new trial while others wait: the study ends within about one cohort's time (3
    # epochs, 3 s here) of the timeout, not after every waiting structure's cohort in turn.
    assert clock["now"] - 20.0 <= 3.0 + 1.0, clock["now"]
