"""The Python fronts: what the commands run, for a notebook or a script.

``fit`` (``tunelab train``), ``tune``, ``guide``, ``report``, ``minimize`` and ``race``
(``tunelab landscape minimize`` / ``race``), and ``loss_landscape`` (``tunelab landscape
model``). Each takes data and models as a Keras user holds them (arrays, a ``keras.Model``)
and gives back a result that shows itself in Jupyter. ``tunelab`` re-exports them all.

Example:
    >>> from tunelab.api import minimize
    >>> round(minimize("beale", (4, 4), bounded=True).fun, 8)
    0.0
"""

from __future__ import annotations

import warnings

# Optuna imports tqdm.auto, which in Jupyter without ipywidgets warns about a progress bar
# tunelab never uses (its own progress renders as HTML).
warnings.filterwarnings("ignore", message="IProgress not found")

from tunelab.api._fronts import fit, guide, minimize, race, report, tune  # noqa: E402
from tunelab.api._landscape import (  # noqa: E402
    LandscapeResult,
    loss_landscape,
    write_final_slice,
)
from tunelab.api._results import FitResult, GuideResult, ReportPage, TuneResult  # noqa: E402

__all__ = [
    "FitResult",
    "GuideResult",
    "LandscapeResult",
    "ReportPage",
    "TuneResult",
    "fit",
    "guide",
    "loss_landscape",
    "minimize",
    "race",
    "report",
    "tune",
    "write_final_slice",
]
