"""Search parameters: float, int, categorical and fixed values, each optionally conditional.

A parameter is plain data. It knows its own range rules (checked where it is built), the
Optuna distribution it becomes, and how to encode values Optuna cannot store: Optuna's
categorical distribution holds only ``None``, ``bool``, ``int``, ``float`` and ``str``, so a
choice such as ``units = [32, 32]`` is stored as the JSON text ``"[32, 32]"`` and decoded back.

Example:
    >>> Float(1e-4, 1.0, log=True).distribution()
    FloatDistribution(high=1.0, log=True, low=0.0001, step=None)
    >>> Categorical([[16], [32, 32]]).encode([32, 32])
    '[32, 32]'
"""

from __future__ import annotations

import abc
import copy
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tunelab.config import same_value

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

__all__ = ["Categorical", "Fixed", "Float", "Int", "Param", "condition_holds"]

_PRIMITIVE = (type(None), bool, int, float, str)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _when(when: Mapping[str, Any] | None) -> dict[str, tuple[Any, ...]]:
    """Normalise a condition: each parent name maps to the tuple of values that enable it."""
    if when is None:
        return {}
    if not isinstance(when, Mapping):
        raise ValueError(f"`when` must be a table of parameter = value(s), got {when!r}")
    out: dict[str, tuple[Any, ...]] = {}
    for parent, values in when.items():
        vals = tuple(values) if isinstance(values, list | tuple) else (values,)
        if not vals:
            raise ValueError(f"`when` gives no value for {parent!r}")
        out[str(parent)] = vals
    return out


def condition_holds(when: Mapping[str, tuple[Any, ...]], values: Mapping[str, Any]) -> bool:
    """Whether every parent in ``when`` is active in ``values`` with one of the enabling values.

    Example:
        >>> condition_holds({"optimizer.name": ("SGD",)}, {"optimizer.name": "sgd"})
        True
    """
    for parent, allowed in when.items():
        if parent not in values:
            return False
        if not any(same_value(values[parent], v) for v in allowed):
            return False
    return True


class Param(abc.ABC):
    """Base of every search parameter; ``when`` maps parent parameters to enabling values."""

    kind = "param"

    def __init__(self, when: Mapping[str, Any] | None) -> None:
        self.when = _when(when)

    @abc.abstractmethod
    def distribution(self) -> BaseDistribution | None:
        """The Optuna distribution sampled for this parameter (``None`` for fixed values)."""
        ...

    def decode(self, stored: Any) -> Any:
        """The config value for a value as Optuna stores it."""
        return stored

    def encode(self, value: Any) -> Any:
        """The value as Optuna stores it."""
        return value

    @abc.abstractmethod
    def probe_values(self) -> list[Any]:
        """Values that stand for the whole range when checking it against the configuration."""
        ...

    @abc.abstractmethod
    def grid_values(self) -> list[Any]:
        """Every value of a finite grid, as Optuna stores them."""
        ...

    def spec(self) -> dict[str, Any]:
        """Plain data describing the parameter (stable: it is part of a study's fingerprint)."""
        # None is left out: TOML has no null, and the spec is written to tune.toml.
        out = {"type": self.kind, **{k: v for k, v in self._fields().items() if v is not None}}
        if self.when:
            out["when"] = {k: list(v) for k, v in sorted(self.when.items())}
        return out

    @abc.abstractmethod
    def _fields(self) -> dict[str, Any]:
        ...

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Param) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(json.dumps(self.spec(), sort_keys=True, default=str))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._fields().items())
        when = f", when={ {k: list(v) for k, v in self.when.items()} }" if self.when else ""
        return f"{type(self).__name__}({args}{when})"


