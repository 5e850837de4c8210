"""A ``keras.Model`` as the template of every slot: cloned, re-initialised per seed.

A user who already has a Keras model (``keras.Sequential`` or functional) gives it as it is:
tunelab saves it once as a ``.keras`` file (``model.template`` in the configuration, so that
it travels to worker processes and a resumed study finds it) and builds each cohort's network
by cloning it. What does not change its structure is a per-slot value as for the built-in
MLP:

* its ``Dropout`` layers become :class:`~tunelab.model.SlotDropout` layers in training, so
  ``model.dropout`` (one number for every Dropout layer, or one rate per Dropout layer in
  the template's order) is searchable within a cohort; ``[]`` keeps the template's rates;
* ``model.l2`` adds ``l2 * sum(w ** 2)`` over its ``Dense`` kernels (nested ones included),
  on top of any regularizer the template carries;
* the seed re-initialises it: the clone draws fresh weights from the template's own
  initializers under ``keras.utils.set_random_seed(seed)``, so every replicate starts anew.

Its layers, widths, activations and initializers are the template's: ``model.units``,
``activation``, ``kernel_initializer`` and ``padded_units`` do not apply. The model
exported from a slot is a clone with standard ``Dropout(rate)`` layers (and ``L2`` kernel
regularizers when ``l2 > 0``) holding the slot's weights.

Example:
    >>> import keras, tempfile, pathlib
    >>> net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
    ...                         keras.layers.Dropout(0.25),
    ...                         keras.layers.Dense(3, activation="softmax")])
    >>> template_rates(net)
    [0.25]
    >>> path = save_template(net, tempfile.mkdtemp())
    >>> path.name.startswith("template-"), path.suffix
    (True, '.keras')
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from tunelab.config import ModelConfig
from tunelab.errors import ConfigError
from tunelab.model._dropout import SlotDropout

__all__ = [
    "dense_layers",
    "dropout_layers",
    "load_template",
    "save_template",
    "stage_model",
    "template_config",
    "template_model",
    "template_rates",
    "template_values",
]

_DROPOUTS = (keras.layers.Dropout, SlotDropout)


def _walk(layers: Sequence[Any]) -> Iterator[Any]:
    for layer in layers:
        inner = getattr(layer, "layers", None)
        if isinstance(layer, keras.Model) and inner is not None:
            yield from _walk(inner)
        else:
            yield layer


def dropout_layers(model: keras.Model) -> list[Any]:
    """The model's dropout layers (``Dropout`` or ``SlotDropout``), nested ones included, in
    layer order."""
    return [layer for layer in _walk(model.layers) if isinstance(layer, _DROPOUTS)]


def dense_layers(model: keras.Model) -> list[Any]:
    """The model's ``Dense`` layers, nested ones included, in layer order."""
    return [layer for layer in _walk(model.layers) if isinstance(layer, keras.layers.Dense)]


def template_rates(model: keras.Model) -> list[float]:
    """The rates of a model's ``Dropout`` layers, in order.

    Example:
        >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.5),
        ...                         keras.layers.Dense(1)])
        >>> template_rates(net)
        [0.5]
    """
    out = []
    for layer in dropout_layers(model):
        rate = layer.rate if isinstance(layer, keras.layers.Dropout) else layer._initial_rate
        out.append(float(rate))
    return out


def _check_model(model: Any, where: str = "model") -> keras.Model:
    if not isinstance(model, keras.Model):
        raise ConfigError(f"{where}: expected a keras.Model, got {type(model).__name__}")
    if not isinstance(model, keras.Sequential) and type(model).__name__ != "Functional":
        raise ConfigError(
            f"{where}: a subclassed keras.Model ({type(model).__name__}) cannot be cloned as a"
            " template; build it with keras.Sequential or the functional API, or pass a"
            " builder function that returns a new model"
        )
    if not model.built or not model.inputs:
        raise ConfigError(
            f"{where}: the keras.Model has no input shape yet; start it with keras.Input(shape)"
            " (Sequential or functional) so tunelab knows what it takes"
        )
    return model


def _fingerprint(model: keras.Model) -> str:
    """A short hash of the model's architecture (its weights are re-initialised anyway)."""
    text = json.dumps(model.get_config(), sort_keys=True, default=str)
    return hashlib.sha256(f"{type(model).__name__}:{text}".encode()).hexdigest()[:12]


def save_template(model: keras.Model, folder: str | os.PathLike[str]) -> Path:
    """Save ``model`` as ``folder/template-<hash>.keras`` (once per architecture); return the
    path.

    The name is a hash of the architecture, so the same model gives the same file and a
    resumed run finds it. Written atomically.

    Raises:
        ConfigError: The model has no input shape, or Keras cannot save it.
    """
    from tunelab.model._export import save_model

    model = _check_model(model)
    target = Path(folder).expanduser().resolve() / f"template-{_fingerprint(model)}.keras"
    if target.is_file():
        return target
    try:
        save_model(model, target)
    except ConfigError:
        raise
    except Exception as err:
        raise ConfigError(f"model: Keras cannot save this model as a template ({err})") from None
    return target


