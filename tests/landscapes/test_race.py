"""The race: same starts for every optimizer, COCO measures, files a user can open."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from tunelab.errors import ConfigError
from tunelab.landscapes import RaceResult, race
from tunelab.optim import KERAS_DEFAULTS


def test_table_has_one_row_per_function_and_optimizer(small_race: RaceResult) -> None:
    rows = small_race.table
    assert [(r["function"], r["optimizer"]) for r in rows] == [
        (f, o) for f in ("beale", "booth") for o in ("SGD", "Adam", "L-BFGS-B", "random")]
    by = {(r["function"], r["optimizer"]): r for r in rows}
    # Booth is a convex quadratic: a quasi-Newton method solves it from every start.
    assert by[("booth", "L-BFGS-B")]["success_1e-8"] == 1.0
    assert by[("booth", "L-BFGS-B")]["art_1e-8"] < 20
    # The learning rate is reported for gradient methods only, picked from the grid.
    assert by[("beale", "Adam")]["lr"] in small_race.settings["lr_grid"]
    assert by[("beale", "random")]["lr"] is None
    for r in rows:
        assert r["runs"] == 3 and r["evaluations_mean"] <= 100
        assert r["success_1e-1"] >= r["success_1e-4"] >= r["success_1e-8"]
    assert small_race.timing["gradient_compile_s"] > 0 and small_race.timing["total_s"] > 0


def test_settings_record_what_each_gradient_optimizer_ran_with(small_race: RaceResult) -> None:
    # Lower-case names were asked for; the race reports the training optimizers' names.
    assert small_race.settings["optimizers"] == ["SGD", "Adam", "L-BFGS-B", "random"]
    assert small_race.settings["gradient_optimizers"] == ["SGD", "Adam"]
    assert small_race.settings["gradient_settings"] == {
        name: {"optimizer": name, **{k: v for k, v in KERAS_DEFAULTS[name].items()
                                     if k != "learning_rate"}} for name in ("SGD", "Adam")}
    assert small_race.settings["gradient_settings"]["Adam"]["epsilon"] == 1e-7


def test_race_only_variants_and_adamw_race_under_their_names() -> None:
    r = race(["sphere"], ["momentum", "sgd-nesterov", "adamw"], starts=2, budget=40, seed=0)
    assert [row["optimizer"] for row in r.table] == ["SGD-momentum", "SGD-nesterov", "AdamW"]
    assert r.settings["gradient_settings"]["SGD-nesterov"]["nesterov"] is True
    assert r.settings["gradient_settings"]["AdamW"]["weight_decay"] == 0.004
    assert all(row["family"] == "gradient" and row["lr"] is not None for row in r.table)


def test_every_optimizer_starts_from_the_same_points(small_race: RaceResult) -> None:
    firsts = {rs.optimizer: rs.trajectory[0] for rs in small_race.run_sets
              if rs.function == "beale"}
    for point in firsts.values():
        np.testing.assert_allclose(point, firsts["SGD"])
    lo, hi = small_race.problems[0].lower, small_race.problems[0].upper
    assert np.all(firsts["SGD"] >= lo) and np.all(firsts["SGD"] <= hi)


def test_summary_aggregates_over_functions(small_race: RaceResult) -> None:
    summary = {r["optimizer"]: r for r in small_race.summary()}
    assert summary.keys() == {"SGD", "Adam", "L-BFGS-B", "random"}
    lbfgs = [r for r in small_race.table if r["optimizer"] == "L-BFGS-B"]
    assert summary["L-BFGS-B"]["success_1e-8"] == pytest.approx(
        np.mean([r["success_1e-8"] for r in lbfgs]))
    assert summary["L-BFGS-B"]["functions"] == 2


def test_save_writes_json_csv_trajectories_and_plots(small_race: RaceResult,
                                                     tmp_path: Path) -> None:
    written = small_race.save(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["contour-beale-d2.png", "contour-booth-d2.png", "ecdf.png", "race.csv",
                     "race.json", "trajectories.npz"]
    assert set(written) >= {"json", "csv", "ecdf", "trajectories"}
    data = json.loads((tmp_path / "race.json").read_text())
    assert data["settings"]["starts"] == 3 and data["targets"] == [0.1, 1e-4, 1e-8]
    assert len(data["runs"]) == 8 and len(data["runs"][0]["hits"]) == 3
    rows = list(csv.DictReader(io.StringIO((tmp_path / "race.csv").read_text())))
    assert len(rows) == 8 and rows[0]["function"] == "beale"
    with np.load(tmp_path / "trajectories.npz", allow_pickle=False) as npz:
        assert "booth-d2/Adam" in npz.files and npz["booth-d2/Adam"].shape[1] == 2


def test_same_seed_same_race_other_seed_other_starts() -> None:
    a = race(["booth"], ["Nelder-Mead"], starts=2, budget=30, seed=3)
    b = race(["booth"], ["Nelder-Mead"], starts=2, budget=30, seed=3)
    c = race(["booth"], ["Nelder-Mead"], starts=2, budget=30, seed=4)
    assert a.table[0]["precision_median"] == b.table[0]["precision_median"]
    assert not np.allclose(a.run_sets[0].trajectory[0], c.run_sets[0].trajectory[0])


def test_n_dimensional_functions_race_in_the_dimension_asked() -> None:
    r = race(["sphere", "booth"], ["Powell"], starts=2, budget=60, dim=3)
    assert [(row["function"], row["dim"]) for row in r.table] == [("sphere", 3), ("booth", 2)]
    assert r.run_sets[0].trajectory.shape[1] == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"functions": ["bael"]}, "unknown function 'bael'; choose one of:"),
        ({"optimizers": ["adamx"]}, "unknown optimizer 'adamx'; choose from:"),
        ({"starts": 0}, "--starts must be at least 1, got 0"),
        ({"budget": -5}, "--budget must be at least 1, got -5"),
        ({"lr_grid": [0.1, -1.0]}, "learning-rate grid needs positive values"),
        ({"suite": "cec"}, "unknown suite 'cec'"),
    ],
)
def test_bad_input_is_explained(kwargs: dict, message: str) -> None:
    args = {"functions": ["booth"], "optimizers": ["random"], "starts": 1, "budget": 5, **kwargs}
    with pytest.raises(ConfigError) as err:
        race(args.pop("functions"), args.pop("optimizers"), **args)
    assert message in str(err.value)


@pytest.mark.slow
def test_every_optimizer_on_every_function() -> None:
    from tunelab.landscapes import FUNCTIONS, OPTIMIZERS

    r = race(starts=1, budget=15, seed=1)
    assert len(r.table) == len(FUNCTIONS) * len(OPTIMIZERS) == 380
    assert r.settings["functions"] == list(FUNCTIONS)
    for row in r.table:
        assert 1 <= row["evaluations_mean"] <= 15
        assert row["precision_median"] >= -1e-9, row
        assert (row["lr"] is not None) == (row["family"] == "gradient")
    assert {s["optimizer"] for s in r.summary()} == set(OPTIMIZERS)
