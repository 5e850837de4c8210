"""One step, start to finish: plan, range tests, study, selection, confirmation, decision.

The study and the finalists' selection runs (``budget.seeds`` replicates each) choose the
challenger: the best finalist other than the current value. If it scores above the current
value there, it is confirmed on fresh replicate seeds that no selection has seen (a block of
seeds of its own for every step; see :meth:`GuideContext.fresh_replicates`), beside the
current value and the ablation arm (the current value with the challenger's nuisance
values); :func:`~tunelab.guide._credit.attribute` decides on those runs alone.

Example:
    >>> finalists({"a": 0.91, "b": 0.95, "c": 0.93, "d": 0.90}, "d", 3, "maximize")
    ['b', 'c', 'd']
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunelab.config import RunConfig
from tunelab.guide._batch import choose_batch
from tunelab.guide._credit import Attribution, ablation_label, attribute
from tunelab.guide._display import GuideDisplay
from tunelab.guide._evidence import ReplicateRun, compare, least_diverged, replicate_runs
from tunelab.guide._procedure import Step
from tunelab.guide._record import GuideRun
from tunelab.guide._study import StepPlan, learning_rate_centres, plan_step, run_study, study_width
from tunelab.runs import Credit, Evidence, StepDecision, ValueStats, read_record, write_record

__all__ = ["CONFIRMATION_FILE", "FIRST_LOOK_ALPHA", "GuideContext", "finalists", "looks",
           "promising", "replicate_block", "run_step"]

#: A step's confirmation runs (cached as its selection runs are, in ``evidence.json``).
CONFIRMATION_FILE = "confirmation.json"
#: Seeds per block of replicates: a block never reaches into the next one.
BLOCK = 1000
#: The block of the tuning check's replicates (steps use blocks 2 and up).
TUNING_BLOCK = 1


def replicate_block(seed: int, block: int, n: int) -> list[int]:
    """``n`` replicate seeds of block ``block``: disjoint from every other block's, and from
    the searches' seed.

    Example:
        >>> replicate_block(0, 0, 3), replicate_block(0, 5, 2)
        ([1, 2, 3], [5001, 5002])
    """
    if not 0 < n <= BLOCK:
        raise ValueError(f"`0 < n <= {BLOCK}` must hold for replicates, got {n=}")
    return [seed + 1 + BLOCK * block + i for i in range(n)]


@dataclass
class GuideContext:
    """What every step needs: the run folder, the data, the metric, the display, the executor."""

    run: GuideRun
    data: Any
    task: str
    metric: str
    direction: str
    resolution: float
    seed: int
    cohort: int | None
    display: GuideDisplay
    emit: Callable[[str, dict[str, Any]], None]
    key_fn: Callable[[RunConfig], Hashable]
    executor: Any = None
    #: The user's EarlyStopping (``guide(callbacks=)``), in place of the guide's in every arm.
    early_stopping: dict[str, Any] | None = None
    #: Every replicate run of this session, by configuration and seed: never trained twice.
    runs: dict[str, ReplicateRun] = field(default_factory=dict)

    def replicates(self, n: int) -> list[int]:
        """The replicate seeds of re-runs that decide nothing (cross-validation): block 0."""
        return replicate_block(self.seed, 0, n)

    def fresh_replicates(self, block: int, n: int) -> list[int]:
        """Replicate seeds no other phase of the run uses: step ``i``'s selection runs take
        block ``2 i``, its confirmation ``2 i + 1``, the tuning check block 1."""
        return replicate_block(self.seed, block, n)


def finalists(best_scores: dict[str, float], current: str | None, count: int,
              direction: str) -> list[str]:
    """The values re-run for evidence: the best ``count`` by their best trial, the current
    value always among them."""
    sign = 1.0 if direction == "maximize" else -1.0
    ranked = sorted(best_scores, key=lambda k: -sign * best_scores[k])
    chosen = ranked[:count]
    if current is not None and current in best_scores and current not in chosen:
        chosen = [*ranked[:count - 1], current]
    return chosen


def _representatives(plan: StepPlan, result: Any, direction: str
                     ) -> dict[str, tuple[Any, float]]:
    """Per value label: its best complete trial and that trial's score."""
    from optuna.trial import TrialState

    sign = 1.0 if direction == "maximize" else -1.0
    best: dict[str, tuple[Any, float]] = {}
    for t in result.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        values = result.space.values_from_params(t.params)
        score = float(t.values[0])
        if not math.isfinite(score):
            continue
        for value in plan.values:
            if value.matches(values):
                old = best.get(value.label)
                if old is None or sign * score > sign * old[1]:
                    best[value.label] = (t, score)
                break
    return best


