"""Interactive study figures: Optuna's plotly visualisations as ``<div>`` fragments.

The fragments hold no plotly.js: the page includes it once, inline, so the report opens offline.
A figure that cannot be drawn for this study (too few trials, a single parameter) is listed with
the reason instead of failing the report.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tunelab.report._data import StudySection
from tunelab.study import PARTS_ATTR

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial
    from plotly.graph_objects import Figure

__all__ = [
    "FANOVA_TREES",
    "IMPORTANCE_MIN_TRIALS",
    "PlotlyFigure",
    "StudyFigures",
    "plotly_js",
    "study_figures",
]

# fANOVA fits a random forest to the complete trials: with fewer than two there is no variance to
# split, and with a single parameter its importance is 1 by definition.
IMPORTANCE_MIN_TRIALS = 2

# Trees in fANOVA's forest. Optuna's default of 64 made importance the slowest part of a guide's
# report; with the tens of trials a study here has, 32 trees rank the parameters the same.
FANOVA_TREES = 32

_CONFIG = {"displaylogo": False, "responsive": True}
_HEIGHT = "440px"


@dataclass
class PlotlyFigure:
    """One interactive figure: its title and the HTML fragment (a div and the script filling it)."""

    title: str
    html: str


@dataclass
class StudyFigures:
    """The figures drawn for one study, the importances found, and those not drawn (with why)."""

    figures: list[PlotlyFigure] = field(default_factory=list)
    importances: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def plotly_js() -> str:
    """The plotly.js library, to include once, inline, in a page that must open offline.

    Example:
        >>> "Plotly" in plotly_js()[:2000]
        True
    """
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _to_html(fig: Figure, div_id: str) -> str:
    import plotly.io as pio

    # Optuna fixes some widths in pixels (the slice plot: 300 per parameter); the page's column
    # decides the width instead, so no figure overflows it.
    fig.update_layout(width=None, autosize=True, margin={"l": 60, "r": 30, "t": 50, "b": 50})
    return str(pio.to_html(
        fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG,
        default_height=_HEIGHT, default_width="100%", validate=False,
    ))


def _cached_evaluator(values: dict[str, float]) -> Any:
    from optuna.importance import BaseImportanceEvaluator

    class _Cached(BaseImportanceEvaluator):
        # Importances are computed once per study and reused by the importance plot and to pick
        # the contour's parameters; fANOVA is the slowest step of the report.
        def evaluate(
            self, study: optuna.Study, params: list[str] | None = None, *,
            target: Callable[[FrozenTrial], float] | None = None,
        ) -> dict[str, float]:
            return dict(values)

    return _Cached()


def _importances(
    study: optuna.Study, target: Callable[[FrozenTrial], float] | None
) -> dict[str, float]:
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    return get_param_importances(
        study, evaluator=FanovaImportanceEvaluator(n_trees=FANOVA_TREES, seed=0), target=target
    )


def study_figures(section: StudySection, prefix: str) -> StudyFigures:
    """Draw every Optuna figure that applies to ``section``'s study.

    Optimisation history, parallel coordinates, hyperparameter importance (fANOVA), slice, the
    contour of the two most important parameters, the Pareto front (multi-objective studies) and
    intermediate values (when trials reported per-epoch values). Multi-objective studies draw
    the single-objective figures for their first objective.

    Args:
        section: The study and the names of its objectives.
        prefix: Unique prefix for the figures' element ids in the page.

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> s = optuna.create_study()
        >>> s.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), 5)
        >>> [f.title for f in study_figures(StudySection("demo", s), "s0").figures][:2]
        ['Optimisation history', 'Parallel coordinates']
    """
    import optuna
    import optuna.visualization as vis

    study = section.study
    names = section.objective_names()
    out = StudyFigures()
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        out.skipped.append("all figures: the study has no complete trial")
        return out
    params = sorted({p for t in complete for p in t.params})
    multi = len(study.directions) > 1
    target: Callable[[FrozenTrial], float] | None = None
    if multi:
        def target(t: FrozenTrial) -> float:
            return float(t.values[0])
    one: dict[str, Any] = {"target": target, "target_name": names[0]}

    def draw(title: str, make: Callable[[], Figure]) -> None:
        try:
            with warnings.catch_warnings():
                # Optuna warns on experimental plots and on trials missing a parameter; the
                # figure is still right, and the warnings would only clutter the terminal.
                warnings.simplefilter("ignore")
                fig = make()
        except (ValueError, RuntimeError) as err:
            out.skipped.append(f"{title}: {err}")
            return
        out.figures.append(PlotlyFigure(title, _to_html(fig, f"{prefix}-fig{len(out.figures)}")))

    if multi:
        draw("Pareto front", lambda: vis.plot_pareto_front(study, target_names=names))
    draw("Optimisation history", lambda: vis.plot_optimization_history(study, **one))
    if params:
        draw("Parallel coordinates", lambda: vis.plot_parallel_coordinate(study, **one))
    if len(complete) >= IMPORTANCE_MIN_TRIALS and len(params) > 1:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.importances = _importances(study, target)
        except (ValueError, RuntimeError) as err:
            out.skipped.append(f"Hyperparameter importance: {err}")
        if out.importances:
            evaluator = _cached_evaluator(out.importances)
            draw("Hyperparameter importance (fANOVA)",
                 lambda: vis.plot_param_importances(study, evaluator=evaluator, **one))
    else:
        out.skipped.append(
            f"Hyperparameter importance: needs at least {IMPORTANCE_MIN_TRIALS} complete trials "
            f"and more than one parameter (has {len(complete)} and {len(params)})"
        )
    if params:
        draw("Slice", lambda: vis.plot_slice(study, **one))
    top = sorted(out.importances, key=lambda p: -out.importances[p])[:2]
    if len(top) == 2:
        draw(f"Contour: {top[0]} and {top[1]}",
             lambda: vis.plot_contour(study, params=top, **one))
    elif len(params) > 1:
        out.skipped.append("Contour: needs the importances to pick the two main parameters")
    if not multi and any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
        parts = int(study.user_attrs.get(PARTS_ATTR, 1))
        unit = f" (a step is 1/{parts} epoch)" if parts > 1 else ""
        draw(f"Intermediate values{unit}", lambda: vis.plot_intermediate_values(study))
    return out
