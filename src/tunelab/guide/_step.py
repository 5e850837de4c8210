"""One step, start to finish: plan, range tests, study, evidence, decision, record.

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
from tunelab.guide._display import GuideDisplay
from tunelab.guide._evidence import ReplicateRun, adopt, least_diverged, replicate_runs
from tunelab.guide._procedure import Step
from tunelab.guide._record import GuideRun
from tunelab.guide._study import StepPlan, learning_rate_centres, plan_step, run_study, study_width
from tunelab.runs import Evidence, StepDecision, ValueStats, read_record, write_record

__all__ = ["GuideContext", "finalists", "run_step"]


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
    #: Every replicate run of this session, by configuration and seed: never trained twice.
    runs: dict[str, ReplicateRun] = field(default_factory=dict)

    def replicates(self, n: int) -> list[int]:
        """The replicate seeds of re-runs: never the seed the searches used."""
        return [self.seed + 1 + i for i in range(n)]


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
              labels: list[str], result: Any, folder: Path) -> list[ValueStats]:
    """Re-run each finalist's best configuration over whole replicates (paired by seed);
    a resumed step reloads them from its ``evidence.json``."""
    seeds = ctx.replicates(plan.step.budget.seeds)
    cached = read_record(ctx.run.evidence_json(folder), Evidence)
    if cached is not None and cached.labels == labels and cached.replicates == seeds:
        return cached.values
    configs = {label: result.config_of(reps[label][0]) for label in labels}
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
        out.append(stats[label].model_copy(update={
            "trial": reps[label][0].number, "params": value.params,
            "search_score": reps[label][1]}))
    write_record(ctx.run.evidence_json(folder), Evidence(labels=labels, replicates=seeds,
                                                          values=out))
    return out


def _decide(ctx: GuideContext, plan: StepPlan, stats: list[ValueStats]
            ) -> tuple[dict[str, Any], ValueStats]:
    step = plan.step
    current = next((s for s in stats if plan.incumbent and s.label == plan.incumbent.label),
                   None)
    if step.kind == "batch_size" and current is not None:
        choice = choose_batch(stats, current, ctx.direction, ctx.resolution)
        return ({"current": current.label, "candidate": choice.chosen.label,
                 "adopted": choice.adopted, "reason": choice.reason,
                 "comparison": choice.comparison, "batch_sizes": choice.rows},
                choice.chosen if choice.adopted else current)
    sign = 1.0 if ctx.direction == "maximize" else -1.0
    others = [s for s in stats if s is not current and math.isfinite(s.mean)]
    if current is None:
        best = least_diverged(stats, ctx.direction)
        caveat = "" if not best.diverged else (
            "; every finalist diverged in some re-run, this one least often")
        return ({"current": best.label, "candidate": best.label, "adopted": True,
                 "reason": f"adopted {best.label}: the current value has no complete trial"
                 f" in this step; best re-run score {best.text()}{caveat}"}, best)
    if not others:
        return ({"current": current.label, "candidate": current.label, "adopted": False,
                 "reason": f"kept {current.label}: no other value completed"}, current)
    best = max(others, key=lambda s: sign * s.mean)
    verdict = adopt(current, best, ctx.direction, ctx.resolution)
    return ({"current": current.label, "candidate": best.label, "adopted": verdict.adopted,
             "reason": verdict.reason, "comparison": verdict.comparison},
            best if verdict.adopted else current)


def run_step(ctx: GuideContext, index: int, step: Step, current: RunConfig
             ) -> tuple[StepDecision, RunConfig]:
    """Run one comparing step; return its decision record and the configuration adopted."""
    folder = ctx.run.step_dir(index, step.name)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        plan = plan_step(step, current, ctx.task, ctx.metric, len(ctx.data.x_train))
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
            stats = _evidence(ctx, plan, reps, labels, result, folder)
            fields, chosen = _decide(ctx, plan, stats)
            chosen_cfg = RunConfig.model_validate(chosen.config) if chosen.config else current
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
