"""Training curves: loss and the first metric (train vs validation) and the learning rate.

The values are plotted as they are (the tutorial plotted square roots of them, which
hides how far apart the curves are).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from tunelab._files import write_bytes

__all__ = ["plot_history"]

_SKIP = {"epoch", "loss", "val_loss", "lr", "seconds"}


def plot_history(history: dict[str, list[float]], path: str | os.PathLike[str], *,
                 title: str = "") -> Path:
    """Save a PNG with loss, the first metric and the learning rate per epoch.

    Example:
        >>> import tempfile, pathlib
        >>> h = {"epoch": [0, 1], "loss": [1.0, 0.5], "val_loss": [1.1, 0.7],
        ...      "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7], "lr": [0.1, 0.05]}
        >>> plot_history(h, pathlib.Path(tempfile.mkdtemp()) / "c.png").stat().st_size > 0
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = history.get("epoch") or list(range(len(history.get("loss", []))))
    metric = next((k for k in history if k not in _SKIP and not k.startswith("val_")), None)
    panels = [("loss", "loss")] + ([(metric, metric)] if metric else []) + [("lr", "learning rate")]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels, strict=True):
        if key == "lr":
            ax.plot(epochs, history.get("lr", []), color="tab:green")
            if history.get("lr") and min(history["lr"]) > 0:
                ax.set_yscale("log")
        else:
            ax.plot(epochs, history.get(key, []), color="tab:red", label="train")
            if f"val_{key}" in history:
                ax.plot(epochs, history[f"val_{key}"], color="tab:blue", label="validation")
            ax.legend()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return write_bytes(path, buffer.getvalue())
