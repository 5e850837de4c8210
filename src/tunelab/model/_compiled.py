"""A built, compiled ``keras.Model`` read as tunelab settings: its template and per-slot values.

What a Keras user hands over after ``model.compile(...)`` (a Keras Tuner ``build(hp)``
returns such a model) is split into what a cohort shares and what each slot holds:

* the **template**: the network with every ``Dropout`` rate set to 0 and every name made
  canonical, so two builds of the same architecture give the same template file (one
  structure, one compiled program), whatever Keras numbered their layers;
* the **per-slot values**: each ``Dropout`` layer's rate (``model.dropout``), the optimizer's
  learning rate and constants (``[optimizer]``);
* the **structural settings**: the optimizer family, the loss and the metrics
  (``[training]``).

What the engine cannot train the same way is refused with one line naming it: a subclassed
model, a custom ``train_step``, a learning-rate schedule object, gradient clipping, a loss
``from_logits``, loss weights.

Example:
    >>> import keras
    >>> net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
    ...                         keras.layers.Dropout(0.3),
    ...                         keras.layers.Dense(3, activation="softmax")])
    >>> net.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
    ...             loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> read = read_compiled(net)
    >>> read.rates, read.optimizer["name"], read.optimizer["momentum"], read.loss
    ([0.3], 'SGD', 0.9, 'sparse_categorical_crossentropy')
    >>> template_rates(read.template)
    [0.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from tunelab.config import OPTIMIZERS
from tunelab.errors import ConfigError
from tunelab.model._template import dropout_layers, template_rates

__all__ = ["CompiledModel", "canonical_template", "read_compiled"]

#: Keras loss names (and aliases) -> tunelab's loss names.
_LOSS_NAMES = {
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "binary_crossentropy": "binary_crossentropy",
    "mse": "mse",
    "mean_squared_error": "mse",
    "mae": "mae",
    "mean_absolute_error": "mae",
}
#: Keras metric names (and aliases) -> tunelab's metric names.
_METRIC_NAMES = {
    "accuracy": "accuracy",
    "acc": "accuracy",
    "sparse_categorical_accuracy": "accuracy",
    "categorical_accuracy": "accuracy",
    "binary_accuracy": "accuracy",
    "mae": "mae",
    "mean_absolute_error": "mae",
    "mse": "mse",
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
}
#: The optimizer constants tunelab holds per slot, by Keras optimizer class.
_CONSTANTS = {
    "SGD": ("momentum", "nesterov"),
    "RMSprop": ("rho", "momentum", "epsilon"),
    "Adam": ("beta_1", "beta_2", "epsilon"),
    "AdamW": ("beta_1", "beta_2", "epsilon", "weight_decay"),
    "Adagrad": ("epsilon",),
    "Adadelta": ("rho", "epsilon"),
    "Adamax": ("beta_1", "beta_2", "epsilon"),
    "Nadam": ("beta_1", "beta_2", "epsilon"),
}
#: Optimizer settings whose Keras default is the only value the engine trains with.
_MUST_BE_DEFAULT = {
    "clipnorm": None, "clipvalue": None, "global_clipnorm": None, "use_ema": False,
    "gradient_accumulation_steps": None, "loss_scale_factor": None, "amsgrad": False,
    "centered": False, "initial_accumulator_value": 0.1,
}


@dataclass
class CompiledModel:
    """What :func:`read_compiled` found in a compiled model.

    Attributes:
        template: The canonical template (Dropout rates 0, canonical names).
        rates: The rate of each Dropout layer, in layer order.
        optimizer: The ``[optimizer]`` table (name, learning rate, constants).
        loss: tunelab's loss name.
        metrics: tunelab's metric names, in order.
        metric_names: The name each tunelab metric had in the user's ``compile`` (what
            their logs and objectives call it), e.g.
            ``{"accuracy": "sparse_categorical_accuracy"}``.
    """

    template: keras.Model
    rates: list[float]
    optimizer: dict[str, Any]
    loss: str
    metrics: list[str]
    metric_names: dict[str, str] = field(default_factory=dict)


def _refuse(where: str, what: str) -> ConfigError:
    return ConfigError(f"{where}: {what}; tunelab's engine trains only what it can run per slot")


def _check_trainable(model: Any, where: str) -> None:
    if not isinstance(model, keras.Model):
        raise ConfigError(f"{where}: expected a keras.Model, got {type(model).__name__}")
    if not isinstance(model, keras.Sequential) and type(model).__name__ != "Functional":
        raise _refuse(where, f"a subclassed keras.Model ({type(model).__name__}) cannot be"
                             " cloned per slot; build it with keras.Sequential or the"
                             " functional API")
    for hook in ("train_step", "compute_loss", "call"):
        base = keras.Sequential if isinstance(model, keras.Sequential) else keras.Model
        if hook != "call" and getattr(type(model), hook) is not getattr(base, hook):
            raise _refuse(where, f"{type(model).__name__} overrides {hook}")
    if not model.built or not model.inputs:
        raise ConfigError(f"{where}: the model has no input shape; start it with"
                          " keras.Input(shape)")
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        raise ConfigError(f"{where}: the model is not compiled; call model.compile(optimizer=,"
                          " loss=, metrics=) before returning it")


def _name_of(obj: Any) -> str:
    if isinstance(obj, str):
        return obj.lower()
    if isinstance(obj, keras.losses.Loss | keras.metrics.Metric):
        return str(getattr(obj, "name", type(obj).__name__)).lower()
    return str(getattr(obj, "__name__", type(obj).__name__)).lower()


def _read_loss(loss: Any, where: str) -> str:
    if isinstance(loss, list | tuple | dict):
        raise _refuse(where, "a model with several outputs and losses")
    if isinstance(loss, keras.losses.Loss):
        config = loss.get_config()
        if config.get("from_logits"):
            raise _refuse(where, f"the loss {type(loss).__name__}(from_logits=True): end the"
                                 " model with its activation (softmax, sigmoid) and use"
                                 " from_logits=False")
        if config.get("label_smoothing") or config.get("ignore_class") is not None:
            raise _refuse(where, f"the loss {type(loss).__name__} with label_smoothing or"
                                 " ignore_class")
    name = _name_of(loss)
    if name not in _LOSS_NAMES:
        raise _refuse(where, f"the loss {name!r}; use one of"
                             f" {', '.join(sorted(set(_LOSS_NAMES)))}")
    return _LOSS_NAMES[name]


def _read_metrics(metrics: Any, where: str) -> tuple[list[str], dict[str, str]]:
    if metrics is None:
        return [], {}
    if isinstance(metrics, dict):
        raise _refuse(where, "metrics given per output")
    out: list[str] = []
    names: dict[str, str] = {}
    for m in metrics if isinstance(metrics, list | tuple) else [metrics]:
        if isinstance(m, dict):  # a serialized metric object
            m = m.get("config", {}).get("name", m.get("class_name", ""))
        name = _name_of(m)
        if name not in _METRIC_NAMES:
            raise _refuse(where, f"the metric {name!r}; use some of"
                                 f" {', '.join(sorted(set(_METRIC_NAMES)))}")
        ours = _METRIC_NAMES[name]
        if ours not in out:
            out.append(ours)
            names[ours] = "accuracy" if name == "acc" else name
    return out, names


def _read_optimizer(opt: Any, where: str) -> dict[str, Any]:
    family = type(opt).__name__
    if family not in OPTIMIZERS:
        raise _refuse(where, f"the optimizer {family}; use one of {', '.join(OPTIMIZERS)}")
    if isinstance(getattr(opt, "_learning_rate", None),
                  keras.optimizers.schedules.LearningRateSchedule):
        raise _refuse(where, f"a learning-rate schedule object"
                             f" ({type(opt._learning_rate).__name__}); give a number and a"
                             " keras.callbacks.LearningRateScheduler")
    config = opt.get_config()
    for key, default in _MUST_BE_DEFAULT.items():
        if key in config and config[key] != default:
            raise _refuse(where, f"{family}({key}={config[key]!r})")
    if config.get("weight_decay") not in (None, 0, 0.0) and family != "AdamW":
        raise _refuse(where, f"{family}(weight_decay=...): use AdamW")
    lr = float(np.float32(np.asarray(opt.learning_rate)))
    out: dict[str, Any] = {"name": family, "learning_rate": lr}
    for key in _CONSTANTS[family]:
        value = config.get(key)
        if value is None:
            continue
        out[key] = bool(value) if key == "nesterov" else float(value)
    return out


def _canonical_names(model: keras.Model) -> dict[str, str]:
    names: dict[str, str] = {}
    for i, layer in enumerate(model.layers):
        names[layer.name] = f"layer_{i}"
    if isinstance(model, keras.Sequential):
        for i, tensor in enumerate(model.inputs):
            history = getattr(tensor, "_keras_history", None)
            if history is not None:
                names.setdefault(history[0].name, f"input_{i}")
    names[model.name] = "model"
    return names


def _renamed(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_renamed(v, names) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, str):
        return names.get(value, value)
    return value


def _zero_rates(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _zero_rates(v) for k, v in value.items()}
        if out.get("class_name") == "Dropout" and isinstance(out.get("config"), dict):
            out["config"] = {**out["config"], "rate": 0.0}
        return out
    if isinstance(value, list):
        return [_zero_rates(v) for v in value]
    return value


def canonical_template(model: keras.Model) -> keras.Model:
    """``model``'s architecture with every Dropout rate 0 and canonical layer names.

    Two builds of one architecture give equal configurations, hence one template file.

    Example:
        >>> def build(rate):
        ...     return keras.Sequential([keras.Input((2,)), keras.layers.Dense(4),
        ...                              keras.layers.Dropout(rate), keras.layers.Dense(1)])
        >>> a, b = canonical_template(build(0.1)), canonical_template(build(0.4))
        >>> a.get_config() == b.get_config()
        True
    """
    config = _zero_rates(_renamed(model.get_config(), _canonical_names(model)))
    try:
        return type(model).from_config(config)
    except Exception as err:
        raise ConfigError(f"model: its architecture cannot be rebuilt from its config ({err})"
                          ) from None


def read_compiled(model: Any, where: str = "model") -> CompiledModel:
    """Read a compiled ``keras.Model`` as a template and its per-slot and structural settings.

    Raises:
        ConfigError: The model is not a compiled Sequential or functional model, or its
            compile settings hold what the engine cannot train (named).
    """
    _check_trainable(model, where)
    config = model.get_compile_config() or {}
    for key in ("loss_weights", "weighted_metrics"):
        if config.get(key):
            raise _refuse(where, f"compile({key}=...)")
    loss = _read_loss(model.loss, where)
    metrics, names = _read_metrics(config.get("metrics"), where)
    optimizer = _read_optimizer(model.optimizer, where)
    rates = template_rates(model)
    for layer in dropout_layers(model):
        if getattr(layer, "noise_shape", None) is not None:
            raise _refuse(where, f"Dropout layer {layer.name!r} with a noise_shape")
    if any(not math.isfinite(r) for r in rates):
        raise ConfigError(f"{where}: a Dropout rate is not a number: {rates}")
    return CompiledModel(canonical_template(model), rates, optimizer, loss, metrics, names)
