"""Duration of response against R's survival package, on the constructed endpoint cohort.

The reference values were printed by tests/analyses/reference/endpoints.R (R 4.2, survival
3.5-3; its whole output is in endpoints.txt next to it):

    responders$dor <- responders$pfs_days - responders$first
    survfit(Surv(dor, pfs_event) ~ 1, data = responders, conf.type = ct)
    survfit(Surv(dor, pfs_event) ~ emd, data = responders, conf.type = ct)
    summary(fit)$table[, c("records", "events", "median", "0.95LCL", "0.95UCL")]
    summary(fit, censored = FALSE)   # time, n.risk, n.event, surv, lower, upper
"""

from __future__ import annotations

import polars as pl
import pytest

from bsab_explorer.analyses.duration_of_response import (
    estimate_duration_of_response,
    responder_durations,
)
from bsab_explorer.errors import Unavailable
from tests.analyses.endpoint_cohort import endpoint_patients, endpoint_responses

NA = None

# summary(survfit(Surv(dor, pfs_event) ~ 1, conf.type = "log"), censored = FALSE)
R_OVERALL_LOG = [
    # time, n.risk, n.event, surv, lower, upper
    (0, 14, 1, 0.928571428571429, 0.803008348400444, 1.000000000000000),
    (60, 12, 1, 0.851190476190476, 0.680319509610856, 1.000000000000000),
    (69, 11, 2, 0.696428571428571, 0.487092599173366, 0.995730084844536),
    (99, 9, 3, 0.464285714285714, 0.258876850889221, 0.832678641405597),
    (129, 6, 1, 0.386904761904762, 0.195027491820755, 0.767559964941567),
    (229, 4, 1, 0.290178571428571, 0.119344633597371, 0.705549975547300),
    (379, 1, 1, 0.000000000000000, NA, NA),
]
# summary(survfit(Surv(dor, pfs_event) ~ 1, conf.type = "log-log"), censored = FALSE)
R_OVERALL_LOG_LOG = [
    (0, 14, 1, 0.928571428571429, 0.5907668674267581, 0.989619823136850),
    (60, 12, 1, 0.851190476190476, 0.5234352921219440, 0.960691827559427),
    (69, 11, 2, 0.696428571428571, 0.3783694663300902, 0.873996731793919),
    (99, 9, 3, 0.464285714285714, 0.1934346864601346, 0.698837977436438),
    (129, 6, 1, 0.386904761904762, 0.1417624392442801, 0.630302476440150),
    (229, 4, 1, 0.290178571428571, 0.0790992402374662, 0.546959169268418),
    (379, 1, 1, 0.000000000000000, NA, NA),
]
# summary(survfit(Surv(dor, pfs_event) ~ emd, conf.type = "log"), censored = FALSE)
R_BY_EMD_LOG: dict[str, list[tuple[float | None, ...]]] = {
    "No": [
        (0, 8, 1, 0.875000000000000, 0.6733819365059553, 1.000000000000000),
        (99, 7, 3, 0.500000000000000, 0.2500488218628047, 0.999804750678524),
        (229, 3, 1, 0.333333333333333, 0.1156584510240405, 0.960683029448629),
        (379, 1, 1, 0.000000000000000, NA, NA),
    ],
    "Yes": [
        (60, 5, 1, 0.800000000000000, 0.5161257603421721, 1.000000000000000),
        (69, 4, 2, 0.400000000000000, 0.1367217803890508, 1.000000000000000),
        (129, 2, 1, 0.200000000000000, 0.0346491185068608, 1.000000000000000),
    ],
}
# summary(fit)$table: records, events, median, 0.95LCL, 0.95UCL
R_MEDIANS = {
    ("log", None): {"All patients": (14, 10, 99, 69, NA)},
    ("log-log", None): {"All patients": (14, 10, 99, 69, NA)},
    ("log", "emd"): {"No": (8, 6, 164, 99, NA), "Yes": (6, 4, 69, 69, NA)},
    ("log-log", "emd"): {"No": (8, 6, 164, 0, NA), "Yes": (6, 4, 69, 60, NA)},
}


def _r_responders() -> pl.DataFrame:
    """The patients of the R data frame: X04 (emd not recorded) is only in the grouped view."""
    return endpoint_patients().filter(pl.col("patient_id") != "X04")


