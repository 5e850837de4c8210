"""One-sided t tests at a stated alpha, checked against scipy on known cases; replicates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from tunelab.config import parse_config
from tunelab.data import Dataset
from tunelab.guide import compare, replicate_runs
from tunelab.guide._evidence import best_epoch, score
from tunelab.runs import TestKind, ValueStats


def _v(label: str, scores: list[float], seeds: list[int] | None = None) -> ValueStats:
    return ValueStats(label=label, scores=scores,
                      replicates=list(range(1, len(scores) + 1)) if seeds is None else seeds)


def test_paired_on_shared_replicates_matches_scipy_ttest_rel() -> None:
    cur = _v("a", [0.90, 0.93, 0.88, 0.95, 0.91])
    cand = _v("b", [0.92, 0.94, 0.91, 0.96, 0.93])
    c = compare(cur, cand, "maximize")
    ref = scipy_stats.ttest_rel(cand.scores, cur.scores, alternative="greater")
    assert c.test == TestKind.PAIRED and c.n == 5 and c.df == 4 and c.alpha == 0.05
    assert c.t == pytest.approx(float(ref.statistic))
    assert c.p == pytest.approx(float(ref.pvalue))
    # Known case: differences 0.02, 0.01, 0.03, 0.01, 0.02 -> mean 0.018, sd 0.008367,
    # t = 4.811 on 4 df, one-sided p = 0.00429.
    assert c.t == pytest.approx(4.8107, abs=1e-3) and c.p == pytest.approx(0.004288, rel=1e-3)
    assert c.critical == pytest.approx(2.1318, abs=1e-4)  # t(0.95, 4 df)
    d = np.subtract(cand.scores, cur.scores)
    assert c.difference == pytest.approx(d.mean())
    assert c.se == pytest.approx(d.std(ddof=1) / math.sqrt(5))
    assert c.threshold == pytest.approx(c.critical * c.se) and c.better
    # The replicate spread is large (0.88..0.96) but the pairs move together: unpaired, the
    # same numbers would not count.
    assert not compare(_v("a", cur.scores, [1, 2, 3, 4, 5]),
                       _v("b", cand.scores, [6, 7, 8, 9, 10]), "maximize").better


def test_welch_without_shared_replicates_matches_scipy() -> None:
    cur = _v("a", [0.90, 0.95, 0.85, 0.92], [1, 2, 3, 4])
    cand = _v("b", [0.97, 0.96, 0.98], [5, 6, 7])
    c = compare(cur, cand, "maximize", alpha=0.1)
    ref = scipy_stats.ttest_ind(cand.scores, cur.scores, equal_var=False,
                                alternative="greater")
    assert c.test == TestKind.WELCH
    assert c.t == pytest.approx(float(ref.statistic))
    assert c.p == pytest.approx(float(ref.pvalue))
    assert c.df == pytest.approx(float(ref.df))
    assert c.critical == pytest.approx(float(scipy_stats.t.ppf(0.9, ref.df)))
    assert c.difference == pytest.approx(np.mean(cand.scores) - np.mean(cur.scores))
    assert c.se == pytest.approx(math.sqrt(np.var(cur.scores, ddof=1) / 4
                                           + np.var(cand.scores, ddof=1) / 3))
    assert c.better == (ref.pvalue < 0.1)


def test_the_rule_is_the_critical_value_of_t_with_n_minus_1_df() -> None:
    cur = _v("a", [1.0, 2.0, 3.0])
    noise = [0.0, 0.3, -0.3]  # differences with std 0.3, se 0.3 / sqrt(3)
    for alpha in (0.05, 0.01, 0.2):
        limit = float(scipy_stats.t.ppf(1 - alpha, 2)) * 0.3 / math.sqrt(3)
        below = _v("b", [x + limit - 1e-4 + e for x, e in zip(cur.scores, noise, strict=True)])
        above = _v("b", [x + limit + 1e-4 + e for x, e in zip(cur.scores, noise, strict=True)])
        assert not compare(cur, below, "maximize", alpha=alpha).better
        won = compare(cur, above, "maximize", alpha=alpha)
        assert won.better and won.p < alpha < compare(cur, below, "maximize", alpha=alpha).p
        assert won.threshold == pytest.approx(limit)
    # At n = 3 two standard errors (the rule before alpha was stated) is a one-sided p of
    # about 0.09: not evidence at 0.05.
    two_se = _v("b", [x + 2 * 0.3 / math.sqrt(3) + 1e-4 + e
                      for x, e in zip(cur.scores, noise, strict=True)])
    c = compare(cur, two_se, "maximize")
    assert not c.better and c.p == pytest.approx(0.0917, abs=1e-3)
    text = c.text()
    for part in ("one-sided paired t test", "alpha 0.05", "n=3", "df=2", "t=2.00", "p=0.0917"):
        assert part in text
    with pytest.raises(ValueError, match="alpha"):
        compare(cur, two_se, "maximize", alpha=1.5)


def test_resolution_and_direction() -> None:
    cur = _v("a", [0.900, 0.900])
    tiny = _v("b", [0.902, 0.902])
    c = compare(cur, tiny, "maximize")
    assert c.better and c.p == 0.0  # no noise at all: any gain is real
    assert not compare(cur, tiny, "maximize", resolution=0.0035).better
    lower_loss = _v("b", [0.20, 0.21, 0.19])
    assert compare(_v("a", [0.40, 0.41, 0.39]), lower_loss, "minimize").better
    assert not compare(_v("a", [0.40, 0.41, 0.39]), lower_loss, "maximize").better


def test_diverged_runs_are_never_better() -> None:
    cur = _v("a", [0.9, 0.9])
    c = compare(cur, _v("b", [0.99, math.nan]), "maximize")
    assert not c.better and math.isnan(c.p)


def test_score_and_best_epoch_are_the_model_early_stopping_keeps() -> None:
    history = {"loss": [1.0, 0.8, 0.7, 0.6], "val_loss": [0.5, 0.3, 0.4, 0.45],
               "val_accuracy": [0.8, 0.85, 0.9, 0.7]}
    plain = parse_config({})
    kept = parse_config({"callbacks": {"early_stopping": {"monitor": "val_loss",
                                                          "restore_best_weights": True}}})
    assert score(history, plain, "val_accuracy") == 0.7
    assert score(history, kept, "val_accuracy") == 0.85
    assert (best_epoch(history, plain), best_epoch(history, kept)) == (4, 2)
    assert math.isnan(score({}, plain, "val_accuracy"))


def test_a_replicate_seed_decides_everything_random(digits: Dataset) -> None:
    cfg = parse_config({"model": {"units": [16], "dropout": 0.2},
                        "training": {"epochs": 3, "batch_size": 64},
                        "optimizer": {"learning_rate": 0.1, "momentum": 0.5}})
    # Two labels with one configuration: on each replicate they train identically (same
    # arrays, masks and data order), so every paired difference is exactly zero.
    got = replicate_runs({"a": cfg, "b": cfg}, [11, 12, 13], digits, metric="val_loss")
    assert got["a"].scores == got["b"].scores
    assert got["a"].replicates == [11, 12, 13]
    # Different replicates differ (initial arrays, masks and order all move).
    assert len(set(got["a"].scores)) == 3
    c = compare(got["a"], got["b"], "minimize")
    assert c.test == TestKind.PAIRED and c.difference == 0 and not c.better
    assert got["a"].seconds_per_epoch > 0 and got["a"].best_epochs == [3, 3, 3]


def test_the_data_order_is_part_of_the_replicate(digits: Dataset) -> None:
    from tunelab.execute import train_runs

    base = {"model": {"units": [16], "dropout": 0.0}, "training": {"epochs": 2,
            "batch_size": 64}, "optimizer": {"learning_rate": 0.1}}
    a = parse_config({**base, "seed": 5})
    # The same seed alone in its cohort, or beside another configuration of that seed:
    # the same run, to the last digit.
    other = parse_config({**base, "seed": 5, "optimizer": {"learning_rate": 0.05}})
    alone = train_runs([a], digits, cohorts="replicate", collect=False)[0]
    paired = train_runs([a, other], digits, cohorts="replicate", collect=False)[0]
    assert alone.history["val_loss"] == pytest.approx(paired.history["val_loss"], abs=1e-6)


def test_a_difference_of_exactly_one_validation_sample_is_not_evidence() -> None:
    # Accuracies on 288 images, stored as float32 (what the engine logs): the candidate wins
    # by exactly one image on every replicate, which the floor refuses, rounding or not.
    def acc(k: int) -> float:
        return float(np.float32(k / 288))

    cur = _v("a", [acc(280), acc(284), acc(282)])
    cand = _v("b", [acc(281), acc(285), acc(283)])
    assert not compare(cur, cand, "maximize", resolution=1 / 288).better
    two = _v("b", [acc(282), acc(286), acc(284)])
    assert compare(cur, two, "maximize", resolution=1 / 288).better
    # A guide run's check: one image better on average (0, 0, 3, 1, 1, 1 images).
    start = _v("start", [acc(k) for k in (286, 286, 282, 285, 284, 285)])
    adopted = _v("adopted", [acc(k) for k in (286, 286, 285, 286, 285, 286)])
    assert not compare(start, adopted, "maximize", resolution=1 / 288).better


def test_without_evidence_on_the_current_value_the_least_diverged_is_adopted() -> None:
    from tunelab.guide._evidence import least_diverged

    nan = math.nan
    wild = ValueStats(label="wild", scores=[nan, nan, 62.5, nan], replicates=[1, 2, 3, 4])
    rough = ValueStats(label="rough", scores=[nan, 70.0, 71.0, 69.0], replicates=[1, 2, 3, 4])
    calm = ValueStats(label="calm", scores=[80.0, 81.0, 79.0, 80.0], replicates=[1, 2, 3, 4])
    assert least_diverged([wild, rough, calm], "minimize").label == "calm"
    assert least_diverged([wild, rough], "minimize").label == "rough"
    assert rough.text() == "diverged in 1 of 4 replicates (the others 70.0000 ± 1.0000)"
    assert ValueStats(label="x", scores=[nan, nan]).text() == "diverged in all 2 replicates"


def test_did_tuning_help_when_a_side_diverged() -> None:
    from tunelab.guide._final import tuning_verdict

    nan = math.nan
    start = ValueStats(label="start", scores=[nan] * 3, replicates=[1, 2, 3])
    adopted = ValueStats(label="adopted", scores=[40.1, 39.7, 39.9], replicates=[1, 2, 3])
    helped, summary = tuning_verdict(start, adopted, compare(start, adopted, "minimize"),
                                     "val_mae")
    assert helped and "nan" not in summary
    assert summary.startswith("tuning helped: the start diverged in all 3 replicates")
    helped, summary = tuning_verdict(adopted, start, compare(adopted, start, "minimize"),
                                     "val_mae")
    assert not helped and "diverged in all 3" in summary
    fine = ValueStats(label="start", scores=[41.0, 40.5, 40.9], replicates=[1, 2, 3])
    helped, summary = tuning_verdict(fine, adopted, compare(fine, adopted, "minimize"),
                                     "val_mae")
    assert helped == compare(fine, adopted, "minimize").better