def _evidence(ctx: GuideContext, plan: StepPlan, reps: dict[str, tuple[Any, float]],
              labels: list[str], result: Any, folder: Path, index: int) -> list[ValueStats]:
    """Re-run each finalist's best configuration over whole replicates (paired by seed);
    a resumed step reloads them from its ``evidence.json``."""
    seeds = ctx.fresh_replicates(2 * index, plan.step.budget.seeds)
    cached = read_record(ctx.run.evidence_json(folder), Evidence)
    if cached is not None and cached.labels == labels and cached.replicates == seeds:
        return cached.values
    # The current value runs as it stands before the step (its own nuisance values, trained
    # as the step trains), never re-tuned by the study: a change only ever enters through an
    # arm that a test credits, so keeping the current value changes nothing.
    current = plan.incumbent.label if plan.incumbent else None
    configs = {label: plan.base if label == current else result.config_of(reps[label][0])
               for label in labels}
    ctx.display.phase(f"{plan.step.name} · evidence", None,
                      info=f"{len(labels)} values x {len(seeds)} replicates")

    def tick(done: int, total: int) -> None:
        ctx.display.advance(done, total, info=f"{len(labels)} values x {len(seeds)} replicates")
        ctx.emit("evidence", {"step": plan.step.name, "done": done, "total": total})

    stats = replicate_runs(configs, seeds, ctx.data, metric=ctx.metric,
                           executor=ctx.executor, on_epoch=tick, cache=ctx.runs)
    ctx.display.end_phase()
    out = []
    for label in labels:
        value = next(v for v in plan.values if v.label == label)
        searched = {} if label == current else {"trial": reps[label][0].number,
                                                 "search_score": reps[label][1]}
        out.append(stats[label].model_copy(update={"params": value.params, **searched}))
    write_record(ctx.run.evidence_json(folder), Evidence(labels=labels, replicates=seeds,
                                                          values=out))
    return out


def ablation_config(plan: StepPlan, current_trial: Any, challenger_trial: Any) -> RunConfig:
    """The current configuration (as it stands before the step) with the challenger's
    nuisance values, those that apply to the current value; its own for the others.
    ``current_trial`` (any trial of the current value) says which apply."""
    nuisance = [k for k in plan.space.params if k not in plan.scientific.params]
    theirs = {k: v for k, v in challenger_trial.params.items() if k in nuisance}
    values = plan.space.values_from_params({**current_trial.params, **theirs})
    return plan.space.apply(plan.base, {k: v for k, v in values.items() if k in theirs})


def _same_run(a: RunConfig, b: RunConfig) -> bool:
    return a.model_dump(exclude={"seed"}) == b.model_dump(exclude={"seed"})


def _first(stats: ValueStats, n: int) -> ValueStats:
    """The first ``n`` replicates of a confirmation arm (an earlier look's runs)."""
    return ValueStats.model_validate({**stats.model_dump(), "scores": stats.scores[:n],
                                      "replicates": stats.replicates[:n],
                                      "best_epochs": stats.best_epochs[:n]})


def _confirm(ctx: GuideContext, plan: StepPlan, configs: dict[str, RunConfig], folder: Path,
             index: int, n: int) -> dict[str, ValueStats]:
    """Train the confirmation arms on the step's first ``n`` fresh replicate seeds; a resumed
    step reloads them from its ``confirmation.json`` (a later look's file holds an earlier
    look's runs too)."""
    seeds = ctx.fresh_replicates(2 * index + 1, n)
    labels = list(configs)
    path = folder / CONFIRMATION_FILE
    cached = read_record(path, Evidence)
    if cached is not None and cached.labels == labels and cached.replicates[:n] == seeds:
        return {v.label: _first(v, n) for v in cached.values}
    info = f"{len(labels)} arms x {len(seeds)} fresh replicates"
    ctx.display.phase(f"{plan.step.name} · confirmation", None, info=info)

    def tick(done: int, total: int) -> None:
        ctx.display.advance(done, total, info=info)
        ctx.emit("evidence", {"step": plan.step.name, "done": done, "total": total})

    stats = replicate_runs(configs, seeds, ctx.data, metric=ctx.metric,
                           executor=ctx.executor, on_epoch=tick, cache=ctx.runs)
    ctx.display.end_phase()
    write_record(path, Evidence(labels=labels, replicates=seeds,
                                values=[stats[label] for label in labels]))
    return stats


