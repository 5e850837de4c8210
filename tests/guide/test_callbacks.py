"""Keras callbacks given to a guide: every training run of every arm gets them, as Keras's
``fit`` would apply them; what a guide cannot honour is refused before anything trains."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import pytest

import tunelab
from tests.guide.conftest import tiny_custom
from tunelab.config import load_config
from tunelab.errors import ConfigError
from tunelab.guide import Procedure, parse_procedure
from tunelab.runs import RunLayout


def _keras_stop(rule: keras.callbacks.EarlyStopping, curve: list[float]) -> int:
    """How many epochs Keras's own EarlyStopping lets a run with this val_loss curve train."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.stop_training = False
    rule.set_model(model)
    rule.on_train_begin()
    for epoch, value in enumerate(curve):
        rule.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            return epoch + 1
    return len(curve)


def _procedure(epochs: int) -> Procedure:
    raw = tiny_custom(trials=2, epochs=epochs, cohort=4)
    raw["steps"] = raw["steps"][:1]
    return parse_procedure(raw, source="tiny", budget="quick")


def test_early_stopping_acts_on_every_arm_as_keras_does(tmp_path: Path) -> None:
    epochs = 8
    rule = {"monitor": "val_loss", "min_delta": 0.05, "patience": 0}
    out = tmp_path / "run"
    result = tunelab.guide(_procedure(epochs), out=out, progress=False,
                           callbacks=[keras.callbacks.EarlyStopping(**rule),
                                      keras.callbacks.TerminateOnNaN()])
    step = RunLayout(out / "1-width")
    lengths = []
    for trial in sorted(step.trials_dir.iterdir()):
        cfg = load_config(RunLayout(trial).config_toml)
        es = cfg.callbacks.early_stopping
        # Every arm stops by the user's rule, not the guide's own.
        assert es is not None
        assert (es.monitor, es.min_delta, es.patience) == ("val_loss", 0.05, 0)
        assert not es.restore_best_weights
        curve = json.loads(RunLayout(trial).history_json.read_text())["val_loss"]
        assert len(curve) == _keras_stop(keras.callbacks.EarlyStopping(**rule), curve)
        lengths.append(len(curve))
    # The re-runs that decide are trained under it too (no best weights restored: a run's
    # best epoch is its length), and so is the final model.
    evidence = json.loads((out / "1-width" / "evidence.json").read_text())
    for value in evidence["values"]:
        assert value["config"]["callbacks"]["early_stopping"]["min_delta"] == 0.05
        lengths += value["best_epochs"]
    assert max(lengths) <= epochs and min(lengths) < epochs  # the rule did stop runs early
    final = load_config(out / "final.toml").callbacks.early_stopping
    assert final is not None and final.min_delta == 0.05
    assert result.test_accuracy is not None
    # The callbacks are part of the run's settings: continuing without them is refused.
    with pytest.raises(ConfigError):
        tunelab.guide(_procedure(epochs), out=out, progress=False)


@pytest.mark.parametrize("callback, match", [
    (keras.callbacks.CSVLogger("log.csv"), "writes files per run"),
    (keras.callbacks.ModelCheckpoint("m.keras"), "writes files per run"),
    (keras.callbacks.TensorBoard("tb"), "tensorboard=DIR"),
    (keras.callbacks.LearningRateScheduler(lambda e, lr: lr), "schedule"),
    (keras.callbacks.RemoteMonitor(), "not supported per slot"),
])
def test_what_a_guide_cannot_honour_is_refused_before_training(
        tmp_path: Path, callback: keras.callbacks.Callback, match: str) -> None:
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=match):
        tunelab.guide(_procedure(2), out=out, progress=False, callbacks=[callback])
    assert not out.exists()
