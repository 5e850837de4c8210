"""The names every section accepts (optimizers, losses, samplers...) and the pieces all
sections share: the strict base model and the case-insensitive name matcher."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from tunelab.config._optimizers import OPTIMIZERS

__all__ = ["ACTIVATIONS", "DIRECTIONS", "EXECUTORS", "INITIALIZERS", "LOSSES", "METRICS",
           "OPTIMIZERS", "PRUNERS", "SAMPLERS", "SCHEDULES", "Mode", "Monitor", "OneOf",
           "same_value"]

SCHEDULES = (
    "constant",
    "range_test",
    "time_decay",
    "exponential",
    "step",
    "cosine",
    "cosine_restarts",
    "one_cycle",
    "function",
)
LOSSES = (
    "auto",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
    "mse",
    "rmse",
    "mae",
)
SAMPLERS = ("tpe", "random", "grid", "qmc", "sobol", "halton", "gp", "cmaes", "nsga2")
PRUNERS = ("auto", "asha", "hyperband", "median", "percentile", "none")
EXECUTORS = ("local", "processes", "ray")
METRICS = ("accuracy", "euclidean", "manhattan", "hamming", "mse", "rmse", "mae")
ACTIVATIONS = (
    "relu",
    "tanh",
    "sigmoid",
    "elu",
    "selu",
    "gelu",
    "softplus",
    "silu",
    "swish",
    "leaky_relu",
    "linear",
)
INITIALIZERS = (
    "uniform",
    "normal",
    "zeros",
    "ones",
    "lecun_uniform",
    "lecun_normal",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "orthogonal",
    "truncated_normal",
)

DIRECTIONS = ("auto", "maximize", "minimize")


Monitor = str
Mode = Literal["auto", "min", "max"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _pick(value: str, allowed: tuple[str, ...], what: str) -> str:
    """Match ``value`` case-insensitively against ``allowed``; return the canonical spelling."""
    by_lower = {a.lower(): a for a in allowed}
    key = value.lower().replace("-", "_")
    if key not in by_lower:
        raise ValueError(f"unknown {what} {value!r}; expected one of: {', '.join(allowed)}")
    return by_lower[key]


def same_value(a: object, b: object) -> bool:
    """Whether two configuration values are the same setting: names match in any case
    (``sgd`` is ``SGD``), and a bool is never equal to a number (``True`` is not ``1``).

    Example:
        >>> same_value("sgd", "SGD"), same_value(True, 1), same_value(64, 64.0)
        (True, False, True)
    """
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


class OneOf:
    """A validator: a name matched case-insensitively against the allowed spellings.

    As field metadata (``Annotated[str, AfterValidator(OneOf(SAMPLERS, "sampler"))]``) it
    is also where a command line finds a setting's choices.

    Example:
        >>> OneOf(("tpe", "random"), "sampler")("TPE")
        'tpe'
    """

    def __init__(self, allowed: tuple[str, ...], what: str) -> None:
        self.allowed, self.what = allowed, what

    def __call__(self, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            return [_pick(v, self.allowed, self.what) for v in value]
        return _pick(value, self.allowed, self.what)

    def __repr__(self) -> str:
        return f"OneOf({self.allowed!r}, {self.what!r})"
