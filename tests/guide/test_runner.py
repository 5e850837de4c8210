"""The guide end to end on a slice of digits: the default procedure and a custom one, resume
after an interruption, and a run folder that refuses other settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import optuna
import pytest

from tests.guide.conftest import tiny_custom, tiny_default, write_procedure
from tunelab.config import RunConfig, load_config
from tunelab.errors import ConfigError
from tunelab.guide import parse_procedure, run_guide
from tunelab.runs import Decisions, FinalResult, TestKind, read_record


def _trials(folder: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{folder / 'study.db'}")
    return study.get_trials(deepcopy=False)


def test_default_procedure_end_to_end(tmp_path: Path) -> None:
    proc = parse_procedure(tiny_default(), source="tiny-default", budget="quick")
    events: list[str] = []
    result = run_guide(proc, run_dir=tmp_path / "run", progress=False,
                       on_event=lambda event, data: events.append(event))
    run = result.run_dir
    names = ["topology", "learning_rate", "optimizer", "batch_size"]
    steps = result.decisions.steps
    assert [s.step for s in steps] == names
    for i, name in enumerate(names, 1):
        folder = run / f"{i}-{name}"
        assert (folder / "study.db").is_file() and (folder / "evidence.json").is_file()
        complete = [t for t in _trials(folder, name)
                    if t.state == optuna.trial.TrialState.COMPLETE]
        assert len(complete) == steps[i - 1].values_compared  # one trial per value here
    # Step 2 ran the learning-rate range test and drew it.
    lr_step = steps[1]
    assert (run / "2-learning_rate" / "lr_range.png").is_file()
    assert lr_step.range_tests[0].suggested > 0
    assert {v.label for v in lr_step.values} >= {lr_step.current, lr_step.candidate}
    # Every comparison is a paired one-sided t test, and its line says what was credited,
    # alpha, n, df, the statistic and p.
    used: list[set[int]] = []
    for s in steps:
        assert s.alpha == 0.05 and s.credited in ("scientific", "nuisance", "trade-off", "none")
        assert (s.credited != "none") == s.adopted
        # Only the batch-size step trades accuracy for time; no other step credits a trade-off.
        assert (s.credited == "trade-off") <= (s.step == "batch_size")
        used.append(set(s.selection_replicates))
        if s.confirmation:
            seeds = s.confirmation[0].replicates
            assert all(v.replicates == seeds for v in s.confirmation)
            used.append(set(seeds))
        if s.comparison is not None:
            assert s.comparison.test == TestKind.PAIRED
            seeds = len(s.values[0].replicates)
            # One look at `seeds` fresh replicates, or a second look with as many more.
            assert s.comparison.n == (seeds if s.looks < 2 else 2 * seeds) >= 2
            for part in ("alpha 0.0", "n=", "df=", "t=", "p="):
                assert part in s.reason
    # Selection and confirmation seeds: a block of fresh seeds for each.
    assert sum(len(u) for u in used) == len(set().union(*used))
    # The current value runs as it stood before the step (its own learning rate, not the
    # study's best trial of it), and a step that credits nothing leaves the network, the
    # optimizer and the batch size as they were: no change enters without a test.
    before = proc.start.model_dump(mode="json", exclude_none=True)
    for s in steps:
        mine = next(v for v in s.values if v.label == s.current)
        assert mine.trial is None
        if not s.adopted:
            assert s.config["model"] == before["model"]
            assert s.config["optimizer"] == before["optimizer"]
            assert s.config["training"]["batch_size"] == before["training"]["batch_size"]
        before = s.config
    assert not all(s.adopted for s in steps)  # the check above ran
    # Step 4 recorded the batch-size trade-off; a batch size it adopts is credited as one.
    assert steps[3].credited == ("trade-off" if steps[3].adopted else "none")
    rows = steps[3].batch_sizes
    assert rows and all(r.seconds_per_epoch > 0 for r in rows)
    assert any(r.pareto for r in rows)
    # Every record is readable back from the run folder.
    back = read_record(run / "decisions.json", Decisions)
    assert back is not None and [s.step for s in back.steps] == names
    assert all(s.reason and s.values for s in back.steps)
    # Did tuning help: the start and the adopted configuration on the same fresh replicates,
    # seeds no step used.
    check = back.tuning
    assert check is not None and check.comparison.test == TestKind.PAIRED
    assert check.start.replicates == check.adopted.replicates
    assert not set(check.adopted.replicates) & set().union(*used)
    assert check.summary.startswith("tuning")
    # In the steps' looks: 2 replicates at a fifth of alpha, then 2 more at the rest.
    assert (check.looks, check.comparison.alpha) in ((1, 0.01), (2, 0.04))
    assert check.comparison.n == 2 * check.looks == len(check.adopted.replicates)
    # The final model, its config and its test evaluation.
    final = read_record(run / "final.json", FinalResult)
    assert final is not None and 0.0 <= final.test["test_accuracy"] <= 1.0
    assert result.decisions.test_accuracy == final.test["test_accuracy"]
    assert final.protocol.seeds == check.adopted.replicates[:2]  # the first look's seeds
    assert len(final.members_test["test_accuracy"]) == final.protocol.members
    assert 0.0 <= final.baseline_test["test_accuracy"] <= 1.0
    cfg = load_config(run / "final.toml")
    assert cfg.callbacks.early_stopping is not None  # epochs come from early stopping
    assert cfg.model == result.config.model and cfg.optimizer == result.config.optimizer
    # best.keras holds the adopted configuration only when the check confirmed it.
    assert final.shipped == ("adopted" if check.helped else "start")
    held = check.adopted if final.shipped == "adopted" else check.start
    assert held.config is not None
    assert cfg.model == RunConfig.model_validate(held.config).model
    if final.shipped == "start":
        assert final.baseline_test == final.test
    model = keras.saving.load_model(run / "best.keras")
    x = np.zeros((2, 64), np.float32)
    assert model.predict(x, verbose=0).shape == (2, 10)
    assert "decision" in events and "final" in events


def test_custom_procedure_file_end_to_end(tmp_path: Path) -> None:
    path = write_procedure(tmp_path / "mine.toml", tiny_custom())
    result = run_guide(path, budget="quick", run_dir=tmp_path / "run", progress=False)
    decisions = result.decisions
    assert [s.step for s in decisions.steps] == ["width", "dropout"]
    width = decisions.steps[0]
    assert width.scientific == ["model.units"]
    assert {v.label for v in width.values} == {"units [16]", "units [32]"}
    assert all(v.n >= 2 for v in width.values)
    # What the first step adopted is what the second started from.
    assert decisions.steps[1].config["model"]["units"] == width.config["model"]["units"]
    assert (result.run_dir / "procedure.toml").read_text().count("[[steps]]") == 2
    assert result.test_accuracy is not None


def test_resume_after_an_interruption(tmp_path: Path) -> None:
    raw = tiny_custom(trials=3, epochs=2, cohort=2)
    proc = parse_procedure(raw, source="tiny", budget="quick")
    fired: list[int] = []

    def interrupt(event: str, data: dict[str, Any]) -> None:
        if event == "trial" and data["step"] == "dropout" and data["done"] >= 2 and not fired:
            fired.append(data["done"])
            raise KeyboardInterrupt

    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_guide(proc, run_dir=run_dir, progress=False, on_event=interrupt)
    first = read_record(run_dir / "decisions.json", Decisions)
    assert first is not None and [s.step for s in first.steps] == ["width"]
    done_before = {t.number: t.params for t in _trials(run_dir / "2-dropout", "dropout")
                   if t.state == optuna.trial.TrialState.COMPLETE}
    assert len(done_before) >= 2
    width_trials = len(_trials(run_dir / "1-width", "width"))

    seen: list[str] = []
    result = run_guide(proc, run_dir=run_dir, progress=False,
                       on_event=lambda event, data: seen.append(event))
    # The finished step was not redone: its decision is the same, its study unchanged.
    assert result.decisions.steps[0] == first.steps[0]
    assert len(_trials(run_dir / "1-width", "width")) == width_trials
    # The interrupted step kept its finished trials and ran only the rest of its design.
    after = [t for t in _trials(run_dir / "2-dropout", "dropout")
             if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(after) == 6  # 2 values x 3 trials, none twice
    assert {t.number: t.params for t in after if t.number in done_before} == done_before
    assert seen.count("step") == 1 and "decision" in seen
    # A third run has nothing left to do.
    again = run_guide(proc, run_dir=run_dir, progress=False)
    assert again.final == result.final


def test_a_run_folder_refuses_other_settings(tmp_path: Path) -> None:
    proc = parse_procedure(tiny_custom(), source="tiny", budget="quick")
    run_dir = tmp_path / "run"
    run_guide(proc, run_dir=run_dir, progress=False, steps=["width"])
    with pytest.raises(ConfigError, match="started with other settings") as info:
        run_guide(proc, run_dir=run_dir, progress=False, seed=5,
                  steps=["width"])
    assert "seed: 0 then, 5 now" in str(info.value)
    with pytest.raises(ConfigError, match="no step named 'nope'"):
        run_guide(proc, run_dir=tmp_path / "other", progress=False, steps=["nope"])


def test_optional_steps_run_when_named(tmp_path: Path) -> None:
    raw = tiny_custom()
    raw["steps"].append({"name": "init", "optional": True,
                         "scientific": {"model.kernel_initializer": ["uniform", "he_normal"]},
                         "nuisance": {"optimizer.learning_rate": {"low": 0.01, "high": 1.0,
                                                                  "log": True}}})
    raw["steps"].append({"name": "check", "kind": "cross_validation", "optional": True,
                         "budget": {"folds": 3, "seeds": 2}})
    proc = parse_procedure(raw, source="tiny", budget="quick")
    assert [s.name for s in proc.selected()] == ["width", "dropout"]
    result = run_guide(proc, run_dir=tmp_path / "run", steps=["init", "check"],
                       progress=False)
    init, check = result.decisions.steps
    assert init.step == "init"
    assert {v.label for v in init.values} == {"initializer uniform", "initializer he_normal"}
    assert check.kind == "cross_validation" and not check.adopted
    overall, *folds = check.values
    assert len(folds) == 3 and all(f.n == 2 for f in folds)
    assert overall.n == 3 and "3-fold cross-validation" in check.reason


def test_every_training_of_a_run_goes_through_the_executor_it_is_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tunelab.execute
    from tunelab.execute import ProcessExecutor, StepRequest

    seen: list[StepRequest] = []

    class Watched(ProcessExecutor):
        def submit(self, lane: int, request: StepRequest) -> None:
            seen.append(request)
            super().submit(lane, request)

    monkeypatch.setattr(tunelab.execute, "make_executor",
                        lambda name, workers=1: Watched(workers=workers))
    proc = parse_procedure(tiny_custom(), source="tiny", budget="quick")
    result = run_guide(proc, run_dir=tmp_path / "run", progress=False, executor="processes",
                       workers=2)
    assert [s.step for s in result.decisions.steps] == ["width", "dropout"]
    assert result.decisions.tuning is not None and result.test_accuracy is not None
    opened = [r for r in seen if r.template is not None]
    # The studies' cohorts (their data named by the configuration) and the re-runs, the
    # tuning check and the final members (the guide's dataset object) all went through it.
    assert any(r.data is None and r.data_key is None for r in opened)
    assert any(r.data_key is not None for r in opened)
    # Replicates of one structure (the dropout step's selection runs, seeds 4001 and 4002:
    # block 4 of seed 0) trained side by side, each on its own data order.
    groups = [r.replicates for r in opened]
    assert [4001, 4002] in groups, groups


def _slow_start() -> dict[str, Any]:
    """One step from a start that barely learns in three epochs (SGD at a learning rate of
    1e-4): the step's learning rates, tuned per value, make a large real gain."""
    raw = tiny_custom(trials=2, epochs=3)
    raw["start"]["optimizer"] = {"name": "SGD", "learning_rate": 1e-4, "momentum": 0.8}
    raw["steps"] = raw["steps"][:1]
    raw["steps"][0]["nuisance"] = {"optimizer.learning_rate": {"low": 0.1, "high": 0.5,
                                                               "log": True}}
    return raw