#: The share of alpha spent at the first of two looks (little early, as O'Brien-Fleming
#: spending does; the two levels add up to alpha, so the rate holds whatever the looks'
#: correlation).
FIRST_LOOK_ALPHA = 0.2


def looks(seeds: int, alpha: float, sequential: bool) -> list[tuple[int, float]]:
    """The confirmation's looks: (replicates so far, alpha spent at that look).

    Example:
        >>> looks(3, 0.05, True)
        [(3, 0.01), (6, 0.04)]
        >>> looks(3, 0.05, False)
        [(3, 0.05)]
    """
    if not sequential:
        return [(seeds, alpha)]
    first = round(alpha * FIRST_LOOK_ALPHA, 10)
    return [(seeds, first), (2 * seeds, round(alpha - first, 10))]


def promising(verdict: Attribution) -> bool:
    """Whether an undecided look is worth a second one: the challenger, or the challenger's
    nuisance values on the current value, scored above the current configuration."""
    ahead = [verdict.total, *([verdict.nuisance] if verdict.nuisance is not None else [])]
    return any(math.isfinite(c.difference) and c.difference > 0 for c in ahead)


def _decide(ctx: GuideContext, plan: StepPlan, stats: list[ValueStats],
            reps: dict[str, tuple[Any, float]], result: Any, folder: Path, index: int
            ) -> tuple[dict[str, Any], RunConfig | None]:
    """The step's decision fields, and the configuration adopted (None: the current one)."""
    step = plan.step
    alpha = step.budget.alpha
    current = next((s for s in stats if plan.incumbent and s.label == plan.incumbent.label),
                   None)
    base: dict[str, Any] = {"alpha": alpha,
                            "selection_replicates": stats[0].replicates if stats else []}
    if step.kind == "batch_size" and current is not None:
        choice = choose_batch(stats, current, ctx.direction, ctx.resolution, alpha)
        chosen = choice.chosen if choice.adopted else current
        return ({**base, "current": current.label, "candidate": choice.chosen.label,
                 "adopted": choice.adopted, "reason": choice.reason,
                 "credited": Credit.TRADE_OFF if choice.adopted else Credit.NONE,
                 "comparison": choice.comparison, "batch_sizes": choice.rows},
                RunConfig.model_validate(chosen.config) if chosen.config else None)
    sign = 1.0 if ctx.direction == "maximize" else -1.0
    others = [s for s in stats if s is not current and math.isfinite(s.mean)]
    if current is None:
        best = least_diverged(stats, ctx.direction)
        caveat = "" if not best.diverged else (
            "; every finalist diverged in some re-run, this one least often")
        return ({**base, "current": best.label, "candidate": best.label, "adopted": True,
                 "credited": Credit.SCIENTIFIC,
                 "reason": f"adopted {best.label}: the current value has no complete trial"
                 f" in this step, so there is nothing to test against; best selection score"
                 f" {best.text()}{caveat}"},
                RunConfig.model_validate(best.config) if best.config else None)
    if not others:
        return ({**base, "current": current.label, "candidate": current.label,
                 "adopted": False, "reason": f"kept {current.label}: no other value completed"},
                None)
    best = max(others, key=lambda s: sign * s.mean)
    if math.isfinite(current.mean) and not sign * (best.mean - current.mean) > 0:
        seen = compare(current, best, ctx.direction, ctx.resolution, alpha)
        return ({**base, "current": current.label, "candidate": best.label, "adopted": False,
                 "comparison": seen,
                 "reason": f"kept {current.label}: the best challenger {best.label}"
                 f" {best.text()} does not score above it {current.text()} in the selection"
                 f" runs, so nothing goes to confirmation; selection runs: {seen.text()}"},
                None)
    cur_trial, win_trial = reps[current.label][0], reps[best.label][0]
    configs = {current.label: plan.base, best.label: result.config_of(win_trial)}
    ablation = ablation_config(plan, cur_trial, win_trial)
    arm = ablation_label(current.label, best.label)
    if not _same_run(ablation, configs[current.label]):
        configs[arm] = ablation
    plan_looks = looks(step.budget.seeds, alpha, step.budget.sequential)
    for k, (n, spent) in enumerate(plan_looks, 1):
        confirmed = _confirm(ctx, plan, configs, folder, index, n)
        verdict = attribute(confirmed[current.label], confirmed[best.label],
                            confirmed.get(arm), ctx.direction, ctx.resolution, spent)
        if verdict.changed or k == len(plan_looks) or not promising(verdict):
            break
    adopted = verdict.adopted.label
    where = (f" [look {k} of {len(plan_looks)}: {n} fresh replicates, alpha {spent:g} of"
             f" {alpha:g}]" if len(plan_looks) > 1 else "")
    return ({**base, "current": current.label,
             "candidate": adopted if verdict.changed else best.label, "looks": k,
             "adopted": verdict.changed, "reason": verdict.reason + where,
             "credited": verdict.credited, "comparison": verdict.total,
             "ablation": verdict.scientific, "nuisance_test": verdict.nuisance,
             "confirmation": [confirmed[k].model_copy(update={"config": None})
                              for k in configs]},
            configs[adopted] if verdict.changed else None)


