"""Study figures: which of Optuna's plots are drawn, and why the others are not."""

from __future__ import annotations

import optuna

from tunelab.report import StudySection, plotly_js, study_figures

from .conftest import make_multi_study, make_study


def titles(study: optuna.Study) -> list[str]:
    return [f.title for f in study_figures(StudySection("s", study), "s0").figures]


def test_a_single_objective_study_gets_every_figure_and_contour_of_the_top_two():
    study = make_study()
    drawn = study_figures(StudySection("main", study), "main")
    top = sorted(drawn.importances, key=drawn.importances.get, reverse=True)[:2]
    assert [f.title for f in drawn.figures] == [
        "Optimisation history", "Parallel coordinates", "Hyperparameter importance (fANOVA)",
        "Slice", f"Contour: {top[0]} and {top[1]}", "Intermediate values",
    ]
    assert set(drawn.importances) == {"learning_rate", "units", "dropout", "optimizer"}
    assert abs(sum(drawn.importances.values()) - 1.0) < 1e-9
    assert drawn.skipped == []


def test_fragments_are_divs_without_plotly_js_and_with_unique_ids():
    drawn = study_figures(StudySection("main", make_study()), "main")
    ids = [f'id="main-fig{i}"' for i in range(len(drawn.figures))]
    for fig, ident in zip(drawn.figures, ids, strict=True):
        assert ident in fig.html
        assert "Plotly.newPlot" in fig.html
        assert len(fig.html) < len(plotly_js()) / 10


def test_one_parameter_or_one_trial_skips_importance_and_contour_with_a_reason():
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    drawn = study_figures(StudySection("one", study), "one")
    assert [f.title for f in drawn.figures] == [
        "Optimisation history", "Parallel coordinates", "Slice"]
    assert any("more than one parameter" in s for s in drawn.skipped)

    single = optuna.create_study()
    single.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), 1)
    assert "Hyperparameter importance (fANOVA)" not in titles(single)


def test_a_multi_objective_study_gets_its_pareto_front_first():
    got = titles(make_multi_study())
    assert got[0] == "Pareto front"
    assert "Optimisation history" in got and "Intermediate values" not in got


def test_a_study_without_complete_trials_draws_nothing_and_says_why():
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
                                              user_attrs={"reason": "diverged"}))
    drawn = study_figures(StudySection("failed", study), "f")
    assert drawn.figures == []
    assert drawn.skipped == ["all figures: the study has no complete trial"]
