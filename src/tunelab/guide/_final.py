"""The end of a guide run: did tuning help, the final model, and k-fold cross-validation.

**Did tuning help?** The starting configuration and the adopted one are trained together on
fresh replicates (a block of seeds no step used, one cohort per replicate seed, so the two
share a cohort where they share a structure), both as the last comparing step trained its
trials (its epochs, early stopping on the guide's metric keeping the best weights). The
one-sided paired t test of :func:`~tunelab.guide.compare`, at that step's alpha, says whether
the adopted configuration is better than the start; no earlier selection has seen these runs.

**The final model** (``best.keras``) is the adopted configuration when the tuning check finds
it better than the start, and the start otherwise (:func:`shipped`): the whole of tuning is a
change like any step's, and no change is made without evidence. It follows
:data:`PROTOCOL`: it is refitted on training +
validation data (scikit-learn's ``refit`` habit: the validation rows have done their job of
choosing, and now train), for the epochs early stopping chose in the tuning check (the median
over the replicates), once per replicate seed (each member a whole replicate: its own initial
arrays, dropout masks and data order); the members' predictions are averaged into one Keras
model (``combine = "ensemble"``). The figures behind this choice are in
``docs/guide.md`` ("The final model"; ``bench/final_protocol.py`` measures them). When the
adopted configuration is shipped, the starting configuration is trained by the same protocol
too, so ``final.json`` also gives the baseline's test score: what tuning bought on data no
decision has seen.

Example:
    >>> fold_indices(10, 3, seed=0)[0][1].shape
    (3,)
"""

from __future__ import annotations

import math
import statistics
import time
from types import SimpleNamespace
from typing import Any, Final, Literal

import numpy as np

from tunelab._files import write_text
from tunelab.config import RunConfig, dump_config, with_overrides
from tunelab.guide._evidence import compare, replicate_runs
from tunelab.guide._procedure import Step
from tunelab.guide._step import TUNING_BLOCK, GuideContext, looks
from tunelab.runs import (
    Comparison,
    FinalProtocol,
    FinalResult,
    StepDecision,
    TuningCheck,
    ValueStats,
    write_record,
)

__all__ = ["PROTOCOL", "another_look", "cross_validate", "final_protocol", "fold_indices",
           "shipped",
           "train_final", "tuning_check", "tuning_verdict"]

#: How the final model is made: refit on training + validation data, members averaged.
PROTOCOL: dict[str, Any] = {"refit": True, "combine": "ensemble"}

START: Final = "start"
ADOPTED: Final = "adopted"


def _as_trials(ctx: GuideContext, step: Step, cfg: RunConfig) -> RunConfig:
    """``cfg`` trained as ``step`` trained its trials (epochs, fixed settings, early stopping
    on the guide's metric keeping the best weights): the adopted configuration is exactly one
    of the step's finalists, and the start gets the same treatment."""
    from tunelab.guide._study import trial_protocol

    return trial_protocol(step, cfg, ctx.metric, len(ctx.data.x_train),
                          ctx.early_stopping)


def tuning_verdict(start: ValueStats, adopted: ValueStats, test: Comparison, metric: str, *,
                   same: bool = False) -> tuple[bool, str]:
    """Whether tuning helped, and the sentence that says so.

    A diverged replicate is the worst result, as in the adoption rule: a start that diverged
    where the adopted configuration did not is beaten without a test; an adopted one that
    diverged never helped.

    Example:
        >>> from tunelab.guide._evidence import compare
        >>> a = ValueStats(label="start", scores=[float("nan"), float("nan")], replicates=[1, 2])
        >>> b = ValueStats(label="adopted", scores=[40.1, 39.7], replicates=[1, 2])
        >>> helped, summary = tuning_verdict(a, b, compare(a, b, "minimize"), "val_mae")
        >>> helped, summary[:50]
        (True, 'tuning helped: the start diverged in all 2 replica')
    """
    if same:
        return False, ("tuning adopted nothing: the starting configuration stands"
                       f" ({metric} {start.text()})")
    if start.diverged and not adopted.diverged:
        return True, (f"tuning helped: the start {start.text()}, the adopted configuration in"
                      f" none ({metric} {adopted.text()})")
    if adopted.diverged:
        return False, (f"tuning did not help: the adopted configuration {adopted.text()}, the"
                       f" start {start.text()} ({metric})")
    if test.better:
        return True, (f"tuning helped: the adopted configuration beats the start on the same"
                      f" replicates by {test.difference:+.4f} {metric} ({test.text()})")
    return False, (f"tuning did not help beyond the noise: the adopted configuration"
                   f" differs from the start by {test.difference:+.4f} {metric}, not"
                   f" significant at alpha {test.alpha:g} ({test.text()})")