def run_step(ctx: GuideContext, index: int, step: Step, current: RunConfig
             ) -> tuple[StepDecision, RunConfig]:
    """Run one comparing step; return its decision record and the configuration adopted."""
    folder = ctx.run.step_dir(index, step.name)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        plan = plan_step(step, current, ctx.task, ctx.metric, len(ctx.data.x_train),
                         ctx.early_stopping)
        if step.range_test != "none":
            ctx.display.phase(f"{step.name} · range test", None, info="exponential sweep")
        centres = learning_rate_centres(
            plan, ctx.data, folder, current, ctx.run.range_tests_json,
            on_test=lambda i, n: ctx.display.advance(i, n, info=f"range test {i + 1}/{n}"),
            executor=ctx.executor)
        for test in plan.tests.values():
            ctx.display.note(f"  range test ({test.value}): {test.summary()}")
        width = study_width(plan, ctx.cohort or step.budget.cohort, ctx.key_fn)
        ctx.display.phase(f"{step.name} · study", None, info=f"{len(plan.values)} values")

        def progress(p: Any) -> None:
            best = "" if p.best_value is None else f"best {p.metric} {p.best_value:.4f} · "
            ctx.display.advance(p.done, p.total, info=f"{best}{len(plan.values)} values ·"
                                f" cohort {p.stats.mean_cohort_width:.1f}/{width}")
            ctx.emit("trial", {"step": step.name, "done": p.done, "total": p.total})

        result = run_study(plan, folder, metric=ctx.metric, direction=ctx.direction,
                           seed=ctx.seed, width=width, lr_by_value=centres,
                           on_progress=progress, executor=ctx.executor)
        ctx.display.end_phase()
        reps = _representatives(plan, result, ctx.direction)
        stats: list[ValueStats] = []
        if not reps:
            fields: dict[str, Any] = {
                "current": plan.incumbent.label if plan.incumbent else "—",
                "candidate": "—", "adopted": False,
                "reason": "kept the current configuration: no trial of this step completed"
                " (see the study's failed trials)"}
            chosen_cfg = current
        else:
            labels = finalists({k: v[1] for k, v in reps.items()},
                               plan.incumbent.label if plan.incumbent else None,
                               step.budget.finalists, ctx.direction)
            stats = _evidence(ctx, plan, reps, labels, result, folder, index)
            fields, adopted_cfg = _decide(ctx, plan, stats, reps, result, folder, index)
            # Nothing credited: the configuration stays as it was (trained as this step
            # trains); the study's re-tuning of the current value is not carried on.
            chosen_cfg = adopted_cfg if adopted_cfg is not None else plan.base
        totals = result.totals()
        record = StepDecision(
            step=step.name, title=step.title, kind=step.kind,
            scientific=list(step.scientific), nuisance=list(step.nuisance),
            metric=ctx.metric, direction=ctx.direction,
            values=[s.model_copy(update={"config": None}) for s in stats],
            study=step.name, folder=folder.name, width=width,
            trials=result.trials_by_state(), compile_seconds=totals["compile_seconds"],
            train_seconds=totals["train_seconds"],
            mean_cohort_width=totals["mean_cohort_width"], values_compared=len(plan.values),
            learning_rate_centres=centres,
            range_tests=[t.brief() for t in plan.tests.values()],
            config=chosen_cfg.model_dump(mode="json", exclude_none=True), **fields)
        return record, chosen_cfg
    finally:
        total = ctx.run.add_seconds(folder, time.monotonic() - started)
        ctx.emit("step_seconds", {"step": step.name, "seconds": total})
