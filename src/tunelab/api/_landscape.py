"""``tunelab.loss_landscape``: the loss around a trained model, evaluated by the engine.

The directions and the grid are :mod:`tunelab.landscapes`' (filter-normalised, Li et al.
2018); the values come from the training engine: a :class:`~tunelab.train.Cohort` of the
model's structure whose slots hold grid points (the trained weights moved along the
directions), evaluated many points at once with the engine's compiled evaluation, the very
loss and metrics training reports (inference mode, L2 included, as Keras's ``evaluate``).
Nothing trains here: the cohort only evaluates the weights put into its slots.

A run folder's model is ``model.keras`` (``train``), the best trial's or trial ``N``'s
(``tune``), or ``best.keras`` (``guide``; when it averages several members, the first
member is drawn, and said so). Its data is the run's own split (``config.toml``'s data
and seed): training and validation.

Example:
    >>> from tunelab.api import fit
    >>> r = fit(epochs=2, batch_size=64, progress=False)
    >>> land = loss_landscape(r, points=5, samples=300)
    >>> rec = land.records[0]
    >>> rec.dims, len(rec.splits["train"].loss), rec.splits["train"].samples
    (1, 5, 300)
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.config import CallbacksConfig, RunConfig, ScheduleConfig, load_config
from tunelab.errors import ConfigError
from tunelab.runs import (
    FinalResult,
    LandscapeSplit,
    LossLandscape,
    RunLayout,
    read_record,
    write_record,
)

__all__ = ["LandscapeResult", "loss_landscape", "write_final_slice"]

#: Grid points per direction when none are given.
DEFAULT_POINTS = {1: 41, 2: 21}


@dataclass
class _Source:
    """One model to draw: its configuration, weights, data and where its record goes."""

    config: RunConfig
    label: str
    folder: Path | None = None
    model_file: Path | None = None
    weights: tuple[list[Any], list[Any]] | None = None
    builder: Any = None
    data: Any = None
    note: str = ""


class _View:
    """A dataset seen by the evaluation: "val" is the training data, "test" the validation."""

    def __init__(self, data: Any, samples: int | None, seed: int) -> None:
        x, y = np.asarray(data.x_train), np.asarray(data.y_train)
        if samples is not None and samples < len(x):
            keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:samples])
            x, y = x[keep], y[keep]
        self.x_train, self.y_train, self.x_val, self.y_val = x, y, x, y
        self.x_test, self.y_test = np.asarray(data.x_val), np.asarray(data.y_val)
        self.task, self.num_classes = data.task, data.num_classes
        self.input_shape, self.name = tuple(data.input_shape), str(data.name)


def _eval_config(cfg: RunConfig, rows: int, *, from_file: bool) -> RunConfig:
    """``cfg`` for evaluation only: no callbacks or schedule, a batch size that fits, and
    (for a saved model, which holds the real widths) no padding."""
    training = cfg.training.model_copy(update={"batch_size": min(cfg.training.batch_size, rows)})
    model = cfg.model.model_copy(update={"padded_units": None}) if from_file else cfg.model
    return cfg.model_copy(update={"callbacks": CallbacksConfig(), "schedule": ScheduleConfig(),
                                  "training": training, "model": model})


def _first_member(model: Any) -> tuple[Any, str]:
    """A guide's ensemble (members averaged) gives its first member; any other model itself."""
    import keras

    members = [layer for layer in model.layers if isinstance(layer, keras.Model)
               and layer.name.startswith("member_")]
    if members and any(isinstance(layer, keras.layers.Average) for layer in model.layers):
        first = next(m for m in members if m.name == "member_0") if any(
            m.name == "member_0" for m in members) else members[0]
        return first, f"member 1 of {len(members)}"
    return model, ""


