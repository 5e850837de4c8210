"""Reports: diagnoses of curves and studies, figures, and one self-contained HTML page.

Build a :class:`ReportData` (or read one from a run folder with :func:`read_run`) and render it
with :func:`render_report`; :func:`write_report` does both for a run folder. A guide run's steps,
tuning check and final model are the records of :mod:`tunelab.runs`, read as the guide wrote them.
The ``*_html`` helpers are what results show in a notebook. The package is also callable:
``tunelab.report(RUN_DIR)`` writes the report and shows it inline (:func:`tunelab.api.report`).
"""

from tunelab.report._data import (
    Finding,
    GuideStep,
    Image,
    LandscapeRace,
    ReportData,
    Severity,
    StudySection,
    Summary,
    TrainingCurves,
    library_versions,
)
from tunelab.report._diagnose_history import (
    check_noisy,
    check_overfitting,
    check_still_improving,
    check_training_loss_rising,
    diagnose_history,
)
from tunelab.report._diagnose_study import (
    check_failures,
    check_range_edges,
    diagnose_study,
    failure_reason,
    trial_states,
)
from tunelab.report._figures import (
    batch_size_png,
    curves_figure,
    curves_png,
    guide_step_png,
    landscape_png,
    landscape_rows,
    pareto_mask,
)
from tunelab.report._html import (
    decisions_html,
    history_html,
    png_html,
    report_iframe,
    study_html,
    table_html,
)
from tunelab.report._read import (
    read_decisions,
    read_history,
    read_run,
    storage_url,
    write_report,
)
from tunelab.report._render import diagnose, render_report
from tunelab.report._study_figures import PlotlyFigure, StudyFigures, plotly_js, study_figures

__all__ = [
    "Finding",
    "GuideStep",
    "Image",
    "LandscapeRace",
    "PlotlyFigure",
    "ReportData",
    "Severity",
    "StudyFigures",
    "StudySection",
    "Summary",
    "TrainingCurves",
    "batch_size_png",
    "check_failures",
    "check_noisy",
    "check_overfitting",
    "check_range_edges",
    "check_still_improving",
    "check_training_loss_rising",
    "curves_figure",
    "curves_png",
    "decisions_html",
    "diagnose",
    "diagnose_history",
    "diagnose_study",
    "failure_reason",
    "guide_step_png",
    "history_html",
    "landscape_png",
    "landscape_rows",
    "library_versions",
    "pareto_mask",
    "plotly_js",
    "png_html",
    "read_decisions",
    "read_history",
    "read_run",
    "render_report",
    "report_iframe",
    "storage_url",
    "study_figures",
    "study_html",
    "table_html",
    "trial_states",
    "write_report",
]

from tunelab._callable import callable_module  # noqa: E402

callable_module(__name__, "tunelab.api:report")
