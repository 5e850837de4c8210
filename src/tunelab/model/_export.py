"""Export one slot as a model of standard Keras layers, and save ``.keras`` files atomically.

Training uses :class:`~tunelab.model.SlotDropout`; users should never need tunelab to
open what it saves. :func:`export_model` rebuilds the network from ``Dense`` and
``Dropout(rate)`` layers (or calls the user's builder again) and copies the slot's arrays
into it, so ``keras.saving.load_model(path)`` (``safe_mode=True``) works anywhere and
predicts what tunelab evaluated.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from tunelab.config import ModelConfig
from tunelab.errors import ConfigError
from tunelab.model._build import Builder, ModelSpec, build_model

__all__ = ["ensemble_model", "export_model", "save_model"]


def export_model(
    cfg: ModelConfig,
    spec: ModelSpec,
    trainable: Sequence[Any],
    non_trainable: Sequence[Any] = (),
    *,
    builder: Builder | None = None,
) -> keras.Model:
    """A standard Keras model holding one slot's weights.

    ``trainable`` (and, for a builder's model, ``non_trainable``) are the slot's arrays in
    the order of the training model's variables. The built-in network gets standard
    ``Dropout`` layers with the configured rates and ``L2`` kernel regularizers when
    ``cfg.l2 > 0`` (so a user who continues training in Keras keeps the same objective).
    Arrays trained at padded widths (``cfg.padded_units``) are cut to the real widths.

    Example:
        >>> from tunelab.model import initial_values
        >>> spec = ModelSpec((4,), "multiclass", 3)
        >>> cfg = ModelConfig(units=[5], dropout=0.2)
        >>> train_model = build_model(cfg, spec)
        >>> tv, ntv = initial_values(train_model, cfg, spec, seed=0)
        >>> [type(l).__name__ for l in export_model(cfg, spec, tv).layers]
        ['Dense', 'Dropout', 'Dense']
    """
    if builder is None and cfg.builder is None and cfg.template is not None:
        from tunelab.model._template import export_template

        return export_template(cfg, spec, trainable, non_trainable)
    if builder is not None or cfg.builder is not None:
        model = build_model(cfg, spec, builder=builder)
        targets = list(model.trainable_variables) + list(model.non_trainable_variables)
        values = list(trainable) + list(non_trainable)
    else:
        model = build_model(cfg, spec, slot_dropout=False)
        targets = list(model.trainable_variables)
        values = list(trainable)
    if len(targets) != len(values):
        raise ConfigError(
            f"model: cannot export {len(values)} arrays into a network with {len(targets)}"
            " variables; the configuration does not match the trained structure"
        )
    padded = builder is None and cfg.builder is None and cfg.padded_units is not None
    for var, value in zip(targets, values, strict=True):
        arr = np.asarray(value)
        if padded and arr.ndim == len(var.shape) and all(
                a >= v for a, v in zip(arr.shape, var.shape, strict=True)):
            # Trained padded: the real units are the leading block, the rest is zero.
            arr = arr[tuple(slice(0, n) for n in var.shape)]
        if tuple(var.shape) != arr.shape:
            raise ConfigError(
                f"model: variable {var.path} has shape {tuple(var.shape)}, got {arr.shape}"
            )
        var.assign(arr)
    return model


def ensemble_model(members: Sequence[keras.Model], name: str = "ensemble") -> keras.Model:
    """One Keras model whose output is the mean of ``members``' outputs (same input shape).

    Averaging the predicted probabilities of a few independently trained networks is the
    plain way to spend several replicates on one final model; the result is a standard
    functional model (``keras.saving.load_model`` opens it without tunelab).

    Example:
        >>> a = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        >>> b = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        >>> ensemble_model([a, b]).output_shape
        (None, 2)
    """
    if not members:
        raise ConfigError("an ensemble needs at least one member")
    if len(members) == 1:
        return members[0]
    inputs = keras.Input(shape=tuple(members[0].input_shape[1:]), name="inputs")
    outputs = [m(inputs) for m in members]
    for i, m in enumerate(members):
        m.name = f"member_{i}"  # unique layer names inside the functional model
    return keras.Model(inputs, keras.layers.Average(name="average")(outputs), name=name)


def save_model(model: keras.Model, path: str | os.PathLike[str]) -> Path:
    """Save ``model`` as a ``.keras`` file atomically (temporary file, then rename).

    Raises:
        ConfigError: when ``path`` does not end in ``.keras``.

    Example:
        >>> import tempfile, pathlib
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> p = save_model(m, pathlib.Path(tempfile.mkdtemp()) / "m.keras")
        >>> keras.saving.load_model(p).count_params()
        3
    """
    target = Path(path)
    if target.suffix != ".keras":
        raise ConfigError(f"{target}: a model file must end in .keras")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".keras", dir=target.parent)
    os.close(fd)
    try:
        model.save(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        # mkstemp makes the file 0600; give it the mode a plain open() would have.
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
