"""The report every run command writes when it finishes.

A report is a view of the run folder, so failing to draw one must never cost the run: the
error is printed and the command still succeeds (``tunelab report RUN_DIR`` retries it).
"""

from __future__ import annotations

from pathlib import Path

import click

report_option = click.option(
    "--report/--no-report",
    "make_report",
    default=True,
    show_default=True,
    envvar="TUNELAB_REPORT",
    help="Write RUN_DIR/report.html when the run finishes (env TUNELAB_REPORT=0 turns it off).",
)


def write_run_report(run_dir: str | Path) -> Path | None:
    """Write ``report.html`` for ``run_dir``; on failure say so and return None.

    A train or guide run's report shows the 1-D loss slice of its final model: it is
    computed first (``landscape.json``), and a failure there only costs the report that
    section.
    """
    from tunelab.api import write_final_slice
    from tunelab.report import write_report

    write_final_slice(run_dir)
    try:
        page = write_report(run_dir)
    except Exception as err:  # a report failure must not turn a finished run into an error
        click.echo(
            f"Warning: the run finished but its report could not be written ({err}); "
            f"retry with: tunelab report {run_dir}",
            err=True,
        )
        return None
    click.echo(f"report: {page}")
    return page
