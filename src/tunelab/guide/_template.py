"""The procedure for a ``keras.Model`` template: compare only what does not change its structure.

A template fixes its layers, widths, activations and initializers; what a step may still
compare is what the engine holds per slot or per cohort: the optimizer and its numbers, the
learning rate and schedule, the dropout rates of its ``Dropout`` layers, L2, batch size and
epochs. :func:`template_procedure` removes from each step the parameters a template fixes
(``model.units``, ``model.layers``, ``model.activation``, ``model.kernel_initializer``,
``model.padded_units``, and ``model.dropout`` when it has no Dropout layer) and leaves out a
step with nothing left to compare. The tutorial's topology step then compares dropout rates.

Example:
    >>> from tunelab.guide import default_procedure
    >>> proc = default_procedure("quick")
    >>> start = proc.start.model_copy(update={"model": proc.start.model.model_copy(
    ...     update={"template": "net.keras", "dropout": 0.1, "units": []})})
    >>> new, dropped = template_procedure(proc.model_copy(update={"start": start}), 1)
    >>> sorted(new.step("topology").scientific), "activation" in dropped
    (['model.dropout'], True)
"""

from __future__ import annotations

from typing import Any

from tunelab.guide._procedure import Procedure
from tunelab.model import stage_model

__all__ = ["FIXED_BY_TEMPLATE", "stage_model", "template_procedure"]

#: Search parameters a keras.Model template fixes.
FIXED_BY_TEMPLATE = ("model.units", "model.layers", "model.activation",
                     "model.kernel_initializer", "model.padded_units", "model.builder",
                     "model.template")


def template_procedure(proc: Procedure, dropout_layers: int | None = None
                       ) -> tuple[Procedure, dict[str, str]]:
    """``proc`` with every step reduced to what a template's structure leaves free.

    Args:
        proc: A procedure whose start has ``model.template``.
        dropout_layers: How many Dropout layers the template has (None: load it and count);
            without any, ``model.dropout`` is fixed too.

    Returns:
        The procedure, and for every step left out the parameters it compared.
    """
    fixed = set(FIXED_BY_TEMPLATE)
    if dropout_layers is None:
        from tunelab.model._template import dropout_layers as layers_of
        from tunelab.model._template import load_template

        assert proc.start.model.template is not None
        dropout_layers = len(layers_of(load_template(proc.start.model.template)))
    if dropout_layers == 0:
        fixed.add("model.dropout")
    steps = []
    dropped: dict[str, str] = {}

    def keep(table: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in table.items() if k not in fixed}

    for step in proc.steps:
        scientific = keep(step.scientific)
        if step.compares and not scientific:
            dropped[step.name] = ", ".join(sorted(step.scientific))
            continue
        steps.append(step.model_copy(update={"scientific": scientific,
                                              "nuisance": keep(step.nuisance),
                                              "fixed": keep(step.fixed)}))
    return proc.model_copy(update={"steps": tuple(steps)}), dropped
