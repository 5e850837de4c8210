"""``run_guide``: the whole procedure, step after step, resumable, ending in a tuned model.

Example:
    >>> import tempfile
    >>> from tunelab.guide import parse_procedure
    >>> proc = parse_procedure({"start": {"model": {"units": [16]}, "training":
    ...     {"batch_size": 64}, "data": {"limit": 300}}, "steps": [{"name": "width",
    ...     "scientific": {"model.units": [[16], [32]]},
    ...     "nuisance": {"optimizer.learning_rate": {"low": 0.01, "high": 1.0, "log": True}},
    ...     "budget": {"trials": 2, "epochs": 2, "seeds": 2, "cohort": 4}}]}, budget="quick")
    >>> result = run_guide(proc, run_dir=tempfile.mkdtemp(), progress=False)
    >>> [s["step"] for s in result.decisions["steps"]]
    ['width']
    >>> (result.run_dir / "best.keras").is_file()
    True
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from rich.console import Console

from tunelab.config import RunConfig, with_overrides
from tunelab.errors import ConfigError
from tunelab.guide._display import GuideDisplay
from tunelab.guide._final import cross_validate, train_final
from tunelab.guide._procedure import Procedure, default_procedure, load_procedure
from tunelab.guide._record import GuideRun, read_json
from tunelab.guide._step import GuideContext, run_step, step_seconds

__all__ = ["GuideResult", "run_guide"]

Event = Callable[[str, dict[str, Any]], None]


@dataclass
class GuideResult:
    """What a guide run gives back.

    Attributes:
        run_dir: The run folder.
        decisions: ``decisions.json``: every step's values, decision and reason.
        final: ``final.json``: the final model's test evaluation.
        config: The configuration adopted (``final.toml``).
    """

    run_dir: Path
    decisions: dict[str, Any]
    final: dict[str, Any]
    config: RunConfig

    @property
    def test_accuracy(self) -> float | None:
        """The test accuracy of ``best.keras`` (None for a regression task)."""
        value = self.final.get("test_accuracy")
        return None if value is None else float(value)


def _procedure(procedure: Procedure | str | os.PathLike[str] | None, budget: str) -> Procedure:
    if procedure is None:
        return default_procedure(budget)
    if isinstance(procedure, Procedure):
        return procedure
    return load_procedure(procedure, budget)


def _facts(decisions: dict[str, Any], **facts: Any) -> dict[str, Any]:
    return {**facts, **{k: v for k, v in decisions.items() if k not in facts}}


def run_guide(
    procedure: Procedure | str | os.PathLike[str] | None = None,
    *,
    dataset: str | None = None,
    budget: str = "standard",
    steps: Sequence[str] | None = None,
    cohort: int | None = None,
    seed: int | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    console: Console | None = None,
    on_event: Event | None = None,
) -> GuideResult:
    """Run the procedure (the tutorial's by default), or continue it in ``run_dir``.

    Args:
        procedure: A :class:`Procedure`, a procedure TOML file, or None for the tutorial's.
        dataset: The dataset name or path (overrides the procedure's ``[start.data]``).
        budget: ``quick``, ``standard`` or ``thorough`` (ignored for a Procedure object,
            which is already resolved).
        steps: Names of the steps to run (default: every step not marked optional).
        cohort: Configurations trained at once (overrides the budget's ``cohort``).
        seed: The run's seed (data split, searches); default the procedure's.
        run_dir: The run folder (default ``runs/guide-<dataset>-<budget>``). Running again
            on the same folder continues the run: finished steps are reloaded, the current
            step's study resumes after its last finished trial.
        progress: Show the live display.
        console: Where the display and the decisions go (default standard error).
        on_event: Called with ``(event, data)``: ``trial``, ``evidence``, ``decision``, ...

    Raises:
        ConfigError: A bad procedure, option, or a run folder started with other settings.
        KeyboardInterrupt: After Ctrl-C, once the finished trials are recorded.
    """
    from tunelab.data import load_dataset
    from tunelab.study import metric_direction
    from tunelab.train import enable_compilation_cache, structure_key

    proc = _procedure(procedure, budget)
    start = proc.start
    overrides: dict[str, Any] = {}
    if dataset is not None:
        overrides["data.name"] = dataset
    if seed is not None:
        overrides["seed"] = seed
    if overrides:
        start = with_overrides(start, overrides, source="guide options")
    chosen = proc.selected(steps)
    if not chosen:
        raise ConfigError(f"{proc.source}: no step to run; name steps with --steps")
    if cohort is not None and cohort < 1:
        raise ConfigError(f"cohort: must be >= 1, got {cohort}")
    folder = Path(run_dir) if run_dir is not None else Path("runs") / (
        f"guide-{Path(start.data.name).stem}-{proc.level}")
    run = GuideRun(folder)
    settings = {"dataset": start.data.model_dump(mode="json"), "budget": proc.level,
                "seed": start.seed, "steps": [s.name for s in chosen],
                "procedure": proc.to_dict(), "cohort": cohort}
    run.start(settings, tomli_w.dumps(proc.to_dict()))
    emit: Event = on_event or (lambda event, data: None)
    display = GuideDisplay(console, live=progress)
    session = time.monotonic()
    with display:
        data = load_dataset(start.data, seed=start.seed)
        enable_compilation_cache()
        metric = guide_metric(start, str(data.task))
        direction = metric_direction(metric)
        resolution = 1.0 / len(data.x_val) if metric.endswith("accuracy") and len(data.x_val) \
            else 0.0
        ctx = GuideContext(run=run, data=data, task=str(data.task), metric=metric,
                           direction=direction, resolution=resolution, seed=start.seed,
                           cohort=cohort, display=display, emit=emit, key_fn=structure_key)
        decisions = _facts(run.decisions(), dataset=data.name, task=str(data.task),
                           metric=metric, direction=direction, budget=proc.level,
                           procedure=proc.name)
        done = {s["step"]: s for s in decisions.get("steps", [])}
        display.begin(len(chosen), f"tunelab guide · {data.name} · {proc.level} budget ·"
                      f" {len(chosen)} steps · {run.path}")
        current = start
        width = cohort or (chosen[-1].budget.cohort if chosen else 1)
        for i, step in enumerate(chosen):
            index = proc.steps.index(step) + 1
            if step.name in done:
                record = done[step.name]
                current = RunConfig.model_validate(record["config"])
                width = int(record.get("width", width))
                display.note(f"step {i + 1}/{len(chosen)} · {step.name}: finished before,"
                             " reloaded")
                continue
            display.step(i, len(chosen), step.name, step.title)
            emit("step", {"step": step.name, "index": i})
            if step.compares:
                record, current = run_step(ctx, index, step, current)
            else:
                folder_ = run.step_dir(index, step.name)
                folder_.mkdir(parents=True, exist_ok=True)
                began = time.monotonic()
                try:
                    record = cross_validate(ctx, step, current, "the configuration adopted")
                finally:
                    run.add_seconds(folder_, time.monotonic() - began)
                record["config"] = current.model_dump(mode="json", exclude_none=True)
            width = int(record.get("width", width))
            record = {"step": step.name, "title": step.title, "kind": step.kind,
                      "scientific": list(step.scientific), "nuisance": list(step.nuisance),
                      "metric": metric, "direction": direction, **record,
                      "seconds": step_seconds(run.step_dir(index, step.name))}
            decisions["steps"] = [*decisions.get("steps", []), record]
            run.save_decisions(decisions)
            display.decision(record)
            emit("decision", record)
        display.finish_steps(len(chosen))
        final = read_json(run.final_json)
        if not (isinstance(final, dict) and run.best_model.is_file()):
            final = train_final(ctx, current, width)
        total = sum(float(s.get("seconds", 0.0)) for s in decisions["steps"])
        decisions.update({"test_accuracy": final.get("test_accuracy"),
                          "test_loss": final.get("test_loss"),
                          "wall_seconds": round(total + float(final.get("seconds", 0.0)), 3),
                          "session_seconds": round(time.monotonic() - session, 3)})
        run.save_decisions(decisions)
        emit("final", final)
    return GuideResult(run.path, decisions, final, current)


def guide_metric(start: RunConfig, task: str) -> str:
    """What every step compares: validation accuracy, else the first metric on validation data.

    Never the loss: a step may compare losses, and one loss's values say nothing about
    another's.

    Example:
        >>> guide_metric(RunConfig(), "multiclass"), guide_metric(RunConfig(), "regression")
        ('val_accuracy', 'val_mae')
    """
    from tunelab.model import resolve_metrics

    names = resolve_metrics(list(start.training.metrics), task)
    if "accuracy" in names:
        return "val_accuracy"
    return f"val_{names[0]}" if names else "val_loss"
