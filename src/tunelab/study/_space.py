"""A search space: named parameters over RunConfig keys, checked before anything runs.

Names are dotted RunConfig keys (``optimizer.learning_rate``, ``training.batch_size``,
``model.units``), plus ``model.layers``: the number of hidden layers. ``model.units`` may be a
full list of widths (``[64, 32]``) or one width used for every hidden layer. In TOML::

    [search]
    "optimizer.name" = ["SGD", "Adam"]
    "optimizer.learning_rate" = { low = 1e-4, high = 1.0, log = true }
    "optimizer.momentum" = { low = 0.0, high = 0.95, when = { "optimizer.name" = "SGD" } }
    "model.units" = [[16], [32], [32, 32]]

A bare list is a categorical choice, a bare value is fixed, a table is a parameter (``type``
is inferred: ``choices`` -> categorical, ``value`` -> fixed, ``low``/``high`` -> int or float
by the key's type). Sections work too: ``[search.optimizer]`` with ``learning_rate = {...}``.

Example:
    >>> from tunelab.config import RunConfig
    >>> space = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 1.0, "log": True}})
    >>> space.check(RunConfig())
    >>> space.apply(RunConfig(), {"optimizer.learning_rate": 0.05}).optimizer.learning_rate
    0.05
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from tunelab.config import RunConfig, with_overrides
from tunelab.errors import ConfigError, SpaceError
from tunelab.study._params import Categorical, Fixed, Float, Int, Param, condition_holds

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

__all__ = ["LAYERS_KEY", "Space"]

LAYERS_KEY = "model.layers"
_SPEC_KEYS = ("type", "low", "high", "log", "step", "choices", "value", "when")
_ALIASES = {"lr": "learning_rate", "layers": "units", "width": "units", "bs": "batch_size",
            "batch": "batch_size", "init": "kernel_initializer",
            "initializer": "kernel_initializer"}
_TYPES = {"float": Float, "int": Int, "categorical": Categorical, "choice": Categorical,
          "fixed": Fixed}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _leaf_keys(model: type[BaseModel] = RunConfig, prefix: str = "") -> dict[str, Any]:
    """Every settable dotted key of a config model, with its type annotation."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        sub = _model_of(field.annotation)
        if sub is not None:
            out.update(_leaf_keys(sub, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = field.annotation
    return out


_LEAVES = _leaf_keys()
_LEAVES[LAYERS_KEY] = int
_SECTIONS = {".".join(k.split(".")[:i]) for k in _LEAVES for i in range(1, k.count(".") + 1)}


def _admits(annotation: Any, kind: type) -> bool:
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or (
        typing.get_origin(annotation) is typing.Union) else (annotation,)
    return any(a is kind for a in args)


class Space:
    """Named search parameters over a :class:`~tunelab.config.RunConfig`.

    Args:
        params: Dotted key -> a :class:`Float`, :class:`Int`, :class:`Categorical` or
            :class:`Fixed`, or the TOML form (table, list of choices, or a fixed value).
        source: Where the space came from (a file name), named in every error.

    Raises:
        SpaceError: A range, a choice list, a name or a condition is wrong; the message names
            the parameter and the source.

    Example:
        >>> Space({"optimizer.name": ["SGD", "Adam"],
        ...        "optimizer.momentum": Float(0.0, 0.9, when={"optimizer.name": "SGD"})}).names
        ['optimizer.name', 'optimizer.momentum']
    """

    def __init__(self, params: Mapping[str, Any] | None = None, *, source: str = "[search]"):
        self.source = source
        flat = _flatten(dict(params or {}), "", source)
        parsed = {name: self._parse(name, raw) for name, raw in flat.items()}
        self.params: dict[str, Param] = self._ordered(parsed)

    # -- building ---------------------------------------------------------------------------

    def _error(self, name: str, msg: str) -> SpaceError:
        return SpaceError(f"{self.source}: search parameter '{name}': {msg}")

    def _parse(self, name: str, raw: Any) -> Param:
        if name.split(".", 1)[0] == "data":
            raise self._error(name, "data settings cannot be searched; a study compares"
                              " configurations on one dataset (set it under [data])")
        if name not in _LEAVES:
            last = name.rsplit(".", 1)[-1]
            close = [k for k in _LEAVES if last and k.rsplit(".", 1)[-1] == _ALIASES.get(last)]
            close += difflib.get_close_matches(name, list(_LEAVES), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else (
                "; name a RunConfig key such as optimizer.learning_rate")
            raise self._error(name, f"unknown parameter name{hint}")
        if isinstance(raw, Param):
            return raw
        try:
            return self._param_from_toml(name, raw)
        except ValueError as exc:
            raise self._error(name, str(exc)) from None

    def _param_from_toml(self, name: str, raw: Any) -> Param:
        if isinstance(raw, list | tuple):
            return Categorical(list(raw))
        if not isinstance(raw, Mapping):
            return Fixed(raw)
        unknown = sorted(set(raw) - set(_SPEC_KEYS))
        if unknown:
            raise ValueError(
                f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_SPEC_KEYS)}"
            )
        kind = raw.get("type")
        if kind is None:
            if "choices" in raw:
                kind = "categorical"
            elif "value" in raw:
                kind = "fixed"
            elif "low" in raw or "high" in raw:
                ints = all(isinstance(raw.get(k), int) and not isinstance(raw.get(k), bool)
                           for k in ("low", "high"))
                annotation = _LEAVES[name]
                whole = name == "model.units" or _admits(annotation, int)
                kind = "int" if ints and whole and not isinstance(raw.get("step"), float) \
                    else "float"
            else:
                raise ValueError("give low and high, choices, or value")
        cls = _TYPES.get(str(kind).lower())
        if cls is None:
            raise ValueError(f"unknown type {kind!r}; expected one of: float, int, categorical,"
                             " fixed")
        args = {k: v for k, v in raw.items() if k != "type"}
        when = args.pop("when", None)
        try:
            if cls is Categorical:
                if "choices" not in args:
                    raise ValueError("a categorical parameter needs choices = [...]")
                extra = set(args) - {"choices"}
                if extra:
                    raise ValueError(f"a categorical parameter takes no {', '.join(sorted(extra))}")
                return Categorical(args["choices"], when=when)
            if cls is Fixed:
                if set(args) != {"value"}:
                    raise ValueError("a fixed parameter takes exactly value = ...")
                return Fixed(args["value"], when=when)
            missing = [k for k in ("low", "high") if k not in args]
            if missing:
                raise ValueError(f"a {kind} parameter needs {' and '.join(missing)}")
            extra = set(args) - {"low", "high", "log", "step"}
            if extra:
                raise ValueError(f"a {kind} parameter takes no {', '.join(sorted(extra))}")
            return cls(**args, when=when)
        except TypeError as exc:
            raise ValueError(str(exc)) from None

    def _ordered(self, parsed: dict[str, Param]) -> dict[str, Param]:
        """Check every condition and order parameters so parents come before children."""
        for name, param in parsed.items():
            for parent, values in param.when.items():
                if parent == name:
                    raise self._error(name, "its condition names itself")
                if parent not in parsed:
                    raise self._error(
                        name, f"its condition names '{parent}', which is not a search parameter;"
                        f" add '{parent}' to the search space or drop the condition")
                self._check_condition_values(name, parent, parsed[parent], values)
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                raise self._error(name, "conditions form a cycle: " + " -> ".join((*path, name)))
            state[name] = 1
            for parent in parsed[name].when:
                visit(parent, (*path, name))
            state[name] = 2
            order.append(name)

        for name in parsed:
            visit(name, ())
        return {name: parsed[name] for name in order}

    def _check_condition_values(
        self, name: str, parent: str, pparam: Param, values: tuple[Any, ...]
    ) -> None:
        if isinstance(pparam, Float):
            raise self._error(name, f"its condition names '{parent}', a float; conditions can"
                              " only name categorical, int or fixed parameters")
        possible = pparam.probe_values()
        if isinstance(pparam, Int):
            possible = pparam.grid_values()
        for v in values:
            if not any(condition_holds({parent: (v,)}, {parent: p}) for p in possible):
                shown = ", ".join(map(str, possible[:12]))
                raise self._error(name, f"its condition value {v!r} is not a possible value of"
                                  f" '{parent}' ({shown})")

    # -- reading ------------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """Parameter names, parents before the parameters conditional on them."""
        return list(self.params)

    def spec(self) -> dict[str, dict[str, Any]]:
        """Plain data for the whole space (what a study's fingerprint is computed from)."""
        return {name: p.spec() for name, p in sorted(self.params.items())}

    def fingerprint(self) -> str:
        """A short hash of :meth:`spec`: equal spaces give equal fingerprints.

        Example:
            >>> Space({"training.epochs": [2, 3]}).fingerprint() == \\
            ...     Space({"training.epochs": [2, 3]}).fingerprint()
            True
        """
        text = json.dumps(self.spec(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def distributions(self) -> dict[str, BaseDistribution]:
        """Optuna distributions of the sampled (non-fixed) parameters."""
        out = {}
        for name, p in self.params.items():
            dist = p.distribution()
            if dist is not None:
                out[name] = dist
        return out

    def grid(self) -> dict[str, list[Any]]:
        """The grid sampler's search space: every value of every sampled parameter.

        Raises:
            SpaceError: A float has no step, so it has no finite grid.
        """
        out: dict[str, list[Any]] = {}
        for name, p in self.params.items():
            if isinstance(p, Fixed):
                continue
            try:
                out[name] = p.grid_values()
            except ValueError as exc:
                raise self._error(name, str(exc)) from None
        return out

    def grid_size(self) -> int:
        """How many points the grid has (1 for a space with nothing to sample)."""
        return math.prod(len(v) for v in self.grid().values())

    # -- using --------------------------------------------------------------------------------

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample every active parameter on ``trial``; return config values by name."""
        values: dict[str, Any] = {}
        for name, p in self.params.items():
            if p.when and not condition_holds(p.when, values):
                continue
            if isinstance(p, Float):
                values[name] = trial.suggest_float(name, p.low, p.high, log=p.log, step=p.step)
            elif isinstance(p, Int):
                values[name] = trial.suggest_int(name, p.low, p.high, log=p.log, step=p.step)
            elif isinstance(p, Categorical):
                stored = trial.suggest_categorical(name, [p.encode(c) for c in p.choices])
                values[name] = p.decode(stored)
            else:
                values[name] = p.decode(None)
        return values

    def values_from_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Config values of a finished trial from its Optuna ``params`` (fixed ones added)."""
        values: dict[str, Any] = {}
        for name, p in self.params.items():
            if p.when and not condition_holds(p.when, values):
                continue
            if isinstance(p, Fixed):
                values[name] = p.decode(None)
            elif name in params:
                values[name] = p.decode(params[name])
        return values

    def apply(self, base: RunConfig, values: Mapping[str, Any]) -> RunConfig:
        """``base`` with ``values`` set; ``model.layers`` and one-width ``model.units`` expanded.

        A per-layer dropout list in ``base`` that no longer matches the number of layers is cut,
        or extended with its last rate.

        Raises:
            ConfigError: The combination makes an invalid configuration.

        Example:
            >>> Space().apply(RunConfig(), {"model.layers": 3, "model.units": 16}).model.units
            [16, 16, 16]
        """
        overrides = dict(values)
        layers = overrides.pop(LAYERS_KEY, None)
        units = overrides.get("model.units")
        if layers is not None or isinstance(units, int):
            current = list(base.model.units) if not isinstance(units, list) else list(units)
            n = int(layers) if layers is not None else len(current)
            if isinstance(units, int):
                overrides["model.units"] = [units] * n
            else:
                overrides["model.units"] = _resize(current, n)
        final_units = overrides.get("model.units", base.model.units)
        dropout = overrides.get("model.dropout", base.model.dropout)
        if "model.dropout" not in overrides and isinstance(dropout, list) and \
                len(dropout) != len(final_units):
            overrides["model.dropout"] = _resize(list(dropout), len(final_units))
        return with_overrides(base, overrides, source="search values")

    def check(self, base: RunConfig) -> None:
        """Check every range end and choice against ``base``, before anything runs.

        Raises:
            SpaceError: A value makes an invalid configuration (for example momentum = 1.0,
                or a float range on an integer key), naming the parameter and the value.
        """
        for name, p in self.params.items():
            context: dict[str, Any] = {}
            for parent, enabling in p.when.items():
                context[parent] = enabling[0]
            for v in p.probe_values():
                try:
                    self.apply(base, {**context, name: v})
                except ConfigError as exc:
                    why = str(exc).removeprefix("search values: ")
                    raise self._error(name, f"value {v!r} makes an invalid configuration: {why}"
                                      ) from None

    def __repr__(self) -> str:
        return f"Space({self.params!r})"

    def __len__(self) -> int:
        return len(self.params)


def _resize(values: list[Any], n: int) -> list[Any]:
    if n <= len(values):
        return values[:n]
    return values + [values[-1]] * (n - len(values))


def _flatten(raw: dict[str, Any], prefix: str, source: str) -> dict[str, Any]:
    """Turn ``[search.optimizer]`` sections into dotted names; leave parameters as they are."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not isinstance(value, Param) and name in _SECTIONS \
                and not set(value) & set(_SPEC_KEYS):
            out.update(_flatten(dict(value), f"{name}.", source))
        elif name in out:
            raise SpaceError(f"{source}: search parameter '{name}' is given twice")
        else:
            out[name] = value
    return out
