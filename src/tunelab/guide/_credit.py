"""What a step credits with a gain: the scientific value, its nuisance values, or nothing.

A value's best trial carries its own tuned nuisance values (the learning rate always). When
that configuration beats the current one, the gain may come from the learning rate rather
than from the value, and a step that adopts the value on that evidence makes a false claim.
So a step confirms a challenger with three arms, all trained on the same fresh replicate
seeds (seeds no selection has seen):

- ``current``: the current value with its own tuned nuisance values;
- ``challenger``: the challenging value with its tuned nuisance values;
- ``ablation``: the current value with the challenger's nuisance values.

:func:`attribute` then decides, each test one-sided at level ``alpha``
(:func:`~tunelab.guide._evidence.compare`):

- the **scientific** change is credited (and the challenger adopted) when the challenger
  beats the ablation arm *and* the current configuration. Requiring both is an
  intersection-union test: its error rate is at most ``alpha`` without a correction, and
  under "the value makes no difference" the first test alone holds it there;
- else the **nuisance** values are credited (the ablation arm adopted: the current value,
  the challenger's nuisance values) when the ablation arm beats the current configuration;
- else nothing is credited and the current configuration is kept.

When the challenger's nuisance values are the current value's own (nothing to ablate), the
ablation arm is the current configuration and the second test is the whole decision.

Example:
    >>> from tunelab.runs import ValueStats
    >>> r = [1, 2, 3, 4]
    >>> cur = ValueStats(label="units [64]", scores=[0.950, 0.952, 0.949, 0.951], replicates=r)
    >>> win = ValueStats(label="units [128]", scores=[0.970, 0.973, 0.969, 0.972], replicates=r)
    >>> abl = ValueStats(label="units [64] · nuisance of units [128]",
    ...                  scores=[0.951, 0.950, 0.950, 0.952], replicates=r)
    >>> a = attribute(cur, win, abl, "maximize")
    >>> str(a.credited), a.adopted.label
    ('scientific', 'units [128]')
"""

from __future__ import annotations

from dataclasses import dataclass

from tunelab.guide._evidence import compare
from tunelab.runs import Comparison, Credit, ValueStats

__all__ = ["Attribution", "ablation_label", "attribute"]


def ablation_label(current: str, challenger: str) -> str:
    """The ablation arm's name: the current value with the challenger's nuisance values.

    Example:
        >>> ablation_label("units [64]", "units [128]")
        'units [64] · nuisance of units [128]'
    """
    return f"{current} · nuisance of {challenger}"


@dataclass(frozen=True)
class Attribution:
    """A step's decision: what it adopts, what it credits, the tests, and why.

    Attributes:
        credited: What the gain is credited to.
        adopted: The arm adopted (the current one when nothing is credited).
        total: The challenger against the current configuration.
        scientific: The challenger against the ablation arm (None: nothing to ablate).
        nuisance: The ablation arm against the current configuration (None: nothing to
            ablate).
        reason: One sentence with the numbers of every test.
    """

    credited: Credit
    adopted: ValueStats
    total: Comparison
    scientific: Comparison | None
    nuisance: Comparison | None
    reason: str

    @property
    def changed(self) -> bool:
        """Whether the step adopts a configuration other than the current one."""
        return self.credited != Credit.NONE


def _beats(test: Comparison, winner: ValueStats, loser: ValueStats) -> bool:
    """The test's verdict, with divergence as the worst result: an arm that diverged in a
    re-run never wins, and one that did not beats one that did."""
    if winner.diverged:
        return False
    if loser.diverged:
        return True
    return test.better


def attribute(current: ValueStats, challenger: ValueStats, ablation: ValueStats | None,
              direction: str, resolution: float = 0.0, alpha: float = 0.05) -> Attribution:
    """Decide what the challenger's gain is credited to (see the module).

    All three arms are scored on the same replicate seeds; ``ablation`` is None when the
    challenger's nuisance values are the current value's own.
    """
    total = compare(current, challenger, direction, resolution, alpha)
    won = _beats(total, challenger, current)
    if ablation is None:
        line = f"{challenger.label} against {current.label}: {total.text()}"
        if won:
            return Attribution(Credit.SCIENTIFIC, challenger, total, None, None,
                               f"adopted {challenger.label} (credited: the scientific value;"
                               f" its nuisance values are the current value's own); {line}")
        return Attribution(Credit.NONE, current, total, None, None,
                           f"kept {current.label}: the challenger is not better at alpha"
                           f" {alpha:g}; {line}")
    sci = compare(ablation, challenger, direction, resolution, alpha)
    nui = compare(current, ablation, direction, resolution, alpha)
    lines = (f"{challenger.label} {challenger.text()} against the same nuisance values on"
             f" {current.label} {ablation.text()}: {sci.text()}; against {current.label}"
             f" {current.text()}: {total.text()}; the nuisance values alone against"
             f" {current.label}: {nui.text()}")
    if won and _beats(sci, challenger, ablation):
        return Attribution(Credit.SCIENTIFIC, challenger, total, sci, nui,
                           f"adopted {challenger.label} (credited: the scientific value): it"
                           " beats the current value run with its nuisance values and the"
                           f" current configuration; {lines}")
    if _beats(nui, ablation, current):
        why = ("the value adds nothing beyond its nuisance values" if won else
               "the challenger is not better than both")
        return Attribution(Credit.NUISANCE, ablation, total, sci, nui,
                           f"adopted the nuisance values of {challenger.label} on"
                           f" {current.label} (credited: the nuisance values; {why}); {lines}")
    return Attribution(Credit.NONE, current, total, sci, nui,
                       f"kept {current.label}: neither the value nor its nuisance values beat"
                       f" it at alpha {alpha:g}; {lines}")