def _file_weights(path: Path, net: Any, base: tuple[list[Any], list[Any]]
                  ) -> tuple[tuple[list[Any], list[Any]], str]:
    """The saved model's arrays in the training network's variable order.

    Trainable arrays correspond one to one (dropout layers have none); non-trainable ones
    too once the dropout layers' random states (which inference never reads) are set aside.
    """
    import keras

    from tunelab.model._template import dropout_layers

    try:
        loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:
        raise ConfigError(f"{path}: cannot be loaded as a Keras model ({err})") from None
    member, note = _first_member(loaded)
    source = [np.asarray(v.value) for v in member.trainable_variables]
    target = list(net.trainable_variables)
    shapes = [tuple(v.shape) for v in target]
    if [a.shape for a in source] != shapes:
        raise ConfigError(
            f"{path}: its weights ({len(source)} arrays) do not match the network its"
            f" configuration describes ({len(shapes)} arrays); was the folder's config"
            " changed after training?")
    skip_net = {id(v) for layer in dropout_layers(net) for v in layer.variables}
    skip_src = {id(v) for layer in dropout_layers(member) for v in layer.variables}
    slots = [i for i, v in enumerate(net.non_trainable_variables) if id(v) not in skip_net]
    values = [np.asarray(v.value) for v in member.non_trainable_variables
              if id(v) not in skip_src]
    if len(slots) != len(values):
        raise ConfigError(f"{path}: its non-trainable state does not match the network its"
                          " configuration describes")
    ntv = list(base[1])
    for i, value in zip(slots, values, strict=True):
        ntv[i] = value
    return (source, ntv), note


def _resolve_folder(path: Path, trial: int | None) -> _Source:
    layout = RunLayout(path)
    kind = layout.kind()
    if kind == "train":
        if trial is not None:
            raise ConfigError("--trial applies to a tune run folder; this is a train run")
        if not layout.model.is_file():
            raise ConfigError(f"{layout.model}: no such file; a train run folder holds its"
                              " model there")
        cfg = load_config(layout.config_toml)
        assert isinstance(cfg, RunConfig)
        return _Source(cfg, path.name, path, layout.model)
    if kind == "tune":
        from tunelab.study import RunDir

        run = RunDir(path)
        number = trial
        if number is None:
            best = run.read_best()
            if best is None:
                raise ConfigError(f"{path}: no best model yet (best.keras, best.json); run"
                                  " tunelab tune first, or give --trial N")
            number = int(best["trial"])
        folder = RunLayout(run.trial_dir(number))
        trial_cfg = run.trial_config(number)
        model = folder.model if folder.model.is_file() else None
        if model is None and trial is None and run.best_model.is_file():
            model = run.best_model
        if trial_cfg is None or model is None:
            saved = sorted(int(p.name) for p in run.trials_dir.glob("*")
                           if (p / "model.keras").is_file() and p.name.isdigit())
            raise ConfigError(f"{path}: trial {number} has no saved model (tunelab saves the"
                              " models of trials that were the best when they finished);"
                              f" trials with one: {', '.join(map(str, saved)) or 'none'}")
        return _Source(trial_cfg, f"{path.name} trial {number}", folder.path, model)
    if kind == "guide":
        if trial is not None:
            raise ConfigError("--trial applies to a tune run folder; a guide run's model is"
                              " best.keras")
        if not (layout.best_model.is_file() and layout.final_toml.is_file()):
            raise ConfigError(f"{path}: the guide has not trained its final model yet"
                              " (best.keras, final.toml)")
        cfg = load_config(layout.final_toml)
        assert isinstance(cfg, RunConfig)
        final = read_record(layout.final_json, FinalResult)
        note = "refit on training + validation data" if final is not None and \
            final.protocol.refit else ""
        return _Source(cfg, path.name, path, layout.best_model, note=note)
    raise ConfigError(f"{path}: not a train, tune or guide run folder (no model to draw);"
                      " give the --out folder of one")


def _resolve(source: Any, trial: int | None, data: Any) -> _Source:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_dir():
            raise ConfigError(f"{path}: no such run folder")
        found = _resolve_folder(path, trial)
    elif hasattr(source, "weights") and hasattr(source, "config"):
        if source.weights is None:
            raise ConfigError("this result was trained without collecting its weights")
        cfg = source.config
        label = (f"{getattr(source, 'dataset', 'model')} · {cfg.optimizer.name} batch"
                 f" {cfg.training.batch_size}")
        found = _Source(cfg, label,
                        getattr(source, "run_dir", None), None,
                        (list(source.weights[0]), list(source.weights[1])),
                        getattr(source, "builder", None), getattr(source, "data", None))
        if found.folder is not None:
            found.folder = Path(found.folder)
    else:
        raise ConfigError(f"loss_landscape: expected a run folder or a fit result, got"
                          f" {type(source).__name__}")
    if data is not None:
        found.data = data
    return found


