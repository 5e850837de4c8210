"""The first look at a dataset: one labelled sample per class, or the target and feature ranges."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from tunelab._files import write_bytes
from tunelab.data._prepare import infer_task
from tunelab.data._raw import RawData
from tunelab.errors import DataError

__all__ = ["plot_samples"]

_MAX_PANELS = 25  # the tutorial's 5 x 5 grid
_MAX_FEATURES = 40


def _is_picture(raw: RawData) -> bool:
    shape = raw.sample_shape
    return raw.kind == "image" and (
        len(shape) == 2 or (len(shape) == 3 and shape[-1] in (1, 3, 4))
    )


def _class_name(raw: RawData, label: Any) -> str:
    names = raw.class_names or []
    try:
        i = int(label)
    except (TypeError, ValueError):
        return str(label)
    return names[i] if 0 <= i < len(names) and float(label) == i else str(label)


def _draw_images(raw: RawData, task: str) -> tuple[Any, str]:
    import matplotlib.pyplot as plt

    y = raw.y_train
    if y.ndim == 2 and task != "regression":
        y = np.argmax(y, axis=1)
    if task == "regression":
        picks = list(range(min(10, raw.n_train)))
        labels = [f"{float(np.ravel(y[i])[0]):.3g}" for i in picks]
        said = f"drew the first {len(picks)} samples with their targets (regression data)"
    else:
        classes, first = np.unique(y, return_index=True)
        picks = first[:_MAX_PANELS].tolist()
        labels = [_class_name(raw, c) for c in classes[:_MAX_PANELS]]
        said = f"drew one sample of each of the {len(picks)} classes"
        if len(classes) > _MAX_PANELS:
            said += f" (the first {_MAX_PANELS} of {len(classes)})"
    cols = 5
    rows = max(1, -(-len(picks) // cols))
    fig = plt.figure(figsize=(10, 2.5 * rows + 0.6))
    for n, (i, label) in enumerate(zip(picks, labels, strict=True)):
        ax = fig.add_subplot(rows, cols, n + 1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        img = raw.x_train[i]
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        if img.ndim == 3:
            img = img.astype(np.float64)
            span = float(img.max() - img.min()) or 1.0
            img = (img - img.min()) / span
            ax.imshow(img)
        else:
            ax.imshow(img, cmap=plt.cm.binary)
        ax.set_xlabel(label)
    shape = "x".join(map(str, raw.sample_shape))
    fig.suptitle(f"{raw.name}: {raw.n_train} training samples, {shape}")
    fig.tight_layout()
    return fig, said


def _draw_table(raw: RawData, task: str) -> tuple[Any, str]:
    import matplotlib.pyplot as plt

    x = raw.x_train.reshape(raw.n_train, -1).astype(np.float64)
    n_feat = min(x.shape[1], _MAX_FEATURES)
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(12, max(4.0, 0.28 * n_feat + 1.5)), gridspec_kw={"width_ratios": [1, 1.4]}
    )
    if task == "regression":
        y = raw.y_train.reshape(raw.n_train, -1)[:, 0].astype(np.float64)
        left.hist(y, bins=30, color="tab:blue")
        left.set_xlabel("target")
        left.set_ylabel("samples")
        left.set_title("target (training set)")
        first = "a histogram of the target"
    else:
        y = raw.y_train if raw.y_train.ndim == 1 else np.argmax(raw.y_train, axis=1)
        classes, counts = np.unique(y, return_counts=True)
        names = [_class_name(raw, c) for c in classes]
        left.barh(range(len(classes)), counts, color="tab:blue")
        left.set_yticks(range(len(classes)), names)
        left.invert_yaxis()
        left.set_xlabel("training samples")
        left.set_title("samples per class")
        first = "the samples per class"
    names_f = raw.feature_names or [f"x{j}" for j in range(x.shape[1])]
    import matplotlib

    # `orientation` replaced `vert` in Matplotlib 3.10; older releases only know `vert`.
    horizontal: dict[str, Any] = (
        {"orientation": "horizontal"} if matplotlib.__version_info__ >= (3, 10)
        else {"vert": False}
    )
    right.boxplot(x[:, :n_feat], showfliers=False, **horizontal)
    right.set_yticks(range(1, n_feat + 1), names_f[:n_feat], fontsize=8)
    right.invert_yaxis()
    # Features often differ by orders of magnitude: a log axis keeps every box readable
    # (symlog, linear near zero, when some values are zero or negative).
    vals = x[:, :n_feat]
    if (vals > 0).all():
        right.set_xscale("log")
    else:
        nonzero = np.abs(vals[vals != 0])
        right.set_xscale("symlog", linthresh=float(np.percentile(nonzero, 5)) if nonzero.size
                         else 1.0)
        if vals.min() >= 0:
            right.set_xlim(left=0)
    right.set_title("feature ranges (box: quartiles, whiskers: 1.5 IQR)")
    fig.suptitle(f"{raw.name}: {raw.n_train} samples, {x.shape[1]} features")
    fig.tight_layout()
    said = f"tabular data: drew {first} and the range of each feature"
    if x.shape[1] > n_feat:
        said += f" (the first {n_feat} of {x.shape[1]})"
    return fig, said


def plot_samples(raw: RawData, out: str | os.PathLike[str]) -> str:
    """Draw the dataset's first check into ``out`` (PNG, SVG or PDF, by suffix).

    Images: one labelled sample per class on a 5-column grid, as the tutorial's first
    check does. Tabular data: the samples per class (or a histogram of the target for
    regression) beside each feature's range.

    Returns:
        One sentence saying what was drawn.

    Raises:
        DataError: the file type is not supported or the file cannot be written.

    Example:
        >>> import tempfile, pathlib
        >>> from tunelab.data import load_raw
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "digits.png"
        >>> plot_samples(load_raw("digits"), out)
        'drew one sample of each of the 10 classes'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = Path(out)
    fmt = target.suffix.lower().lstrip(".")
    supported = {"png", "svg", "pdf", "jpg", "jpeg"}
    if fmt not in supported:
        raise DataError(
            f"{target}: cannot tell the image type from the suffix {target.suffix or '(none)'};"
            f" use one of {', '.join('.' + s for s in sorted(supported))}"
        )
    task = raw.task or infer_task(raw.y_train)
    fig, said = _draw_images(raw, task) if _is_picture(raw) else _draw_table(raw, task)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=100)
    finally:
        plt.close(fig)
    try:
        write_bytes(target, buf.getvalue())
    except OSError as exc:
        raise DataError(f"{target}: cannot write the figure ({exc.strerror or exc})") from None
    return said
