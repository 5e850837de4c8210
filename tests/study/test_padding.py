"""Which widths a study pads: the policies, and what `auto` chooses."""

from __future__ import annotations

from tunelab.config import RunConfig
from tunelab.study import Space
from tunelab.study._padding import choose_padding, padder, structure_count

SPACE = Space({"model.units": [32, 64, 128], "training.batch_size": [32, 64, 128, 256]})
STRUCTURAL = ["model.units", "training.batch_size"]


def _units(policy: str, units: int, space: Space = SPACE) -> list[int] | None:
    pad = padder(policy, space, RunConfig())
    assert pad is not None
    return pad(space.apply(RunConfig(), {"model.units": units})).model.padded_units


def test_max_pads_every_layer_to_the_widest_the_space_gives() -> None:
    assert _units("max", 32) == [128, 128]
    deep = Space({"model.units": {"low": 8, "high": 100}, "model.layers": [1, 2, 3]})
    assert _units("max", 8, deep) == [100, 100, 100][:len(deep.apply(
        RunConfig(), {"model.units": 8}).model.units)]


def test_pow2_rounds_each_width_up() -> None:
    assert _units("pow2", 32) == [32, 32]
    odd = Space({"model.units": [20, 33]})
    assert _units("pow2", 33, odd) == [64, 64] and _units("pow2", 20, odd) == [32, 32]


def test_none_and_spaces_without_widths_do_not_pad() -> None:
    assert padder("none", SPACE, RunConfig()) is None
    assert padder("max", Space({"training.batch_size": [32, 64]}), RunConfig()) is None


def test_auto_pads_when_the_budget_cannot_fill_a_cohort_per_structure() -> None:
    assert structure_count(SPACE, STRUCTURAL) == 12
    assert choose_padding("auto", SPACE, RunConfig(), trials=24, cohort=8,
                          structural=STRUCTURAL) == "max"
    assert choose_padding("auto", SPACE, RunConfig(), trials=96, cohort=8,
                          structural=STRUCTURAL) == "none"
    assert choose_padding("auto", SPACE, RunConfig(), trials=4, cohort=8,
                          structural=["training.batch_size"]) == "none"  # widths not searched
    assert choose_padding("pow2", SPACE, RunConfig(), trials=4, cohort=8,
                          structural=STRUCTURAL) == "pow2"
