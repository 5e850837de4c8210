"""Diagnoses of one Optuna study: a best value at the edge of its range, and failed trials.

Each rule is a pure function of an ``optuna.Study`` returning :class:`~tunelab.report.Finding`
objects. Search ranges are read from the trials' own distributions. A failed trial says why in
its user attribute ``"reason"`` (``"diverged"`` for a NaN/inf loss).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

from tunelab.report._data import Finding, Severity
from tunelab.study import is_retried

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

__all__ = [
    "DIVERGED_WARN_SHARE",
    "EDGE_FRACTION",
    "EDGE_MIN_TRIALS",
    "check_failures",
    "check_range_edges",
    "diagnose_study",
    "failure_reason",
    "trial_states",
]

# A best value within this fraction of a range's width from either end (measured on a log scale
# for log ranges) is "at the edge": samplers such as TPE rarely propose the outermost tenth, so a
# best found there suggests better values lie beyond the range.
EDGE_FRACTION = 0.1

# Below this many complete trials the best trial is close to a random draw, and its position in
# a range says nothing about where the optimum lies.
EDGE_MIN_TRIALS = 8

# Share of trials diverged above which the search space itself is wrong (typically the
# learning rate's upper bound): past a quarter, a large part of the budget was wasted.
DIVERGED_WARN_SHARE = 0.25


def failure_reason(trial: FrozenTrial) -> str:
    """Why a failed trial failed: its ``reason`` user attribute, else Optuna's, else "unknown".

    Example:
        >>> import optuna
        >>> t = optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
        ...                               user_attrs={"reason": "diverged"})
        >>> failure_reason(t)
        'diverged'
    """
    reason = trial.user_attrs.get("reason") or trial.system_attrs.get("fail_reason")
    return str(reason) if reason else "unknown"


def _is_diverged(trial: FrozenTrial) -> bool:
    return failure_reason(trial).lower().startswith("diverged")


def trial_states(study: optuna.Study) -> dict[str, int]:
    """Trials of ``study`` by state: complete, pruned, failed, diverged, retried, running, waiting.

    Diverged trials are failed trials whose reason is ``"diverged"``; retried trials were
    interrupted (their process died) and run again. Neither is counted as failed too.

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> s = optuna.create_study()
        >>> s.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
        >>> trial_states(s)["complete"]
        3
    """
    import optuna

    state = optuna.trial.TrialState
    counts = dict.fromkeys(
        ("complete", "pruned", "failed", "diverged", "retried", "running", "waiting"), 0
    )
    for trial in study.get_trials(deepcopy=False):
        if trial.state == state.COMPLETE:
            counts["complete"] += 1
        elif trial.state == state.PRUNED:
            counts["pruned"] += 1
        elif is_retried(trial):
            counts["retried"] += 1
        elif trial.state == state.FAIL:
            counts["diverged" if _is_diverged(trial) else "failed"] += 1
        elif trial.state == state.RUNNING:
            counts["running"] += 1
        else:
            counts["waiting"] += 1
    return counts


def _position(value: float, low: float, high: float, log: bool) -> float:
    if log:
        value, low, high = math.log(value), math.log(low), math.log(high)
    return (value - low) / (high - low)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def check_range_edges(study: optuna.Study, name: str = "") -> list[Finding]:
    """Numeric parameters whose best value lies near an end of the search range: widen it.

    Rule: the study is single-objective and has at least :data:`EDGE_MIN_TRIALS` complete
    trials; a float or int parameter of the best trial lies within :data:`EDGE_FRACTION` of the
    range's width from one end (on a log scale for log ranges). Categorical parameters have no
    ends and are not checked.

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> s = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> s.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=20)  # best at x=0
        >>> [f.evidence["parameter"] for f in check_range_edges(s)]
        ['x']
    """
    import optuna

    if len(study.directions) != 1:
        return []
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < EDGE_MIN_TRIALS:
        return []
    best = study.best_trial
    ranked = sorted(
        complete,
        key=lambda t: t.value if t.value is not None else math.inf,
        reverse=study.direction == optuna.study.StudyDirection.MAXIMIZE,
    )
    top = ranked[: max(3, len(ranked) // 5)]
    findings = []
    for param, dist in best.distributions.items():
        numeric = optuna.distributions.FloatDistribution | optuna.distributions.IntDistribution
        if not isinstance(dist, numeric):
            continue
        if dist.high <= dist.low:
            continue
        pos = _position(float(best.params[param]), dist.low, dist.high, dist.log)
        if EDGE_FRACTION <= pos <= 1 - EDGE_FRACTION:
            continue
        side, bound = ("lower", dist.low) if pos < 0.5 else ("upper", dist.high)
        in_edge = sum(
            1 for t in top if param in t.params
            and _near(_position(float(t.params[param]), dist.low, dist.high, dist.log), side)
        )
        scale = " (log scale)" if dist.log else ""
        where = (f"The best {param} = {_fmt(float(best.params[param]))} lies at the {side} "
                 f"edge of its search range [{_fmt(dist.low)}, {_fmt(dist.high)}]{scale}")
        if side == "lower" and not dist.log and dist.low == 0:
            # Rates, strengths and probabilities stop at 0: there is nothing below to search.
            severity: Severity = "info"
            message = (f"{where}, and 0 is as low as it goes: {param} may be best switched "
                       f"off. Try fixing it at 0, or search a narrower range near 0.")
        else:
            severity = "warning"
            message = (f"{where}: better values may lie beyond it. Widen the range past "
                       f"{_fmt(bound)} and search again.")
        findings.append(Finding(
            "range-edge",
            severity,
            message,
            {
                "parameter": param,
                "best_value": float(best.params[param]),
                "low": float(dist.low),
                "high": float(dist.high),
                "position_in_range": round(pos, 4),
                "top_trials_at_this_edge": f"{in_edge} of {len(top)}",
            },
            name,
        ))
    return findings


def _near(pos: float, side: str) -> bool:
    return pos < EDGE_FRACTION if side == "lower" else pos > 1 - EDGE_FRACTION


def _learning_rate_param(trials: list[FrozenTrial]) -> str | None:
    for trial in trials:
        for param in trial.params:
            if param.split(".")[-1] in ("learning_rate", "lr"):
                return param
    return None


def check_failures(study: optuna.Study, name: str = "") -> list[Finding]:
    """Trials that diverged or failed: how many, why, and what it says about the search space.

    Rule: any diverged trial is reported (``"info"``; ``"warning"`` when more than
    :data:`DIVERGED_WARN_SHARE` of finished trials diverged), with the smallest learning rate
    that diverged; any trial failed for another reason is a ``"warning"`` listing the reasons.

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> s = optuna.create_study()
        >>> s.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
        ...             user_attrs={"reason": "diverged"}))
        >>> check_failures(s)[0].code
        'trials-diverged'
    """
    import optuna

    state = optuna.trial.TrialState
    ended = study.get_trials(deepcopy=False, states=(state.COMPLETE, state.PRUNED, state.FAIL))
    finished = [t for t in ended if not is_retried(t)]
    if not finished:
        return []
    failed = [t for t in finished if t.state == state.FAIL]
    diverged = [t for t in failed if _is_diverged(t)]
    other = [t for t in failed if not _is_diverged(t)]
    findings = []
    if diverged:
        share = len(diverged) / len(finished)
        evidence: dict[str, Any] = {
            "diverged": len(diverged), "finished": len(finished), "share": round(share, 4),
        }
        advice = "The learning rate or its range reaches too high for this model."
        lr_param = _learning_rate_param(diverged)
        if lr_param is not None:
            lrs = [float(t.params[lr_param]) for t in diverged if lr_param in t.params]
            ok = [float(t.params[lr_param]) for t in finished
                  if t.state == state.COMPLETE and lr_param in t.params]
            evidence["smallest_diverged_" + lr_param] = min(lrs)
            if ok:
                evidence["largest_complete_" + lr_param] = max(ok)
            advice = (f"The smallest {lr_param} that diverged is {_fmt(min(lrs))}: "
                      f"lower the upper bound of {lr_param} below it.")
        severity: Severity = "warning" if share > DIVERGED_WARN_SHARE else "info"
        findings.append(Finding(
            "trials-diverged", severity,
            f"{len(diverged)} of {len(finished)} trials ({share:.0%}) diverged (NaN or infinite "
            f"loss) and were never counted as best. {advice}",
            evidence, name,
        ))
    if other:
        reasons = Counter(failure_reason(t) for t in other)
        listed = "; ".join(f"{r} ({n})" for r, n in reasons.most_common(5))
        findings.append(Finding(
            "trials-failed", "warning",
            f"{len(other)} of {len(finished)} trials failed for reasons other than divergence: "
            f"{listed}. Their configurations could not be trained; fix the cause or exclude "
            "those values from the search space.",
            {"failed": len(other), "finished": len(finished),
             "share": round(len(other) / len(finished), 4),
             "most_common_reason": reasons.most_common(1)[0][0]},
            name,
        ))
    return findings


def diagnose_study(study: optuna.Study, name: str = "") -> list[Finding]:
    """Every finding the study rules make: failures first, then range edges.

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> s = optuna.create_study()
        >>> s.optimize(lambda t: (t.suggest_float("x", -1, 1)) ** 2, n_trials=3)
        >>> diagnose_study(s, "study")
        []
    """
    return check_failures(study, name) + check_range_edges(study, name)
