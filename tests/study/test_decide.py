"""What a lane's answer means for its slots, decided from plain data (no study, no executor).

The scheduler's integration tests (test_scheduler.py) drive the same decisions through a
simulated executor and a real Optuna study; these pin each rule on its own.
"""

from __future__ import annotations

import math

import pytest

from tunelab.study import TrialStatus
from tunelab.study._decide import (
    LOST,
    BestSave,
    LaneView,
    RoundActions,
    SlotReportView,
    Standing,
    decide_best,
    decide_round,
    over_budget,
)


def _running(*slots: int) -> frozenset[int]:
    return frozenset(slots)


def test_running_reports_all_go_to_the_pruner_before_any_is_pruned() -> None:
    """Slots that reach a rung together compete there together: every running slot's report
    is taken, and all of them are asked about, in slot order."""
    view = LaneView(slots=(10, 11, 12, 13), running=_running(0, 1, 2, 3))
    reports = [SlotReportView(s, 10 + s, "running") for s in (3, 1, 0, 2)]
    actions = decide_round(view, reports)
    assert actions.taken == (0, 1, 2, 3) and actions.ask == (0, 1, 2, 3)
    assert not (actions.ends or actions.bad or actions.fails or actions.lost or actions.close)


def test_the_pruners_answers_stop_exactly_the_slots_it_prunes() -> None:
    actions = decide_round(LaneView(slots=(10, 11, 12), running=_running(0, 1, 2)),
                           [SlotReportView(s, 10 + s, "running") for s in range(3)])
    assert actions.prunes({0: False, 1: True, 2: True}) == (1, 2)
    assert actions.prunes({}) == ()
    # An answer about a slot the pruner was not asked about (a trial that finished) is not
    # acted on.
    assert RoundActions(ask=(0,)).prunes({0: True, 5: True}) == (0,)


def test_mid_epoch_values_go_to_the_pruner_and_never_end_a_trial() -> None:
    view = LaneView(slots=(10,), running=_running(0))
    actions = decide_round(view, [SlotReportView(0, 10, "done", partial=True)])
    assert actions.taken == (0,) and actions.ask == (0,) and not actions.ends


@pytest.mark.parametrize("status", ["done", "early_stopped", "diverged", "stopped"])
def test_a_finished_slot_ends_its_trial_with_the_engines_status(status: str) -> None:
    view = LaneView(slots=(10, 11), running=_running(1))
    actions = decide_round(view, [SlotReportView(0, 10, status),
                                  SlotReportView(1, 11, "running")])
    assert actions.ends == {0: TrialStatus(status)}
    assert actions.taken == (0, 1) and actions.ask == (1,), "a finished trial is not pruned"
    assert actions.lost == (), "an ended slot is not lost"


def test_an_unknown_status_fails_its_trial_with_the_status_named() -> None:
    actions = decide_round(LaneView(slots=(10, 11)),
                           [SlotReportView(0, 10, "done"), SlotReportView(1, 11, "vanished")])
    assert actions.ends == {0: TrialStatus.DONE}
    assert actions.bad == {1: "error: the engine ended this slot with an unknown status"
                              " 'vanished'"}
    assert actions.taken == (0, 1) and actions.ask == () and actions.lost == ()


def test_a_failing_cohort_fails_every_trial_in_it_and_closes_the_lane() -> None:
    view = LaneView(slots=(10, None, 12), error="ConfigError: training.batch_size is 4096\n"
                                                "Traceback ...", running=_running(0, 2))
    actions = decide_round(view, [SlotReportView(0, 10, "done")])
    assert actions.close
    assert actions.fails == {0: "error: ConfigError: training.batch_size is 4096",
                             2: "error: ConfigError: training.batch_size is 4096"}
    assert actions.taken == actions.ask == () and not actions.ends, "its reports are ignored"


def test_a_trial_that_could_not_start_fails_and_its_report_is_ignored() -> None:
    view = LaneView(slots=(10, 11), running=_running(0), assign_errors={1: "bad shape"})
    actions = decide_round(view, [SlotReportView(0, 10, "running"),
                                  SlotReportView(1, 11, "running")])
    assert actions.fails == {1: "could not start: bad shape"} and not actions.close
    assert actions.taken == (0,) and actions.ask == (0,) and actions.lost == ()
    # An error about a free slot fails nothing.
    assert decide_round(LaneView(slots=(None,), assign_errors={0: "x"}), []).fails == {}


