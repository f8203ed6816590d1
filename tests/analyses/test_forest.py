"""Subgroup hazard ratios, interaction tests and response rates against R.

R (tests/analyses/reference/make_reference.R):
    per level:    summary(coxph(Surv(time, event) ~ by, data = level_rows))$conf.int, p
    interaction:  2 * (coxph(~ by * sub)$loglik[2] - coxph(~ by + sub)$loglik[2]),
                  df = coefficients that are not NA
    response:     binom.test(x, n, conf.level = cl)$conf.int
"""

from __future__ import annotations

import polars as pl
import pytest

from bsab_explorer.analyses.forest import (
    SubgroupHazard,
    estimate_subgroup_hazards,
    estimate_subgroup_response,
)
from tests.analyses.r_reference import close, dataset, reference, scalar


def _lung() -> pl.DataFrame:
    return dataset("lung").with_columns(
        pl.col("ph.ecog").cast(pl.Int64).alias("ecog"), (pl.col("age") >= 65).alias("old")
    )


CASES = {
    "cohort_pfs_emd": (
        lambda: dataset("cohort"),
        "pfs_days",
        "pfs_event",
        "emd",
        ["sex", "iss_stage", "hrca"],
    ),
    "constructed_x2": (lambda: dataset("constructed"), "time", "event", "x2", ["grp", "stratum"]),
    "lung_sex": (_lung, "time", "event", "sex", ["ecog", "old"]),
}
R_LEVEL = {"No": "FALSE", "Yes": "TRUE"}


def _assert_equal(got: SubgroupHazard, want: dict) -> None:
    assert got.n == want["n"][0]
    assert got.events == want["events"][0]
    assert close(got.hazard_ratio, scalar(want["hr"]))
    assert close(got.lower, scalar(want["lower"]))
    assert close(got.upper, scalar(want["upper"]))
    assert close(got.p_value, scalar(want["p"]))
    assert got.note is None
    assert want["warnings"] == []


@pytest.mark.parametrize("name", list(CASES))
def test_subgroup_hazards_equal_r(name: str) -> None:
    load, time, event, by, subgroups = CASES[name]
    want = reference("forest", name)
    got = estimate_subgroup_hazards(load(), time=time, event=event, by=by, subgroups=subgroups)
    _assert_equal(got.overall, want["overall"])
    assert [v.variable for v in got.variables] == subgroups
    for variable in got.variables:
        expected = want["subgroups"][variable.variable]
        estimated = [h for h in variable.levels if h.hazard_ratio is not None]
        assert [R_LEVEL.get(h.level or "", h.level) for h in estimated] == list(expected["levels"])
        for hazard in estimated:
            _assert_equal(hazard, expected["levels"][R_LEVEL.get(hazard.level or "", hazard.level)])
        if variable.interaction_note is None:
            assert variable.interaction_df == expected["interaction_df"][0]
            assert close(variable.interaction_chi2, scalar(expected["interaction_lr"]))
            assert close(variable.interaction_p, scalar(expected["interaction_p"]))


def test_empty_cells_say_why() -> None:
    got = estimate_subgroup_hazards(
        _lung(), time="time", event="event", by="sex", subgroups=["ecog"]
    )
    ecog = got.variables[0]
    # The one patient with ECOG 3 is a man: R drops the aliased coefficient (df 2, not 3).
    r = reference("forest", "lung_sex", "subgroups", "ecog")
    assert r["interaction_df"] == [2]
    assert r["full_coef"][-1] is None
    assert ecog.interaction_chi2 is None
    assert ecog.interaction_p is None
    assert ecog.interaction_note == (
        "interaction not computed (an empty cell): no patients with sex = 2 and ecog = 3"
    )
    three = ecog.levels[-1]
    assert three.level == "3"
    assert three.hazard_ratio is None
    assert three.note == "no hazard ratio: no patients with sex = 2"


def test_levels_without_events_and_missing_subgroups() -> None:
    frame = pl.DataFrame(
        {
            "t": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "e": [True, False, True, False, False, False, True, True],
            "arm": ["a", "b", "a", "b", "a", "b", "a", "b"],
            "sub": ["x", "x", "x", "x", "y", "y", None, None],
        }
    )
    got = estimate_subgroup_hazards(frame, time="t", event="e", by="arm", subgroups=["sub"])
    assert (got.reference, got.comparison) == ("a", "b")
    sub = got.variables[0]
    assert sub.excluded_missing == 2
    assert sub.levels[1].note == "no hazard ratio: no events"
    assert sub.interaction_note is not None
    assert "no events with arm = a and sub = y" in sub.interaction_note
    swapped = estimate_subgroup_hazards(
        frame, time="t", event="e", by="arm", subgroups=[], reference="b"
    )
    assert (swapped.reference, swapped.comparison) == ("b", "a")
    with pytest.raises(ValueError, match="two levels to compare, not 1"):
        estimate_subgroup_hazards(
            frame.with_columns(pl.lit("only").alias("one")),
            time="t",
            event="e",
            by="one",
            subgroups=[],
        )
    with pytest.raises(ValueError, match="reference 'c'"):
        estimate_subgroup_hazards(frame, time="t", event="e", by="arm", subgroups=[], reference="c")


@pytest.mark.parametrize("conf_level", [0.9, 0.95, 0.99])
def test_subgroup_response_equals_binom_test(conf_level: float) -> None:
    cohort = dataset("cohort")
    got = estimate_subgroup_response(
        cohort,
        response="best_response",
        subgroups=["sex", "iss_stage", "emd"],
        conf_level=conf_level,
    )
    assert got.not_evaluable == cohort["best_response"].null_count()
    for outcome, rates in (("orr", got.orr), ("vgpr", got.vgpr_or_better)):
        for rate in rates:
            key = (
                f"overall {outcome} {conf_level:g}"
                if rate.variable is None
                else f"{rate.variable} {R_LEVEL.get(rate.level or '', rate.level)} "
                f"{outcome} {conf_level:g}"
            )
            want = reference("forest_response", key)
            assert rate.n == want["n"][0]
            assert rate.responders == want["x"][0]
            assert close(rate.rate, scalar(want["estimate"]))
            assert close(rate.lower, scalar(want["lower"]))
            assert close(rate.upper, scalar(want["upper"]))


def test_response_edges_equal_binom_test() -> None:
    frame = pl.DataFrame({"r": ["PD"] * 7 + ["CR"] * 7, "g": ["none"] * 7 + ["all"] * 7})
    got = estimate_subgroup_response(frame, response="r", subgroups=["g"])
    by_level = {rate.level: rate for rate in got.orr}
    for level, key in (("none", "edge 0 of 7"), ("all", "edge 7 of 7")):
        want = reference("forest_response", key)
        assert by_level[level].responders == want["x"][0]
        assert close(by_level[level].lower, scalar(want["lower"]))
        assert close(by_level[level].upper, scalar(want["upper"]))
    with pytest.raises(ValueError, match="conf_level"):
        estimate_subgroup_response(frame, response="r", subgroups=[], conf_level=95)
