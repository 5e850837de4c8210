"""The scheduler's decisions, from plain numbers: sizing, draining, and the two width choices."""

from __future__ import annotations

from tunelab.study import CohortPolicy, Prices, SlotView

PRICED = Prices(epoch_seconds=0.1, compile_seconds=1.0)


def _never(width: int) -> bool:
    return False


def test_a_large_budget_keeps_full_cohorts() -> None:
    policy = CohortPolicy.for_session(expected=200, width=8, structures=4, lanes=2)
    # The quota is the budget's share per structure, 200 // (2 x 4), within [8, 32].
    assert (policy.width, policy.quota, policy.pool, policy.explore, policy.small) == (
        8, 25, 16, 0, False)


def test_a_small_budget_gets_narrow_cohorts_and_explores() -> None:
    policy = CohortPolicy.for_session(expected=24, width=8, structures=4, lanes=1)
    assert policy.small and policy.width == 3 and policy.quota == 3 and policy.explore == 4
    # An epoch budget also makes a budget small when a structure's share is under a cohort.
    assert not CohortPolicy.for_session(expected=40, width=8, structures=2, lanes=1,
                                        epoch_budget=True).small  # a share of 10 fills 8
    assert not CohortPolicy.for_session(expected=20, width=8, structures=2, lanes=1).small
    tight = CohortPolicy.for_session(expected=20, width=8, structures=2, lanes=1,
                                     epoch_budget=True)
    assert tight.small and tight.width == 5
    assert CohortPolicy.for_session(expected=2, width=8, structures=1, lanes=1).width == 2


def test_a_cohort_drains_for_a_full_cohort_waiting_or_after_its_quota() -> None:
    policy = CohortPolicy(width=4, quota=6, pool=4)
    assert policy.drains("a", 0, {"b": 4})
    assert not policy.drains("a", 0, {"b": 3, "a": 9})
    assert policy.drains("a", 6, {"b": 1})
    assert not policy.drains("a", 6, {"a": 2})  # nothing else waits: go on
    assert not policy.drains("a", 6, {"b": 0})


def test_asking_freely_and_exploring() -> None:
    policy = CohortPolicy(width=4, quota=4, pool=8, explore=3)
    assert policy.explores(2) and not policy.explores(3)
    assert policy.asks_freely(waiting=7, left=5)
    assert not policy.asks_freely(waiting=8, left=5) and not policy.asks_freely(waiting=0, left=4)


def test_a_new_cohort_near_the_end_is_narrow_only_when_that_pays() -> None:
    policy = CohortPolicy(width=8, quota=8, pool=8)
    assert policy.new_width(can_fill=9, epochs=1000, prices=PRICED, compiled=_never) == 8
    # 6 of 8 slots idle over 20 epochs: 0.1 * 0.75 * 20 = 1.5 s saved >= 1.0 s to compile.
    assert policy.new_width(can_fill=2, epochs=20, prices=PRICED, compiled=_never) == 2
    assert policy.new_width(can_fill=2, epochs=10, prices=PRICED, compiled=_never) == 8
    assert policy.new_width(can_fill=2, epochs=10, prices=PRICED,
                            compiled=lambda w: w == 2) == 2  # compiled before: free
    assert policy.new_width(can_fill=2, epochs=1000, prices=Prices(), compiled=_never) == 8


def test_a_draining_cohort_narrows_to_a_power_of_two_when_that_pays() -> None:
    policy = CohortPolicy(width=8, quota=8, pool=8)
    # 3 running of 8: width 4 saves 0.1 * 0.5 * epochs_left.
    assert policy.narrowed_width(running=3, width=8, epochs_left=20, prices=PRICED,
                                 compiled=_never) == 4
    assert policy.narrowed_width(running=3, width=8, epochs_left=19, prices=PRICED,
                                 compiled=_never) is None
    assert policy.narrowed_width(running=3, width=8, epochs_left=1, prices=Prices(),
                                 compiled=lambda w: w == 4) == 4
    assert policy.narrowed_width(running=5, width=8, epochs_left=1000, prices=PRICED,
                                 compiled=_never) is None  # 8 is already the power of two
    assert policy.narrowed_width(running=0, width=8, epochs_left=9, prices=PRICED,
                                 compiled=_never) is None


def _plan(policy: CohortPolicy, **view: object) -> list[str]:
    fields = {"key": "a", "started": 0, "waiting": {}, "asked": 10, "left": 50, **view}
    return [str(r) for r in policy.refill(SlotView(**fields))]  # type: ignore[arg-type]


def test_a_free_slot_is_refilled_in_the_round_it_was_freed() -> None:
    policy = CohortPolicy(width=4, quota=8, pool=4)
    fixed = ["fixed"] * 3
    # Asked trials of its structure first; then a free proposal, then its structure fixed.
    assert _plan(policy) == ["waiting", "free", *fixed]
    # The pool of proposals of other structures is full: its structure fixed at once.
    assert _plan(policy, waiting={"b": 3, "c": 1}) == ["waiting", *fixed]
    # The budget nearly spent: no free proposal that could wait unstarted.
    assert _plan(policy, left=4) == ["waiting", *fixed]
    # Grid search cannot fix a structure: free proposals only.
    assert _plan(policy, can_fix=False) == ["waiting", "free"]


def test_a_slot_stays_free_when_its_cohort_drains_or_the_budget_is_spent() -> None:
    policy = CohortPolicy(width=4, quota=8, pool=4)
    assert _plan(policy, waiting={"b": 4}) == ["waiting"]  # a full cohort of b waits
    assert _plan(policy, started=8, waiting={"b": 1}) == ["waiting"]  # quota spent
    assert _plan(policy, started=8, waiting={"a": 1}) != ["waiting"]  # nothing else waits
    assert _plan(policy, can_ask=False) == ["waiting"]  # budget or clock spent


def test_a_closing_cohort_takes_no_new_trial() -> None:
    policy = CohortPolicy(width=4, quota=8, pool=4)
    # Holding a trial past depth_first epochs, or narrowed for its last trials: even a
    # waiting trial of its own structure waits for the next cohort.
    assert _plan(policy, closing=True) == []
    assert _plan(policy, closing=True, waiting={"a": 2}) == []


def test_near_the_timeout_other_structures_go_first() -> None:
    policy = CohortPolicy(width=4, quota=8, pool=4)
    assert _plan(policy, near_deadline=True) == ["waiting", "fixed", "fixed", "fixed"]
    assert _plan(policy, near_deadline=True, waiting={"b": 1}) == ["waiting"]


def test_exploring_asks_freely_and_never_forces_the_structure() -> None:
    policy = CohortPolicy(width=3, quota=3, pool=3, explore=4, small=True)
    assert _plan(policy, asked=2) == ["waiting", "explore"]
    assert _plan(policy, asked=4) == ["waiting", "free", "fixed", "fixed", "fixed"]