def shipped(check: TuningCheck) -> Literal["adopted", "start"]:
    """Which configuration ``best.keras`` holds: the adopted one only when the tuning check
    found it better than the start (``helped``), else the start.

    Every step adopts a change only on evidence; the whole of tuning is a change too, and the
    check on fresh replicates is its evidence. Without it the start stands, as a step's
    current value stands against a challenger that does not beat it. (Measured on held-out
    validation rows, with no test split read, shipping the adopted configuration where the
    check was inconclusive gained nothing on average: docs/guide.md, "The final model".)

    Example:
        >>> from tunelab.guide._evidence import compare
        >>> a = ValueStats(label="start", scores=[0.90, 0.91, 0.90], replicates=[1, 2, 3])
        >>> b = ValueStats(label="adopted", scores=[0.90, 0.90, 0.91], replicates=[1, 2, 3])
        >>> test = compare(a, b, "maximize", 0.001, 0.05)
        >>> helped, summary = tuning_verdict(a, b, test, "val_accuracy")
        >>> shipped(TuningCheck(start=a, adopted=b, comparison=test, helped=helped,
        ...                     summary=summary))
        'start'
    """
    return ADOPTED if check.helped else START


def another_look(helped: bool, test: Comparison, adopted: ValueStats) -> bool:
    """Whether an undecided tuning check is worth its second look: not yet helped, and the
    adopted configuration ahead of the start without having diverged.

    Example:
        >>> from tunelab.guide._evidence import compare
        >>> a = ValueStats(label="start", scores=[0.90, 0.91, 0.90], replicates=[1, 2, 3])
        >>> b = ValueStats(label="adopted", scores=[0.91, 0.91, 0.90], replicates=[1, 2, 3])
        >>> another_look(False, compare(a, b, "maximize", 0.001, 0.01), b)
        True
    """
    ahead = math.isfinite(test.difference) and test.difference > 0
    return not helped and ahead and not adopted.diverged


def tuning_check(ctx: GuideContext, start: RunConfig, adopted: RunConfig, step: Step
                 ) -> tuple[TuningCheck, dict[str, RunConfig]]:
    """Train the start and the adopted configuration on the same replicates and compare.

    ``step`` is the last comparing step: both are trained as it trained its trials, on
    fresh replicate seeds (block :data:`~tunelab.guide._step.TUNING_BLOCK`), in the step's
    looks (:func:`~tunelab.guide._step.looks`): with a sequential budget, ``seeds``
    replicates at a fifth of alpha, then, when the adopted configuration is ahead but not
    yet better beyond the noise, as many more at the rest of alpha, as a step confirms.
    """
    budget = step.budget
    configs = {START: _as_trials(ctx, step, start), ADOPTED: adopted}
    same = configs[START].model_dump() == configs[ADOPTED].model_dump()
    plan = looks(budget.seeds, budget.alpha, budget.sequential and not same)
    every = ctx.fresh_replicates(TUNING_BLOCK, plan[-1][0])
    for k, (n, spent) in enumerate(plan, 1):
        seeds = every[:n]
        ctx.display.phase("final · did tuning help?", None,
                          info=f"start and adopted x {n} replicates"
                          + (f" (look {k} of {len(plan)})" if len(plan) > 1 else ""))
        stats = replicate_runs({ADOPTED: configs[ADOPTED]} if same else configs, seeds,
                               ctx.data, metric=ctx.metric, executor=ctx.executor,
                               cache=ctx.runs,
                               on_epoch=lambda n, total: ctx.display.advance(n, total))
        ctx.display.end_phase()
        if same:
            stats[START] = stats[ADOPTED].model_copy(update={"label": START})
        test = compare(stats[START], stats[ADOPTED], ctx.direction, ctx.resolution, spent)
        first, last = stats[START], stats[ADOPTED]
        helped, summary = tuning_verdict(first, last, test, ctx.metric, same=same)
        if k == len(plan) or not another_look(helped, test, last):
            break
    if len(plan) > 1:
        summary += (f" [look {k} of {len(plan)}: {n} fresh replicates, alpha {spent:g} of"
                    f" {budget.alpha:g}]")
    check = TuningCheck(start=first, adopted=last, comparison=test, helped=helped,
                        summary=summary, looks=k)
    return check, configs


