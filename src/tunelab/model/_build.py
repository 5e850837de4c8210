"""Configuration -> Keras model, and each slot's starting arrays.

The engine builds one Keras model per *structure* (layer count and widths, activation,
task, input shape, or a user's builder) and trains many slots through it with
``stateless_call``. What differs between slots never changes the model: the initializer
and the seed only decide the starting arrays (:func:`initial_values`, computed on the host
with Keras initializers), and the dropout rate is a variable of :class:`SlotDropout`.

A user's own model plugs in through a builder, ``"package.module:function"`` in the
configuration or a Python callable. The builder is called with whichever of these keyword
arguments it accepts: ``input_shape``, ``num_outputs``, ``task``, ``config`` (the
:class:`~tunelab.config.ModelConfig`), and returns a ``keras.Model`` whose output already
has the task's activation (softmax, sigmoid, linear).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import keras
import numpy as np

from tunelab.config import ModelConfig
from tunelab.errors import ConfigError
from tunelab.model._dropout import SlotDropout
from tunelab.model._losses import output_activation

__all__ = [
    "Builder",
    "ModelSpec",
    "build_model",
    "hidden_widths",
    "initial_values",
    "kernel_indices",
    "load_builder",
    "num_outputs",
]

Builder = Callable[..., Any]

_BUILDER_ARGS = ("input_shape", "num_outputs", "task", "config")


@dataclass(frozen=True)
class ModelSpec:
    """What a model's shape depends on beyond its configuration: the data it fits.

    Attributes:
        input_shape: Shape of one sample, e.g. ``(64,)`` for flattened 8x8 digits.
        task: ``"multiclass"``, ``"binary"`` or ``"regression"``.
        num_outputs: Width of the output layer (classes, 1, or regression targets).
    """

    input_shape: tuple[int, ...]
    task: str
    num_outputs: int


def num_outputs(task: str, num_classes: int, y: np.ndarray) -> int:
    """Output width for a task: the class count, 1 for binary, the target count otherwise.

    Example:
        >>> num_outputs("binary", 2, np.zeros(5))
        1
    """
    if task == "multiclass":
        return int(num_classes)
    if task == "binary":
        return 1
    return 1 if y.ndim == 1 else int(y.shape[1])


def load_builder(ref: str | Builder) -> Builder:
    """Resolve ``"package.module:function"`` (or pass a callable through).

    Raises:
        ConfigError: naming ``model.builder`` when the module or function is missing.

    Example:
        >>> load_builder("math:hypot")(3, 4)
        5.0
    """
    if callable(ref):
        return ref
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"model.builder: cannot import module {module_name!r} ({exc}); make sure it is"
            " installed or on PYTHONPATH"
        ) from None
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ConfigError(f"model.builder: module {module_name!r} has no {attr!r}")
    if not callable(target):
        raise ConfigError(f"model.builder: {ref!r} is not a function")
    return target


def _call_builder(builder: Builder, cfg: ModelConfig, spec: ModelSpec) -> keras.Model:
    offered = {"input_shape": spec.input_shape, "num_outputs": spec.num_outputs,
               "task": spec.task, "config": cfg}
    params: dict[str, inspect.Parameter] = {}
    with contextlib.suppress(TypeError, ValueError):  # no signature: no arguments
        params = dict(inspect.signature(builder).parameters)
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in offered.items() if takes_all or k in params}
    name = getattr(builder, "__qualname__", repr(builder))
    model = builder(**kwargs)
    if not isinstance(model, keras.Model):
        raise ConfigError(
            f"model.builder: {name} returned {type(model).__name__}, not a keras.Model;"
            f" it may take these keyword arguments: {', '.join(_BUILDER_ARGS)}"
        )
    if not model.built:
        model.build((None, *spec.input_shape))
    out = model.compute_output_shape((None, *spec.input_shape))
    if tuple(out)[-1] != spec.num_outputs:
        raise ConfigError(
            f"model.builder: {name} gives {tuple(out)[-1]} outputs but this {spec.task} task"
            f" needs {spec.num_outputs}"
        )
    return model


def hidden_widths(cfg: ModelConfig) -> list[int]:
    """The widths the training network computes its hidden layers at.

    ``cfg.units``, each raised to ``cfg.padded_units`` where that names a wider layer (the
    extra units are masked: they stay exactly zero and change nothing).

    Example:
        >>> hidden_widths(ModelConfig(units=[32, 64, 16], padded_units=[128, 32]))
        [128, 64, 16]
    """
    pad = cfg.padded_units or []
    return [max(u, pad[i]) if i < len(pad) else u for i, u in enumerate(cfg.units)]


def build_model(
    cfg: ModelConfig,
    spec: ModelSpec,
    *,
    builder: Builder | None = None,
    slot_dropout: bool = True,
) -> keras.Model:
    """Build the Keras model a configuration describes.

    The built-in network is ``Dense(units, activation)`` + dropout per hidden layer, then a
    ``Dense`` output with the task's activation. With ``slot_dropout=True`` (the engine's
    training network) every hidden layer gets a :class:`SlotDropout` (its rate is a
    variable, rate 0 included) so that slots with different rates share the model (and L2
    is left to the engine), and with ``cfg.padded_units`` the hidden layers take their
    :func:`hidden_widths` and a unit mask; otherwise (the model users get) the real widths,
    standard ``Dropout(rate)`` layers where the rate is above zero, and an ``L2(cfg.l2)``
    regularizer on every Dense kernel when ``cfg.l2 > 0``.

    The variables start at zero: the starting arrays come from :func:`initial_values` (or
    are copied in by :func:`~tunelab.model.export_model`), and drawing random kernels here
    would cost a compilation of the random generator per layer shape for nothing. The
    layers still record ``cfg.kernel_initializer``, so a saved model's config names it.

    Example:
        >>> m = build_model(ModelConfig(), ModelSpec((64,), "multiclass", 10))
        >>> [w.shape for w in m.trainable_weights][::2]
        [(64, 64), (64, 64), (64, 10)]
    """
    if builder is not None or cfg.builder is not None:
        return _call_builder(load_builder(builder or cfg.builder), cfg, spec)  # type: ignore[arg-type]
    if cfg.template is not None:
        from tunelab.model._template import template_model

        return template_model(cfg, spec, slot_dropout=slot_dropout)
    # The engine adds each slot's own L2 term; a standard model carries it as Keras does.
    def reg() -> Any:
        return keras.regularizers.L2(cfg.l2) if cfg.l2 > 0 and not slot_dropout else None

    masked = slot_dropout and cfg.padded_units is not None
    widths = hidden_widths(cfg) if masked else list(cfg.units)
    layers: list[keras.layers.Layer] = [keras.Input(shape=spec.input_shape)]
    for i, (units, rate) in enumerate(zip(widths, cfg.dropout_rates(), strict=True)):
        layers.append(keras.layers.Dense(units, activation=cfg.activation,
                                         kernel_initializer="zeros",
                                         kernel_regularizer=reg(), name=f"dense_{i}"))
        if slot_dropout:
            layers.append(SlotDropout(rate, units=units if masked else None,
                                      name=f"dropout_{i}"))
        elif rate > 0:
            layers.append(keras.layers.Dropout(rate, name=f"dropout_{i}"))
    layers.append(keras.layers.Dense(spec.num_outputs, activation=output_activation(spec.task),
                                     kernel_initializer="zeros",
                                     kernel_regularizer=reg(), name="output"))
    model = keras.Sequential(layers, name="tunelab_mlp")
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            layer.kernel_initializer = keras.initializers.get(cfg.kernel_initializer)
    return model


def kernel_indices(model: keras.Model) -> list[int]:
    """Positions in ``model.trainable_variables`` of the Dense kernels (what L2 acts on),
    nested models' included."""
    from tunelab.model._template import dense_layers

    kernels = {id(layer.kernel) for layer in dense_layers(model)}
    return [i for i, v in enumerate(model.trainable_variables) if id(v) in kernels]


