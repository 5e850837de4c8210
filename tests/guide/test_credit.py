"""What a step credits: the ablation logic on plain data, and its error rate by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from tunelab.guide import ablation_label, attribute, compare
from tunelab.runs import Credit, ValueStats

SEEDS = [101, 102, 103, 104]


def _v(label: str, scores: list[float] | np.ndarray) -> ValueStats:
    return ValueStats(label=label, scores=[float(x) for x in scores],
                      replicates=SEEDS[:len(scores)])


def test_a_planted_scientific_effect_is_credited_to_the_value() -> None:
    cur = _v("units [32]", [0.950, 0.953, 0.948, 0.951])
    abl = _v(ablation_label("units [32]", "units [128]"), [0.951, 0.952, 0.949, 0.950])
    win = _v("units [128]", [0.970, 0.972, 0.968, 0.971])
    a = attribute(cur, win, abl, "maximize")
    assert a.credited == Credit.SCIENTIFIC and a.changed and a.adopted is win
    assert a.scientific is not None and a.scientific.better and a.total.better
    assert "credited: the scientific value" in a.reason and "alpha 0.05" in a.reason


def test_a_gain_made_by_the_learning_rate_is_credited_to_the_nuisance_values() -> None:
    # The challenger's value adds nothing: the current value with its learning rate does
    # as well. Before, this step adopted the value.
    cur = _v("units [32]", [0.950, 0.953, 0.948, 0.951])
    abl = _v(ablation_label("units [32]", "units [128]"), [0.969, 0.973, 0.967, 0.971])
    win = _v("units [128]", [0.970, 0.972, 0.968, 0.971])
    assert compare(cur, win, "maximize").better
    a = attribute(cur, win, abl, "maximize")
    assert a.credited == Credit.NUISANCE and a.adopted is abl
    assert a.reason.startswith("adopted the nuisance values of units [128] on units [32]")


def test_no_effect_keeps_the_current_value() -> None:
    cur = _v("a", [0.950, 0.953, 0.948, 0.951])
    abl = _v(ablation_label("a", "b"), [0.951, 0.952, 0.947, 0.952])
    win = _v("b", [0.952, 0.951, 0.949, 0.950])
    a = attribute(cur, win, abl, "maximize")
    assert a.credited == Credit.NONE and not a.changed and a.adopted is cur
    assert a.reason.startswith("kept a")


def test_without_an_ablation_arm_the_value_must_beat_the_current_one() -> None:
    cur = _v("a", [0.950, 0.953, 0.948, 0.951])
    win = _v("b", [0.970, 0.972, 0.968, 0.971])
    assert attribute(cur, win, None, "maximize").credited == Credit.SCIENTIFIC
    assert attribute(cur, cur.model_copy(update={"label": "b"}), None,
                     "maximize").credited == Credit.NONE


def test_a_value_that_beats_its_ablation_but_not_the_current_one_is_not_credited() -> None:
    # The challenger's learning rate hurts the current value; the challenger is no better
    # than the current configuration: an intersection-union test needs both.
    cur = _v("a", [0.960, 0.962, 0.958, 0.961])
    abl = _v(ablation_label("a", "b"), [0.900, 0.905, 0.899, 0.903])
    win = _v("b", [0.960, 0.961, 0.959, 0.962])
    assert attribute(cur, win, abl, "maximize").credited == Credit.NONE


def test_divergence_is_the_worst_result() -> None:
    nan = math.nan
    cur = _v("a", [nan, 0.9, 0.9, 0.9])
    abl = _v(ablation_label("a", "b"), [0.8, 0.8, 0.81, 0.79])
    win = _v("b", [0.5, 0.5, 0.5, 0.5])
    assert attribute(cur, win, abl, "maximize").credited == Credit.NUISANCE
    assert attribute(_v("a", [0.9] * 4), _v("b", [0.99, nan, 0.99, 0.99]), None,
                     "maximize").credited == Credit.NONE


@pytest.mark.parametrize("n", [3, 5])
def test_the_scientific_credit_rate_under_no_effect_is_at_most_alpha(n: int) -> None:
    # The value makes no difference; the challenger's learning rate is better by a large
    # margin (the situation A/A runs of the guide produced). Replicate effects are shared
    # by the three arms on a seed, as the engine's common seeds make them.
    rng = np.random.default_rng(7)
    runs, alpha = 4000, 0.05
    credited = 0
    old_rule = 0
    seeds = list(range(n))
    for _ in range(runs):
        shared = rng.normal(0.95, 0.01, n)
        cur = ValueStats(label="a", scores=list(shared + rng.normal(0, 0.004, n)),
                         replicates=seeds)
        gain = 0.01  # the nuisance values' real effect
        win = ValueStats(label="b", scores=list(shared + gain + rng.normal(0, 0.004, n)),
                         replicates=seeds)
        abl = ValueStats(label="c", scores=list(shared + gain + rng.normal(0, 0.004, n)),
                         replicates=seeds)
        credited += attribute(cur, win, abl, "maximize", alpha=alpha).credited \
            == Credit.SCIENTIFIC
        c = compare(cur, win, "maximize")
        old_rule += c.difference > 2 * c.se
    rate = scipy_stats.binomtest(credited, runs).proportion_ci(0.95)
    assert rate.low <= alpha and credited / runs <= alpha + 0.01
    # Crediting the value on the challenger against the current configuration alone (the
    # rule before the ablation arm) credits it most of the time.
    assert old_rule / runs > 0.75


def test_two_looks_spend_alpha_in_two_parts_and_keep_the_rate() -> None:
    from tunelab.guide._step import looks, promising

    (n1, a1), (n2, a2) = looks(3, 0.05, True)
    assert (n1, n2) == (3, 6) and a1 + a2 == pytest.approx(0.05) and a1 < a2
    assert looks(4, 0.1, False) == [(4, 0.1)]
    # Under no effect, crediting at either look (at its own share of alpha) stays within
    # alpha: simulated on plain data as the step runs it.
    rng = np.random.default_rng(11)
    runs, credited = 3000, 0
    for _ in range(runs):
        shared = rng.normal(0.95, 0.01, 6)
        arms = {k: shared + 0.01 * (k != "a") + rng.normal(0, 0.004, 6) for k in "abc"}
        for n, spent in looks(3, 0.05, True):
            v = {k: ValueStats(label=k, scores=list(x[:n]), replicates=list(range(n)))
                 for k, x in arms.items()}
            verdict = attribute(v["a"], v["b"], v["c"], "maximize", alpha=spent)
            if verdict.changed or not promising(verdict):
                break
        credited += verdict.credited == Credit.SCIENTIFIC
    assert scipy_stats.binomtest(credited, runs).proportion_ci(0.95).low <= 0.05
    assert credited / runs <= 0.06
    # A look with the challenger behind the current configuration is not worth another.
    behind = attribute(_v("a", [0.96, 0.97, 0.95]), _v("b", [0.94, 0.95, 0.93]), None,
                       "maximize")
    assert not promising(behind)
