"""Compiling a cohort's programs from shapes alone, before (or while) its data is read.

XLA compiles from shapes and dtypes; the arrays themselves are not needed. Given the
template configuration, the cohort's width and a :class:`DataShape`, :func:`compile_cohort`
lowers the epoch (or piece) and validation programs with ``jax.ShapeDtypeStruct``
arguments and compiles them into the structure's shared :class:`Program`, so that the
cohort later built on the real data finds them compiled. It may run in a thread while the
data loads (compiling releases the GIL).

Example:
    >>> from tunelab.config import parse_config
    >>> cfg = parse_config({"model": {"units": [8]}, "training": {"batch_size": 32}})
    >>> shape = DataShape(train=256, val=64, test=64, input_shape=(64,),
    ...                   task="multiclass", num_classes=10)
    >>> compile_cohort(cfg, shape, width=2) >= 0.0
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from tunelab.config import RunConfig
from tunelab.model import Builder, initial_values
from tunelab.optim import optimizer_hyperparams
from tunelab.train._arrays import DataShape, evaluation_rows
from tunelab.train._chunks import chunking, slot_bytes
from tunelab.train._program import Program, enable_compilation_cache, get_program
from tunelab.train._structure import structure_key

__all__ = ["compile_cohort", "compile_program"]


def _stacked(tree: Any, k: int) -> Any:
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct((k, *np.shape(a)), a.dtype), tree)


def _struct(shape: tuple[int, ...], dtype: Any) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(shape, np.dtype(dtype))


def compile_program(program: Program, template: RunConfig, shape: DataShape, width: int, *,
                    groups: int = 1, piece_steps: int | None = None, l2: bool = False,
                    builder: Builder | None = None) -> float:
    """Compile ``program``'s epoch (or piece of ``piece_steps``) and validation for a width.

    Returns the seconds spent now (0 for what was compiled before).
    """
    tv, ntv = initial_values(program.model, template.model, program.spec, template.seed,
                             builder=builder)
    hyper = {k: np.float32(v) for k, v in optimizer_hyperparams(template.optimizer).items()}
    opt = jax.eval_shape(program._init_optimizer, hyper, list(tv))
    acc = jax.eval_shape(program.zero_accum, list(tv))
    state = _stacked((list(tv), list(ntv), opt, acc), width)
    k = (width,)
    x = _struct((shape.train, *shape.input_shape), np.float32)
    y = _struct((shape.train, *shape.targets), shape.y_dtype)
    # The epoch trains in the cohort's chunks (``_chunks``): their seed table's shape.
    chunks = chunking(width=width, groups=groups, slot_bytes=slot_bytes(tv, ntv, opt, acc))
    table = (chunks.count, chunks.groups)
    args = (state, x, y, _struct(table, np.uint32), np.int32(0), np.int32(0),
            _struct(k, np.float32), _struct(k, np.bool_), _struct(k, np.float32),
            _struct(k, np.int32))
    seconds = program.compiled("epoch" if l2 else "epoch_no_l2", args, length=piece_steps)[1]
    if shape.val:
        rows = evaluation_rows(width, shape.chunk)
        evaluation = (state[0], state[1], _struct((rows, *shape.input_shape), np.float32),
                      _struct((rows, *shape.targets), shape.y_dtype),
                      _struct((rows,), np.float32), _struct(k, np.float32))
        seconds += program.compiled("evaluate", evaluation)[1]
    return seconds


def compile_cohort(template: RunConfig, shape: DataShape, width: int = 1, *,
                   builder: Builder | None = None, replicates: Sequence[int] | None = None,
                   parts: int = 1, l2: bool = False) -> float:
    """Compile what ``Cohort(template, data, width, ...)`` will train with, from shapes.

    Args:
        template: The cohort's template configuration (its structure is what counts).
        shape: The dataset's shape (``DataShape.of(data)`` once the data is at hand).
        width, builder, replicates, parts: As the cohort will be built.
        l2: Compile the variant with an L2 penalty (a slot with ``model.l2 > 0``).

    Returns:
        The seconds spent compiling (0 when everything was compiled before).
    """
    enable_compilation_cache()
    spec = shape.spec()
    program = get_program(structure_key(template, builder), template, spec, builder)
    steps = -(-shape.train // program.batch_size)
    piece_steps = None if parts == 1 else -(-steps // parts)
    groups = len(replicates) if replicates else 1
    return compile_program(program, template, shape, width, groups=groups,
                           piece_steps=piece_steps, l2=l2, builder=builder)