def _seeds(seed: int, salt: int, n: int) -> list[int]:
    # Independent, reproducible 31-bit seeds per layer, whatever the cohort looks like.
    state = np.random.SeedSequence([seed & 0xFFFFFFFF, salt]).generate_state(max(n, 1))
    return [int(s) % (2**31 - 1) for s in state[:n]]


@functools.lru_cache(maxsize=64)
def _kernel_draw(name: str, shapes: tuple[tuple[int, ...], ...], dtype: str) -> Any:
    # One compiled program draws every kernel of a network from per-layer seeds. Keras's
    # random ops take a JAX array as the seed as they take an int seed s as [s, 0], so the
    # values are those of `Initializer(seed=s)`, without one compilation per layer and slot.
    def draw(seeds: Any) -> list[Any]:
        out = []
        for i, shape in enumerate(shapes):
            init = keras.initializers.get(name)
            init = type(init).from_config(init.get_config())
            if hasattr(init, "seed"):
                init.seed = seeds[i]
            out.append(init(shape, dtype=dtype))
        return out

    return jax.jit(draw)


_KINDS = ("uniform", "normal", "truncated_normal")


def _affine(init: Any, shape: tuple[int, ...]) -> tuple[str, float, float] | None:
    """How a Keras initializer draws ``shape``: (distribution, a, b), or None if unknown.

    ``uniform`` draws in [a, b); ``normal`` and ``truncated_normal`` (cut at 2 standard
    deviations) draw ``sample * b + a``, as Keras's random functions on JAX do.
    """
    if isinstance(init, keras.initializers.VarianceScaling):
        from keras.src.initializers.random_initializers import compute_fans

        fan_in, fan_out = compute_fans(shape, input_axes=getattr(init, "input_axes", None),
                                       output_axes=getattr(init, "output_axes", None))
        scale = float(init.scale)
        if init.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif init.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        if init.distribution == "truncated_normal":
            return "truncated_normal", 0.0, math.sqrt(scale) / 0.87962566103423978
        if init.distribution == "untruncated_normal":
            return "normal", 0.0, math.sqrt(scale)
        limit = math.sqrt(3.0 * scale)
        return "uniform", -limit, limit
    if isinstance(init, keras.initializers.RandomUniform):
        return "uniform", float(init.minval), float(init.maxval)
    if isinstance(init, keras.initializers.RandomNormal):
        return "normal", float(init.mean), float(init.stddev)
    if isinstance(init, keras.initializers.TruncatedNormal):
        return "truncated_normal", float(init.mean), float(init.stddev)
    return None


