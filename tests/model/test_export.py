"""Export of one slot to standard Keras layers, and atomic .keras files plain Keras loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from tunelab.config import ModelConfig
from tunelab.errors import ConfigError
from tunelab.model import ModelSpec, build_model, export_model, initial_values, save_model

SPEC = ModelSpec((6,), "multiclass", 3)


def _slot(cfg: ModelConfig, seed: int = 0) -> tuple[list, list]:  # type: ignore[type-arg]
    return initial_values(build_model(cfg, SPEC), cfg, SPEC, seed=seed)


def test_export_uses_standard_layers_with_the_slots_rates_and_weights() -> None:
    cfg = ModelConfig(units=[5, 4], dropout=[0.3, 0.0], l2=0.01)
    tv, _ = _slot(cfg, seed=4)
    model = export_model(cfg, SPEC, tv)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Dense", "Dropout", "Dense", "Dense"]
    assert model.layers[1].rate == 0.3
    for var, value in zip(model.trainable_variables, tv, strict=True):
        np.testing.assert_array_equal(np.asarray(var), np.asarray(value))
    assert isinstance(model.layers[0].kernel_regularizer, keras.regularizers.L2)


def test_export_refuses_arrays_of_another_structure() -> None:
    tv, _ = _slot(ModelConfig(units=[5]))
    with pytest.raises(ConfigError, match="cannot export 4 arrays into a network with 6"):
        export_model(ModelConfig(units=[5, 5]), SPEC, tv)


def test_save_is_atomic_and_needs_the_keras_suffix(tmp_path: Path) -> None:
    cfg = ModelConfig(units=[5])
    model = export_model(cfg, SPEC, _slot(cfg)[0])
    path = save_model(model, tmp_path / "sub" / "m.keras")
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.keras"]  # no temp file left
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(ConfigError, match="must end in .keras"):
        save_model(model, tmp_path / "m.h5")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_plain_keras_loads_it_without_tunelab_and_predicts_the_same(tmp_path: Path) -> None:
    cfg = ModelConfig(units=[5], dropout=0.2)
    model = export_model(cfg, SPEC, _slot(cfg, seed=2)[0])
    path = save_model(model, tmp_path / "m.keras")
    x = np.random.default_rng(0).normal(size=(7, 6)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    script = (
        "import os, sys, numpy as np; os.environ['KERAS_BACKEND'] = 'jax'\n"
        "import keras\n"
        f"m = keras.saving.load_model({str(path)!r}, safe_mode=True)\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, m.predict(np.load({str(tmp_path / 'x.npy')!r}),"
        " verbose=0))\n"
        "assert 'tunelab' not in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": ""}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), np.asarray(model(x)), rtol=1e-6)
