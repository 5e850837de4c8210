"""What a tracker reads of a finished trial: its parameters, state, value and epoch history."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["TrialRecord", "epoch_history", "trial_record"]


@dataclass
class TrialRecord:
    """One told trial as trackers log it.

    Attributes:
        number: The trial number.
        params: Its sampled parameters.
        state: ``complete``, ``pruned`` or ``fail``.
        values: The objective values told (empty unless complete).
        last: The last epoch's logs the study recorded (``last`` user attribute).
    """

    number: int
    params: dict[str, Any]
    state: str
    values: list[float] = field(default_factory=list)
    last: dict[str, float] = field(default_factory=dict)


def trial_record(frozen: Any) -> TrialRecord:
    """A frozen Optuna trial as a :class:`TrialRecord`.

    Example:
        >>> import optuna
        >>> study = optuna.create_study()
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=1)
        >>> r = trial_record(study.trials[0])
        >>> r.number, r.state, list(r.params)
        (0, 'complete', ['x'])
    """
    last = frozen.user_attrs.get("last") or {}
    return TrialRecord(
        number=int(frozen.number), params=dict(frozen.params),
        state=frozen.state.name.lower(), values=list(frozen.values or []),
        last={k: float(v) for k, v in last.items()
              if isinstance(v, int | float) and math.isfinite(v)})


def epoch_history(run_dir: str | Path | None, number: int) -> dict[str, list[float]] | None:
    """``trials/<number>/history.json`` of a study's run folder (None until it is written)."""
    if run_dir is None:
        return None
    path = Path(run_dir) / "trials" / str(number) / "history.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {str(k): [float(x) if x is not None else math.nan for x in v]
            for k, v in data.items() if isinstance(v, list)}
