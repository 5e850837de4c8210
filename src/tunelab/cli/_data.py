"""``tunelab data``: list the datasets, describe one, draw its first check."""

from __future__ import annotations

import json
import re
from typing import Any

import click

__all__ = ["data"]


def _label_column(value: str | None) -> str | int | None:
    if value is None:
        return None
    return int(value) if value.lstrip("-").isdigit() else value


_path_option = click.option(
    "--path", "path", type=click.Path(), default=None,
    help="Folder or file holding the data (for mnist/fashion-mnist: searched first and only;"
    " for your own data: the file itself).",
)
_label_option = click.option(
    "--label-column", default=None, metavar="NAME|INDEX",
    help="CSV only: the label column, by name or index (default: the last column).",
)
_header_option = click.option(
    "--header/--no-header", default=None,
    help="CSV only: whether the first row names the columns (default: detect).",
)


@click.group()
def data() -> None:
    """Datasets: list them, describe one, draw a first look at one.

    NAME is a dataset from `tunelab data list` or a path to your own .npz file, .csv
    file or folder of IDX files. MNIST and Fashion-MNIST are searched for in --path,
    $TUNELAB_DATA, ~/.keras/datasets and /usr/share/datasets, then downloaded.
    """


@data.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_datasets(as_json: bool) -> None:
    """List the named datasets, their task and size, and whether each is available here."""
    from tunelab.data import availability

    rows = availability()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="datasets")
    for col in ("name", "task", "train", "test", "sample", "classes", "available here"):
        table.add_column(col, justify="right" if col in ("train", "test", "classes") else "left")
    for r in rows:
        table.add_row(
            r["name"], r["task"], str(r["train"]), str(r["test"]) if r["test"] else "split",
            "x".join(map(str, r["shape"])), str(r["classes"]), r["available"],
        )
    Console(width=max(120, Console().width)).print(table)
    click.echo(
        "Any .npz file, .csv file or folder of IDX files also works as NAME."
        " 'split': a test set is carved out at load time."
    )


def _range(split: dict[str, Any]) -> str:
    lo, hi = split["x_min"], split["x_max"]
    fmt = (lambda v: str(int(v))) if split["x_dtype"].startswith(("uint", "int")) else (
        lambda v: f"{v:.4g}"
    )
    return f"{fmt(lo)}..{fmt(hi)}"


@data.command("info")
@click.argument("name")
@_path_option
@_label_option
@_header_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(
    name: str, path: str | None, label_column: str | None, header: bool | None, as_json: bool
) -> None:
    """Describe dataset NAME: shapes, dtype, value range, classes and counts, and source."""
    from tunelab.data import describe, load_raw

    raw = load_raw(name, path, label_column=_label_column(label_column), header=header)
    d = describe(raw)
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    shape = "x".join(map(str, d["sample_shape"]))
    click.echo(f"{d['name']}: {d['kind']} data, task {d['task']}, from {d['source']}")
    for split in ("train", "test"):
        s = d[split]
        if s is None:
            click.echo(f"  {split:<5}  none (a test split is carved out at load time)")
            continue
        click.echo(
            f"  {split:<5}  {s['samples']} samples, each {shape}, {s['x_dtype']},"
            f" values {_range(s)}; labels {s['y_dtype']} {tuple(s['y_shape'])}"
        )
    if d["task"] == "regression":
        t = d["target"]
        click.echo(
            f"  target: {t['min']:.4g}..{t['max']:.4g}, mean {t['mean']:.4g}, std {t['std']:.4g}"
        )
    else:
        click.echo(f"  {d['num_classes']} classes (train / test samples):")
        for c in d["classes"]:
            click.echo(f"    {c['index']:>3}  {c['name']:<20} {c['train']:>7} / {c['test']}")
    if d["feature_names"]:
        click.echo(f"  features: {', '.join(d['feature_names'])}")


@data.command("show")
@click.argument("name")
@click.option(
    "--out", "out", type=click.Path(dir_okay=False), default=None,
    help="Image file to write (.png, .svg, .pdf or .jpg); default: NAME.png here.",
)
@_path_option
@_label_option
@_header_option
def show(
    name: str, out: str | None, path: str | None, label_column: str | None, header: bool | None
) -> None:
    """Draw dataset NAME's first check into an image: one labelled sample per class.

    Tabular data gets the samples per class (a histogram of the target for regression)
    and each feature's range instead.
    """
    from tunelab.data import load_raw, plot_samples

    raw = load_raw(name, path, label_column=_label_column(label_column), header=header)
    if out is None:
        out = re.sub(r"[^A-Za-z0-9_.-]+", "_", raw.name) + ".png"
    said = plot_samples(raw, out)
    click.echo(f"{raw.name}: {said}; wrote {out}")