def test_a_report_of_a_trial_the_slot_no_longer_holds_is_ignored() -> None:
    """A slot stopped (pruned) and refilled may still report its old trial once."""
    view = LaneView(slots=(20, None), running=_running(0, 1))
    actions = decide_round(view, [SlotReportView(0, 10, "running"),
                                  SlotReportView(1, 11, "done"),
                                  SlotReportView(5, 12, "done")])
    assert actions.taken == actions.ask == () and not actions.ends
    assert actions.lost == (), "slot 0 still runs"


def test_a_slot_the_engine_dropped_without_a_report_is_lost() -> None:
    view = LaneView(slots=(10, 11, 12), running=_running(0))
    actions = decide_round(view, [SlotReportView(0, 10, "running"),
                                  SlotReportView(1, 11, "done")])
    assert actions.lost == (2,) and actions.ends == {1: TrialStatus.DONE}
    assert LOST.startswith("error: ")


def test_an_epoch_budget_ends_the_trials_with_the_fewest_epochs_first() -> None:
    epochs = {0: 3, 1: 1, 2: 1, 3: 5}
    assert over_budget(epochs, room=4) == () and over_budget(epochs, room=9) == ()
    assert over_budget(epochs, room=3) == (2,), "of equal epochs, the later slot first"
    assert over_budget(epochs, room=1) == (2, 1, 0)
    assert over_budget(epochs, room=0) == over_budget(epochs, room=-2) == (2, 1, 0, 3)
    assert over_budget({}, room=0) == ()


# -- the best model so far ---------------------------------------------------------------------

BEST = BestSave(save=True, claim=True)
NOT = BestSave()


def test_the_first_completed_trial_is_the_best() -> None:
    assert decide_best(Standing(0, (0.5,)), [], ["maximize"]) == BEST
    assert decide_best(Standing(0, (0.5,)), [], ["minimize"]) == BEST


@pytest.mark.parametrize(("direction", "value", "expected"), [
    ("maximize", 0.91, BEST), ("maximize", 0.89, NOT),
    ("minimize", 0.89, BEST), ("minimize", 0.91, NOT),
])
def test_a_trial_is_best_when_strictly_better_in_the_objectives_direction(
        direction: str, value: float, expected: BestSave) -> None:
    assert decide_best(Standing(7, (value,)), [Standing(3, (0.90,))], [direction]) == expected


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_a_tie_leaves_the_earlier_trial_best(direction: str) -> None:
    """Optuna's storage keeps the first of equal values as the best trial."""
    assert decide_best(Standing(7, (0.9,)), [Standing(3, (0.9,))], [direction]) == NOT


def test_the_trial_itself_among_the_best_is_ignored() -> None:
    """The storage read after the tell holds the trial itself: it is the best then."""
    assert decide_best(Standing(7, (0.9,)), [Standing(7, (0.9,))], ["maximize"]) == BEST


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_value_that_is_not_finite_is_never_best(value: float) -> None:
    assert decide_best(Standing(1, (value,)), [], ["maximize"]) == NOT
    assert decide_best(Standing(1, (value,)), [Standing(0, (0.1,))], ["minimize"]) == NOT
    assert decide_best(Standing(1, (0.1, value)), [], ["minimize", "maximize"]) == NOT


def test_a_finite_value_beats_a_best_that_is_not_a_number() -> None:
    assert decide_best(Standing(1, (0.1,)), [Standing(0, (math.nan,))], ["maximize"]) == BEST


# Two objectives: accuracy up, seconds down. The front: (0.9, 20 s) and (0.8, 5 s).
FRONT = [Standing(1, (0.9, 20.0)), Standing(2, (0.8, 5.0))]
TWO = ["maximize", "minimize"]


@pytest.mark.parametrize(("values", "saved"), [
    ((0.95, 30.0), True),   # more accurate than any: a new trade-off
    ((0.85, 10.0), True),   # between the two
    ((0.9, 20.0), True),    # equal to one on the front: joins it
    ((0.9, 25.0), False),   # as accurate as trial 1, slower
    ((0.7, 6.0), False),    # worse than trial 2 in both
    ((0.8, 5.0 + 1e-9), False),
])
def test_several_objectives_save_a_model_on_the_pareto_front_and_claim_nothing(
        values: tuple[float, float], saved: bool) -> None:
    decision = decide_best(Standing(9, values), FRONT, TWO)
    assert decision == BestSave(save=saved, claim=False)


def test_the_first_trial_of_several_objectives_is_on_the_front() -> None:
    assert decide_best(Standing(0, (0.5, 9.0)), [], TWO) == BestSave(save=True)


def test_values_and_objectives_of_different_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="trial 3 has 2 values for 1 objectives"):
        decide_best(Standing(3, (0.1, 0.2)), [], ["maximize"])
