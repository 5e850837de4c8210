"""Diagnoses of one training history: what its loss curves say, in plain words, with the numbers.

Each rule is a pure function of a Keras-style history (``dict[str, list[float]]``) that returns a
:class:`~tunelab.report.Finding` or ``None``. The thresholds are named constants; the comment on
each says why it has the value it has.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from tunelab.report._data import Finding

__all__ = [
    "MIN_EPOCHS",
    "NOISE_MIN_EPOCHS",
    "NOISE_RELATIVE",
    "OVERFIT_RISE",
    "STILL_IMPROVING_DROP",
    "TRAIN_RISE",
    "check_noisy",
    "check_overfitting",
    "check_still_improving",
    "check_training_loss_rising",
    "diagnose_history",
]

History = Mapping[str, Sequence[float | None]]

# Fewer epochs than this say nothing about a trend: two or three points fit any story.
MIN_EPOCHS = 4

# Validation loss must end this much (relative) above its minimum to call it overfitting:
# late-training epoch-to-epoch jitter of validation loss is typically a few percent, so 10%
# is a rise beyond that noise rather than a wobble.
OVERFIT_RISE = 0.10

# Epochs that must follow the validation minimum: one epoch up after the best is noise.
OVERFIT_MIN_EPOCHS_AFTER = 2

# Validation loss must have dropped this much (relative) over the last window for the run to
# count as still improving: below 1% more epochs would buy too little to be worth recommending.
STILL_IMPROVING_DROP = 0.01

# The window the "still improving" rule looks at: the last fifth of training, and at least this
# many epochs so that a short run has a window at all.
TAIL_FRACTION = 0.2
TAIL_MIN_EPOCHS = 3

# Back-and-forth movement of the late loss, per epoch and relative to its level, above which the
# curve is called noisy. Only moves against the curve's net direction count, so a smooth decline
# of any shape scores 0. Late in a converging run the loss creeps by about 1% per epoch; reversals
# averaging 5% of the level each epoch mean steps are dominated by gradient noise.
NOISE_RELATIVE = 0.05

# "Late" is the last third of a run of at least ten epochs: the early part falls steeply and
# says nothing about noise.
NOISE_MIN_EPOCHS = 10
NOISE_TAIL_FRACTION = 1 / 3

# Noise needs enough late points to see a reversal happen more than once.
NOISE_MIN_TAIL = 5

# Training loss ending this much (relative) above its own minimum is rising: the epoch average of
# training loss under a sane learning rate falls almost monotonically, so 10% up is not jitter.
TRAIN_RISE = 0.10


def _series(history: History, key: str) -> np.ndarray | None:
    values = history.get(key)
    if values is None or len(values) == 0:
        return None
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


def _tail_length(n: int) -> int:
    return max(TAIL_MIN_EPOCHS, math.ceil(n * TAIL_FRACTION))


def _lr_evidence(history: History) -> dict[str, float | int | str]:
    lr = _series(history, "lr")
    if lr is None:
        lr = _series(history, "learning_rate")
    if lr is None or not np.isfinite(lr).any():
        return {}
    return {"learning_rate_first": float(lr[0]), "learning_rate_last": float(lr[-1])}


def check_training_loss_rising(history: History, label: str = "") -> Finding | None:
    """Training loss that rises, or becomes NaN/inf: likely a bug or far too high a learning rate.

    Rule: some training loss is not finite (the run diverged), or the last training loss exceeds
    its minimum by more than :data:`TRAIN_RISE` (relative), the minimum lying at least two
    epochs before the end.

    Example:
        >>> check_training_loss_rising({"loss": [1.0, 0.8, 0.9, 1.2, 1.5]}).code
        'training-loss-rising'
    """
    loss = _series(history, "loss")
    if loss is None:
        return None
    bad = ~np.isfinite(loss)
    if bad.any():
        first_bad = int(np.argmax(bad))
        return Finding(
            "diverged",
            "problem",
            f"Training loss became NaN or infinite at epoch {first_bad + 1}: the run diverged. "
            "The learning rate is far too high for this model, or the data hold non-finite values.",
            {"epoch_diverged": first_bad + 1, "epochs": len(loss), **_lr_evidence(history)},
            label,
        )
    if len(loss) < MIN_EPOCHS:
        return None
    best = int(np.argmin(loss))
    rise = (loss[-1] - loss[best]) / max(abs(loss[best]), 1e-12)
    if best > len(loss) - 3 or rise <= TRAIN_RISE:
        return None
    return Finding(
        "training-loss-rising",
        "problem",
        f"Training loss rose {rise:.0%} from its minimum at epoch {best + 1} to the last epoch. "
        "Training loss should fall; this is likely a bug (labels not matching inputs, a wrong "
        "loss) or far too high a learning rate: lower it by 10x and check the data.",
        {
            "best_epoch": best + 1,
            "loss_min": float(loss[best]),
            "loss_last": float(loss[-1]),
            "rise": float(rise),
            **_lr_evidence(history),
        },
        label,
    )


def check_overfitting(history: History, label: str = "") -> Finding | None:
    """Validation loss rising while training loss falls: the model memorises; regularise.

    Rule: validation loss ends more than :data:`OVERFIT_RISE` (relative) above its minimum, the
    minimum lies at least two epochs before the end, and training loss at the last epoch is
    below its value at that minimum.

    Example:
        >>> h = {"loss": [1.0, 0.6, 0.4, 0.3, 0.2, 0.1],
        ...      "val_loss": [1.0, 0.7, 0.6, 0.65, 0.75, 0.9]}
        >>> check_overfitting(h).code
        'overfitting'
    """
    loss, val = _series(history, "loss"), _series(history, "val_loss")
    if loss is None or val is None or len(val) < MIN_EPOCHS or not np.isfinite(val).all():
        return None
    best = int(np.argmin(val))
    rise = (val[-1] - val[best]) / max(abs(val[best]), 1e-12)
    if best > len(val) - 1 - OVERFIT_MIN_EPOCHS_AFTER or rise <= OVERFIT_RISE:
        return None
    n = min(len(loss), len(val))
    if best >= n or not loss[n - 1] < loss[best]:
        return None
    return Finding(
        "overfitting",
        "warning",
        f"Validation loss rose {rise:.0%} after epoch {best + 1} while training loss kept "
        "falling: the model is overfitting. Regularise (more dropout, L2, fewer units) or stop "
        "at the best epoch (early stopping keeps that model).",
        {
            "best_epoch": best + 1,
            "val_loss_min": float(val[best]),
            "val_loss_last": float(val[-1]),
            "val_loss_rise": float(rise),
            "loss_at_best_epoch": float(loss[best]),
            "loss_last": float(loss[n - 1]),
        },
        label,
    )


def check_still_improving(history: History, label: str = "") -> Finding | None:
    """A validation curve still improving at the last epoch: training longer would pay.

    Rule: the lowest validation loss is at one of the last two epochs, and it is more than
    :data:`STILL_IMPROVING_DROP` (relative) below the validation loss at the start of the last
    window (the last fifth of training, at least three epochs).

    Example:
        >>> check_still_improving({"val_loss": [1.0, 0.8, 0.6, 0.5, 0.42, 0.36]}).code
        'train-longer'
    """
    val = _series(history, "val_loss")
    if val is None or len(val) < MIN_EPOCHS or not np.isfinite(val).all():
        return None
    n = len(val)
    best = int(np.argmin(val))
    window = min(_tail_length(n), n - 1)
    start = val[n - 1 - window]
    drop = (start - val[best]) / max(abs(start), 1e-12)
    if best < n - 2 or drop <= STILL_IMPROVING_DROP:
        return None
    return Finding(
        "train-longer",
        "info",
        f"Validation loss was still improving at the end: its lowest value came in the last "
        f"two epochs, {drop:.1%} below where it stood {window} epochs before the end. Train "
        "longer, with early stopping to find where it levels off.",
        {
            "epochs": n,
            "window_epochs": window,
            "val_loss_window_start": float(start),
            "val_loss_last": float(val[-1]),
            "drop": float(drop),
        },
        label,
    )


def _relative_noise(values: np.ndarray) -> float:
    # Total movement minus net movement is what went back and forth: zero for any monotone curve.
    # Halved (a reversal goes there and back), per step, and relative to the curve's level.
    steps = np.diff(values)
    back_and_forth = (float(np.sum(np.abs(steps))) - abs(float(np.sum(steps)))) / 2
    level = float(np.mean(np.abs(values)))
    return back_and_forth / len(steps) / max(level, 1e-12)


def check_noisy(history: History, label: str = "") -> Finding | None:
    """Late loss curves that jump around: a larger batch or learning-rate decay would steady them.

    Rule: in a run of at least :data:`NOISE_MIN_EPOCHS` epochs, over its last third (at least
    :data:`NOISE_MIN_TAIL` epochs), the validation loss (or the training loss, when there is
    no validation) moves against its own net direction by more than :data:`NOISE_RELATIVE` of
    its level per epoch on average. A smooth curve, whatever its shape, never fires.

    Example:
        >>> h = {"val_loss": [1.0, 0.7, 0.5, 0.45, 0.30, 0.50, 0.31, 0.52, 0.29, 0.50]}
        >>> check_noisy(h).code
        'noisy'
    """
    key = "val_loss" if history.get("val_loss") else "loss"
    values = _series(history, key)
    if values is None or not np.isfinite(values).all():
        return None
    if len(values) < NOISE_MIN_EPOCHS:
        return None
    window = max(NOISE_MIN_TAIL, math.ceil(len(values) * NOISE_TAIL_FRACTION))
    tail = values[-window:]
    noise = _relative_noise(tail)
    if noise <= NOISE_RELATIVE:
        return None
    return Finding(
        "noisy",
        "warning",
        f"The late {key.replace('_', ' ')} goes up and down by {noise:.0%} of its level per "
        f"epoch over the last {window} epochs: steps are dominated by gradient noise. Use a "
        "larger batch or decay the learning rate (a schedule) to settle training.",
        {"curve": key, "window_epochs": window, "relative_noise": noise,
         "mean_in_window": float(np.mean(tail))},
        label,
    )


_CHECKS: tuple[Callable[[History, str], Finding | None], ...] = (
    check_training_loss_rising,
    check_overfitting,
    check_still_improving,
    check_noisy,
)


def diagnose_history(history: History, label: str = "") -> list[Finding]:
    """Every finding the history rules make about one run, most serious first.

    Example:
        >>> h = {"loss": [1.0, 0.6, 0.5, 0.45, 0.42], "val_loss": [1.0, 0.7, 0.6, 0.55, 0.5]}
        >>> [f.code for f in diagnose_history(h, "trial 0")]
        ['train-longer']
    """
    findings = [f for check in _CHECKS if (f := check(history, label)) is not None]
    order = {"problem": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: order[f.severity])
