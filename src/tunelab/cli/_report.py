"""``tunelab report`` (the HTML report of a run folder) and ``tunelab dashboard``."""

from __future__ import annotations

import time
from pathlib import Path

import click

from tunelab.errors import ConfigError

__all__ = ["dashboard", "report"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The HTML file to write (default: RUN_DIR/report.html).")
def report(run_dir: Path, out: Path | None) -> None:
    """Write the HTML report of RUN_DIR: a train, tune, guide or landscape race folder.

    One self-contained page (opens offline): summary, diagnoses with their evidence,
    training curves of the best trials, the studies' interactive figures, guide steps,
    landscape races, and the 1-D loss slice of a train or guide run's final model. The
    PNGs are also written under RUN_DIR/figures/.
    """
    from rich.console import Console

    from tunelab.api import write_final_slice
    from tunelab.report import diagnose, read_run, render_report

    console = Console(stderr=True)
    start = time.perf_counter()
    with console.status(f"Reading {run_dir} and drawing its figures..."):
        if run_dir.is_dir():
            write_final_slice(run_dir)  # a train or guide run's report shows its loss slice
        data = read_run(run_dir)
        page = render_report(data, out if out is not None else run_dir / "report.html",
                             figures_dir=run_dir / "figures")
    seconds = time.perf_counter() - start
    findings = diagnose(data)
    size = page.stat().st_size / 1e6
    figures = run_dir / "figures"
    where = f"; figures in {figures}" if figures.is_dir() else ""
    click.echo(f"Wrote {page} ({size:.1f} MB in {seconds:.1f} s{where})")
    if findings:
        click.echo(f"{len(findings)} diagnoses:")
        for f in findings:
            where = f"{f.subject}: " if f.subject else ""
            click.echo(f"  [{f.severity}] {where}{f.message}")
    else:
        click.echo("No diagnoses: no rule found a problem in the curves or the studies.")


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; only the local host can connect unless you change it.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
def dashboard(run_dir: Path, host: str, port: int) -> None:
    """Open optuna-dashboard on the study of RUN_DIR (a tune folder, a guide step's folder, or
    a Keras Tuner project folder, directory/project_name).

    Needs the optional extra: pip install 'tunelab[dashboard]'. Stop it with Ctrl-C.
    """
    from tunelab.report import storage_url

    url = storage_url(run_dir)
    try:
        import optuna_dashboard
    except ImportError:
        raise ConfigError(
            "tunelab dashboard needs optuna-dashboard, which is not installed;"
            " install it with: pip install 'tunelab[dashboard]'"
        ) from None
    if host not in _LOOPBACK:
        click.echo(f"Listening on {host}: anyone who can reach this machine there can open the"
                   " dashboard.", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"optuna-dashboard on {url}: http://{shown}:{port}/ (Ctrl-C to stop)")
    storage: object = url
    if url.startswith("journal:"):
        # optuna-dashboard takes database URLs; a journal file is opened as a storage first.
        from tunelab.study import make_storage

        storage = make_storage(url)
    try:
        optuna_dashboard.run_server(storage, host=host, port=port)
    except OSError as err:
        raise ConfigError(f"cannot listen on {host}:{port} ({err.strerror or err});"
                          " pass another --port") from None
    except KeyboardInterrupt:
        click.echo("Stopped.")
