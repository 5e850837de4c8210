"""Compiling a cohort's programs from shapes: the cohort built on the data finds them ready."""

from __future__ import annotations

from typing import Any

import pytest

from tunelab.data import Dataset
from tunelab.train import Cohort, DataShape, compile_cohort, compile_stats

from .conftest import small


# A hidden width of its own for each case: nothing else in a session compiles its structure.
@pytest.mark.parametrize(("units", "options"), [
    (11, {}),
    (12, {"parts": 3}),
    (13, {"replicates": [0, 1]}),
    (14, {"micro": True}),
    (15, {"l2": True}),
    (19, {"replicates": [0, 1], "chunk_bytes": 1}),
], ids=["whole", "pieces", "replicates", "micro_batch", "l2", "chunks"])
def test_a_cohort_trains_on_what_was_compiled_from_shapes(
        digits: Dataset, units: int, options: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    if "chunk_bytes" in options:  # trained a slot at a time: the chunk's width is compiled
        monkeypatch.setattr("tunelab.train._chunks.CHUNK_BYTES", options["chunk_bytes"])
    cfg = small(model={"units": [units], "l2": 0.01 if options.get("l2") else 0.0},
                training={"epochs": 1, "batch_size": 64,
                          "micro_batch": 32 if options.get("micro") else None})
    replicates = options.get("replicates")
    parts = options.get("parts", 1)
    shape = DataShape.of(digits)
    seconds = compile_cohort(cfg, shape, width=4, replicates=replicates, parts=parts,
                             l2=bool(options.get("l2")))
    assert seconds > 0
    cohort = Cohort(cfg, digits, width=4, replicates=replicates, parts=parts)
    for slot in range(4):
        cohort.assign(slot, cfg.model_copy(update={"seed": replicates[slot // 2]} if replicates
                                           else {"seed": slot}))
    before = compile_stats()["compiles"]
    for _ in range(parts):
        cohort.run_part()
    assert compile_stats()["compiles"] == before  # the epoch and validation were ready
    assert cohort.status(0) == "done"
    assert compile_cohort(cfg, shape, width=4, replicates=replicates, parts=parts,
                          l2=bool(options.get("l2"))) == 0.0


def test_the_shape_of_a_dataset(digits: Dataset) -> None:
    shape = DataShape.of(digits)
    assert (shape.train, shape.val, shape.input_shape) == (len(digits.x_train),
                                                           len(digits.x_val), (64,))
    assert shape.spec() == Cohort(small(), digits).spec
