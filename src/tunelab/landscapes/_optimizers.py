"""The optimizers a race can run, by family, and how each is built.

Three families:

* ``gradient``: the optimizers tunelab trains with (:mod:`tunelab.optim`): SGD, RMSprop, Adam,
  AdamW, Adagrad, Adadelta, Adamax and Nadam, by the same names, with the same Keras 3
  defaults (:data:`tunelab.optim.KERAS_DEFAULTS`, AdamW's weight decay 0.004 among them) and
  built by the same code, so a race measures the update rules a study tunes. Two race-only
  settings of SGD carry names that say how they differ from it: ``SGD-momentum`` (momentum
  0.9) and ``SGD-nesterov`` (Nesterov momentum 0.9). Every number lives in the optimizer state
  (``optax.inject_hyperparams``), so the learning rate can differ between the lanes of one
  vectorised run.
* ``scipy``: ``scipy.optimize.minimize`` methods.
* ``sampler``: derivative-free samplers of Optuna.

Names are looked up ignoring case, spaces, ``_`` and ``-`` (``adamw``, ``sgd_momentum``), and
the race's earlier names ``momentum`` and ``nesterov`` still mean the two SGD settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal

from tunelab.config import OptimizerConfig
from tunelab.errors import ConfigError
from tunelab.landscapes._function import normalize_name
from tunelab.optim import KERAS_DEFAULTS, build_optimizer, optimizer_hyperparams

__all__ = [
    "GRADIENT_OPTIMIZERS",
    "LR_GRID",
    "OPTIMIZERS",
    "RACE_VARIANTS",
    "SAMPLERS",
    "SCIPY_METHODS",
    "Family",
    "family_of",
    "gradient_config",
    "gradient_settings",
    "gradient_transform",
    "resolve_optimizers",
]

Family = Literal["gradient", "scipy", "sampler"]

#: Race-only settings of a training optimizer: name -> (the optimizer, what differs from its
#: Keras defaults). Each name says how it differs.
RACE_VARIANTS: MappingProxyType[str, tuple[str, Mapping[str, Any]]] = MappingProxyType({
    "SGD-momentum": ("SGD", MappingProxyType({"momentum": 0.9})),
    "SGD-nesterov": ("SGD", MappingProxyType({"momentum": 0.9, "nesterov": True})),
})


def _gradient_names() -> tuple[str, ...]:
    names: list[str] = []
    for name in KERAS_DEFAULTS:  # the training registry, in its order
        names.append(name)
        names.extend(v for v, (base, _) in RACE_VARIANTS.items() if base == name)
    return tuple(names)


GRADIENT_OPTIMIZERS = _gradient_names()
SCIPY_METHODS = ("L-BFGS-B", "BFGS", "CG", "Nelder-Mead", "Powell", "TNC")
SAMPLERS = ("cma-es", "tpe", "random")

#: Every optimizer name and its family, in the order races report them.
OPTIMIZERS: MappingProxyType[str, Family] = MappingProxyType(
    {**{n: "gradient" for n in GRADIENT_OPTIMIZERS},
     **{n: "scipy" for n in SCIPY_METHODS},
     **{n: "sampler" for n in SAMPLERS}}
)

#: Learning rates tried for every gradient optimizer on every function; the best is reported.
LR_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)

_LOOKUP = {normalize_name(n): n for n in OPTIMIZERS}
_LOOKUP.update({"cmaes": "cma-es", "lbfgsb": "L-BFGS-B", "lbfgs": "L-BFGS-B",
                "neldermead": "Nelder-Mead", "nelder": "Nelder-Mead", "random-search": "random",
                # the race's names before it shared the training optimizers
                "momentum": "SGD-momentum", "nesterov": "SGD-nesterov"})
_FAMILIES: dict[str, tuple[str, ...]] = {
    "gradient": GRADIENT_OPTIMIZERS, "scipy": SCIPY_METHODS, "sampler": SAMPLERS,
    "samplers": SAMPLERS, "all": tuple(OPTIMIZERS),
}


def resolve_optimizers(names: Iterable[str] | None) -> tuple[str, ...]:
    """Canonical optimizer names for ``names`` (any case); a family name stands for its members.

    ``None`` or an empty list means every optimizer. Duplicates are dropped, order is kept.

    Raises:
        ConfigError: a name is unknown; the message lists the names and families.

    Example:
        >>> resolve_optimizers(["adamw", "lbfgsb", "cmaes", "nesterov"])
        ('AdamW', 'L-BFGS-B', 'cma-es', 'SGD-nesterov')
        >>> resolve_optimizers(["sampler"])
        ('cma-es', 'tpe', 'random')
    """
    chosen: list[str] = []
    for raw in list(names or []):
        key = normalize_name(raw)
        if key in _FAMILIES:
            members = _FAMILIES[key]
        elif key in _LOOKUP:
            members = (_LOOKUP[key],)
        else:
            raise ConfigError(
                f"unknown optimizer {raw!r}; choose from: {', '.join(OPTIMIZERS)} "
                f"(any case; or a family: gradient, scipy, sampler, all)"
            )
        chosen.extend(m for m in members if m not in chosen)
    return tuple(chosen) if chosen else tuple(OPTIMIZERS)


def family_of(name: str) -> Family:
    """The family of a canonical optimizer name.

    Example:
        >>> family_of("Nadam"), family_of("Powell"), family_of("tpe")
        ('gradient', 'scipy', 'sampler')
    """
    return OPTIMIZERS[name]


def gradient_config(name: str) -> OptimizerConfig:
    """The training configuration a gradient-family name (any case) races with: the optimizer
    at its Keras defaults, with a race-only variant's own settings.

    Raises:
        ConfigError: ``name`` is not a gradient optimizer (the message lists them).

    Example:
        >>> cfg = gradient_config("sgd-nesterov")
        >>> cfg.name, cfg.momentum, cfg.nesterov
        ('SGD', 0.9, True)
    """
    canonical = _LOOKUP.get(normalize_name(name), name)
    if canonical in RACE_VARIANTS:
        base, settings = RACE_VARIANTS[canonical]
        return OptimizerConfig.model_validate({"name": base, **settings})
    if canonical not in KERAS_DEFAULTS:
        raise ConfigError(f"{name!r} is not a gradient optimizer; choose from: "
                          f"{', '.join(GRADIENT_OPTIMIZERS)}")
    return OptimizerConfig(name=canonical)


def gradient_settings(name: str) -> dict[str, Any]:
    """What a gradient optimizer runs with, as a race records it: the training optimizer, then
    its numbers except the learning rate (the race sets that per lane from its grid).

    Example:
        >>> gradient_settings("AdamW")["weight_decay"]
        0.004
        >>> s = gradient_settings("SGD-nesterov")
        >>> s["optimizer"], s["nesterov"], s["momentum"]
        ('SGD', True, 0.9)
    """
    cfg = gradient_config(name)
    numbers = {k: v for k, v in optimizer_hyperparams(cfg).items() if k != "learning_rate"}
    return {"optimizer": cfg.name, **({"nesterov": True} if cfg.nesterov else {}), **numbers}


def gradient_transform(name: str) -> Any:
    """The optax optimizer for a gradient-family name: :func:`tunelab.optim.build_optimizer`
    on :func:`gradient_config`, every number (the learning rate too) held in its state.

    Raises:
        ConfigError: ``name`` is not a gradient optimizer.

    Example:
        >>> import jax.numpy as jnp
        >>> state = gradient_transform("adam").init(jnp.zeros(2))
        >>> round(float(state.hyperparams["learning_rate"]), 6)
        0.001
    """
    return build_optimizer(gradient_config(name))
