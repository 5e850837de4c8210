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


def build_model(
    cfg: ModelConfig,
    spec: ModelSpec,
    *,
    builder: Builder | None = None,
    slot_dropout: bool = True,
) -> keras.Model:
    """Build the Keras model a configuration describes.

    The built-in network is ``Dense(units, activation)`` + dropout per hidden layer, then a
    ``Dense`` output with the task's activation. With ``slot_dropout=True`` every hidden
    layer gets a :class:`SlotDropout` (its rate is a variable, rate 0 included) so that
    slots with different rates share the model (and L2 is left to the engine); otherwise
    standard ``Dropout(rate)`` layers appear where the rate is above zero, and every Dense
    kernel gets an ``L2(cfg.l2)`` regularizer when ``cfg.l2 > 0``.

    Example:
        >>> m = build_model(ModelConfig(), ModelSpec((64,), "multiclass", 10))
        >>> [w.shape for w in m.trainable_weights][::2]
        [(64, 64), (64, 64), (64, 10)]
    """
    if builder is not None or cfg.builder is not None:
        return _call_builder(load_builder(builder or cfg.builder), cfg, spec)  # type: ignore[arg-type]
    # The engine adds each slot's own L2 term; a standard model carries it as Keras does.
    def reg() -> Any:
        return keras.regularizers.L2(cfg.l2) if cfg.l2 > 0 and not slot_dropout else None

    layers: list[keras.layers.Layer] = [keras.Input(shape=spec.input_shape)]
    for i, (units, rate) in enumerate(zip(cfg.units, cfg.dropout_rates(), strict=True)):
        layers.append(keras.layers.Dense(units, activation=cfg.activation,
                                         kernel_initializer=cfg.kernel_initializer,
                                         kernel_regularizer=reg(), name=f"dense_{i}"))
        if slot_dropout:
            layers.append(SlotDropout(rate, name=f"dropout_{i}"))
        elif rate > 0:
            layers.append(keras.layers.Dropout(rate, name=f"dropout_{i}"))
    layers.append(keras.layers.Dense(spec.num_outputs, activation=output_activation(spec.task),
                                     kernel_initializer=cfg.kernel_initializer,
                                     kernel_regularizer=reg(), name="output"))
    return keras.Sequential(layers, name="tunelab_mlp")


def kernel_indices(model: keras.Model) -> list[int]:
    """Positions in ``model.trainable_variables`` of the Dense kernels (what L2 acts on)."""
    kernels = {id(layer.kernel) for layer in model.layers if isinstance(layer, keras.layers.Dense)}
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
    and its random state seeded from ``seed``. For a builder: the builder's own
    initialisation, run under ``keras.utils.set_random_seed(seed)``.

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
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    drops = [layer for layer in model.layers if isinstance(layer, SlotDropout)]
    kernel_seeds = _seeds(seed, 0, len(dense))
    drop_seeds = _seeds(seed, 1, len(drops))
    values: dict[int, Any] = {}
    shapes = tuple(tuple(layer.kernel.shape) for layer in dense)
    draw = _kernel_draw(cfg.kernel_initializer, shapes, str(dense[0].kernel.dtype))
    pairs = np.asarray([[s, 0] for s in kernel_seeds], dtype=np.uint32)
    for layer, kernel in zip(dense, draw(pairs), strict=True):
        values[id(layer.kernel)] = kernel
        values[id(layer.bias)] = np.zeros(tuple(layer.bias.shape), dtype=layer.bias.dtype)
    for layer, rate, s in zip(drops, cfg.dropout_rates(), drop_seeds, strict=True):
        values[id(layer.rate)] = np.asarray(rate, dtype=layer.rate.dtype)
        state = layer.seed_generator.state
        values[id(state)] = np.asarray([s, 0], dtype=state.dtype)
    try:
        return ([values[id(v)] for v in model.trainable_variables],
                [values[id(v)] for v in model.non_trainable_variables])
    except KeyError:
        raise ConfigError(
            "model: the network has variables tunelab does not initialise; use a builder"
        ) from None
