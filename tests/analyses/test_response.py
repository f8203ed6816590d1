"""Response by timepoint on the constructed cohort (see conftest.py)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bsab_explorer.analyses.response import (
    NOT_ASSESSED,
    assessments,
    best_responses,
    clopper_pearson,
    missing_columns,
    rate_statement,
    response_by_timepoint,
)
from tests.fixtures.cohorts import contract_frame


def _row(frame: pl.DataFrame, timepoint: str, group: str = "All patients") -> dict[str, object]:
    return frame.filter((pl.col("timepoint") == timepoint) & (pl.col("group") == group)).row(
        0, named=True
    )


# R reference values (exact binomial CI, as printed by R 4.x):
#   binom.test(6, 9)$conf.int   -> 0.2992950562 0.9251453686
#   binom.test(16, 25)$conf.int -> 0.4252063496 0.8202831794
#   binom.test(3, 8)$conf.int   -> 0.08523341414 0.75513678363
#   binom.test(0, 5)$conf.int   -> 0.0000000000 0.5218237501
#   binom.test(4, 4)$conf.int   -> 0.3976353644 1.0000000000
@pytest.mark.parametrize(
    ("x", "n", "lower", "upper"),
    [
        (6, 9, 0.2992950562, 0.9251453686),
        (16, 25, 0.4252063496, 0.8202831794),
        (3, 8, 0.08523341414, 0.75513678363),
        (0, 5, 0.0, 0.5218237501),
        (4, 4, 0.3976353644, 1.0),
    ],
)
def test_clopper_pearson_matches_r(x: int, n: int, lower: float, upper: float) -> None:
    lo, hi = clopper_pearson(np.array([x]), np.array([n]))
    assert lo[0] == pytest.approx(lower, abs=1e-10)
    assert hi[0] == pytest.approx(upper, abs=1e-10)


def test_clopper_pearson_of_no_trials_is_missing() -> None:
    lo, hi = clopper_pearson(np.array([0]), np.array([0]))
    assert np.isnan(lo[0])
    assert np.isnan(hi[0])


def test_evaluable_denominator(patients: pl.DataFrame, responses: pl.DataFrame) -> None:
    summary = response_by_timepoint(patients, responses)
    assert summary.timepoints == ("post_debulking", "C1", "C3", "best")
    assert summary.denominator_label == "patients evaluable at that timepoint"
    c1 = _row(summary.frame, "C1")
    assert c1["timepoint_label"] == "Cycle 1"
    assert (c1["n_assessed"], c1["denominator"], c1["not_assessed"]) == (9, 9, 1)
    assert [c1[code] for code in ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")] == [
        1, 2, 1, 2, 0, 1, 1, 1,
    ]  # fmt: skip
    assert (c1["orr_n"], c1["vgpr_n"], c1["cr_n"], c1["pet_ct_n"]) == (6, 4, 3, 2)
    assert c1["orr_pct"] == pytest.approx(100 * 6 / 9)
    assert c1["orr_ci_lower_pct"] == pytest.approx(29.92950562, abs=1e-8)
    assert c1["orr_ci_upper_pct"] == pytest.approx(92.51453686, abs=1e-8)
    post = _row(summary.frame, "post_debulking")
    assert (post["n_assessed"], post["orr_n"], post["vgpr_n"], post["cr_n"]) == (8, 3, 2, 1)
    assert post["orr_ci_lower_pct"] == pytest.approx(8.523341414, abs=1e-8)
    c3 = _row(summary.frame, "C3")
    assert (c3["n_assessed"], c3["orr_n"], c3["vgpr_n"], c3["cr_n"], c3["pet_ct_n"]) == (
        5, 4, 4, 3, 1,
    )  # fmt: skip


def test_best_is_derived_from_cycles_when_not_recorded(
    patients: pl.DataFrame, responses: pl.DataFrame
) -> None:
    summary = response_by_timepoint(patients, responses)
    best = _row(summary.frame, "best")
    # P01 sCR, P02 CR, P03 VGPR (C1 beats C3 PD), P04 VGPR, P05 SD, P06 PD, P07 CR, P08 NE,
    # P09 CR; P10 never assessed.
    assert (best["sCR"], best["CR"], best["VGPR"], best["SD"], best["PD"], best["NE"]) == (
        1, 3, 2, 1, 1, 1,
    )  # fmt: skip
    assert (best["n_assessed"], best["orr_n"], best["vgpr_n"], best["cr_n"]) == (9, 6, 6, 4)
    assert best["pet_ct_n"] is None


def test_recorded_best_response_wins(patients: pl.DataFrame, responses: pl.DataFrame) -> None:
    recorded = patients.with_columns(
        pl.when(pl.col("patient_id") == "P05")
        .then(pl.lit("PR"))
        .otherwise(None)
        .alias("best_response")
    )
    best = best_responses(recorded, responses)
    assert best.filter(pl.col("patient_id") == "P05").get_column("response").to_list() == ["PR"]
    # Others still derived from their cycle assessments.
    assert best.filter(pl.col("patient_id") == "P03").get_column("response").to_list() == ["VGPR"]
    assert best.height == 9


def test_all_treated_denominator_adds_not_assessed(
    patients: pl.DataFrame, responses: pl.DataFrame
) -> None:
    summary = response_by_timepoint(patients, responses, denominator="all_treated")
    c3 = _row(summary.frame, "C3")
    assert (c3["denominator"], c3["orr_n"]) == (10, 4)
    assert c3["orr_pct"] == pytest.approx(40.0)
    shares = summary.counts.filter(pl.col("timepoint") == "C3")
    assert shares.filter(pl.col("category") == NOT_ASSESSED).get_column("n").to_list() == [5]
    assert shares.get_column("pct").sum() == pytest.approx(100.0)
    assert rate_statement(c3) == "ORR 40 % (4/10; 95 % CI 12–74)"


def test_split_by_emd(patients: pl.DataFrame, responses: pl.DataFrame) -> None:
    summary = response_by_timepoint(patients, responses, by="emd")
    assert summary.groups == ("Yes", "No", "Not recorded")
    yes_c1 = _row(summary.frame, "C1", "Yes")
    assert (yes_c1["n_patients"], yes_c1["n_assessed"], yes_c1["orr_n"]) == (4, 4, 4)
    no_c3 = _row(summary.frame, "C3", "No")
    assert (no_c3["n_assessed"], no_c3["orr_n"], no_c3["cr_n"]) == (1, 1, 1)
    # The group without an EMD record has no assessment: rates are missing, not zero.
    empty = _row(summary.frame, "C1", "Not recorded")
    assert (empty["n_assessed"], empty["orr_pct"], empty["orr_ci_lower_pct"]) == (0, None, None)
    assert rate_statement(empty) == "ORR not evaluable (no patient assessed)"
    assert summary.frame.height == 3 * 4


def test_responses_outside_the_cohort_are_ignored(
    patients: pl.DataFrame, responses: pl.DataFrame
) -> None:
    subgroup = patients.filter(pl.col("emd").fill_null(False))
    summary = response_by_timepoint(subgroup, responses)
    c1 = _row(summary.frame, "C1")
    assert (c1["n_patients"], c1["n_assessed"], c1["orr_n"]) == (4, 4, 4)
    assert rate_statement(c1) == "ORR 100 % (4/4; 95 % CI 40–100)"
    assert rate_statement(c1, "cr") == "CR 50 % (2/4)"


def test_repeated_assessment_keeps_the_best(responses: pl.DataFrame) -> None:
    extra = responses.head(1).with_columns(pl.lit("PD").alias("response"))
    visits = assessments(pl.concat([responses, extra]))
    p01 = visits.filter((pl.col("patient_id") == "P01") & (pl.col("timepoint") == "post_debulking"))
    assert p01.get_column("response").to_list() == ["CR"]


def test_empty_cohort(patients: pl.DataFrame, responses: pl.DataFrame) -> None:
    summary = response_by_timepoint(patients.clear(), responses)
    assert summary.frame.height == 0
    assert summary.counts.height == 0


def test_rejects_unknown_denominator(patients: pl.DataFrame, responses: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="denominator"):
        response_by_timepoint(patients, responses, denominator="assessed")  # type: ignore[arg-type]


def test_missing_required_columns_are_named(
    patients: pl.DataFrame, responses: pl.DataFrame
) -> None:
    assert missing_columns(patients, responses) == []
    no_codes = responses.with_columns(pl.lit(None, dtype=pl.String).alias("response"))
    assert missing_columns(patients, no_codes) == ["responses.response"]
    assert missing_columns(patients, responses.drop("timepoint")) == ["responses.timepoint"]
    with pytest.raises(
        ValueError, match=r"unavailable: the data have no values in responses\.response"
    ):
        response_by_timepoint(patients, no_codes)
    # An empty subgroup is not missing data.
    assert missing_columns(patients.clear(), responses.clear()) == []
    # PET-CT is optional.
    summary = response_by_timepoint(patients, responses.drop("pet_ct"))
    assert _row(summary.frame, "C1")["pet_ct_n"] == 0


_CODES = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"]
_TIMEPOINTS = ["post_debulking", "C1", "C3", "C6", "C12"]


@st.composite
def _cohorts(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = draw(st.integers(min_value=1, max_value=25))
    ids = [f"Q{i:02d}" for i in range(n)]
    emd = draw(st.lists(st.sampled_from([True, False, None]), min_size=n, max_size=n))
    best = draw(st.lists(st.sampled_from([*_CODES, None]), min_size=n, max_size=n))
    rows = draw(
        st.lists(
            st.tuples(st.sampled_from(ids), st.sampled_from(_TIMEPOINTS), st.sampled_from(_CODES)),
            max_size=80,
        )
    )
    patients = contract_frame("patients", {"patient_id": ids, "emd": emd, "best_response": best})
    responses = contract_frame(
        "responses",
        {
            "patient_id": [r[0] for r in rows],
            "timepoint": [r[1] for r in rows],
            "response": [r[2] for r in rows],
        },
    )
    return patients, responses


@settings(max_examples=60, deadline=None, derandomize=True)
@given(_cohorts())
def test_counts_equal_a_plain_python_count(cohort: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    patients, responses = cohort
    summary = response_by_timepoint(patients, responses, by="emd")
    group_of = {
        p: ("Not recorded" if e is None else "Yes" if e else "No")
        for p, e in zip(patients["patient_id"], patients["emd"], strict=True)
    }
    # Best response per patient per timepoint (rank = index in the IMWG order).
    visits: dict[tuple[str, str], int] = {}
    for p, t, r in responses.select("patient_id", "timepoint", "response").iter_rows():
        visits[(p, t)] = min(visits.get((p, t), 99), _CODES.index(r))
    best: dict[str, int] = {}
    for (p, t), rank in visits.items():
        if t != "post_debulking":
            best[p] = min(best.get(p, 99), rank)
    for p, recorded in zip(patients["patient_id"], patients["best_response"], strict=True):
        if recorded is not None:
            best[p] = _CODES.index(recorded)
    expected: dict[tuple[str, str], list[int]] = {}
    for (p, t), rank in [*visits.items(), *(((p, "best"), r) for p, r in best.items())]:
        expected.setdefault((group_of[p], t), [0] * 8)[rank] += 1
    for row in summary.frame.iter_rows(named=True):
        counts = expected.get((row["group"], row["timepoint"]), [0] * 8)
        assert [row[c] for c in _CODES] == counts
        assert row["orr_n"] == sum(counts[:4])
        assert row["n_assessed"] == sum(counts)
    assert sum(summary.frame["n_assessed"]) == sum(sum(c) for c in expected.values())
