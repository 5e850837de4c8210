"""The optimizers tunelab trains with: one entry each, its Keras name and its Keras defaults.

This table is the one place an optimizer is described. The names a configuration accepts
(:data:`OPTIMIZERS`), the values that apply to each optimizer, the keys cleared when a step
switches optimizer (:data:`OPTIMIZER_KEYS`) and the defaults :mod:`tunelab.optim` fills in
all derive from it; :mod:`tunelab.optim` adds each entry's optax factory, keyed by the same
name and checked against this table when it is imported.

Example:
    >>> OPTIMIZER_SPECS["RMSprop"].optional
    ('rho', 'momentum', 'epsilon')
    >>> OPTIMIZERS[:3]
    ('SGD', 'RMSprop', 'Adam')
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["OPTIMIZERS", "OPTIMIZER_KEYS", "OPTIMIZER_SPECS", "OptimizerSpec"]

# Every optimizer has these two: its base learning rate and Keras 2's per-step ``decay``.
_SHARED = ("learning_rate", "decay")


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer: its Keras name and the values it reads with their Keras 3 defaults.

    Attributes:
        name: The Keras class name (``SGD``, ``RMSprop``...).
        defaults: Every value the optimizer reads, with Keras's default (``decay`` is Keras
            2's ``lr / (1 + decay * iterations)``, 0 for none).
    """

    name: str
    defaults: MappingProxyType[str, float]

    @property
    def optional(self) -> tuple[str, ...]:
        """The values a configuration may set for this optimizer beyond the shared two.

        Example:
            >>> OPTIMIZER_SPECS["SGD"].optional
            ('momentum',)
        """
        return tuple(k for k in self.defaults if k not in _SHARED)


def _spec(name: str, **own: float) -> OptimizerSpec:
    return OptimizerSpec(name, MappingProxyType({"learning_rate": 0.001, "decay": 0.0, **own}))


_ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}

OPTIMIZER_SPECS: MappingProxyType[str, OptimizerSpec] = MappingProxyType({s.name: s for s in (
    _spec("SGD", learning_rate=0.01, momentum=0.0),
    _spec("RMSprop", rho=0.9, momentum=0.0, epsilon=1e-7),
    _spec("Adam", **_ADAM),
    _spec("AdamW", **_ADAM, weight_decay=0.004),
    _spec("Adagrad", epsilon=1e-7),
    _spec("Adadelta", rho=0.95, epsilon=1e-7),
    _spec("Adamax", **_ADAM),
    _spec("Nadam", **_ADAM),
)})

OPTIMIZERS: tuple[str, ...] = tuple(OPTIMIZER_SPECS)
"""The optimizer names a configuration accepts (any case)."""

OPTIMIZER_KEYS: tuple[str, ...] = tuple(dict.fromkeys(
    k for spec in OPTIMIZER_SPECS.values() for k in spec.optional))
"""Every optimizer-specific value (momentum, rho...): what a change of optimizer clears."""