class Float(Param):
    """A real value in ``[low, high]``, optionally on a log scale or on a grid of ``step``.

    Example:
        >>> Float(0.0, 0.5, step=0.1).grid_values()
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    """

    kind = "float"

    def __init__(
        self,
        low: float,
        high: float,
        *,
        log: bool = False,
        step: float | None = None,
        when: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(when)
        if not (_is_number(low) and _is_number(high)):
            raise ValueError(f"low and high must be numbers, got low={low!r}, high={high!r}")
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"low and high must be finite, got low={low}, high={high}")
        if low > high:
            raise ValueError(f"`low <= high` must hold, got low={low}, high={high}; swap them")
        if step is not None and (not _is_number(step) or step <= 0):
            raise ValueError(f"step must be a number > 0, got step={step!r}")
        if not isinstance(log, bool):
            raise ValueError(f"log must be true or false, got log={log!r}")
        if log and low <= 0:
            raise ValueError(
                f"a log scale needs low > 0, got low={low}; use a small positive low"
                " (for example 1e-5) or log = false"
            )
        if log and step is not None:
            raise ValueError("log and step cannot be combined; drop one of them")
        self.low, self.high, self.log = float(low), float(high), log
        self.step = None if step is None else float(step)

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import FloatDistribution

        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def probe_values(self) -> list[Any]:
        return [self.low, self.high]

    def grid_values(self) -> list[Any]:
        if self.step is None:
            raise ValueError(
                "the grid sampler needs a finite set of values: give this float a step,"
                " or use choices"
            )
        n = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return [round(self.low + i * self.step, 12) for i in range(n)]

    def _fields(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log, "step": self.step}


class Int(Param):
    """An integer in ``[low, high]``, optionally on a log scale or with a ``step``.

    Example:
        >>> Int(16, 64, step=16).grid_values()
        [16, 32, 48, 64]
    """

    kind = "int"

    def __init__(
        self,
        low: int,
        high: int,
        *,
        log: bool = False,
        step: int = 1,
        when: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(when)
        for key, value in (("low", low), ("high", high), ("step", step)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{key} must be an integer, got {key}={value!r}")
        if low > high:
            raise ValueError(f"`low <= high` must hold, got low={low}, high={high}; swap them")
        if step <= 0:
            raise ValueError(f"step must be an integer > 0, got step={step}")
        if not isinstance(log, bool):
            raise ValueError(f"log must be true or false, got log={log!r}")
        if log and low <= 0:
            raise ValueError(f"a log scale needs low > 0, got low={low}")
        if log and step != 1:
            raise ValueError("log and step cannot be combined; drop one of them")
        self.low, self.high, self.log, self.step = low, high, log, step

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import IntDistribution

        return IntDistribution(self.low, self.high, log=self.log, step=self.step)

    def probe_values(self) -> list[Any]:
        return [self.low, self.high]

    def grid_values(self) -> list[Any]:
        return list(range(self.low, self.high + 1, self.step))

    def _fields(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log, "step": self.step}


class Categorical(Param):
    """One of a list of choices. Choices may be lists (``units``) or tables.

    Example:
        >>> c = Categorical(["SGD", "Adam"])
        >>> c.decode(c.encode("Adam"))
        'Adam'
    """

    kind = "categorical"

    def __init__(self, choices: Sequence[Any], *, when: Mapping[str, Any] | None = None) -> None:
        super().__init__(when)
        if isinstance(choices, str | bytes) or not isinstance(choices, Sequence):
            raise ValueError(f"choices must be a list, got {choices!r}")
        if not choices:
            raise ValueError("choices is empty; give at least one value")
        self.choices: tuple[Any, ...] = tuple(copy.deepcopy(list(choices)))
        self._json = not all(isinstance(c, _PRIMITIVE) for c in self.choices)
        encoded = [repr(self.encode(c)) for c in self.choices]
        if len(set(encoded)) != len(encoded):
            raise ValueError(f"choices has a value twice: {list(self.choices)}")

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution([self.encode(c) for c in self.choices])

    def encode(self, value: Any) -> Any:
        return json.dumps(value, sort_keys=True) if self._json else value

    def decode(self, stored: Any) -> Any:
        return json.loads(stored) if self._json and isinstance(stored, str) else stored

    def probe_values(self) -> list[Any]:
        return copy.deepcopy(list(self.choices))

    def grid_values(self) -> list[Any]:
        return [self.encode(c) for c in self.choices]

    def _fields(self) -> dict[str, Any]:
        return {"choices": copy.deepcopy(list(self.choices))}


class Fixed(Param):
    """A value set on every trial (or on every trial whose condition holds); never sampled.

    Example:
        >>> Fixed(0.9).probe_values()
        [0.9]
    """

    kind = "fixed"

    def __init__(self, value: Any, *, when: Mapping[str, Any] | None = None) -> None:
        super().__init__(when)
        self.value = copy.deepcopy(value)

    def distribution(self) -> None:
        return None

    def decode(self, stored: Any) -> Any:
        return copy.deepcopy(self.value)

    def probe_values(self) -> list[Any]:
        return [copy.deepcopy(self.value)]

    def grid_values(self) -> list[Any]:
        return []

    def _fields(self) -> dict[str, Any]:
        return {"value": copy.deepcopy(self.value)}