def _refit_data(data: Any) -> Any:
    x = np.concatenate([np.asarray(data.x_train), np.asarray(data.x_val)])
    y = np.concatenate([np.asarray(data.y_train), np.asarray(data.y_val)])
    return SimpleNamespace(x_train=x, y_train=y, x_val=x[:0], y_val=y[:0],
                           x_test=data.x_test, y_test=data.y_test, task=data.task,
                           num_classes=data.num_classes, input_shape=tuple(data.input_shape),
                           name=f"{data.name} (train + validation)")


def final_protocol(stats: ValueStats, seeds: list[int], *, refit: bool,
                   combine: Literal["ensemble", "single"]) -> FinalProtocol:
    """The protocol for a configuration whose replicates ``stats`` describe."""
    kept = [e for e in stats.best_epochs if e > 0]
    epochs = int(round(statistics.median(kept))) if kept else int(stats.epochs or 1)
    why = ("refit on training + validation data for the median early-stopping epoch of the"
           " replicates" if refit else "trained on the training data, early stopping on"
           " validation") + (f"; {len(seeds)} replicates averaged into one model"
                             if combine == "ensemble" else "; the first replicate alone")
    return FinalProtocol(refit=refit, epochs=max(epochs, 1), members=len(seeds),
                         combine=combine, seeds=seeds, rationale=why)


def _train_members(ctx: GuideContext, cfg: RunConfig, protocol: FinalProtocol,
                   title: str) -> tuple[Any, dict[str, float], dict[str, list[float]], Any]:
    """Train one protocol's members; return the model, its test scores, the members' test
    scores and the first member's result."""
    from tunelab.execute import train_runs
    from tunelab.model import ensemble_model

    if protocol.refit:
        data = _refit_data(ctx.data)
        cfg = with_overrides(cfg, {"training.epochs": protocol.epochs,
                                   "callbacks.early_stopping": None}, source="final model")
    else:
        data = ctx.data
    runs = [cfg.model_copy(update={"seed": s}) for s in protocol.seeds]
    ctx.display.phase(title, None, info=f"{len(runs)} members")
    # One cohort per member: each member is a whole replicate (its own data order too).
    # Members sharing one cohort and its data order were cheaper but averaged to a worse
    # model (bench/final_protocol.py, docs/guide.md "The final model").
    results = train_runs(runs, data, executor=ctx.executor, cohorts="replicate",
                         on_epoch=lambda p: ctx.display.advance(p.epochs_done, p.epochs_total))
    ctx.display.end_phase()
    members: dict[str, list[float]] = {}
    for r in results:
        for key, value in r.final.items():
            if key.startswith("test_"):
                members.setdefault(key, []).append(float(value))
    if protocol.combine == "single" or len(results) == 1:
        return results[0].model(), {k: v[0] for k, v in members.items()}, members, results[0]
    model = ensemble_model([r.model() for r in results])
    return model, _evaluate(model, ctx.data, cfg), members, results[0]


def _evaluate(model: Any, data: Any, cfg: RunConfig) -> dict[str, float]:
    """Test loss and metrics of a Keras model, computed as the engine computes them."""
    import jax.numpy as jnp

    from tunelab.model import dense_targets, loss_term, metric_term, resolve_metrics
    from tunelab.train import model_spec

    spec = model_spec(data)
    pred = jnp.asarray(model.predict(np.asarray(data.x_test, np.float32), verbose=0))
    labels = jnp.asarray(np.asarray(data.y_test))
    targets = dense_targets(labels, spec.task, spec.num_outputs)
    out: dict[str, float] = {}
    loss = loss_term(cfg.training.loss, spec.task)
    value = float(jnp.mean(loss.fn(labels, targets, pred)))
    out["test_loss"] = math.sqrt(max(value, 0.0)) if loss.root else value
    for name in resolve_metrics(list(cfg.training.metrics), spec.task):
        term = metric_term(name, spec.task)
        value = float(jnp.mean(term.fn(labels, targets, pred)))
        out[f"test_{term.name}"] = math.sqrt(max(value, 0.0)) if term.root else value
    return out