def _events_rows(table: pl.DataFrame) -> list[tuple[float, ...]]:
    rows = table.filter(pl.col("n_event") > 0)
    return list(rows.select("time", "n_risk", "n_event", "surv", "lower", "upper").iter_rows())


def _assert_rows(found: list[tuple[float, ...]], expected: list[tuple[float | None, ...]]) -> None:
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        assert got[:3] == want[:3]
        for value, reference in zip(got[3:], want[3:], strict=True):
            if reference is None:
                assert value is None
            else:
                assert value == pytest.approx(reference, abs=1e-12)


@pytest.mark.parametrize(
    ("ci", "reference"), [("log", R_OVERALL_LOG), ("log-log", R_OVERALL_LOG_LOG)]
)
def test_the_overall_curve_equals_survfit(
    ci: str, reference: list[tuple[float | None, ...]]
) -> None:
    result = estimate_duration_of_response(_r_responders(), endpoint_responses(), ci=ci)
    (group,) = result.groups
    _assert_rows(_events_rows(group.curve.table), reference)


def test_the_curves_by_group_equal_survfit() -> None:
    result = estimate_duration_of_response(endpoint_patients(), endpoint_responses(), "emd")
    assert [g.group for g in result.groups] == ["No", "Yes"]
    for group in result.groups:
        _assert_rows(_events_rows(group.curve.table), R_BY_EMD_LOG[group.group])


@pytest.mark.parametrize(("ci", "by"), list(R_MEDIANS))
def test_medians_and_their_ci_equal_print_survfit(ci: str, by: str | None) -> None:
    result = estimate_duration_of_response(_r_responders(), endpoint_responses(), by, ci)
    found = {
        g.group: (
            g.curve.n,
            g.curve.events,
            g.median.days,
            g.median.lower_days,
            g.median.upper_days,
        )
        for g in result.groups
    }
    assert found == R_MEDIANS[(ci, by)]


def test_a_progression_on_the_day_of_the_first_response_is_an_event_at_day_0() -> None:
    durations = responder_durations(endpoint_patients(), endpoint_responses())
    r01 = durations.filter(pl.col("patient_id") == "R01").row(0, named=True)
    assert (r01["first_response_day"], r01["dor_days"], r01["dor_event"]) == (28.0, 0.0, True)
    r13 = durations.filter(pl.col("patient_id") == "R13").row(0, named=True)
    assert (r13["dor_days"], r13["dor_event"]) == (0.0, False)
    result = estimate_duration_of_response(endpoint_patients(), endpoint_responses())
    assert result.same_day_events == 1
    first = result.groups[0].curve.table.row(0, named=True)
    assert (first["time"], first["n_event"], first["n_censor"]) == (0.0, 1, 1)


def test_the_first_response_is_the_earliest_assessment_at_pr_or_better() -> None:
    durations = responder_durations(endpoint_patients(), endpoint_responses())
    first = dict(durations.select("patient_id", "first_response_day").iter_rows())
    # R04, R07, R10, R13 start with SD or MR; R02's post-debulking PR precedes the bispecific.
    assert (first["R04"], first["R07"], first["R10"], first["R13"], first["R02"]) == (
        56.0,
        84.0,
        56.0,
        63.0,
        21.0,
    )
    assert "N01" not in first


def test_every_responder_left_out_is_counted_by_reason() -> None:
    overall = estimate_duration_of_response(endpoint_patients(), endpoint_responses())
    assert overall.responders == 18
    assert overall.excluded_unknown_first_day == 1  # X01
    assert overall.excluded_missing_outcome == 1  # X02
    assert overall.excluded_response_after_end == 1  # X03
    assert overall.excluded_missing_group == 0
    assert overall.groups[0].curve.n == 15  # R01–R14 and X04
    grouped = estimate_duration_of_response(endpoint_patients(), endpoint_responses(), "emd")
    assert grouped.excluded_missing_group == 1  # X04
    assert sum(g.curve.n for g in grouped.groups) == 14


def test_without_assessment_days_the_view_names_the_missing_column() -> None:
    responses = endpoint_responses().with_columns(pl.lit(None, pl.Float64).alias("day"))
    with pytest.raises(Unavailable, match=r"responses\.day"):
        estimate_duration_of_response(endpoint_patients(), responses)
    patients = endpoint_patients().drop("pfs_event")
    with pytest.raises(Unavailable, match=r"patients\.pfs_event"):
        estimate_duration_of_response(patients, endpoint_responses())
