"""A lane's slots: opening, stopping, narrowing."""

from __future__ import annotations

from typing import Any, cast

from tunelab.study._lane import Lane


def test_narrowing_keeps_the_running_trials_first_and_in_order() -> None:
    lane = Lane(index=0, width=8)
    lane.open(("key",), 8, {"model.units": [64]})
    a, b = cast(Any, object()), cast(Any, object())
    lane.slots[2], lane.slots[5] = a, b
    keep = lane.narrow(4)
    assert keep == [2, 5, 0, 1]
    assert lane.slots == [a, b, None, None] and lane.width == 4
    lane.stop(1, "pruned")
    assert lane.running() == [a] and lane.stops == {1: "pruned"}
    lane.close()
    assert lane.key is None and lane.fixed is None and lane.running() == []