def test_best_keras_is_the_adopted_configuration_when_the_check_confirms_a_gain(
        tmp_path: Path) -> None:
    proc = parse_procedure(_slow_start(), source="slow start", budget="quick")
    result = run_guide(proc, run_dir=tmp_path / "run", progress=False)
    final, check = result.final, result.final.tuning
    assert check is not None and check.helped and final.shipped == "adopted"
    assert result.config.optimizer.learning_rate > 1e-3  # the tuned rate, not the start's
    assert load_config(result.run_dir / "final.toml").optimizer == result.config.optimizer
    assert not (result.run_dir / "adopted.toml").exists()
    # The start was trained by the same protocol for the baseline, and scores below.
    assert final.baseline_test["test_accuracy"] < final.test["test_accuracy"]


def test_without_a_confirmed_gain_best_keras_is_the_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same run, with a tuning check that finds no gain: the start is shipped, trained
    # once by the protocol (the test split read for it alone), and the adopted configuration
    # is kept in adopted.toml.
    import tunelab.guide._final as final_module

    monkeypatch.setattr(final_module, "tuning_verdict",
                        lambda *args, **kwargs: (False, "tuning did not help (planted)"))
    real_members = final_module._train_members
    titles: list[str] = []

    def members(ctx: Any, cfg: Any, protocol: Any, title: str) -> Any:
        titles.append(title)
        return real_members(ctx, cfg, protocol, title)

    monkeypatch.setattr(final_module, "_train_members", members)
    proc = parse_procedure(_slow_start(), source="slow start", budget="quick")
    result = run_guide(proc, run_dir=tmp_path / "run", progress=False)
    final, check = result.final, result.final.tuning
    assert check is not None and not check.helped and final.shipped == "start"
    assert final.test == final.baseline_test
    assert titles == ["final · best.keras (the start)"]
    run = result.run_dir
    start_cfg = load_config(run / "final.toml")
    assert start_cfg.optimizer.learning_rate == pytest.approx(1e-4)
    assert result.config.optimizer == start_cfg.optimizer
    adopted = load_config(run / "adopted.toml")
    assert adopted.optimizer.learning_rate > 1e-3
    # A second run resumes to the same answer: the start.
    again = run_guide(proc, run_dir=run, progress=False)
    assert again.final == final and again.config.optimizer == start_cfg.optimizer
