"""Which trials a step runs: every scientific value, the same number of trials each.

A step's study is a balanced design. The scientific values are every combination of the
scientific choices (a conditional choice only where its condition holds), the current value
always among them. Each value gets ``budget.trials`` trials, queued in the study with the value
fixed; the learning rate of trial ``j`` of ``n`` is set to ``centre * spread ** u_j`` with
``u_j = -1 + (2j + 1) / n`` (evenly spread on a log scale around the centre), and any other
nuisance value is left to the sampler.

Example:
    >>> from tunelab.study import Space
    >>> values = scientific_values(Space({"optimizer.name": ["SGD", "Adam"],
    ...     "optimizer.nesterov": {"choices": [False, True], "when": {"optimizer.name": "SGD"}}}))
    >>> [v.label for v in values]
    ['optimizer SGD · nesterov false', 'optimizer SGD · nesterov true', 'optimizer Adam']
    >>> [round(x, 3) for x in lr_grid(0.1, 4.0, 4)]
    [0.035, 0.071, 0.141, 0.283]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.config import RunConfig, same_value
from tunelab.study import Categorical, Fixed, Int, Param, Space

__all__ = ["Value", "active_value", "config_value", "design", "enqueue_params", "label",
           "lr_grid", "midpoints", "scientific_values", "with_current"]


def _holds(param: Param, values: Mapping[str, Any]) -> bool:
    return all(parent in values and any(same_value(values[parent], v) for v in allowed)
               for parent, allowed in param.when.items())


def _short(name: str) -> str:
    section, _, leaf = name.rpartition(".")
    if leaf == "name":
        return section
    if leaf == "kernel_initializer":
        return "initializer"
    return leaf


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def label(params: Mapping[str, Any]) -> str:
    """A short human name for a scientific value, e.g. ``units [64, 64] · dropout 0.1``."""
    return " · ".join(f"{_short(k)} {_show(v)}" for k, v in params.items())


@dataclass(frozen=True)
class Value:
    """One scientific value: the scientific parameters' config values, and its label."""

    params: dict[str, Any]

    @property
    def label(self) -> str:
        return label(self.params)

    def matches(self, values: Mapping[str, Any]) -> bool:
        """Whether a trial's (decoded) values carry this scientific value."""
        return all(k in values and same_value(values[k], v) for k, v in self.params.items())


def _choices(param: Param) -> list[Any]:
    if isinstance(param, Categorical):
        return list(param.choices)
    if isinstance(param, Fixed):
        return [param.value]
    if isinstance(param, Int):
        return list(param.grid_values())
    raise ValueError(f"a scientific parameter needs a list of values, got {param!r}")


def scientific_values(space: Space) -> list[Value]:
    """Every combination of the scientific choices, conditions respected, in order."""
    combos: list[dict[str, Any]] = [{}]
    for name, param in space.params.items():
        grown: list[dict[str, Any]] = []
        for combo in combos:
            if param.when and not _holds(param, combo):
                grown.append(combo)
                continue
            grown.extend({**combo, name: c} for c in _choices(param))
        combos = grown
    return [Value(c) for c in combos]


def config_value(cfg: RunConfig, names: list[str], task: str | None = None) -> dict[str, Any]:
    """The values a configuration has for the scientific parameter ``names``.

    ``training.loss = "auto"`` is read as the loss it stands for; ``model.units`` as a list.

    Example:
        >>> config_value(RunConfig(), ["model.units", "training.loss"], "multiclass")
        {'model.units': [64, 64], 'training.loss': 'categorical_crossentropy'}
    """
    data = cfg.model_dump(mode="json")
    out: dict[str, Any] = {}
    for name in names:
        node: Any = data
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if name == "training.loss" and node == "auto" and task is not None:
            from tunelab.model import resolve_loss

            node = resolve_loss("auto", task)
        out[name] = node
    return out


def with_current(spec: Mapping[str, Any], space: Space, current: Mapping[str, Any]
                 ) -> dict[str, Any]:
    """A scientific spec whose choices include the current configuration's values.

    The comparison is against the current configuration, so it must be among the values.
    """
    out = dict(spec)
    active: dict[str, Any] = {}
    for name, param in space.params.items():
        if param.when and not _holds(param, active):
            continue
        value = current.get(name)
        active[name] = value
        if value is None or not isinstance(param, Categorical):
            continue
        if any(same_value(c, value) for c in param.choices):
            continue
        raw = out[name]
        if isinstance(raw, Mapping):
            out[name] = {**raw, "choices": [value, *raw.get("choices", [])]}
        else:
            out[name] = [value, *list(raw)]
    return out


def lr_grid(centre: float, spread: float, n: int, low: float | None = None,
            high: float | None = None) -> list[float]:
    """``n`` learning rates evenly spread on a log scale over [centre/spread, centre*spread].

    Each is kept inside ``[low, high]`` when given.
    """
    out = []
    for j in range(n):
        u = -1.0 + (2 * j + 1) / n
        lr = centre * spread ** u
        if low is not None:
            lr = max(lr, low)
        if high is not None:
            lr = min(lr, high)
        out.append(float(f"{lr:.6g}"))
    return out


def enqueue_params(space: Space, value: Value, extra: Mapping[str, Any]) -> dict[str, Any]:
    """Optuna parameters (as the study stores them) fixing ``value`` and ``extra`` settings."""
    out: dict[str, Any] = {}
    for name, v in {**value.params, **extra}.items():
        param = space.params[name]
        if isinstance(param, Fixed):
            continue
        out[name] = param.encode(v) if isinstance(param, Categorical) else v
    return out


def design(values: list[Value], trials: int, lrs: Mapping[str, list[float]] | None,
           ) -> list[tuple[Value, dict[str, Any]]]:
    """The queued trials: per value, ``trials`` of them, each with its learning rate if set."""
    out = []
    for value in values:
        rates = (lrs or {}).get(value.label)
        for j in range(trials):
            extra = {"optimizer.learning_rate": rates[j]} if rates else {}
            out.append((value, extra))
    return out


def active_value(space: Space, values: Mapping[str, Any]) -> Value:
    """The scientific value of a configuration: its values of the parameters active for it.

    Example:
        >>> from tunelab.study import Space
        >>> s = Space({"optimizer.name": ["SGD", "Adam"], "optimizer.nesterov":
        ...     {"choices": [False, True], "when": {"optimizer.name": "SGD"}}})
        >>> active_value(s, {"optimizer.name": "Adam", "optimizer.nesterov": False}).label
        'optimizer Adam'
    """
    out: dict[str, Any] = {}
    for name, param in space.params.items():
        if param.when and not _holds(param, out):
            continue
        out[name] = values.get(name)
    return Value(out)


def midpoints(space: Space, values: Mapping[str, Any], skip: tuple[str, ...] = ()
              ) -> dict[str, Any]:
    """A middle value of every active nuisance parameter (geometric mean on a log scale).

    Used for the configuration a range test runs with, before the nuisance is tuned.
    """
    from tunelab.study import Float

    out: dict[str, Any] = {}
    for name, param in space.params.items():
        if name in skip or name in values or (param.when and not _holds(param, {**values,
                                                                               **out})):
            continue
        if isinstance(param, Float | Int):
            mid = math.sqrt(param.low * param.high) if param.log else (param.low + param.high) / 2
            out[name] = int(round(mid)) if isinstance(param, Int) else float(f"{mid:.6g}")
        elif isinstance(param, Categorical):
            out[name] = param.choices[0]
        elif isinstance(param, Fixed):
            out[name] = param.value
    return out
