"""The named datasets: what each one is and how the bundled ones are read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tunelab.data._raw import Kind, RawData

__all__ = ["DATASETS", "DatasetSpec", "canonical_name"]

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


@dataclass(frozen=True)
class DatasetSpec:
    """What a named dataset is, before it is loaded.

    Attributes:
        name: the name users type (``tunelab data info NAME``).
        task: ``"multiclass"``, ``"binary"`` or ``"regression"``.
        kind: ``"image"`` or ``"tabular"``.
        n_train: training samples (all samples when there is no separate test set).
        n_test: test samples; 0 when a test split is carved out at load time.
        shape: the shape of one sample.
        num_classes: number of classes (1 for regression).
        description: one line for ``tunelab data list``.
        bundled: ``True`` when the data ships inside scikit-learn (always available).
        class_names: class names, when known in advance.
    """

    name: str
    task: str
    kind: Kind
    n_train: int
    n_test: int
    shape: tuple[int, ...]
    num_classes: int
    description: str
    bundled: bool
    class_names: tuple[str, ...] = ()
    loader: Callable[[], RawData] | None = field(default=None, repr=False, compare=False)


def _sklearn(name: str) -> RawData:
    # scikit-learn takes about a second to import: only pay it when a bundled set is asked for.
    from sklearn import datasets as skd

    if name == "digits":
        b = skd.load_digits()
        return RawData(
            name="digits",
            source="scikit-learn",
            x_train=np.asarray(b.images),
            y_train=np.asarray(b.target),
            class_names=[str(c) for c in b.target_names],
            kind="image",
            task="multiclass",
        )
    if name == "iris":
        b = skd.load_iris()
        task = "multiclass"
    elif name == "wine":
        b = skd.load_wine()
        task = "multiclass"
    elif name == "breast-cancer":
        b = skd.load_breast_cancer()
        task = "binary"
    else:
        # Unscaled: the raw measurements, so `data info` shows real ranges; tunelab scales.
        b = skd.load_diabetes(scaled=False)
        task = "regression"
    classes = [str(c) for c in b.target_names] if task != "regression" else None
    return RawData(
        name=name,
        source="scikit-learn",
        x_train=np.asarray(b.data),
        y_train=np.asarray(b.target),
        class_names=classes,
        feature_names=[str(f) for f in b.feature_names],
        kind="tabular",
        task=task,
    )


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "digits", "multiclass", "image", 1797, 0, (8, 8), 10,
            "handwritten digits, 8x8 grey levels 0-16", True,
            tuple(str(i) for i in range(10)), lambda: _sklearn("digits"),
        ),
        DatasetSpec(
            "iris", "multiclass", "tabular", 150, 0, (4,), 3,
            "iris flowers, 4 measurements, 3 species", True,
            ("setosa", "versicolor", "virginica"), lambda: _sklearn("iris"),
        ),
        DatasetSpec(
            "wine", "multiclass", "tabular", 178, 0, (13,), 3,
            "wines of three cultivars, 13 chemical measurements", True,
            ("class_0", "class_1", "class_2"), lambda: _sklearn("wine"),
        ),
        DatasetSpec(
            "breast-cancer", "binary", "tabular", 569, 0, (30,), 2,
            "Wisconsin breast cancer, 30 features, malignant/benign", True,
            ("malignant", "benign"), lambda: _sklearn("breast-cancer"),
        ),
        DatasetSpec(
            "diabetes", "regression", "tabular", 442, 0, (10,), 1,
            "diabetes progression after one year, 10 features", True,
            (), lambda: _sklearn("diabetes"),
        ),
        DatasetSpec(
            "mnist", "multiclass", "image", 60000, 10000, (28, 28), 10,
            "handwritten digits, 28x28 grey levels 0-255 (the tutorial's data)", False,
            tuple(str(i) for i in range(10)),
        ),
        DatasetSpec(
            "fashion-mnist", "multiclass", "image", 60000, 10000, (28, 28), 10,
            "Zalando clothing images, 28x28 grey levels 0-255", False,
            tuple(FASHION_CLASSES),
        ),
    )
}


def canonical_name(name: str) -> str | None:
    """The registered spelling of a dataset name, or ``None`` when it is not one.

    Case, ``_`` and spaces do not matter.

    Example:
        >>> canonical_name("Fashion_MNIST"), canonical_name("cifar")
        ('fashion-mnist', None)
    """
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key == "fashionmnist":
        key = "fashion-mnist"
    return key if key in DATASETS else None