def _evaluate(src: _Source, *, dims: int, points: int, span: float, seed: int,
              samples: int | None, width: int) -> LossLandscape:
    from tunelab.data import load_dataset
    from tunelab.landscapes import filter_normalized_direction, landscape_grid, landscape_points
    from tunelab.model import initial_values
    from tunelab.train import Cohort

    grid = landscape_grid(span, points)
    if dims not in (1, 2):
        raise ConfigError(f"--dims must be 1 or 2, got {dims}")
    if samples is not None and samples < 1:
        raise ConfigError(f"--samples must be at least 1, got {samples}")
    started = time.perf_counter()
    data = src.data
    if data is None:
        data = load_dataset(src.config.data, seed=src.config.seed)
    elif not hasattr(data, "x_val"):
        data = load_dataset(data, seed=src.config.seed, config=src.config.data)
    view = _View(data, samples, seed)
    cfg = _eval_config(src.config, len(view.x_train), from_file=src.weights is None)
    coords = grid[:, None] if dims == 1 else np.stack(
        np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2)
    k = max(1, min(width, len(coords)))
    cohort = Cohort(cfg, view, width=k, builder=src.builder)
    for slot in range(k):
        cohort.assign(slot, cfg)
    if src.weights is not None:
        weights = src.weights
        note = src.note
    else:
        assert src.model_file is not None
        base = initial_values(cohort.program.model, cfg.model, cohort.spec, cfg.seed,
                              builder=src.builder)
        weights, member = _file_weights(src.model_file, cohort.program.model, base)
        note = ", ".join(n for n in (member, src.note) if n)
    tv, ntv = [np.asarray(a) for a in weights[0]], [np.asarray(a) for a in weights[1]]
    rng = np.random.default_rng(seed)
    directions = [filter_normalized_direction(tv, rng) for _ in range(dims)]
    metric = cohort.metric_names[0] if cohort.metric_names else None
    values: dict[str, dict[str, list[float]]] = {
        s: {"loss": [], "metric": []} for s in ("train", "validation")}
    for start in range(0, len(coords), k):
        chunk = coords[start:start + k]
        for slot, point in enumerate(landscape_points(tv, directions, chunk)):
            cohort._put(slot, (point, ntv))
        for split, key in (("train", "val"), ("validation", "test")):
            logs = cohort.evaluate(key)
            for slot in range(len(chunk)):
                values[split]["loss"].append(logs[slot][f"{key}_loss"])
                if metric is not None:
                    values[split]["metric"].append(logs[slot][f"{key}_{metric}"])
    name = src.model_file.name if src.model_file is not None else "the trained model"
    return LossLandscape(
        model=f"{name} ({note})" if note else name, dims=dims, span=float(span),
        points=int(points), seed=int(seed), alphas=[float(a) for a in grid],
        betas=[float(b) for b in grid] if dims == 2 else [],
        splits={"train": LandscapeSplit(samples=len(view.x_val), **values["train"]),
                "validation": LandscapeSplit(samples=len(view.x_test),
                                             **values["validation"])},
        metric=metric, seconds=time.perf_counter() - started)


