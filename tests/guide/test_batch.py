"""The batch-size step's choice: the fastest batch size within noise of the best, and the
accuracy-against-time Pareto front."""

from __future__ import annotations

from tunelab.guide import choose_batch, pareto_front
from tunelab.runs import ValueStats


def bs(size: int, scores: list[float], seconds: float, epochs: float) -> ValueStats:
    # Replicates 1..n: every batch size ran on the same seeds (a paired comparison).
    return ValueStats(label=f"batch_size {size}", scores=scores,
                      replicates=list(range(1, len(scores) + 1)), seconds_per_epoch=seconds,
                      epochs=epochs, params={"training.batch_size": size})


def test_batch_size_choice_is_the_fastest_within_noise() -> None:
    small = bs(32, [0.970, 0.972, 0.971], 0.4, 20)
    big = bs(256, [0.971, 0.970, 0.970], 0.05, 30)
    bad = bs(1024, [0.90, 0.91, 0.90], 0.01, 30)
    choice = choose_batch([small, big, bad], current=small, direction="maximize")
    assert choice.chosen is big and choice.adopted
    assert [r.batch_size for r in choice.rows] == [32, 256, 1024]
    assert [r.within_noise for r in choice.rows] == [True, True, False]
    # The current one is the fastest within noise: kept.
    assert not choose_batch([small, bad], current=small, direction="maximize").adopted
    # The big one is clearly worse: the small one stays although it is slower.
    worse = bs(256, [0.950, 0.951, 0.949], 0.05, 30)
    assert choose_batch([small, worse], current=small, direction="maximize").chosen is small



def test_a_faster_batch_size_must_save_a_fifth_and_a_second() -> None:
    # On a tiny dataset: 0.12 s against 0.08 s per run is not worth any accuracy.
    best = bs(32, [0.987, 0.986, 0.988], 0.004, 30)
    quick = bs(128, [0.986, 0.987, 0.985], 0.0033, 25)
    choice = choose_batch([best, quick], current=best, direction="maximize")
    assert [r.within_noise for r in choice.rows] == [True, True]
    assert choice.chosen is best and not choice.adopted
    assert "saves a fifth of its time and a second" in choice.reason
    # The same accuracies on a large dataset: 12 s against 8 s is worth it.
    big_best = bs(32, [0.987, 0.986, 0.988], 0.4, 30)
    big_quick = bs(128, [0.986, 0.987, 0.985], 0.33, 25)
    assert choose_batch([big_best, big_quick], current=big_best,
                        direction="maximize").chosen is big_quick
    # When the current batch size is out of the noise, the best replaces it unless a faster
    # one within noise saves enough against the best.
    old = bs(512, [0.95, 0.951, 0.949], 0.003, 25)
    assert choose_batch([best, quick, old], current=old, direction="maximize").chosen is best


def test_pareto_front() -> None:
    assert pareto_front([0.9, 0.95, 0.93, 0.95], [1.0, 3.0, 4.0, 2.0], "maximize") == [
        True, False, False, True]
    assert pareto_front([0.2, 0.1], [1.0, 2.0], "minimize") == [True, True]
    assert pareto_front([0.2, 0.1, 0.3], [1.0, 2.0, 2.0], "minimize") == [True, True, False]


def test_a_kept_batch_size_is_never_compared_with_itself() -> None:
    current = bs(32, [39.9, 39.4, 38.9], 0.002, 23)
    other = bs(128, [39.2, 39.8, 39.7], 0.0017, 25)
    choice = choose_batch([current, other], current=current, direction="minimize")
    assert not choice.adopted
    assert "against batch_size 32" not in choice.reason
    assert choice.reason.startswith("kept batch_size 32: the best,")
    # Kept within noise of a better one: the reason carries the test that found it so.
    better = bs(128, [39.8, 39.3, 38.9], 0.0017, 25)
    kept = choose_batch([current, better], current=current, direction="minimize")
    assert kept.reason.startswith("kept batch_size 32: within noise of the best,")
    assert "batch_size 128 against it: one-sided paired t test, alpha 0.05" in kept.reason
    assert "trains in 0.046 s" in kept.reason  # small times keep their digits
