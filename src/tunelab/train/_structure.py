"""What a cohort shares (its structure) and the dataset shape the engine trains on.

Configurations train in one cohort when :func:`structure_key` gives them the same key: the
same network shape (the hidden widths it is computed at, padded ones where
``model.padded_units`` pads them, and activation, or the same user builder or keras.Model
template), batch size (or ``training.micro_batch`` when set: the batch size is then a
per-slot number of micro-batches per update),
optimizer family (and SGD's ``nesterov``), loss, metrics and data section.
Everything else (learning rate and every optimizer and schedule number, dropout rates, L2
strength, initializer, seed, epochs, callbacks) is a per-slot value.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import numpy as np

from tunelab.config import RunConfig
from tunelab.errors import ConfigError, DataError
from tunelab.model import (
    Builder,
    ModelSpec,
    hidden_widths,
    loss_term,
    num_outputs,
    resolve_loss,
)
from tunelab.optim import optimizer_family

__all__ = ["DatasetLike", "StructureKey", "check_data", "model_spec", "structure_key"]

StructureKey = tuple[tuple[Any, ...], ...]


class DatasetLike(Protocol):
    """Any object with a dataset's arrays and description (``tunelab.data.Dataset`` is one).

    ``x_*`` are float32 ``(N, features...)``; ``y_*`` are int class indices for
    classification, floats for regression.
    """

    @property
    def x_train(self) -> np.ndarray: ...
    @property
    def y_train(self) -> np.ndarray: ...
    @property
    def x_val(self) -> np.ndarray: ...
    @property
    def y_val(self) -> np.ndarray: ...
    @property
    def x_test(self) -> np.ndarray: ...
    @property
    def y_test(self) -> np.ndarray: ...
    @property
    def task(self) -> str: ...
    @property
    def num_classes(self) -> int: ...
    @property
    def input_shape(self) -> tuple[int, ...]: ...
    @property
    def name(self) -> str: ...


def _builder_id(builder: Builder | str) -> str:
    if isinstance(builder, str):
        return builder
    module = getattr(builder, "__module__", "?")
    return f"{module}:{getattr(builder, '__qualname__', repr(builder))}#{id(builder)}"


def structure_key(cfg: RunConfig, builder: Builder | None = None) -> StructureKey:
    """The hashable key that configurations sharing a cohort have in common.

    Example:
        >>> from tunelab.config import parse_config
        >>> a = parse_config({"optimizer": {"learning_rate": 0.1}, "model": {"dropout": 0.3}})
        >>> b = parse_config({"optimizer": {"learning_rate": 0.01}, "seed": 7})
        >>> structure_key(a) == structure_key(b)
        True
        >>> structure_key(a) == structure_key(parse_config({"training": {"batch_size": 64}}))
        False
    """
    m = cfg.model
    if builder is not None or m.builder is not None:
        network: tuple[Any, ...] = ("builder", _builder_id(builder or m.builder))  # type: ignore[arg-type]
    elif m.template is not None:
        # A keras.Model template is its own structure; units and activation do not apply.
        network = ("template", m.template)
    else:
        # Padded widths: configurations of different real widths share the padded network.
        network = ("mlp", tuple(hidden_widths(m)), m.activation)
    training = cfg.training
    return (
        ("network", network),
        ("optimizer", optimizer_family(cfg.optimizer)),
        # With a micro-batch, a batch size is a per-slot number of micro-steps per update.
        (("micro_batch", int(training.micro_batch)) if training.micro_batch is not None
         else ("batch_size", int(training.batch_size))),
        ("shuffle", bool(training.shuffle)),
        ("loss", training.loss),
        ("metrics", tuple(training.metrics)),
        ("data", json.dumps(cfg.data.model_dump(mode="json"), sort_keys=True)),
    )


def model_spec(data: DatasetLike) -> ModelSpec:
    """The input shape, task and output width a dataset asks of a model."""
    shape = tuple(int(d) for d in np.shape(data.x_train)[1:])
    return ModelSpec(shape, str(data.task), num_outputs(data.task, data.num_classes,
                                                        np.asarray(data.y_train)))


def check_data(cfg: RunConfig, data: DatasetLike, builder: Builder | None = None) -> None:
    """Check that a configuration can train on a dataset; errors name the key at fault.

    Raises:
        ConfigError: batch size larger than the training data, a loss unfit for the task,
            ``model.l2`` with a user's builder (it regularises the built-in network only),
            or a batch size that is not a multiple of ``training.micro_batch``.
        DataError: arrays of mismatched lengths, or no training data.
    """
    if (builder is not None or cfg.model.builder is not None) and cfg.model.l2 > 0:
        raise ConfigError(
            "model.l2 applies to the built-in network only; with a builder, give its layers"
            " kernel_regularizer=keras.regularizers.L2(...) instead"
        )
    n = int(np.shape(data.x_train)[0])
    if n == 0:
        raise DataError(f"{data.name}: the training split is empty")
    for split in ("train", "val", "test"):
        xs, ys = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if np.shape(xs)[0] != np.shape(ys)[0]:
            raise DataError(
                f"{data.name}: x_{split} has {np.shape(xs)[0]} rows but y_{split} has"
                f" {np.shape(ys)[0]}"
            )
    bsz = cfg.training.batch_size
    if bsz > n:
        raise ConfigError(
            f"training.batch_size: {bsz} is larger than the {n} training samples of"
            f" {data.name!r}; use at most {n}"
        )
    micro = cfg.training.micro_batch
    if micro is not None and bsz % micro:  # a copy made with model_copy skips the validator
        raise ConfigError(f"training.batch_size ({bsz}) must be a multiple of"
                          f" training.micro_batch ({micro})")
    loss = resolve_loss(cfg.training.loss, data.task)
    if cfg.training.micro_batch is not None and loss_term(loss, data.task).root:
        raise ConfigError(
            f"training.micro_batch: the loss {loss!r} is the square root of a batch mean, which"
            " micro-batches cannot sum to; remove micro_batch or use loss = 'mse'")