@dataclass
class LandscapeResult:
    """What :func:`loss_landscape` computed: one record per model, their labels, the figure.

    Attributes:
        records: One :class:`~tunelab.runs.LossLandscape` per model, in the order given.
        labels: How the figure names each model.
        figure_path: Where the figure was written, if it was.
        records_paths: Where each record was written (run folders only).
    """

    records: list[LossLandscape]
    labels: list[str]
    figure_path: Path | None = None
    records_paths: list[Path] = field(default_factory=list)
    log: bool = False

    def figure(self) -> Any:
        """The matplotlib figure (see :func:`tunelab.landscapes.plot_loss_landscape`)."""
        from tunelab.landscapes import plot_loss_landscape

        return plot_loss_landscape(self.records, self.labels, log=self.log)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the figure (PNG, SVG or PDF by suffix), atomically."""
        from tunelab.landscapes import save_figure

        self.figure_path = save_figure(self.figure(), path)
        return self.figure_path

    def rows(self) -> list[dict[str, Any]]:
        """Per model and split: the loss at the trained weights, lowest, highest, mean rise."""
        from tunelab.report import landscape_rows

        return [{"model": label, **row} for rec, label in zip(self.records, self.labels,
                                                                strict=True)
                for row in landscape_rows(rec)]

    def _repr_html_(self) -> str:
        import io

        from tunelab.report import png_html, table_html

        buffer = io.BytesIO()
        self.figure().savefig(buffer, format="png", dpi=80)
        rows = [[r["model"], r["split"], r["samples"], r["centre"], r["low"], r["high"],
                 r["rise"]] for r in self.rows()]
        return "<div>" + png_html(buffer.getvalue(), "loss landscape") + table_html(
            rows, ["model", "split", "samples", "loss at the weights", "lowest", "highest",
                   "mean rise"]) + "</div>"


def loss_landscape(
    source: Any,
    *,
    compare: Sequence[Any] = (),
    trial: int | None = None,
    dims: int = 1,
    points: int | None = None,
    span: float = 1.0,
    seed: int = 0,
    samples: int | None = None,
    data: Any = None,
    width: int = 16,
    out: str | os.PathLike[str] | None = None,
    save: bool = True,
    log: bool = False,
) -> LandscapeResult:
    """The loss around trained models along filter-normalised random directions.

    Args:
        source: A run folder (``train``, ``tune`` or ``guide``) or a ``tunelab.fit`` result.
        compare: More run folders or results drawn on the same figure (each along its own
            directions of the same seed: filter normalisation makes them comparable), e.g.
            the tutorial's batch 7 run against its batch 784 run.
        trial: For a tune folder, this trial's model instead of the best one.
        dims: 1 (a curve) or 2 (a surface and contour maps).
        points: Grid points per direction (default 41 for 1-D, 21 for 2-D).
        span: The grid runs from ``-span`` to ``span`` (1 is Li et al.'s).
        seed: The seed of the random directions (and of ``samples``' subset).
        samples: Evaluate on at most this many training rows (default: all of them).
        data: The data to evaluate on (default: the run's own split).
        width: Grid points evaluated at once (the cohort's width).
        out: Where to write the figure (default: beside the first model's record, as
            ``landscape.png`` or ``landscape-2d.png``; with ``compare``,
            ``landscape-compare.png``).
        save: Write the records (``landscape.json``, ``landscape-2d.json``) into the run
            folders and the figure; False computes only.
        log: Draw the loss on a log scale.

    Raises:
        ConfigError: Not a run folder, no saved model, a bad option (named).

    Example:
        >>> import tempfile
        >>> from tunelab.api import fit
        >>> run = tempfile.mkdtemp()
        >>> _ = fit(epochs=1, batch_size=64, out=run, progress=False)
        >>> land = loss_landscape(run, points=5, samples=200)
        >>> land.records_paths[0].name, land.figure_path.name
        ('landscape.json', 'landscape.png')
    """
    sources = [_resolve(s, trial if i == 0 else None, data)
               for i, s in enumerate([source, *compare])]
    n = points if points is not None else DEFAULT_POINTS.get(dims, 21)
    records = [_evaluate(src, dims=dims, points=n, span=span, seed=seed, samples=samples,
                         width=width) for src in sources]
    labels = [src.label for src in sources]
    result = LandscapeResult(records, labels, log=log)
    if not save:
        return result
    suffix = "" if dims == 1 else "-2d"
    for src, rec in zip(sources, records, strict=True):
        if src.folder is not None:
            name = f"landscape{suffix}.json"
            result.records_paths.append(write_record(src.folder / name, rec))
    target = Path(out) if out is not None else None
    if target is None and sources[0].folder is not None:
        stem = "landscape-compare" if compare else f"landscape{suffix}"
        target = sources[0].folder / f"{stem}.png"
    if target is not None:
        result.save(target)
    return result


def write_final_slice(run_dir: str | os.PathLike[str], *, quiet: bool = False,
                      points: int = 21) -> Path | None:
    """Write the 1-D loss slice of a ``train`` or ``guide`` run's final model
    (``landscape.json``, what its report shows), unless it is there; return its path.

    Other folders (a study, a race), a folder without its model, or a failure give None; a
    failure is said on standard error unless ``quiet`` (a report never fails for it).
    """
    layout = RunLayout(run_dir)
    if layout.landscape_json.is_file():
        return layout.landscape_json
    kind = layout.kind()
    model = layout.model if kind == "train" else layout.best_model
    if kind not in ("train", "guide") or not model.is_file():
        return None
    try:
        src = _resolve_folder(layout.path, None)
        record = _evaluate(src, dims=1, points=points, span=1.0, seed=0, samples=None,
                           width=points)
    except Exception as err:  # the slice is an extra of the report: never its failure
        if not quiet:
            print(f"Warning: no loss landscape for {layout.path} ({err})", file=sys.stderr)
        return None
    return write_record(layout.landscape_json, record)
