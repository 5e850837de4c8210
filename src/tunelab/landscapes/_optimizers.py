"""The optimizers a race can run, by family, and how each is built.

Three families:

* ``gradient``: first-order methods on optax. Each is built with
  ``optax.inject_hyperparams`` so that the learning rate lives in the optimizer state and can
  differ between the lanes of one vectorised run.
* ``scipy``: ``scipy.optimize.minimize`` methods.
* ``sampler``: derivative-free samplers of Optuna.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Literal

import optax

from tunelab.errors import ConfigError
from tunelab.landscapes._function import normalize_name

__all__ = [
    "GRADIENT_OPTIMIZERS",
    "LR_GRID",
    "OPTIMIZERS",
    "SAMPLERS",
    "SCIPY_METHODS",
    "Family",
    "family_of",
    "gradient_transform",
    "resolve_optimizers",
]

Family = Literal["gradient", "scipy", "sampler"]

GRADIENT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw",
                       "nadam")
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
                "neldermead": "Nelder-Mead", "nelder": "Nelder-Mead", "random-search": "random"})
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
        >>> resolve_optimizers(["Adam", "lbfgsb", "cmaes"])
        ('adam', 'L-BFGS-B', 'cma-es')
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
                f"(or a family: gradient, scipy, sampler, all)"
            )
        chosen.extend(m for m in members if m not in chosen)
    return tuple(chosen) if chosen else tuple(OPTIMIZERS)


def family_of(name: str) -> Family:
    """The family of a canonical optimizer name.

    Example:
        >>> family_of("nadam"), family_of("Powell"), family_of("tpe")
        ('gradient', 'scipy', 'sampler')
    """
    return OPTIMIZERS[name]


def gradient_transform(name: str) -> optax.GradientTransformation:
    """The optax optimizer for a gradient-family name, its learning rate held in the state.

    Momentum-type methods use momentum 0.9; the rest keep optax's defaults (Adam's
    b1 = 0.9, b2 = 0.999; AdamW's weight decay 1e-4).

    Example:
        >>> import jax.numpy as jnp
        >>> state = gradient_transform("adam").init(jnp.zeros(2))
        >>> round(float(state.hyperparams["learning_rate"]), 6)
        0.001
    """
    inject = optax.inject_hyperparams
    lr = 1e-3  # replaced per lane by the race
    builders = {
        "sgd": lambda: inject(optax.sgd)(learning_rate=lr),
        "momentum": lambda: inject(optax.sgd)(learning_rate=lr, momentum=0.9),
        "nesterov": lambda: inject(optax.sgd)(learning_rate=lr, momentum=0.9, nesterov=True),
        "rmsprop": lambda: inject(optax.rmsprop)(learning_rate=lr),
        "adagrad": lambda: inject(optax.adagrad)(learning_rate=lr),
        "adam": lambda: inject(optax.adam)(learning_rate=lr),
        "adamw": lambda: inject(optax.adamw)(learning_rate=lr),
        "nadam": lambda: inject(optax.nadam)(learning_rate=lr),
    }
    if name not in builders:
        raise ConfigError(
            f"{name!r} is not a gradient optimizer; choose from: {', '.join(builders)}"
        )
    return builders[name]()
