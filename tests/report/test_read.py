"""Reading run folders into reports: train, tune, guide and landscape race folders."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner

from tunelab.errors import ConfigError
from tunelab.report import read_decisions, read_history, read_run, storage_url, write_report
from tunelab.runs import (
    SCHEMA_VERSION,
    Decisions,
    GuideSettings,
    RecordError,
    RunLayout,
    RunSummary,
    write_record,
)

from ._runs import DECISIONS, FINAL, guide_run, race_run, train_run, tune_run


def test_a_tune_folder_gives_summary_best_curves_and_its_study(tune_folder):
    folder, study = tune_folder
    data = read_run(folder)
    s = data.summary
    assert s.kind == "tune" and s.dataset == "digits" and s.task == "multiclass"
    assert s.objective == "maximize val_accuracy"
    assert s.best_value == study.best_value
    assert s.best_params == study.best_params
    best_cfg = folder / "trials" / str(study.best_trial.number) / "config.toml"
    assert s.best_config == best_cfg.read_text()
    assert s.base_config == (folder / "tune.toml").read_text()
    assert s.details["compile time (s)"] == 4.0  # 1.5 + 2.5 over two sessions
    assert s.details["mean cohort width"] == 7.0
    assert s.details["sessions (resumed)"] == 2
    assert s.details["saved model"] == f"best.keras (trial {study.best_trial.number})"
    assert s.wall_seconds == 25.0
    ranked = sorted((t for t in study.trials if t.value is not None), key=lambda t: -t.value)
    assert [c.label for c in data.curves] == [f"trial {t.number}" for t in ranked[:3]]
    assert [sec.name for sec in data.studies] == ["tunelab"]


def test_write_report_of_a_tune_folder(tune_folder):
    folder, _ = tune_folder
    page = write_report(folder)
    assert page == folder / "report.html"
    html = page.read_text()
    assert sorted(p.name for p in (folder / "figures").iterdir()) == sorted(
        re.findall(r"<code>figures/([^<]+)</code>", html))
    assert 'data-code="trials-diverged"' in html
    assert "optimizer.learning_rate" in html


def test_out_elsewhere_keeps_figures_in_the_run_folder(tmp_path):
    folder = train_run(tmp_path / "train")
    page = write_report(folder, tmp_path / "pages" / "x.html")
    assert page.is_file()
    assert (folder / "figures" / "curves-run.png").is_file()
    assert "<code>../train/figures/curves-run.png</code>" in page.read_text()


def test_a_train_folder(tmp_path):
    data = read_run(train_run(tmp_path / "train"))
    s = data.summary
    assert s.kind == "train" and s.dataset == "digits"
    assert s.objective == "val_accuracy at the last epoch"
    assert s.best_value == data.curves[0].history["val_accuracy"][-1]
    assert s.test_accuracy == 0.9611
    assert s.details["epochs"] == 8 and s.details["status"] == "completed"
    assert s.details["test loss"] == 0.12 and s.details["compile time (s)"] == 1.25
    assert data.curves[0].metric == "accuracy"
    assert data.studies == []


def test_a_bare_history_file_is_read_too(tmp_path):
    (tmp_path / "history.json").write_text(json.dumps({"loss": [1.0, None], "val_loss": [2, 1]}))
    history = read_history(tmp_path / "history.json")
    assert history["val_loss"] == [2.0, 1.0] and history["loss"][1] != history["loss"][1]
    assert read_run(tmp_path).summary.objective == "val_loss at the last epoch"


def test_a_guide_folder_orders_steps_and_studies(guide_folder):
    data = read_run(guide_folder)
    s = data.summary
    assert s.kind == "guide" and s.dataset == "digits" and s.task == "multiclass"
    assert s.objective == "maximize val_accuracy"
    assert s.test_accuracy == 0.9733  # final.json's, the final model's own evaluation
    assert s.wall_seconds == 181.0
    assert s.best_value == pytest.approx(0.975)  # the last step's kept value
    assert s.details["changes adopted"] == "topology, batch size"
    assert s.details["budget"] == "quick" and s.details["test loss"] == 0.09
    assert s.best_config == (guide_folder / "final.toml").read_text()
    assert [step.name for step in data.guide] == ["topology", "batch size", "cross-validation"]
    assert [sec.name for sec in data.studies] == ["topology", "batch size"]
    assert [c.label.split(" · ")[0] for c in data.curves] == ["topology", "batch size"]
    assert data.findings == []


def test_a_guide_folder_holds_the_guide_records_as_written(guide_folder):
    data = read_run(guide_folder)
    topology, batch, cross = data.guide
    # The records themselves, equal to what the guide wrote: nothing re-described.
    assert [step.decision for step in data.guide] == DECISIONS.steps
    assert data.tuning == DECISIONS.tuning and data.final == FINAL
    assert topology.decision.title == "Topology: hidden layers and dropout"
    assert [i.source for i in topology.images] == [guide_folder / "1-topology" / "lr_range.png"]
    details = topology.details()
    assert details["trials"] == "7 complete, 3 pruned, 1 diverged"
    assert details["range test"] == (
        "suggested learning rate 0.05 (lowest loss at 0.5; loss exceeded 4x its best)")
    assert details["compile time (s)"] == 3.2 and details["step time (s)"] == 40.5
    assert math.isnan(batch.decision.values[2].mean)  # a diverged value: null in the file
    assert [r.batch_size for r in batch.decision.batch_sizes] == [16, 64, 256]
    assert math.isnan(batch.decision.batch_sizes[2].accuracy)
    assert batch.decision.comparison is not None and batch.decision.comparison.test == "welch"
    assert cross.decision.comparison is None and cross.images == []


def test_read_decisions_gives_the_steps_with_their_pictures(guide_folder):
    steps = read_decisions(guide_folder / "decisions.json")
    assert [s.decision for s in steps] == DECISIONS.steps
    assert [len(s.images) for s in steps] == [1, 0, 0]


def test_a_guide_that_has_not_finished_a_step_shows_its_settings_and_studies(tmp_path):
    run = RunLayout(tmp_path / "guide")
    write_record(run.guide_json, GuideSettings(
        dataset={"name": "fashion_mnist"}, budget="quick", seed=0, steps=["topology"],
        procedure={}))
    data = read_run(run.path)
    assert data.summary.kind == "guide" and data.summary.dataset == "fashion_mnist"
    assert data.guide == [] and data.tuning is None and data.final is None
    assert '<section id="guide">' not in write_report(run.path).read_text()


def test_an_old_decisions_file_is_refused_with_its_name_and_the_fix(tmp_path):
    folder = guide_run(tmp_path / "guide")
    decisions = folder / "decisions.json"
    old = json.loads(decisions.read_text())
    del old["version"]  # what tunelab wrote before its records carried a version
    decisions.write_text(json.dumps(old))
    with pytest.raises(RecordError, match=re.escape(f"{decisions}: written with record no"
                                                    " version (an older tunelab)")) as err:
        read_run(folder)
    assert f"reads version {SCHEMA_VERSION}" in str(err.value) and "--out" in str(err.value)
    assert "\n" not in str(err.value)
    # The command says it in one line on stderr, exit status 2, no traceback.
    from tunelab.cli import main

    result = CliRunner().invoke(main, ["report", str(folder)])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {decisions}: written with record no version")
    assert "Traceback" not in result.output
    old["version"] = SCHEMA_VERSION + 1
    decisions.write_text(json.dumps(old))
    with pytest.raises(RecordError, match=f"written with record version {SCHEMA_VERSION + 1}"):
        read_decisions(decisions)


def test_a_decisions_file_with_a_bad_key_names_the_step_and_the_key(tmp_path):
    path = tmp_path / "decisions.json"
    broken = DECISIONS.model_dump(mode="json")
    del broken["steps"][1]["reason"]
    path.write_text(json.dumps(broken))
    with pytest.raises(RecordError, match=rf"{re.escape(str(path))}: not a valid Decisions"
                                          r" record \(steps\[1\]\.reason: Field required"):
        read_decisions(path)
    broken["steps"][1]["reason"] = "ok"
    broken["steps"][0]["values"][0]["scores"] = ["high"]
    path.write_text(json.dumps(broken))
    with pytest.raises(RecordError, match=r"steps\[0\]\.values\[0\]\.scores\[0\]"):
        read_decisions(path)
    path.write_text('{"version": 2, "steps": [')
    with pytest.raises(RecordError, match="damaged"):
        read_decisions(path)
    with pytest.raises(RecordError, match="no such file"):
        read_decisions(tmp_path / "missing.json")


def test_a_damaged_final_json_is_named(tmp_path):
    folder = guide_run(tmp_path / "guide")
    (folder / "final.json").write_text('{"version": 2, "protocol": ')
    with pytest.raises(RecordError, match=re.escape(str(folder / "final.json"))):
        read_run(folder)


def test_a_truncated_trial_history_is_a_warning_and_the_report_still_renders(tmp_path):
    folder, study = tune_run(tmp_path / "tune")
    best = study.best_trial.number
    damaged = RunLayout(RunLayout(folder).trial_dir(best)).history_json
    damaged.write_text(damaged.read_text()[:40])
    data = read_run(folder)
    (finding,) = [f for f in data.findings if f.code == "damaged-file"]
    assert finding.severity == "warning" and finding.subject == f"trial {best}"
    assert str(damaged) in finding.message and finding.evidence["file"] == str(damaged)
    # The other best trials are still drawn, the damaged one is not.
    assert len(data.curves) == 3 and f"trial {best}" not in [c.label for c in data.curves]
    html = write_report(folder).read_text()
    assert 'data-code="damaged-file"' in html and str(damaged) in html
    assert '<section id="studies">' in html


def test_a_race_folder(tmp_path):
    folder = race_run(tmp_path / "race")
    data = read_run(folder)
    (race,) = data.races
    assert race.name == "beale"
    assert race.columns == ["optimizer", "success_1e-8", "evaluations"]
    assert race.rows == [["adam", 1.0, 120], ["sgd", 0.5, 900]]
    assert race.detail_columns[:2] == ["function", "dim"]
    assert race.detail_rows[1][2] == "sgd"
    assert [i.name for i in race.images] == ["race-ecdf", "race-contour-beale-d2"]
    assert race.images[0].source == folder / "ecdf.png"
    assert data.summary.details["optimizers"] == "adam, sgd"
    assert data.summary.wall_seconds == 3.5


def test_a_race_report_references_its_pictures_and_lightens_big_ones(tmp_path):
    from PIL import Image as PILImage

    folder = race_run(tmp_path / "race")
    pixels = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    PILImage.fromarray(pixels).save(folder / "contour-noise-d2.png")
    big = (folder / "contour-noise-d2.png").stat().st_size
    assert big > 150_000
    html = write_report(folder).read_text()
    assert not (folder / "figures").exists()  # nothing to copy: the race's own files are used
    assert "<code>contour-noise-d2.png</code>" in html
    inlined = re.search(r'src="data:image/png;base64,([^"]+)" alt="contour noise d2"', html)
    assert inlined is not None and len(inlined.group(1)) * 3 / 4 < big


def test_folders_that_are_not_runs_get_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such run folder"):
        read_run(tmp_path / "missing")
    with pytest.raises(ConfigError, match="not a tunelab run folder"):
        read_run(tmp_path)


def test_damaged_files_are_named(tmp_path):
    folder = train_run(tmp_path / "train")
    (folder / "history.json").write_text('{"loss": [1.0,')
    with pytest.raises(RecordError, match=r"history\.json: damaged, not valid JSON \(line 1"):
        read_run(folder)
    (folder / "history.json").write_text('{"loss": "high"}')
    with pytest.raises(ConfigError, match="key 'loss' must be a list of numbers"):
        read_history(folder / "history.json")


def test_a_train_record_of_another_version_is_refused_and_an_unversioned_one_read(tmp_path):
    folder = train_run(tmp_path / "train")
    path = folder / "history.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "version": 1}))
    with pytest.raises(RecordError, match=re.escape(f"{path}: written with record version 1")):
        read_run(folder)
    # `tunelab train` wrote the same keys without a version before: still a RunSummary.
    unversioned = {k: v for k, v in record.items() if k != "version"}
    path.write_text(json.dumps(unversioned))
    assert read_run(folder).summary.test_accuracy == 0.9611
    path.write_text(json.dumps({**unversioned, "status": 3}))
    with pytest.raises(RecordError, match="not a valid RunSummary record \\(status"):
        read_history(path)


def test_read_history_of_a_run_record(tmp_path):
    path = write_record(tmp_path / "history.json", RunSummary(
        dataset="digits", status="done", history={"loss": [1.0, math.nan]}))
    history = read_history(path)
    assert history["loss"][0] == 1.0 and math.isnan(history["loss"][1])
    assert Decisions().steps == []


def test_storage_url_of_runs(tmp_path, tune_folder):
    folder, _ = tune_folder
    assert storage_url(folder) == f"sqlite:///{(folder / 'study.db').resolve()}"
    (tmp_path / "two" / "a").mkdir(parents=True)
    (tmp_path / "two" / "b").mkdir()
    (tmp_path / "two" / "a" / "study.db").write_bytes(b"")
    (tmp_path / "two" / "b" / "study.db").write_bytes(b"")
    with pytest.raises(ConfigError, match="several study storages"):
        storage_url(tmp_path / "two")
    with pytest.raises(ConfigError, match="no study here"):
        storage_url(train_run(tmp_path / "train"))
    journal = tmp_path / "j"
    journal.mkdir()
    (journal / "tune.toml").write_text('[study]\nstorage = "journal:/tmp/x.log"\n')
    assert storage_url(journal) == "journal:/tmp/x.log"


def test_a_tune_folder_on_a_journal_storage(tmp_path):
    import optuna
    from optuna.storages.journal import JournalFileBackend

    log = tmp_path / "run" / "journal.log"
    log.parent.mkdir()
    (tmp_path / "run" / "tune.toml").write_text(
        f'[data]\nname = "iris"\n[study]\nname = "s"\nstorage = "journal:{log}"\n')
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(log)))
    study = optuna.create_study(study_name="s", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    data = read_run(tmp_path / "run")
    assert data.summary.dataset == "iris"
    assert data.summary.best_value == study.best_value
    assert data.curves == []  # no trials/ folder: nothing to draw, nothing fails


@pytest.mark.slow
def test_a_real_guide_run_folder(tmp_path):
    # The contract with the guide: its decisions.json and step folders, as it writes them.
    from tunelab.guide import parse_procedure, run_guide

    proc = parse_procedure({
        "start": {"model": {"units": [16]}, "training": {"batch_size": 64},
                  "data": {"limit": 300}},
        "steps": [{"name": "width", "scientific": {"model.units": [[16], [32]]},
                   "nuisance": {"optimizer.learning_rate": {"low": 0.01, "high": 1.0,
                                                             "log": True}},
                   "budget": {"trials": 2, "epochs": 2, "seeds": 2, "cohort": 4}}]},
        budget="quick")
    run_guide(proc, run_dir=tmp_path / "guide", progress=False)
    data = read_run(tmp_path / "guide")
    (step,) = data.guide
    decision = step.decision
    assert step.name == "width" and decision.scientific == ["model.units"]
    assert {v.label for v in decision.values} >= {decision.current, decision.candidate}
    assert all(v.n == 2 for v in decision.values)
    assert [s.name for s in data.studies] == ["width"]
    assert data.summary.test_accuracy is not None
    assert data.summary.best_config == (tmp_path / "guide" / "final.toml").read_text()
    html = write_report(tmp_path / "guide").read_text()
    assert '<section id="guide">' in html and decision.reason in html
