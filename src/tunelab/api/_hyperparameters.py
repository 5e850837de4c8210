"""Keras Tuner's ``HyperParameters``: a search space defined while a model is built.

``build_model(hp)`` calls ``hp.Int``, ``hp.Float``, ``hp.Choice``, ``hp.Boolean`` and
``hp.Fixed``; each call registers the hyperparameter in ``hp.space`` (once) and returns its
value for this trial. Where the value comes from is the ``source`` the tuner gives: an
Optuna trial's ``suggest_*`` during a search, the defaults when the space is first explored,
fixed ``values`` when a trial's model is built again. A hyperparameter under
``conditional_scope`` (or given ``parent_name``/``parent_values``) is active only when its
parent holds one of the listed values; inactive, it is registered and returns ``None``.

The configurations printed by ``search_space_summary`` are Keras Tuner's, key for key.

Example:
    >>> hp = HyperParameters()
    >>> hp.Int("units", 32, 128, step=32), hp.Choice("act", ["relu", "tanh"])
    (32, 'relu')
    >>> with hp.conditional_scope("act", ["tanh"]):
    ...     print(hp.Float("slope", 0.1, 0.5))
    None
    >>> hp.values
    {'units': 32, 'act': 'relu'}
    >>> [p.name for p in hp.space]
    ['units', 'act', 'slope']
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tunelab.errors import SpaceError

__all__ = ["Boolean", "Choice", "Fixed", "Float", "HyperParameter", "HyperParameters", "Int",
           "Parent"]

_SAMPLINGS = ("linear", "log", "reverse_log")


class Parent:
    """A condition: the hyperparameter ``name`` holds one of ``values``."""

    def __init__(self, name: str, values: Any) -> None:
        self.name = name
        self.values = list(values) if isinstance(values, list | tuple) else [values]

    def is_active(self, values: dict[str, Any]) -> bool:
        """Whether ``values`` satisfy the condition."""
        return self.name in values and values[self.name] in self.values

    def get_config(self) -> dict[str, Any]:
        """The condition as Keras Tuner serialises it."""
        return {"class_name": "Parent", "config": {"name": self.name, "values": self.values}}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Parent) and (self.name, self.values) == (other.name,
                                                                          other.values)

    def __hash__(self) -> int:
        return hash(self.name)


class HyperParameter:
    """One hyperparameter of a space: its name, default and conditions."""

    def __init__(self, name: str, default: Any = None,
                 conditions: Sequence[Parent] = ()) -> None:
        self.name = name
        self._default = default
        self.conditions = list(conditions)

    @property
    def default(self) -> Any:
        """The value used when nothing else chooses one."""
        return self._default

    def get_config(self) -> dict[str, Any]:
        """The configuration ``search_space_summary`` prints (Keras Tuner's keys)."""
        return {"name": self.name, "default": self.default,
                "conditions": [c.get_config() for c in self.conditions]}

    def grid(self) -> list[Any]:
        """Every value a grid search tries.

        Raises:
            SpaceError: The hyperparameter has no finite set of values.
        """
        raise SpaceError(f"{type(self).__name__} {self.name!r} has no finite set of values for"
                         " a grid search")


class _Numerical(HyperParameter):
    def __init__(self, name: str, min_value: float, max_value: float, step: Any,
                 sampling: str | None, default: Any, conditions: Sequence[Parent]) -> None:
        super().__init__(name, default, conditions)
        self.min_value, self.max_value, self.step = min_value, max_value, step
        self.sampling = (sampling or "linear").lower()
        kind = type(self).__name__
        if self.sampling not in _SAMPLINGS:
            raise SpaceError(f"hp.{kind}({name!r}): sampling must be one of"
                             f" {', '.join(_SAMPLINGS)}, got {sampling!r}")
        if min_value > max_value:
            raise SpaceError(f"hp.{kind}({name!r}): min_value <= max_value must hold, got"
                             f" min_value={min_value}, max_value={max_value}")
        if self.sampling != "linear" and min_value <= 0:
            raise SpaceError(f"hp.{kind}({name!r}): sampling={self.sampling!r} needs"
                             f" min_value > 0, got {min_value}")
        if self.sampling != "linear" and step is not None and step <= 1:
            raise SpaceError(f"hp.{kind}({name!r}): with sampling={self.sampling!r} a step is"
                             f" a factor and must be > 1, got step={step}")

    @property
    def default(self) -> Any:
        return self._default if self._default is not None else self.min_value

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(min_value=self.min_value, max_value=self.max_value, step=self.step,
                      sampling=self.sampling)
        return config

    def grid(self) -> list[Any]:
        if self.step is None:
            raise SpaceError(f"hp.{type(self).__name__}({self.name!r}): a grid search needs a"
                             " step")
        out: list[Any] = []
        value = self.min_value
        index = 0
        while value <= self.max_value * (1 + 1e-9) and index < 10_000:
            out.append(self._cast(value))
            index += 1
            value = self.min_value + index * self.step if self.sampling == "linear" else \
                self.min_value * self.step ** index
        if self.sampling == "reverse_log":
            out = [self._cast(self.max_value + self.min_value - v) for v in out]
        return out

    def _cast(self, value: float) -> Any:
        return value


class Int(_Numerical):
    """``hp.Int(name, min_value, max_value, step=None, sampling="linear", default=None)``."""

    def __init__(self, name: str, min_value: int, max_value: int, step: int | None = None,
                 sampling: str | None = "linear", default: int | None = None,
                 conditions: Sequence[Parent] = ()) -> None:
        for what, v in (("min_value", min_value), ("max_value", max_value), ("step", step)):
            if v is not None and (isinstance(v, bool) or int(v) != v):
                raise SpaceError(f"hp.Int({name!r}): {what} must be an integer, got {v!r}")
        if step is None and (sampling or "linear") == "linear":
            step = 1
        super().__init__(name, int(min_value), int(max_value),
                         None if step is None else int(step), sampling, default, conditions)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["default"] = self._default
        return config

    def _cast(self, value: float) -> Any:
        return int(round(value))


class Float(_Numerical):
    """``hp.Float(name, min_value, max_value, step=None, sampling="linear", default=None)``."""

    def __init__(self, name: str, min_value: float, max_value: float,
                 step: float | None = None, sampling: str | None = "linear",
                 default: float | None = None, conditions: Sequence[Parent] = ()) -> None:
        super().__init__(name, float(min_value), float(max_value),
                         None if step is None else float(step), sampling, default, conditions)

    def _cast(self, value: float) -> Any:
        return float(value)


class Choice(HyperParameter):
    """``hp.Choice(name, values, ordered=None, default=None)``."""

    def __init__(self, name: str, values: Sequence[Any], ordered: bool | None = None,
                 default: Any = None, conditions: Sequence[Parent] = ()) -> None:
        super().__init__(name, default, conditions)
        if not values:
            raise SpaceError(f"hp.Choice({name!r}): values must not be empty")
        kinds = {type(v) for v in values}
        if len(kinds) > 1 and not kinds <= {int, float}:
            raise SpaceError(f"hp.Choice({name!r}): values must be all of one type, got"
                             f" {list(values)}")
        self._values = list(values)
        if default is not None and default not in self._values:
            raise SpaceError(f"hp.Choice({name!r}): the default {default!r} is not one of"
                             f" {self._values}")
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if ordered and not numeric:
            raise SpaceError(f"hp.Choice({name!r}): ordered=True needs numeric values")
        self.ordered = numeric if ordered is None else bool(ordered)

    @property
    def values(self) -> list[Any]:
        """The choices."""
        return list(self._values)

    @property
    def default(self) -> Any:
        return self._values[0] if self._default is None else self._default

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(values=self._values, ordered=self.ordered)
        return config

    def grid(self) -> list[Any]:
        return list(self._values)


class Boolean(HyperParameter):
    """``hp.Boolean(name, default=False)``."""

    def __init__(self, name: str, default: bool = False,
                 conditions: Sequence[Parent] = ()) -> None:
        if default not in (True, False):
            raise SpaceError(f"hp.Boolean({name!r}): default must be True or False, got"
                             f" {default!r}")
        super().__init__(name, bool(default), conditions)

    def grid(self) -> list[Any]:
        return [False, True]


class Fixed(HyperParameter):
    """``hp.Fixed(name, value)``: one value, recorded with the others."""

    def __init__(self, name: str, value: Any, conditions: Sequence[Parent] = ()) -> None:
        super().__init__(name, value, conditions)
        self.value = value

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("default")
        config["value"] = self.value
        return config

    def grid(self) -> list[Any]:
        return [self.value]


#: Where a value comes from: given the hyperparameter, return its value for this trial.
Source = Callable[[HyperParameter], Any]


class HyperParameters:
    """A search space and one trial's values (Keras Tuner's ``HyperParameters``).

    Args:
        source: Chooses each active hyperparameter's value the first time it is asked
            (default: its default). Values already in ``values`` are kept.

    Example:
        >>> hp = HyperParameters()
        >>> hp.values["lr"] = 0.01
        >>> hp.Float("lr", 1e-4, 1e-1, sampling="log"), hp.get("lr"), hp["lr"]
        (0.01, 0.01, 0.01)
    """

    def __init__(self, source: Source | None = None) -> None:
        self.space: list[HyperParameter] = []
        self.values: dict[str, Any] = {}
        self._source = source
        self._scopes: list[Parent] = []

    # ------------------------------------------------------------------ registry
    def _register(self, hp: HyperParameter, parent_name: str | None,
                  parent_values: Any) -> Any:
        if parent_name is not None or parent_values is not None:
            if parent_name is None or parent_values is None:
                raise SpaceError(f"hp {hp.name!r}: give parent_name and parent_values"
                                 " together")
            hp.conditions.append(Parent(parent_name, parent_values))
        hp.conditions = [*self._scopes, *hp.conditions]
        known = self._find(hp.name)
        if known is None:
            self.space.append(hp)
            known = hp
        if not all(c.is_active(self.values) for c in known.conditions):
            return None
        if hp.name not in self.values:
            self.values[hp.name] = self._source(known) if self._source is not None \
                else known.default
        return self.values[hp.name]

    def _find(self, name: str) -> HyperParameter | None:
        return next((p for p in self.space if p.name == name), None)

    def merge(self, others: Sequence[HyperParameter]) -> None:
        """Add hyperparameters this space does not have yet (by name), in order."""
        for p in others:
            if self._find(p.name) is None:
                self.space.append(p)

    def is_active(self, name: str) -> bool:
        """Whether ``name`` is registered and its conditions hold for the current values."""
        p = self._find(name)
        return p is not None and all(c.is_active(self.values) for c in p.conditions)

    # ------------------------------------------------------------------ Keras Tuner's API
    def Int(self, name: str, min_value: int, max_value: int, step: int | None = None,
            sampling: str = "linear", default: int | None = None,
            parent_name: str | None = None, parent_values: Any = None) -> Any:
        """An integer in ``[min_value, max_value]`` (``step`` apart; ``sampling="log"``)."""
        return self._register(Int(name, min_value, max_value, step, sampling, default),
                              parent_name, parent_values)

    def Float(self, name: str, min_value: float, max_value: float, step: float | None = None,
              sampling: str = "linear", default: float | None = None,
              parent_name: str | None = None, parent_values: Any = None) -> Any:
        """A float in ``[min_value, max_value]`` (``step``; ``sampling="log"``)."""
        return self._register(Float(name, min_value, max_value, step, sampling, default),
                              parent_name, parent_values)

    def Choice(self, name: str, values: Sequence[Any], ordered: bool | None = None,
               default: Any = None, parent_name: str | None = None,
               parent_values: Any = None) -> Any:
        """One of ``values``."""
        return self._register(Choice(name, values, ordered, default), parent_name,
                              parent_values)

    def Boolean(self, name: str, default: bool = False, parent_name: str | None = None,
                parent_values: Any = None) -> Any:
        """``True`` or ``False``."""
        return self._register(Boolean(name, default), parent_name, parent_values)

    def Fixed(self, name: str, value: Any, parent_name: str | None = None,
              parent_values: Any = None) -> Any:
        """Always ``value``."""
        return self._register(Fixed(name, value), parent_name, parent_values)

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Hyperparameters created inside are active only when ``parent_name`` holds one of
        ``parent_values``.

        Raises:
            SpaceError: ``parent_name`` is not a hyperparameter of this space yet.
        """
        if self._find(parent_name) is None:
            raise SpaceError(f"conditional_scope: {parent_name!r} is not a hyperparameter yet;"
                             " create it before the scope")
        self._scopes.append(Parent(parent_name, parent_values))
        try:
            yield
        finally:
            self._scopes.pop()

    def get(self, name: str) -> Any:
        """The current value of ``name``.

        Raises:
            SpaceError: ``name`` is unknown, or inactive in this trial.
        """
        if name in self.values:
            return self.values[name]
        if self._find(name) is not None:
            raise SpaceError(f"hp.get({name!r}): {name!r} is not active in this trial")
        raise SpaceError(f"hp.get({name!r}): unknown hyperparameter; known ones are"
                         f" {', '.join(p.name for p in self.space) or 'none'}")

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: str) -> bool:
        return self._find(name) is not None

    def copy(self) -> HyperParameters:
        """A new object with this space and these values (no source)."""
        out = HyperParameters()
        out.space, out.values = list(self.space), dict(self.values)
        return out

    def __repr__(self) -> str:
        return f"HyperParameters({self.values!r})"


def optuna_source(trial: Any) -> Source:
    """A source that asks an Optuna trial for each value (define-by-run).

    A log scale with a step (values ``min * step ** k``) and a reverse-log scale are
    categorical and mirrored choices; everything else is the matching ``suggest_*``.

    Example:
        >>> import optuna
        >>> t = optuna.create_study().ask()
        >>> hp = HyperParameters(optuna_source(t))
        >>> v = hp.Int("units", 32, 128, step=32)
        >>> v in (32, 64, 96, 128), t.params["units"] == v
        (True, True)
    """

    def choose(hp: HyperParameter) -> Any:
        if isinstance(hp, Fixed):
            return hp.value
        if isinstance(hp, Boolean):
            return bool(trial.suggest_categorical(hp.name, [False, True]))
        if isinstance(hp, Choice):
            return trial.suggest_categorical(hp.name, hp.values)
        assert isinstance(hp, _Numerical)
        if hp.sampling != "linear" and hp.step is not None:
            return trial.suggest_categorical(hp.name, hp.grid())
        lo, hi = hp.min_value, hp.max_value
        if hp.sampling == "reverse_log":
            mirrored = trial.suggest_float(hp.name, lo, hi, log=True)
            return hp._cast(hi + lo - mirrored)
        if isinstance(hp, Int):
            if hp.sampling == "log":
                return trial.suggest_int(hp.name, lo, hi, log=True)
            step = hp.step or 1
            return trial.suggest_int(hp.name, lo, lo + (hi - lo) // step * step, step=step)
        if hp.step is not None:
            top = lo + math.floor((hi - lo) / hp.step + 1e-9) * hp.step
            return trial.suggest_float(hp.name, lo, top, step=hp.step)
        return trial.suggest_float(hp.name, lo, hi, log=hp.sampling == "log")

    return choose
