"""The one cost model: idle work against a compilation, and the prices a session measures."""

from __future__ import annotations

import pytest

from tunelab.study import CompileTrade, Prices, SessionStats, measured_prices, pays_to_compile
from tunelab.study._padding import padding_trade


def test_a_compilation_pays_when_the_idle_work_it_saves_is_at_least_its_cost() -> None:
    trade = pays_to_compile(epoch_seconds=0.5, idle_share=0.5, epochs=8, compile_seconds=1.5)
    assert trade == CompileTrade(pays=True, saved_seconds=2.0, cost_seconds=1.5)
    short = pays_to_compile(epoch_seconds=0.5, idle_share=0.5, epochs=4, compile_seconds=1.5)
    assert short == CompileTrade(pays=False, saved_seconds=1.0, cost_seconds=1.5)
    tie = pays_to_compile(epoch_seconds=1.0, idle_share=1.0, epochs=3, compile_seconds=1.5,
                          compiles=2)
    assert tie.pays and tie.saved_seconds == tie.cost_seconds == 3.0


def test_a_shape_compiled_before_is_free_and_an_unknown_price_never_pays() -> None:
    free = pays_to_compile(epoch_seconds=None, idle_share=0.25, epochs=2, compile_seconds=None,
                           compiles=0)
    assert free.pays and free.cost_seconds == 0.0 and free.saved_seconds is None
    for epoch, compile_ in ((None, 1.0), (1.0, None)):
        unknown = pays_to_compile(epoch_seconds=epoch, idle_share=1.0, epochs=100,
                                  compile_seconds=compile_)
        assert not unknown.pays


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"idle_share": 1.5}, "idle_share=1.5"),
    ({"idle_share": -0.1}, "idle_share=-0.1"),
    ({"epochs": -1}, "epochs=-1"),
    ({"compiles": -1}, "compiles=-1"),
])
def test_impossible_inputs_are_errors_naming_them(kwargs: dict[str, float], message: str) -> None:
    args = {"epoch_seconds": 1.0, "idle_share": 0.5, "epochs": 1, "compile_seconds": 1.0,
            **kwargs}
    with pytest.raises(ValueError, match=message):
        pays_to_compile(**args)  # type: ignore[arg-type]


def test_measured_prices_share_compile_seconds_by_shape() -> None:
    stats = SessionStats(train_seconds=6.0, cohort_epochs=12, compile_seconds=3.0, cohorts=5)
    assert measured_prices(stats, shapes=2) == Prices(epoch_seconds=0.5, compile_seconds=1.5)
    assert measured_prices(SessionStats(), shapes=0) == Prices(None, None)
    # Compile seconds not measured (0) is an unknown price, not a free compilation.
    assert measured_prices(SessionStats(train_seconds=1.0, cohort_epochs=2), 1).compile_seconds \
        is None


@pytest.mark.parametrize(("trials", "padded"), [(24, True), (95, True), (96, False),
                                                (200, False)])
def test_padding_is_the_cost_model_priced_in_trials(trials: int, padded: bool) -> None:
    # 12 structures, cohorts of 8: compiling every structure pays from 96 trials on.
    trade = padding_trade(trials=trials, cohort=8, structures=12)
    assert trade.pays is not padded
    assert (trade.saved_seconds, trade.cost_seconds) == (float(trials), 96.0)
