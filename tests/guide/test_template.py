"""The procedure for a keras.Model template: only what does not change its structure."""

from __future__ import annotations

from tunelab.guide import default_procedure
from tunelab.guide._template import template_procedure


def _with_template(level: str = "quick"):  # type: ignore[no-untyped-def]
    proc = default_procedure(level)
    model = proc.start.model.model_copy(update={"template": "net.keras", "dropout": 0.1,
                                                "units": []})
    return proc.model_copy(update={"start": proc.start.model_copy(update={"model": model})})


def test_topology_compares_dropout_and_structural_steps_are_left_out() -> None:
    proc, dropped = template_procedure(_with_template(), dropout_layers=1)
    names = [s.name for s in proc.steps]
    assert "topology" in names and "activation" not in names
    assert "initialization" not in names and dropped["activation"] == "model.activation"
    assert list(proc.step("topology").scientific) == ["model.dropout"]
    assert proc.step("learning_rate").scientific == default_procedure(
        "quick").step("learning_rate").scientific


def test_without_dropout_layers_the_topology_step_goes_too() -> None:
    proc, dropped = template_procedure(_with_template(), dropout_layers=0)
    assert "topology" not in [s.name for s in proc.steps] and "topology" in dropped