@functools.lru_cache(maxsize=64)
def _flat_draw(kind: str, layers: int, size: int, dtype: str) -> Any:
    # JAX's threefry is counter based: a draw of shape (m, n) is the first m * n values of a
    # flat draw of any longer length. So one compiled program of a fixed flat length serves
    # every layer shape up to it (every real width of a padded network, every batch size),
    # where a program per shape would cost a compilation (seconds) per width.
    def one(seed: Any, a: Any, b: Any) -> Any:
        if kind == "uniform":
            return jax.random.uniform(seed, (size,), dtype, minval=a, maxval=b)
        if kind == "normal":
            return jax.random.normal(seed, (size,), dtype) * b + a
        return jax.random.truncated_normal(seed, -2.0, 2.0, (size,), dtype) * b + a

    return jax.jit(jax.vmap(one))


def _draw_kernels(name: str, shapes: tuple[tuple[int, ...], ...], room: int, dtype: str,
                  pairs: np.ndarray) -> list[Any]:
    """Each layer's kernel as ``Initializer(seed=pair)(shape)`` would give it, in one program.

    ``room`` is a flat length the program is compiled for (the largest padded kernel).
    """
    init = keras.initializers.get(name)
    draws = [_affine(init, shape) for shape in shapes]
    kinds = {d[0] for d in draws if d is not None}
    if None in draws or len(kinds) != 1:
        return list(_kernel_draw(name, shapes, dtype)(pairs))
    size = 1 << max(0, max(room, *(math.prod(s) for s in shapes)) - 1).bit_length()
    a = np.asarray([d[1] for d in draws if d is not None], dtype)
    b = np.asarray([d[2] for d in draws if d is not None], dtype)
    flat = np.asarray(_flat_draw(kinds.pop(), len(shapes), size, dtype)(pairs, a, b))
    return [flat[i, :math.prod(s)].reshape(s) for i, s in enumerate(shapes)]


