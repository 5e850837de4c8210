"""Models: configuration -> Keras model, losses and metrics by name, export of one slot.

Example:
    >>> from tunelab.config import ModelConfig
    >>> m = build_model(ModelConfig(), ModelSpec((64,), "multiclass", 10))
    >>> [tuple(w.shape) for w in m.trainable_weights][::2]
    [(64, 64), (64, 64), (64, 10)]
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

from tunelab.model._build import (  # noqa: E402
    Builder,
    ModelSpec,
    build_model,
    hidden_widths,
    initial_values,
    kernel_indices,
    load_builder,
    num_outputs,
)
from tunelab.model._compiled import CompiledModel, canonical_template, read_compiled  # noqa: E402
from tunelab.model._dropout import SlotDropout  # noqa: E402
from tunelab.model._export import ensemble_model, export_model, save_model  # noqa: E402
from tunelab.model._losses import (  # noqa: E402
    LOSSES_BY_TASK,
    METRICS_BY_TASK,
    TASKS,
    Term,
    dense_targets,
    loss_term,
    metric_term,
    output_activation,
    resolve_loss,
    resolve_metrics,
)
from tunelab.model._template import (  # noqa: E402
    load_template,
    save_template,
    stage_model,
    template_config,
    template_rates,
)

__all__ = [
    "LOSSES_BY_TASK",
    "METRICS_BY_TASK",
    "TASKS",
    "Builder",
    "CompiledModel",
    "ModelSpec",
    "SlotDropout",
    "Term",
    "build_model",
    "canonical_template",
    "dense_targets",
    "ensemble_model",
    "export_model",
    "hidden_widths",
    "initial_values",
    "kernel_indices",
    "load_builder",
    "load_template",
    "loss_term",
    "metric_term",
    "num_outputs",
    "output_activation",
    "read_compiled",
    "resolve_loss",
    "resolve_metrics",
    "save_model",
    "save_template",
    "stage_model",
    "template_config",
    "template_rates",
]
