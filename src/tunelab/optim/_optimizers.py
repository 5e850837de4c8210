"""Optimizers named as in Keras, with Keras's defaults, built from optax's transformations.

Every optimizer is an optax chain wrapped in ``optax.inject_hyperparams``, so all of its
numbers (learning rate, momentum, rho, epsilon, betas, weight decay, and Keras 2's
``decay``) live in the optimizer *state*: each slot of a cohort carries its own values,
and configurations that differ only in them share one compiled program. Only the family
and SGD's ``nesterov`` flag change the program (:func:`optimizer_family`).

The chains follow Keras's update rules: the learning rate is applied *before* SGD's and
RMSprop's momentum (Keras accumulates ``momentum * v - lr * g``), epsilon sits inside
RMSprop's square root, AdamW's decoupled weight decay is ``lr * wd * w``, and Adam, AdamW
and Nadam use Keras's own rules (:mod:`tunelab.optim._keras_rules`). Keras 2's ``decay``
is ``lr / (1 + decay * iterations)``, counted in update steps, as Keras 2 did. Trained
with the same initial weights and batch order, the weights match Keras's to float
rounding.

Example:
    >>> from tunelab.config import OPTIMIZER_KEYS, OPTIMIZER_SPECS, OptimizerConfig
    >>> optimizer_hyperparams(OptimizerConfig(name="RMSprop"))
    {'learning_rate': 0.001, 'decay': 0.0, 'rho': 0.9, 'momentum': 0.0, 'epsilon': 1e-07}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import optax

from tunelab.config import OPTIMIZER_KEYS, OPTIMIZER_SPECS, OptimizerConfig
from tunelab.errors import ConfigError
from tunelab.optim._keras_rules import scale_by_keras_adam, scale_by_keras_nadam

__all__ = [
    "KERAS_DEFAULTS",
    "build_optimizer",
    "get_learning_rate",
    "make_optimizer",
    "optimizer_family",
    "optimizer_hyperparams",
    "set_learning_rate",
]

# Keras 3 defaults, plus Keras 2's `decay` (0: no per-step decay), from the one registry.
KERAS_DEFAULTS: dict[str, dict[str, float]] = {
    name: dict(spec.defaults) for name, spec in OPTIMIZER_SPECS.items()
}
_ADAGRAD_INITIAL_ACCUMULATOR = 0.1  # Keras's initial_accumulator_value


def _keras2_decay(learning_rate: Any, decay: Any, growth: Any = 1.0) -> Callable[[Any], Any]:
    # Keras 2's per-step decay, times ``growth ** step`` (1 except in a learning-rate range
    # test, whose sweep is this per-step exponential inside the optimizer state).
    return lambda count: learning_rate * growth ** count / (1.0 + decay * count)


def _sgd(learning_rate: Any, decay: Any, momentum: Any, growth: Any = 1.0, *,
         nesterov: bool) -> Any:
    return optax.chain(optax.scale_by_learning_rate(_keras2_decay(learning_rate, decay, growth)),
                       optax.trace(decay=momentum, nesterov=nesterov))


def _rmsprop(learning_rate: Any, decay: Any, rho: Any, momentum: Any, epsilon: Any,
             growth: Any = 1.0) -> Any:
    return optax.chain(
        optax.scale_by_rms(decay=rho, eps=epsilon, initial_scale=0.0, eps_in_sqrt=True),
        optax.scale_by_learning_rate(_keras2_decay(learning_rate, decay, growth)),
        optax.trace(decay=momentum, nesterov=False),
    )


def _adam(learning_rate: Any, decay: Any, beta_1: Any, beta_2: Any, epsilon: Any,
          growth: Any = 1.0) -> Any:
    return optax.chain(scale_by_keras_adam(b1=beta_1, b2=beta_2, eps=epsilon),
                       optax.scale_by_learning_rate(_keras2_decay(learning_rate, decay, growth)))


def _adamw(learning_rate: Any, decay: Any, beta_1: Any, beta_2: Any, epsilon: Any,
           weight_decay: Any,
           growth: Any = 1.0) -> Any:
    return optax.chain(scale_by_keras_adam(b1=beta_1, b2=beta_2, eps=epsilon),
                       optax.add_decayed_weights(weight_decay),
                       optax.scale_by_learning_rate(_keras2_decay(learning_rate, decay, growth)))


def _adagrad(learning_rate: Any, decay: Any, epsilon: Any,
             growth: Any = 1.0) -> Any:
    return optax.chain(
        optax.scale_by_rss(initial_accumulator_value=_ADAGRAD_INITIAL_ACCUMULATOR, eps=epsilon),
        optax.scale_by_learning_rate(_keras2_decay(learning_rate, decay, growth)),
    )


def _adadelta(learning_rate: Any, decay: Any, rho: Any, epsilon: Any,
              growth: Any = 1.0) -> Any:
    return optax.chain(optax.scale_by_adadelta(rho=rho, eps=epsilon),
                       optax.scale_by_learning_rate(_keras2_decay(learning_rate, decay, growth)))


def _adamax(learning_rate: Any, decay: Any, beta_1: Any, beta_2: Any, epsilon: Any,
            growth: Any = 1.0) -> Any:
    return optax.chain(optax.scale_by_adamax(b1=beta_1, b2=beta_2, eps=epsilon),
                       optax.scale_by_learning_rate(_keras2_decay(learning_rate, decay, growth)))


def _nadam(learning_rate: Any, decay: Any, beta_1: Any, beta_2: Any, epsilon: Any,
           growth: Any = 1.0) -> Any:
    return optax.chain(scale_by_keras_nadam(b1=beta_1, b2=beta_2, eps=epsilon),
                       optax.scale_by_learning_rate(_keras2_decay(learning_rate, decay, growth)))


_FACTORIES: dict[str, Callable[..., Any]] = {
    "SGD": _sgd, "RMSprop": _rmsprop, "Adam": _adam, "AdamW": _adamw, "Adagrad": _adagrad,
    "Adadelta": _adadelta, "Adamax": _adamax, "Nadam": _nadam,
}
if set(_FACTORIES) != set(OPTIMIZER_SPECS):
    raise ImportError("tunelab.optim: every optimizer in tunelab.config.OPTIMIZER_SPECS needs"
                      f" a factory; factories for {sorted(_FACTORIES)}")


def optimizer_family(cfg: OptimizerConfig) -> tuple[str, bool]:
    """The part of an optimizer that shapes the compiled program: (name, nesterov).

    Example:
        >>> optimizer_family(OptimizerConfig(name="sgd", nesterov=True))
        ('SGD', True)
    """
    return cfg.name, bool(cfg.nesterov)


def optimizer_hyperparams(cfg: OptimizerConfig) -> dict[str, float]:
    """The optimizer's numbers: what the configuration gives, Keras's default otherwise.

    Raises:
        ConfigError: naming the key when a value does not apply to the optimizer (``rho``
            for Adam, ``nesterov`` for RMSprop...) or the learning rate is not positive.

    Example:
        >>> optimizer_hyperparams(OptimizerConfig(name="SGD", learning_rate=0.1, momentum=0.8))
        {'learning_rate': 0.1, 'decay': 0.0, 'momentum': 0.8}
    """
    if cfg.name not in KERAS_DEFAULTS:
        raise ConfigError(
            f"optimizer.name: unknown optimizer {cfg.name!r}; expected one of"
            f" {', '.join(KERAS_DEFAULTS)}"
        )
    defaults = KERAS_DEFAULTS[cfg.name]
    for key in OPTIMIZER_KEYS:
        if getattr(cfg, key) is not None and key not in defaults:
            users = [n for n, d in KERAS_DEFAULTS.items() if key in d]
            raise ConfigError(
                f"optimizer.{key} does not apply to {cfg.name}; it applies to"
                f" {', '.join(users)}. Remove it or pick one of those optimizers"
            )
    if cfg.nesterov and cfg.name != "SGD":
        raise ConfigError(f"optimizer.nesterov applies to SGD only, not to {cfg.name}")
    out: dict[str, float] = {}
    for key, default in defaults.items():
        value = getattr(cfg, key)
        out[key] = float(default if value is None else value)
    if not out["learning_rate"] > 0:
        raise ConfigError(
            f"optimizer.learning_rate must be > 0, got {out['learning_rate']}"
        )
    if out["decay"] < 0:
        raise ConfigError(f"optimizer.decay must be >= 0, got {out['decay']}")
    return out


def make_optimizer(name: str, *, nesterov: bool = False) -> Callable[..., Any]:
    """An optax optimizer factory for a family, its numbers injected into the state.

    Call the result with the numbers from :func:`optimizer_hyperparams`.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = make_optimizer("SGD")(learning_rate=0.1, decay=0.0, momentum=0.0)
        >>> state = opt.init([jnp.ones(2)])
        >>> [float(u[0]) for u in opt.update([jnp.ones(2)], state)[0]]
        [-0.10000000149011612]
    """
    factory = _FACTORIES[name]
    if name == "SGD":
        def sgd(learning_rate: Any, decay: Any, momentum: Any, growth: Any = 1.0) -> Any:
            return _sgd(learning_rate, decay, momentum, growth, nesterov=nesterov)
        factory = sgd
    return optax.inject_hyperparams(factory, hyperparam_dtype=jnp.float32)


def build_optimizer(cfg: OptimizerConfig) -> Any:
    """The optax optimizer a configuration describes (for one model, outside a cohort).

    Example:
        >>> build_optimizer(OptimizerConfig(name="Adam")).init([]).hyperparams["beta_2"]
        Array(0.999, dtype=float32)
    """
    name, nesterov = optimizer_family(cfg)
    return make_optimizer(name, nesterov=nesterov)(**optimizer_hyperparams(cfg))


def get_learning_rate(state: Any) -> Any:
    """The learning rate stored in an injected optimizer state (stacked: one per slot)."""
    return state.hyperparams["learning_rate"]


def set_learning_rate(state: Any, value: Any) -> Any:
    """A copy of an injected optimizer state with a new (base) learning rate."""
    hyper = dict(state.hyperparams)
    hyper["learning_rate"] = jnp.asarray(value, dtype=jnp.float32)
    return state._replace(hyperparams=hyper)