@functools.lru_cache(maxsize=16)
def _load(path: str, mtime_ns: int, size: int) -> keras.Model:
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:
        raise ConfigError(
            f"model.template: {path} cannot be loaded ({err}); a template must load with"
            " keras.saving.load_model(safe_mode=True): register custom layers with"
            " keras.saving.register_keras_serializable, or pass a builder function"
        ) from None


def load_template(path: str | os.PathLike[str]) -> keras.Model:
    """The template model saved at ``path`` (cached while the file is unchanged).

    Raises:
        ConfigError: naming ``model.template`` when the file is missing or cannot load.
    """
    p = Path(path).expanduser()
    try:
        stat = p.stat()
    except OSError:
        raise ConfigError(f"model.template: {p}: no such file") from None
    return _load(str(p.resolve()), stat.st_mtime_ns, stat.st_size)


def _rates(cfg: ModelConfig, template: keras.Model) -> list[float]:
    own = template_rates(template)
    if isinstance(cfg.dropout, list):
        if not cfg.dropout:
            return own
        if len(cfg.dropout) != len(own):
            raise ConfigError(
                f"model.dropout: {len(cfg.dropout)} rates, but the template has {len(own)}"
                " Dropout layers; give one rate per Dropout layer, one number for all,"
                " or [] for the template's own"
            )
        return [float(r) for r in cfg.dropout]
    if not own and cfg.dropout > 0:
        raise ConfigError(
            f"model.dropout: the template has no Dropout layer, so a rate of {cfg.dropout}"
            " cannot apply; add keras.layers.Dropout layers to it, or leave dropout at 0"
        )
    return [float(cfg.dropout)] * len(own)


def _with_l2(config: dict[str, Any], l2: float, name: str) -> dict[str, Any]:
    reg = config.get("kernel_regularizer")
    if reg is None:
        config["kernel_regularizer"] = keras.regularizers.L2(l2)
        return config
    obj = keras.regularizers.get(reg) if not isinstance(reg, keras.regularizers.Regularizer) \
        else reg
    if isinstance(obj, keras.regularizers.L1L2):
        config["kernel_regularizer"] = keras.regularizers.L1L2(l1=float(obj.l1),
                                                               l2=float(obj.l2) + l2)
    elif isinstance(obj, keras.regularizers.L2):
        config["kernel_regularizer"] = keras.regularizers.L2(float(obj.l2) + l2)
    elif isinstance(obj, keras.regularizers.L1):
        config["kernel_regularizer"] = keras.regularizers.L1L2(l1=float(obj.l1), l2=l2)
    else:
        raise ConfigError(
            f"model.l2: layer {name!r} of the template has its own kernel regularizer"
            f" ({type(obj).__name__}) that model.l2 cannot be added to; set model.l2 = 0"
        )
    return config


def template_model(cfg: ModelConfig, spec: Any, *, slot_dropout: bool = True,
                   seed: int | None = None) -> keras.Model:
    """A clone of ``cfg.template`` with fresh weights.

    With ``slot_dropout`` (the engine's training network) each ``Dropout`` layer becomes a
    :class:`SlotDropout` of the configured rate (seeded from ``seed``) and L2 is left to the
    engine; otherwise (the model users get) standard ``Dropout(rate)`` layers, and ``L2(l2)``
    added to every ``Dense`` kernel when ``cfg.l2 > 0``.

    Raises:
        ConfigError: The template does not fit the data (input shape, outputs), or
            ``model.dropout`` does not fit its Dropout layers.
    """
    if cfg.template is None:
        raise ConfigError("model.template is not set")
    template = load_template(cfg.template)
    rates = iter(_rates(cfg, template))
    seeds = iter(_layer_seeds(seed, len(dropout_layers(template))))

    def clone(layer: Any) -> Any:
        config = layer.get_config()
        if isinstance(layer, _DROPOUTS):
            rate = next(rates)
            if slot_dropout:
                return SlotDropout(rate, seed=next(seeds), name=config["name"])
            return keras.layers.Dropout(rate, name=config["name"])
        if isinstance(layer, keras.layers.Dense) and not slot_dropout and cfg.l2 > 0:
            config = _with_l2(config, float(cfg.l2), config["name"])
        return type(layer).from_config(config)

    try:
        model = keras.models.clone_model(template, clone_function=clone, recursive=True)
    except ConfigError:
        raise
    except Exception as err:
        raise ConfigError(f"model.template: the template cannot be cloned ({err})") from None
    shape = tuple(int(d) for d in model.input_shape[1:])
    if spec is not None and shape != tuple(spec.input_shape):
        raise ConfigError(
            f"model.template: the model takes inputs of shape {shape}, but the data's samples"
            f" have shape {tuple(spec.input_shape)}; give it keras.Input({tuple(spec.input_shape)})"
            " (tunelab flattens images unless data.flatten = false)"
        )
    outputs = int(model.output_shape[-1])
    if spec is not None and outputs != spec.num_outputs:
        raise ConfigError(
            f"model.template: the model gives {outputs} outputs but this {spec.task} task"
            f" needs {spec.num_outputs}"
        )
    return model


