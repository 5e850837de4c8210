"""One step, start to finish: plan, range tests, study, evidence, decision, record.

Example:
    >>> finalists({"a": 0.91, "b": 0.95, "c": 0.93, "d": 0.90}, "d", 3, "maximize")
    ['b', 'c', 'd']
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunelab._files import write_json
from tunelab.config import RunConfig
from tunelab.guide._batch import choose_batch
from tunelab.guide._display import GuideDisplay
from tunelab.guide._evidence import ValueStats, adopt, train_configs
from tunelab.guide._procedure import Step
from tunelab.guide._record import GuideRun, read_json
from tunelab.guide._study import StepPlan, learning_rate_centres, plan_step, run_study, study_width

__all__ = ["GuideContext", "finalists", "run_step"]


@dataclass
class GuideContext:
    """What every step needs: the run folder, the data, the metric, the display."""

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

    def evidence_seeds(self, n: int) -> list[int]:
        """Fresh seeds for re-runs: never the seed the searches used."""
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
              labels: list[str], result: Any, width: int) -> list[ValueStats]:
    """Re-run each finalist's best configuration over seeds, one cohort per structure."""
    budget = plan.step.budget
    sessions = result.sessions or []
    cohort_epochs = sum(int(s.get("cohort_epochs", 0)) for s in sessions)
    cohorts = sum(int(s.get("cohorts", 0)) for s in sessions)
    study_train = sum(float(s.get("train_seconds", 0.0)) for s in sessions)
    epoch_s = study_train / max(cohort_epochs, 1)
    compile_s = max(1.0, sum(float(s.get("compile_seconds", 0.0)) for s in sessions)
                    / max(cohorts, 1))
    groups: dict[Hashable, list[str]] = {}
    configs = {label: result.config_of(reps[label][0]) for label in labels}
    for label in labels:
        groups.setdefault(ctx.key_fn(configs[label]), []).append(label)
    plan_groups = []
    for members in groups.values():
        size = len(members) * budget.seeds
        epochs = configs[members[0]].training.epochs
        pad_cost = epochs * epoch_s * max(0.0, 1.0 - size / width)
        # Idle slots cost compute, a narrower cohort a compilation. Filled with more seeds the
        # idle slots also sharpen the evidence: worth it while they cost no more than a
        # compilation and a quarter of the study's own training time.
        if size < width and pad_cost <= compile_s + 0.25 * study_train:
            seeds, w = max(budget.seeds, width // len(members)), width  # fill the idle slots
        elif size < width:
            seeds, w = budget.seeds, size
        else:
            seeds, w = budget.seeds, width
        plan_groups.append((members, seeds, w))
    total = sum(configs[m[0]].training.epochs * -(-len(m) * s // w) for m, s, w in plan_groups)
    done = [0, 0]  # cohort epochs of finished groups, of the current group
    ctx.display.phase(f"{plan.step.name} · evidence", total)
    out: dict[str, ValueStats] = {}
    for members, seeds, w in plan_groups:
        runs = [(label, configs[label].model_copy(update={"seed": s}))
                for label in members for s in ctx.evidence_seeds(seeds)]

        def tick(n: int, expected: int) -> None:
            done[1] = n
            ctx.display.advance(done[0] + n, total, info="re-runs over seeds")
            ctx.emit("evidence", {"step": plan.step.name, "done": done[0] + n,
                                  "total": total})

        outcomes = train_configs([cfg for _, cfg in runs], ctx.data, width=w,
                                 metric=ctx.metric, key_fn=ctx.key_fn, on_epoch=tick)
        done[0] += done[1]
        for label in members:
            mine = [o for (lab, _), o in zip(runs, outcomes, strict=True) if lab == label]
            stats = ValueStats(label, [o.value for o in mine], trial=reps[label][0].number,
                               config=configs[label])
            stats.seconds_per_epoch = mine[0].seconds_per_epoch
            stats.epochs = sum(o.epochs for o in mine) / len(mine)
            n_train = len(ctx.data.x_train)
            stats.extra = {"params": next(v.params for v in plan.values if v.label == label),
                           "search_score": reps[label][1],
                           "samples_per_second": n_train / stats.seconds_per_epoch
                           if stats.seconds_per_epoch > 0 else math.nan}
            out[label] = stats
    ctx.display.end_phase()
    return [out[label] for label in labels]


def _decide(ctx: GuideContext, plan: StepPlan, stats: list[ValueStats]
            ) -> tuple[dict[str, Any], ValueStats]:
    step = plan.step
    current = next((s for s in stats if plan.incumbent and s.label == plan.incumbent.label),
                   None)
    if step.kind == "batch_size" and current is not None:
        choice = choose_batch(stats, current, ctx.direction, ctx.resolution)
        return ({"current": current.label, "candidate": choice.chosen.label,
                 "adopted": choice.adopted, "reason": choice.reason,
                 "difference": choice.difference, "threshold": choice.threshold,
                 "batch_sizes": choice.rows}, choice.chosen if choice.adopted else current)
    sign = 1.0 if ctx.direction == "maximize" else -1.0
    others = [s for s in stats if s is not current and math.isfinite(s.mean)]
    if current is None:
        best = max(others or stats, key=lambda s: sign * s.mean if math.isfinite(s.mean)
                   else -math.inf)
        return ({"current": best.label, "candidate": best.label, "adopted": True,
                 "reason": f"adopted {best.label}: the current value has no complete trial"
                 f" in this step; best re-run score {best.text()}"}, best)
    if not others:
        return ({"current": current.label, "candidate": current.label, "adopted": False,
                 "reason": f"kept {current.label}: no other value completed"}, current)
    best = max(others, key=lambda s: sign * s.mean)
    verdict = adopt(current, best, ctx.direction, ctx.resolution)
    return ({"current": current.label, "candidate": best.label, "adopted": verdict.adopted,
             "reason": verdict.reason, "difference": verdict.difference,
             "threshold": verdict.threshold}, best if verdict.adopted else current)


def run_step(ctx: GuideContext, index: int, step: Step, current: RunConfig
             ) -> tuple[dict[str, Any], RunConfig]:
    """Run one comparing step; return its decision record and the configuration adopted."""
    folder = ctx.run.step_dir(index, step.name)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        plan = plan_step(step, current, ctx.task, ctx.metric, len(ctx.data.x_train))
        if step.range_test != "none":
            ctx.display.phase(f"{step.name} · range test", None, info="exponential sweep")
        centres = learning_rate_centres(
            plan, ctx.data, folder, current, ctx.run.path / "range_tests.json",
            on_test=lambda i, n: ctx.display.advance(i, n, info=f"range test {i + 1}/{n}"))
        for test in plan.tests.values():
            ctx.display.note(f"  range test ({test.extra.get('value', '')}): {test.summary()}")
        width = study_width(plan, ctx.cohort or step.budget.cohort, ctx.key_fn)
        ctx.display.phase(f"{step.name} · study", None, info=f"{len(plan.values)} values")

        def progress(p: Any) -> None:
            best = "" if p.best_value is None else f"best {p.metric} {p.best_value:.4f} · "
            ctx.display.advance(p.done, p.total, info=f"{best}{len(plan.values)} values ·"
                                f" cohort {p.stats.mean_cohort_width:.1f}/{width}")
            ctx.emit("trial", {"step": step.name, "done": p.done, "total": p.total})

        result = run_study(plan, folder, metric=ctx.metric, direction=ctx.direction,
                           seed=ctx.seed, width=width, lr_by_value=centres,
                           on_progress=progress)
        ctx.display.end_phase()
        reps = _representatives(plan, result, ctx.direction)
        if not reps:
            record = {"current": plan.incumbent.label if plan.incumbent else "—",
                      "candidate": "—", "adopted": False, "values": [],
                      "reason": "kept the current configuration: no trial of this step"
                      " completed (see the study's failed trials)"}
            chosen_cfg = current
            stats: list[ValueStats] = []
        else:
            labels = finalists({k: v[1] for k, v in reps.items()},
                               plan.incumbent.label if plan.incumbent else None,
                               step.budget.finalists, ctx.direction)
            cached = read_json(folder / "evidence.json")
            if cached and [v["value"] for v in cached.get("values", [])] == labels:
                stats = [ValueStats.from_dict(v) for v in cached["values"]]
            else:
                stats = _evidence(ctx, plan, reps, labels, result, width)
                write_json(folder / "evidence.json", {"values": [s.to_dict() for s in stats]})
            record, chosen = _decide(ctx, plan, stats)
            chosen_cfg = chosen.config or current
        totals = result.totals()
        record.update({
            "values": [{k: v for k, v in s.to_dict().items() if k != "config"} for s in stats],
            "study": step.name, "folder": folder.name, "width": width,
            "trials": result.trials_by_state(), "compile_seconds": totals["compile_seconds"],
            "train_seconds": totals["train_seconds"],
            "mean_cohort_width": totals["mean_cohort_width"],
            "values_compared": len(plan.values),
            "learning_rate_centres": centres,
        })
        if plan.tests:
            record["range_tests"] = [{k: v for k, v in t.to_dict().items()
                                      if k not in ("learning_rates", "losses", "raw_losses")}
                                     for t in plan.tests.values()]
        record["config"] = chosen_cfg.model_dump(mode="json", exclude_none=True)
        return record, chosen_cfg
    finally:
        total = ctx.run.add_seconds(folder, time.monotonic() - started)
        ctx.emit("step_seconds", {"step": step.name, "seconds": total})


def step_seconds(folder: Path) -> float:
    """Seconds a step took over every session (from its ``timing.json``)."""
    data = read_json(folder / "timing.json") or {}
    return float(data.get("seconds", 0.0))