def _real_shapes(shapes: tuple[tuple[int, ...], ...], units: list[int]
                 ) -> tuple[tuple[int, ...], ...]:
    """The kernel shapes of the unpadded network, from the padded ones and the real widths."""
    widths = [shapes[0][0], *units, shapes[-1][-1]]
    return tuple((widths[i], widths[i + 1]) for i in range(len(shapes)))


def _pad_to(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if a.shape == shape:
        return a
    out = np.zeros(shape, dtype=a.dtype)
    out[tuple(slice(0, n) for n in a.shape)] = a
    return out


def initial_values(
    model: keras.Model,
    cfg: ModelConfig,
    spec: ModelSpec,
    seed: int,
    *,
    builder: Builder | None = None,
) -> tuple[list[Any], list[Any]]:
    """One slot's starting (trainable, non-trainable) arrays, in the model's variable order.

    For the built-in network: kernels drawn from ``cfg.kernel_initializer`` with seeds
    derived from ``seed``, zero biases, each dropout layer's rate from the configuration
    and its random state seeded from ``seed``. With ``cfg.padded_units``, each kernel is
    drawn at its real shape and placed in the top-left corner of the padded one, and each
    unit mask holds ones for the real units. For a builder: the builder's own
    initialisation, run under ``keras.utils.set_random_seed(seed)``; for a template
    (``cfg.template``), a fresh clone under the same seed.

    Example:
        >>> spec = ModelSpec((4,), "binary", 1)
        >>> m = build_model(ModelConfig(units=[3], dropout=0.0), spec)
        >>> tv, ntv = initial_values(m, ModelConfig(units=[3], dropout=0.0), spec, seed=0)
        >>> [tuple(a.shape) for a in tv], [tuple(a.shape) for a in ntv]
        ([(4, 3), (3,), (3, 1), (1,)], [(), (2,)])
    """
    if builder is not None or cfg.builder is not None:
        keras.utils.set_random_seed(seed)
        fresh = _call_builder(load_builder(builder or cfg.builder), cfg, spec)  # type: ignore[arg-type]
        return ([v.value for v in fresh.trainable_variables],
                [v.value for v in fresh.non_trainable_variables])
    if cfg.template is not None:
        from tunelab.model._template import template_values

        return template_values(cfg, spec, seed)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    drops = [layer for layer in model.layers if isinstance(layer, SlotDropout)]
    kernel_seeds = _seeds(seed, 0, len(dense))
    drop_seeds = _seeds(seed, 1, len(drops))
    values: dict[int, Any] = {}
    shapes = tuple(tuple(layer.kernel.shape) for layer in dense)
    # A padded network draws each kernel at its real shape (fan-in and fan-out are the real
    # widths, and the values are those of the unpadded network); the padding stays zero.
    real = _real_shapes(shapes, cfg.units) if cfg.padded_units is not None else shapes
    pairs = np.asarray([[s, 0] for s in kernel_seeds], dtype=np.uint32)
    room = max(math.prod(s) for s in shapes)
    kernels = _draw_kernels(cfg.kernel_initializer, real, room, str(dense[0].kernel.dtype),
                            pairs)
    for layer, kernel, shape in zip(dense, kernels, shapes, strict=True):
        values[id(layer.kernel)] = _pad_to(np.asarray(kernel), shape)
        values[id(layer.bias)] = np.zeros(tuple(layer.bias.shape), dtype=layer.bias.dtype)
    for layer, rate, s, units in zip(drops, cfg.dropout_rates(), drop_seeds, cfg.units,
                                     strict=True):
        values[id(layer.rate)] = np.asarray(rate, dtype=layer.rate.dtype)
        state = layer.seed_generator.state
        values[id(state)] = np.asarray([s, 0], dtype=state.dtype)
        if layer.mask is not None:
            mask = np.zeros(tuple(layer.mask.shape), dtype=layer.mask.dtype)
            mask[:units] = 1
            values[id(layer.mask)] = mask
    try:
        return ([values[id(v)] for v in model.trainable_variables],
                [values[id(v)] for v in model.non_trainable_variables])
    except KeyError:
        raise ConfigError(
            "model: the network has variables tunelab does not initialise; use a builder"
        ) from None