def train_final(ctx: GuideContext, start: RunConfig, adopted: RunConfig, step: Step
                ) -> tuple[FinalResult, RunConfig]:
    """The tuning check, then ``best.keras``, ``final.toml`` and ``final.json``.

    ``best.keras`` holds the configuration :func:`shipped` names: the adopted one when the
    check found it better than the start, else the start (``adopted.toml`` then keeps the
    adopted one, which ``tunelab train adopted.toml`` trains). When the adopted configuration
    is shipped, the start is trained by the same protocol for ``baseline_test``; when the
    start is shipped, ``best.keras`` is that baseline, and the test split is read for it
    alone. Returns the record and the configuration ``best.keras`` holds.
    """
    from tunelab.model import save_model

    began = time.monotonic()
    check, configs = tuning_check(ctx, start, adopted, step)
    seeds = check.adopted.replicates[:step.budget.seeds]  # the members: the first look's
    refit, combine = bool(PROTOCOL["refit"]), PROTOCOL["combine"]
    ship = shipped(check)
    config = configs[ship]
    protocol = final_protocol(check.adopted if ship == ADOPTED else check.start, seeds,
                              refit=refit, combine=combine)
    title = "final · best.keras" + ("" if ship == ADOPTED else " (the start)")
    model, test, members, first = _train_members(ctx, config, protocol, title)
    save_model(model, ctx.run.best_model)
    if ship == ADOPTED:
        write_text(ctx.run.final_toml, "# The configuration tunelab guide adopted; run it"
                   " with `tunelab train final.toml`.\n" + dump_config(config))
        base_protocol = final_protocol(check.start, seeds, refit=refit, combine=combine)
        _, baseline, _, _ = _train_members(ctx, configs[START], base_protocol,
                                           "final · the start, same protocol")
    else:
        write_text(ctx.run.final_toml, "# The starting configuration: tuning did not beat it"
                   " beyond the noise (final.json, tuning).\n# Run it with `tunelab train"
                   " final.toml`.\n" + dump_config(config))
        if check.start.config != check.adopted.config:
            write_text(ctx.run.adopted_toml, "# The configuration tunelab guide's steps"
                       " adopted, not shipped: the tuning check found no gain over the"
                       " start.\n" + dump_config(configs[ADOPTED]))
        baseline = dict(test)  # best.keras is the start
    final = FinalResult(shipped=ship, protocol=protocol, test=test, members_test=members,
                        baseline_test=baseline, tuning=check, status=str(first.status),
                        history=first.history, seconds=round(time.monotonic() - began, 3))
    write_record(ctx.run.final_json, final)
    return final, config


def fold_indices(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, validation) index pairs of equal sizes over ``n`` rows (a remainder of
    fewer than ``k`` rows is left out, so every fold has the same shapes)."""
    perm = np.random.default_rng([seed & 0xFFFFFFFF, 7]).permutation(n)
    size = n // k
    folds = [perm[i * size:(i + 1) * size] for i in range(k)]
    return [(np.concatenate([folds[j] for j in range(k) if j != i]), folds[i])
            for i in range(k)]


def cross_validate(ctx: GuideContext, step: Step, config: RunConfig, label: str
                   ) -> StepDecision:
    """k-fold cross-validation of ``config`` on training + validation data (the test split is
    never touched); return the step's decision record (nothing is adopted)."""
    data = ctx.data
    x = np.concatenate([np.asarray(data.x_train), np.asarray(data.x_val)])
    y = np.concatenate([np.asarray(data.y_train), np.asarray(data.y_val)])
    folds = fold_indices(len(x), step.budget.folds, ctx.seed)
    seeds = ctx.replicates(step.budget.seeds)
    stats: list[ValueStats] = []
    ctx.display.phase(f"{step.name} · folds", None)
    for i, (train, val) in enumerate(folds):
        fold = SimpleNamespace(x_train=x[train], y_train=y[train], x_val=x[val], y_val=y[val],
                               x_test=data.x_test, y_test=data.y_test, task=data.task,
                               num_classes=data.num_classes, input_shape=data.input_shape,
                               name=f"{data.name} fold {i + 1}")
        done = i

        def tick(n: int, total: int, done: int = done) -> None:
            ctx.display.advance(done * total + n, len(folds) * total)

        got = replicate_runs({label: config}, seeds, fold, metric=ctx.metric,
                             executor=ctx.executor, on_epoch=tick)  # other data: no cache
        stats.append(got[label].model_copy(update={"label": f"fold {i + 1}", "config": None}))
    ctx.display.end_phase()
    overall = ValueStats(label=label, scores=[s.mean for s in stats])
    reason = (f"{len(folds)}-fold cross-validation of {label}: {ctx.metric}"
              f" {overall.mean:.4f} ± {overall.std:.4f} across folds (each fold the mean of"
              f" {len(seeds)} replicates); nothing to adopt")
    return StepDecision(step=step.name, title=step.title, kind=step.kind, metric=ctx.metric,
                        direction=ctx.direction,
                        current=label, candidate=label, adopted=False, reason=reason,
                        values=[overall, *stats], folds=len(folds), width=len(seeds),
                        config=config.model_dump(mode="json", exclude_none=True))
