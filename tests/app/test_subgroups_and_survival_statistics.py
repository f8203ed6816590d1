"""The Subgroups page and the survival page's statistics under AppTest, with their real values."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from bsab_explorer.analyses.forest import estimate_subgroup_hazards
from bsab_explorer.analyses.rmst import estimate_rmst
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.filters import CohortFilter, select_cohort
from tests.analyses.r_reference import reference


def _patients():  # type: ignore[no-untyped-def]
    dataset = load_dataset().dataset
    assert dataset is not None
    return select_cohort(dataset, CohortFilter()).patients


def test_subgroups_page_shows_the_forest_of_each_subgroup(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("subgroups.py", by="emd", subgroups=["sex", "iss_stage", "hrca"])
    assert [s.value for s in app.subheader] == [
        "Hazard ratio by subgroup",
        "Response rate by subgroup",
        "Cumulative incidence of progression",
    ]
    forest = app.dataframe[0].value
    # R: coxph(Surv(pfs_days, pfs_event) ~ emd, subset = sex == "F"): HR 3.338042
    r = reference("forest", "cohort_pfs_emd")
    female = forest[(forest["variable"] == "sex") & (forest["level"] == "F")]
    assert female["hazard ratio"].item() == pytest.approx(
        r["subgroups"]["sex"]["levels"]["F"]["hr"][0], rel=1e-6
    )
    assert forest["level"].iloc[0] == "All patients"
    assert forest["hazard ratio"].iloc[0] == pytest.approx(r["overall"]["hr"][0], rel=1e-6)
    sex = forest[forest["variable"] == "sex"]
    assert sex["interaction p"].iloc[0] == pytest.approx(
        r["subgroups"]["sex"]["interaction_p"][0], rel=1e-6
    )
    expected = estimate_subgroup_hazards(
        _patients(), time="pfs_days", event="pfs_event", by="emd", subgroups=["iss_stage"]
    )
    # The grid shows text as text: the name reads as it is, without a markdown escape.
    assert forest[forest["variable"] == "iss_stage"]["n"].tolist() == [
        h.n for h in expected.variables[0].levels
    ]
    response = app.dataframe[1].value
    orr = response[(response["outcome"] == "ORR") & (response["level"] == "All patients")]
    assert (orr["responders"].item(), orr["n"].item()) == (30, 44)
    incidence = app.dataframe[2].value
    assert set(incidence["event"]) == {"Progression", "Death without progression"}
    # Gray's test of death without progression has an empty cell: the page says why.
    warnings = [w.value for w in app.warning]
    assert any("an empty cell" in w for w in warnings)
    # The two forests, then the cumulative incidence's two panels one under the other, each at
    # the page's width (side by side they were wider than a 1280-px screen's main area).
    charts = app.get("vega_lite_chart")
    assert len(charts) == 4
    panels = [json.loads(c.proto.spec) for c in charts[2:]]
    assert [p["title"]["text"] for p in panels] == [
        "Progression",
        "Competing event: death without progression",
    ]
    assert all(p["width"] == "container" and "hconcat" not in p for p in panels)


def test_survival_page_shows_follow_up_rmst_and_the_cox_model(
    open_app: Callable[..., AppTest],
) -> None:
    app = open_app("survival.py", by="emd", covariates=["age_years"])
    # R: survfit(Surv(os_days, 1 - os_event) ~ 1): median 519 days = 17.1 months
    (metric,) = app.metric
    assert (metric.label, metric.value) == ("Median follow-up", "17.1")
    assert app.caption[0].value.startswith("17.1 months (95 % CI 12.5–21.8)")
    assert "More survival statistics" in [s.value for s in app.subheader]
    frames = {tuple(f.value.columns)[:3]: f.value for f in app.dataframe}
    rmst = next(f for cols, f in frames.items() if "rmst days" in f.columns)
    r = reference("rmst", "cohort_pfs_emd_365")
    assert rmst["rmst days"].tolist()[:2] == pytest.approx(r["rmean"], rel=1e-6)
    at_risk = next(f for f in frames.values() if "cum censored" in f.columns)
    assert at_risk[at_risk["group"] == "No"]["n risk"].tolist()[:3] == [22, 22, 15]
    cox = next(f for f in frames.values() if "events per variable" in f.columns)
    assert cox["term"].tolist() == ["emd: Yes vs No", "age_years"]
    ph = next(f for f in frames.values() if "transform" in f.columns)
    assert ph["term"].tolist() == ["emd", "age_years", "GLOBAL"]
    expected = estimate_rmst(
        _patients()["pfs_days"], _patients()["pfs_event"], [0] * 44, ["All"], 365.0
    )
    assert expected.means[0].n == 44
    # 27 events for 2 coefficients: no overfitting warning; and the model converged.
    assert not any("overfitted" in w.value for w in app.warning)
    assert cox["converged"].all()


def test_subgroups_page_opens_on_the_default_subgroups_with_a_forest(
    open_app: Callable[..., AppTest],
) -> None:
    # A link without ?subgroups= opens on the report's subgroups, not on every column (a
    # forest over every column fails on small levels).
    app = open_app("subgroups.py")
    assert app.multiselect[0].value == ["hrca", "bsab", "sex", "iss_stage"]
    assert "subgroups" not in app.query_params
    forest = app.dataframe[0].value
    assert set(forest["variable"].dropna()) == {"hrca", "bsab", "sex", "iss_stage"}
    assert not [w.value for w in app.warning if "No forest plot" in w.value]


def test_a_forest_that_cannot_be_fitted_says_why_in_words() -> None:
    from bsab_explorer.analyses.survival import Endpoint
    from bsab_explorer.exports.survival_statistics import forest_table

    patients = _patients()
    everything = [
        "hrca",
        "bsab",
        "sex",
        "iss_stage",
        "triple_class_refractory",
        "pmd",
        "high_pc_infiltration",
        "del17p",
        "gain_1q21",
        "acute_kidney_failure",
        "center",
    ]
    table = forest_table(
        patients, Endpoint.PFS, "emd", everything, reference=None, ties="efron", conf_level=0.95
    )
    assert table.data.height == 0
    assert table.notes[0].startswith(
        "No forest plot: a Cox model of a subgroup could not be fitted"
    )
    assert "Singular matrix" not in table.notes[0]