def _layer_seeds(seed: int | None, n: int) -> list[int | None]:
    if seed is None:
        return [None] * n
    state = np.random.SeedSequence([seed & 0xFFFFFFFF, 1]).generate_state(max(n, 1))
    return [int(s) % (2**31 - 1) for s in state[:n]]


def template_values(cfg: ModelConfig, spec: Any, seed: int) -> tuple[list[Any], list[Any]]:
    """One slot's starting arrays: the weights of ``keras.models.clone_model(template)``
    under ``keras.utils.set_random_seed(seed)`` (what a Keras user would get), and
    SlotDropout layers holding the configured rates and random states seeded from ``seed``.
    """
    assert cfg.template is not None
    keras.utils.set_random_seed(seed)
    plain = keras.models.clone_model(load_template(cfg.template))
    fresh = template_model(cfg, spec, seed=seed)
    skip_plain = {id(v) for layer in dropout_layers(plain) for v in layer.variables}
    skip_fresh = {id(v) for layer in dropout_layers(fresh) for v in layer.variables}
    kept = iter([np.asarray(v.value) for v in plain.non_trainable_variables
                 if id(v) not in skip_plain])
    ntv = [np.asarray(v.value) if id(v) in skip_fresh else next(kept)
           for v in fresh.non_trainable_variables]
    return [np.asarray(v.value) for v in plain.trainable_variables], ntv


def export_template(cfg: ModelConfig, spec: Any, trainable: Sequence[Any],
                    non_trainable: Sequence[Any]) -> keras.Model:
    """A standard clone of the template holding one slot's arrays (dropout state left out)."""
    train_net = template_model(cfg, spec)
    model = template_model(cfg, spec, slot_dropout=False)
    skip_train = {id(v) for layer in dropout_layers(train_net) for v in layer.variables}
    skip_out = {id(v) for layer in dropout_layers(model) for v in layer.variables}
    values = [a for v, a in zip(train_net.non_trainable_variables, non_trainable, strict=True)
              if id(v) not in skip_train]
    targets = [v for v in model.non_trainable_variables if id(v) not in skip_out]
    pairs = list(zip(model.trainable_variables, trainable, strict=True))
    pairs += list(zip(targets, values, strict=True))
    for var, value in pairs:
        arr = np.asarray(value)
        if tuple(var.shape) != arr.shape:
            raise ConfigError(
                f"model: variable {var.path} has shape {tuple(var.shape)}, got {arr.shape}")
        var.assign(arr)
    return model


def template_config(model: keras.Model, path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``[model]`` settings that train ``model`` (saved at ``path``) as it is.

    ``dropout`` is one number when every Dropout layer has the same rate (then a search of
    ``model.dropout`` sets them all), else one rate per Dropout layer with ``units`` the
    width each of them sees (kept the same length, so per-layer lists stay consistent).

    Example:
        >>> net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
        ...                         keras.layers.Dropout(0.1), keras.layers.Dense(2)])
        >>> template_config(net, "t.keras")
        {'template': 't.keras', 'units': [], 'dropout': 0.1, 'l2': 0.0}
    """
    rates = template_rates(model)
    out: dict[str, Any] = {"template": os.fspath(path), "units": []}
    if not rates or len(set(rates)) == 1:
        out["dropout"] = rates[0] if rates else 0.0
    else:
        out["units"] = [max(1, int(layer.input.shape[-1])) for layer in dropout_layers(model)]
        out["dropout"] = rates
    out["l2"] = 0.0
    return out


def stage_model(model: Any, folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``[model]`` section for ``model`` as a Keras user holds it, ready to travel.

    Args:
        model: A ``[model]`` table (a dict or :class:`~tunelab.config.ModelConfig`: the
            built-in MLP by config), a ``"package.module:function"`` builder, or a
            ``keras.Model`` (saved under ``folder`` by :func:`save_template` and used as the
            template of every slot, see :func:`template_config`).
        folder: Where a template is saved.

    Raises:
        ConfigError: A Python function (it cannot be named in a configuration that worker
            processes and resumed runs read: give ``"package.module:function"``), or
            anything else.

    Example:
        >>> stage_model({"units": [128]}, "unused")["units"]
        [128]
    """
    if isinstance(model, keras.Model):
        path = save_template(model, folder)
        return template_config(model, path)
    if isinstance(model, ModelConfig):
        return model.model_dump(mode="json")
    if isinstance(model, dict):
        return ModelConfig.model_validate(model).model_dump(mode="json")
    if isinstance(model, str):
        return ModelConfig(builder=model).model_dump(mode="json")
    if callable(model):
        name = getattr(model, "__qualname__", repr(model))
        raise ConfigError(
            f"model: {name} is a Python function, which a study's workers and a resumed run"
            " cannot find; give it as 'package.module:function', or pass a keras.Model"
        )
    raise ConfigError(f"model: expected a [model] table, a 'package.module:function' builder"
                      f" or a keras.Model, got {type(model).__name__}")
