"""The names every section accepts (optimizers, losses, samplers...) and the pieces all
sections share: the strict base model and the case-insensitive name matcher."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["ACTIVATIONS", "DIRECTIONS", "EXECUTORS", "INITIALIZERS", "LOSSES", "METRICS",
           "OPTIMIZERS", "PRUNERS", "SAMPLERS", "SCHEDULES", "Mode", "Monitor", "OneOf"]

OPTIMIZERS = ("SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam")
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
