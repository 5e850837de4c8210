"""Samplers and pruners by name, and the cohort sampler that fixes structure for a refill."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import optuna
import pytest

from tunelab.config._names import PRUNERS, SAMPLERS
from tunelab.errors import ConfigError, SpaceError
from tunelab.study import CohortSampler, Space, make_pruner, make_sampler
from tunelab.study._samplers import PRUNER_KINDS, SAMPLER_KINDS, check_grid

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = Space({
    "optimizer.learning_rate": {"low": 1e-3, "high": 1.0, "log": True},
    "model.dropout": {"low": 0.0, "high": 0.4, "step": 0.2},
    "training.batch_size": [32, 64],
})


#: One row per sampler that samples SPACE (grid and gp have their own tests below).
SAMPLER_ROWS = [
    ("tpe", optuna.samplers.TPESampler),
    ("TPE", optuna.samplers.TPESampler),
    ("random", optuna.samplers.RandomSampler),
    ("qmc", optuna.samplers.QMCSampler),
    ("sobol", optuna.samplers.QMCSampler),
    ("halton", optuna.samplers.QMCSampler),
    ("cmaes", optuna.samplers.CmaEsSampler),
    ("nsga2", optuna.samplers.NSGAIISampler),
]
#: One row per pruner name.
PRUNER_ROWS = [
    ("asha", optuna.pruners.SuccessiveHalvingPruner),
    ("auto", optuna.pruners.SuccessiveHalvingPruner),
    ("hyperband", optuna.pruners.HyperbandPruner),
    ("median", optuna.pruners.MedianPruner),
    ("percentile", optuna.pruners.PercentilePruner),
    ("none", optuna.pruners.NopPruner),
]
DOC = Path(__file__).resolve().parents[2] / "docs" / "studies.md"


def _doc_names(section: str) -> list[str]:
    """The names in the first column of docs/studies.md's table under ``## section``."""
    text = DOC.read_text(encoding="utf-8").split(f"\n## {section}\n", 1)[1].split("\n## ")[0]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    return [name for row in rows for name in re.findall(r"`([a-z0-9_]+)`",
                                                          row.split("|")[1])]


def test_each_registry_entry_is_a_setting_a_test_row_and_a_docs_row() -> None:
    assert tuple(SAMPLER_KINDS) == SAMPLERS and ("auto", *PRUNER_KINDS) == PRUNERS
    tested = {n.lower() for n, _ in SAMPLER_ROWS} | {"grid", "gp"}
    assert tested == set(SAMPLER_KINDS)
    assert {n for n, _ in PRUNER_ROWS} == set(PRUNERS)
    assert sorted(_doc_names("Samplers")) == sorted(SAMPLER_KINDS)
    assert sorted(_doc_names("Pruners")) == sorted(PRUNER_KINDS)


@pytest.mark.parametrize(("name", "cls"), SAMPLER_ROWS)
def test_sampler_by_name_samples_the_space_reproducibly(name: str, cls: type) -> None:
    def draws() -> list[dict]:
        sampler = make_sampler(name, seed=3, space=SPACE)
        assert isinstance(sampler, cls)
        study = optuna.create_study(sampler=sampler, direction="maximize")
        out = []
        for i in range(4):
            trial = study.ask()
            out.append(SPACE.suggest(trial))
            study.tell(trial, float(i))
        return out

    first = draws()
    assert first == draws(), "the same seed gives the same trials"
    assert all(1e-3 <= d["optimizer.learning_rate"] <= 1.0 for d in first)


def test_tpe_lies_for_running_trials() -> None:
    sampler = make_sampler("tpe", seed=0, space=SPACE)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._constant_liar is True


def test_halton_and_sobol_differ() -> None:
    sobol = make_sampler("sobol", seed=0, space=SPACE)
    halton = make_sampler("halton", seed=0, space=SPACE)
    assert sobol._qmc_type == "sobol" and halton._qmc_type == "halton"  # type: ignore[attr-defined]


def test_grid_sampler_enumerates_every_point_once() -> None:
    space = Space({"model.dropout": {"low": 0.0, "high": 0.2, "step": 0.1},
                   "training.batch_size": [32, 64]})
    sampler = CohortSampler(make_sampler("grid", seed=0, space=space))
    study = optuna.create_study(sampler=sampler)
    points = set()
    for _ in range(space.grid_size()):
        trial = study.ask()
        v = space.suggest(trial)
        points.add((v["model.dropout"], v["training.batch_size"]))
        study.tell(trial, 0.0)
    assert len(points) == 6
    assert sampler.exhausted, "the grid's request to stop is remembered, not raised"


def test_grid_refuses_a_float_without_step() -> None:
    with pytest.raises(SpaceError, match="optimizer.learning_rate"):
        check_grid(SPACE, "grid")
    check_grid(SPACE, "tpe")


def test_gp_needs_torch_or_says_how_to_get_it() -> None:
    if importlib.util.find_spec("torch") is None:
        with pytest.raises(ConfigError, match=r"pip install 'tunelab\[gp\]'"):
            make_sampler("gp", seed=0, space=SPACE)
    else:
        assert isinstance(make_sampler("gp", seed=0, space=SPACE), optuna.samplers.GPSampler)


def test_unknown_sampler_and_single_objective_only_samplers() -> None:
    with pytest.raises(ConfigError, match="unknown sampler 'anneal'"):
        make_sampler("anneal", seed=0, space=SPACE)
    with pytest.raises(ConfigError, match="'cmaes' optimises one objective"):
        make_sampler("cmaes", seed=0, space=SPACE, n_objectives=2)


@pytest.mark.parametrize(("name", "cls"), PRUNER_ROWS)
def test_pruner_by_name(name: str, cls: type) -> None:
    assert isinstance(make_pruner(name, n_objectives=1, max_epochs=9), cls)


def test_median_pruner_stops_a_trial_worse_than_the_median() -> None:
    pruner = make_pruner("median", n_objectives=1, startup_trials=2, warmup_epochs=0)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    for value in (0.8, 0.9):
        trial = study.ask()
        trial.report(value, step=1)
        study.tell(trial, value)
    bad = study.ask()
    bad.report(0.1, step=1)
    assert bad.should_prune()


def test_multi_objective_studies_are_not_pruned() -> None:
    assert isinstance(make_pruner("auto", n_objectives=2), optuna.pruners.NopPruner)
    with pytest.raises(ConfigError, match="cannot prune a study with 2 objectives"):
        make_pruner("asha", n_objectives=2)
    with pytest.raises(ConfigError, match="unknown pruner 'wilcoxon'"):
        make_pruner("wilcoxon", n_objectives=1)


def test_cohort_sampler_fixes_structure_and_samples_the_rest() -> None:
    sampler = CohortSampler(optuna.samplers.TPESampler(seed=0))
    study = optuna.create_study(sampler=sampler)
    with sampler.fixed({"training.batch_size": 64}):
        values = [SPACE.suggest(t) for t in (study.ask(), study.ask())]
    assert all(v["training.batch_size"] == 64 for v in values)
    assert values[0]["optimizer.learning_rate"] != values[1]["optimizer.learning_rate"]
    free = {SPACE.suggest(study.ask())["training.batch_size"] for _ in range(12)}
    assert free == {32, 64}, "outside the block nothing is fixed"
