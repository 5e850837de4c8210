"""``tunelab train``: train one configuration and write its run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tunelab.cli._reporting import report_option, write_run_report
from tunelab.runs import RunLayout

__all__ = ["train"]


def _overrides(cfg: Any, options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if options["dataset"] is not None:
        out["data.name"] = options["dataset"]
        out["data.path"] = None
    if options["epochs"] is not None:
        out["training.epochs"] = options["epochs"]
    if options["batch_size"] is not None:
        out["training.batch_size"] = options["batch_size"]
    if options["seed"] is not None:
        out["seed"] = options["seed"]
    if options["optimizer"] is not None:
        from tunelab.config import OptimizerConfig

        try:
            family = OptimizerConfig.model_validate({"name": options["optimizer"]}).name
        except ValueError:
            family = options["optimizer"]  # validated (and reported) with the overrides
        if family != cfg.optimizer.name:
            # Another family: the old one's numbers (momentum, rho...) may not apply to it.
            out["optimizer"] = {"name": options["optimizer"]}
    if options["learning_rate"] is not None:
        out["optimizer.learning_rate"] = options["learning_rate"]
    return out


def _run_dir(out: Path | None, label: str) -> Path:
    if out is not None:
        return out
    return RunLayout.default_path(label)


@click.command("train")
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--preset", metavar="NAME", help="Start from a shipped preset (see --list-presets).")
@click.option("--list-presets", is_flag=True, help="List the presets and exit.")
@click.option("--dataset", metavar="NAME", help="Dataset name or path (default: the config's).")
@click.option("--epochs", type=int, help="Number of epochs (training.epochs).")
@click.option("--batch-size", type=int, help="Minibatch size (training.batch_size).")
@click.option("--optimizer", metavar="NAME",
              help="SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax or Nadam.")
@click.option("--learning-rate", type=float, help="Learning rate (optimizer.learning_rate).")
@click.option("--seed", type=int, help="Seed of the initialisation, shuffling and splits.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run folder (default: runs/<name>-<time>).")
@click.option("--progress/--no-progress", default=True, help="Show the progress bar.")
@report_option
def train(config: Path | None, preset: str | None, list_presets: bool, dataset: str | None,
          epochs: int | None, batch_size: int | None, optimizer: str | None,
          learning_rate: float | None, seed: int | None, out: Path | None,
          progress: bool, make_report: bool) -> None:
    """Train one configuration: CONFIG.toml, a --preset, or the defaults (the tutorial's MLP).

    Prints the progress and the final metrics, and writes the run folder: config.toml
    (the resolved configuration), history.json, history.csv, model.keras (loads with plain
    keras.saving.load_model) and curves.png (loss, accuracy and learning rate per epoch).

    \b
    Examples:
      tunelab train --preset tutorial-rmsprop --epochs 5
      tunelab train --preset tutorial-exp-decay --dataset fashion-mnist
      tunelab train run.toml --learning-rate 0.05 --out runs/lr-0.05
    """
    from tunelab.config import RunConfig, load_config, with_overrides
    from tunelab.errors import ConfigError

    if list_presets:
        from tunelab.train._presets import list_presets as presets

        for name, text in presets().items():
            click.echo(f"{name:26s} {text}")
        return
    if config is not None and preset is not None:
        raise ConfigError("give a CONFIG file or --preset, not both")
    if preset is not None:
        from tunelab.train._presets import load_preset

        cfg, label = load_preset(preset), preset
    elif config is not None:
        cfg, label = load_config(config), config.stem
    else:
        cfg, label = RunConfig(), "train"
    options = {"dataset": dataset, "epochs": epochs, "batch_size": batch_size,
               "optimizer": optimizer, "learning_rate": learning_rate, "seed": seed}
    changes = _overrides(cfg, options)
    if changes:
        cfg = with_overrides(cfg, changes, source="command line")
    run_dir = _run_dir(out, label)
    _train(cfg, run_dir, progress)
    if make_report:
        write_run_report(run_dir)


def _train(cfg: Any, run_dir: Path, progress: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from tunelab.data import load_dataset
    from tunelab.execute import fit
    from tunelab.train import save_run

    console = Console()
    data = load_dataset(cfg.data, seed=cfg.seed)
    console.print(
        f"training on [bold]{data.name}[/] ({len(data.x_train)} train, {len(data.x_val)}"
        f" validation, {len(data.x_test)} test): {cfg.optimizer.name}, batch"
        f" {cfg.training.batch_size}, {cfg.training.epochs} epochs"
    )
    result = fit(cfg, data, out_dir=run_dir, progress=progress)
    files = save_run(result, run_dir)
    table = Table(title=f"final metrics ({result.status})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.final.items():
        table.add_row(key, f"{value:.6g}")
    table.add_row("compile seconds", f"{result.compile_seconds:.2f}")
    table.add_row("train seconds", f"{result.train_seconds:.2f}")
    console.print(table)
    console.print(f"run folder: {run_dir}")
    for name, path in files.items():
        console.print(f"  {name:12s} {path}")
