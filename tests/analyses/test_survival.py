"""Survival statistics against R's survival package (3.5.3).

Reference values: tests/reference/survival/reference.json, printed by
`Rscript make_reference.R` in that folder (survfit with conf.type log / log-log / plain,
print.survfit medians, summary.survfit(times = ), survdiff, coxph(ties = "efron")), on R's
`lung`, `veteran`, `aml` and `ovarian` data, 3000 patients with heavy ties (`ties`), a
snapshot of the bundled cohort's PFS and OS (`cohort_pfs`, `cohort_os`) and two tiny
constructed curves, all exported next to it as CSV.
The tests never need R.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from bsab_explorer.analyses.survival import (
    OVERALL_GROUP,
    TIE_EXPANSION_LIMIT,
    CIMethod,
    CoxModel,
    Endpoint,
    KaplanMeierCurve,
    LogRankTest,
    MedianEstimate,
    SurvivalSummary,
    required_columns,
    summarise_survival,
)
from bsab_explorer.analyses.survival.cox import fit_cox
from bsab_explorer.analyses.survival.tabulation import tabulate
from bsab_explorer.errors import Unavailable
from bsab_explorer.schema import DAYS_PER_MONTH


def _patients(time: Any, event: Any, group: Any = None) -> pl.DataFrame:
    """A patients frame of PFS times and events (and a group column `g` of "a", "b", ...)."""
    columns: dict[str, Any] = {
        "pfs_days": np.asarray(time, dtype=np.float64),
        "pfs_event": np.asarray(event, dtype=np.bool_),
    }
    if group is not None:
        columns["g"] = [chr(ord("a") + int(code)) for code in group]
    return pl.DataFrame(columns)


def _curve(time: Any, event: Any, ci: CIMethod | str = CIMethod.LOG) -> KaplanMeierCurve:
    """The overall Kaplan–Meier curve of these times and events."""
    (group,) = summarise_survival(_patients(time, event), "pfs", ci=ci).groups
    return group.curve


def _by_group(time: Any, event: Any, group: Any) -> SurvivalSummary:
    """The summary of these times and events by a group coded 0 ("a"), 1 ("b"), ..."""
    return summarise_survival(_patients(time, event, group), "pfs", by="g")


def _cox_of(summary: SurvivalSummary) -> CoxModel:
    assert summary.cox is not None
    return summary.cox


def _logrank_of(summary: SurvivalSummary) -> LogRankTest:
    assert summary.logrank is not None
    return summary.logrank


REFERENCE = Path(__file__).parent.parent / "reference" / "survival"
#: Estimates are compared to 1e-10 relative; medians and counts exactly.
RTOL = 1e-10
#: Cox estimates: same iterations as R, accumulated in a different order.
COX_RTOL = 1e-8

GROUPINGS = {
    "cohort_pfs": ("overall", "emd", "hrca", "sex"),
    "cohort_os": ("overall", "emd", "hrca", "sex"),
    "lung": ("overall", "sex", "ph_ecog"),
    "veteran": ("overall", "trt", "celltype"),
    "aml": ("overall", "x"),
    "ovarian": ("overall", "rx"),
    "ties": ("overall", "grp"),
    "zero_time": ("overall",),
    "flat_half": ("overall",),
    "ends_half": ("overall",),
}
CASES = [
    (name, grouping, ci)
    for name, groupings in GROUPINGS.items()
    for grouping in groupings
    for ci in CIMethod
]
COMPARED = [(name, g) for name, groupings in GROUPINGS.items() for g in groupings if g != "overall"]


@cache
def reference() -> dict[str, Any]:
    return json.loads((REFERENCE / "reference.json").read_text())


@cache
def dataset(name: str) -> pl.DataFrame:
    """The R dataset as a patients-like frame: pfs_days, pfs_event and the grouping columns."""
    raw = pl.read_csv(REFERENCE / f"{name}.csv", infer_schema_length=None)
    flags = [c for c in ("emd", "hrca") if c in raw.columns]
    return raw.with_columns(
        pl.col("time").cast(pl.Float64).alias("pfs_days"),
        (pl.col("event").cast(pl.String).str.to_uppercase() == "TRUE").alias("pfs_event"),
        *((pl.col(c).cast(pl.String).str.to_lowercase() == "true").alias(c) for c in flags),
    )


def values(x: list[Any]) -> np.ndarray:
    """R's JSON numbers as floats: null (NA/NaN) -> nan, "Inf" -> inf."""
    return np.array([np.nan if v is None else float(v) for v in x], dtype=np.float64)


def scalar(x: list[Any]) -> float | None:
    return None if x[0] is None else float(x[0])


def assert_close(actual: Any, expected: list[Any], rtol: float = RTOL) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64), values(expected), rtol=rtol, atol=0, equal_nan=True
    )


def summary_for(name: str, grouping: str, ci: CIMethod):  # type: ignore[no-untyped-def]
    by = None if grouping == "overall" else grouping
    return summarise_survival(dataset(name), Endpoint.PFS, by=by, ci=ci)


#: R's names of our group labels (factor(logical) levels are FALSE, TRUE).
R_NAMES = {OVERALL_GROUP: "all", "No": "FALSE", "Yes": "TRUE"}


def r_group(label: str) -> str:
    return R_NAMES.get(label, label)


# --- every value against R ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "grouping", "ci"), CASES)
def test_curves_equal_survfit(name: str, grouping: str, ci: CIMethod) -> None:
    expected = reference()["datasets"][name]["groupings"][grouping]["ci"][ci.value]["curves"]
    summary = summary_for(name, grouping, ci)
    assert [r_group(g.label) for g in summary.groups] == list(expected)
    for group in summary.groups:
        want = expected[r_group(group.label)]
        table = group.curve.table
        for column in ("time", "n_risk", "n_event", "n_censor"):
            assert table[column].to_list() == pytest.approx(values(want[column]).tolist(), abs=0)
        for column in ("surv", "std_err", "lower", "upper"):
            assert_close(table[column].fill_null(float("nan")).to_numpy(), want[column])


@pytest.mark.parametrize(("name", "grouping", "ci"), CASES)
def test_medians_equal_print_survfit_exactly(name: str, grouping: str, ci: CIMethod) -> None:
    expected = reference()["datasets"][name]["groupings"][grouping]["ci"][ci.value]["medians"]
    summary = summary_for(name, grouping, ci)
    for group in summary.groups:
        want = expected[r_group(group.label)]
        assert (group.n, group.events) == (scalar(want["n"]), scalar(want["events"]))
        assert group.median == MedianEstimate(
            scalar(want["median"]), scalar(want["lower"]), scalar(want["upper"])
        )


@pytest.mark.parametrize(("name", "grouping", "ci"), CASES)
def test_survival_at_times_equals_summary_survfit(name: str, grouping: str, ci: CIMethod) -> None:
    spec = reference()["datasets"][name]
    expected = spec["groupings"][grouping]["ci"][ci.value]["landmarks"]
    summary = summary_for(name, grouping, ci)
    for group in summary.groups:
        want = expected[r_group(group.label)]
        got = [a for a in group.curve.survival_at(spec["landmark_times"]) if a.surv is not None]
        # R drops times after the last follow-up (extend = FALSE); we return None there.
        assert [a.days for a in got] == values(want["time"]).tolist()
        assert [a.n_risk for a in got] == values(want["n_risk"]).tolist()
        for field in ("surv", "std_err", "lower", "upper"):
            got_values = [math.nan if getattr(a, field) is None else getattr(a, field) for a in got]
            assert_close(got_values, want[field])


@pytest.mark.parametrize(("name", "grouping"), COMPARED)
def test_logrank_equals_survdiff(name: str, grouping: str) -> None:
    want = reference()["datasets"][name]["groupings"][grouping]["logrank"]
    test = summary_for(name, grouping, CIMethod.LOG).logrank
    assert test is not None
    assert test.df == scalar(want["df"])
    assert test.chi2 == pytest.approx(scalar(want["chi2"]), rel=RTOL)
    assert test.p_value == pytest.approx(scalar(want["p_value"]), rel=1e-9)
    assert_close(test.observed, want["observed"])
    assert_close(test.expected, want["expected"])


@pytest.mark.parametrize(("name", "grouping"), COMPARED)
def test_cox_equals_coxph_efron(name: str, grouping: str) -> None:
    want = reference()["datasets"][name]["groupings"][grouping]
    cox = summary_for(name, grouping, CIMethod.LOG).cox
    assert cox is not None
    assert r_group(cox.reference) == want["levels"][0]
    assert [r_group(r.group) for r in cox.ratios] == want["levels"][1:]
    r_cox = want["cox"]
    assert cox.iterations == scalar(r_cox["iterations"])
    assert_close(cox.loglik, r_cox["loglik"], rtol=1e-12)
    for field, attribute in [
        ("coef", "coef"),
        ("se", "se"),
        ("hr", "hazard_ratio"),
        ("lower", "lower"),
        ("upper", "upper"),
        ("z", "z"),
        ("p_value", "p_value"),
    ]:
        assert_close([getattr(r, attribute) for r in cox.ratios], r_cox[field], rtol=COX_RTOL)
    # The LR statistic is a difference of two log likelihoods: it is known to the precision
    # of their sums (R's and ours are summed in different orders), not relative to itself.
    loglik_precision = 1e-12 * abs(cox.loglik[0])
    for test, key in [(cox.wald, "wald"), (cox.score, "score"), (cox.likelihood_ratio, "lr")]:
        assert test.df == scalar(r_cox[key]["df"])
        assert test.chi2 == pytest.approx(
            scalar(r_cox[key]["chi2"]), rel=COX_RTOL, abs=loglik_precision if key == "lr" else 0
        )
        assert test.p_value == pytest.approx(scalar(r_cox[key]["p_value"]), rel=COX_RTOL)


@pytest.mark.parametrize("ci", [CIMethod.LOG, CIMethod.LOG_LOG])
def test_other_confidence_levels_equal_survfit(ci: CIMethod) -> None:
    want = reference()["conf_90"][ci.value]
    frame = dataset("lung")
    summary = summarise_survival(frame, "pfs", ci=ci, conf_level=0.90)
    (group,) = summary.groups
    for column in ("lower", "upper"):
        table = group.curve.table[column].fill_null(float("nan")).to_numpy()
        assert_close(table, want["curves"]["all"][column])
    median = want["medians"]["all"]
    assert group.median == MedianEstimate(
        scalar(median["median"]), scalar(median["lower"]), scalar(median["upper"])
    )


# --- the R conventions, spelled out -------------------------------------------------------------


def test_median_takes_the_midpoint_when_the_curve_is_flat_at_half() -> None:
    # Six deaths at 1..6: S = 0.5 exactly on [3, 4), so R prints (3 + 4) / 2.
    curve = _curve([1, 2, 3, 4, 5, 6], [True] * 6)
    assert curve.median().days == 3.5


def test_median_of_a_curve_ending_flat_at_half_is_its_first_time_there() -> None:
    # print.survfit says 2; quantile.survfit would say 3 (midpoint to the last time).
    assert _curve([1, 2, 3, 4], [True, True, False, False]).median().days == 2.0
    want = reference()["datasets"]["ends_half"]["groupings"]["overall"]["ci"]["log"]["medians"]
    assert scalar(want["all"]["quantile_median"]) == 3.0


def test_median_not_reached_is_none_and_prints_nr() -> None:
    summary = summary_for("ovarian", "rx", CIMethod.LOG)
    rx2 = summary.groups[1].median
    assert rx2.days is None
    assert rx2.lower_days == 475.0
    assert rx2.text() == f"NR ({475 / DAYS_PER_MONTH:.1f}–NR)"


def test_curve_dropping_to_zero_has_infinite_std_err_and_no_interval() -> None:
    curve = _curve([1, 2, 2, 3, 4], [True, True, False, True, True])
    last = curve.table.row(-1, named=True)
    assert last["surv"] == 0.0
    assert last["std_err"] == math.inf
    assert (last["lower"], last["upper"]) == (None, None)
    plain = _curve([1, 2, 2, 3, 4], [True, True, False, True, True], ci="plain")
    # R: plain limits clip at 0 and 1 (0.3 - 1.96 * 0.796 * 0.3 < 0).
    assert plain.table["lower"].to_list()[:3] == pytest.approx([0.449391, 0.1705934, 0.0], abs=1e-7)
    assert plain.table["upper"].to_list()[:2] == [1.0, 1.0]


def test_log_log_interval_is_undefined_while_the_curve_is_at_one() -> None:
    curve = _curve([1, 2, 3], [False, True, True], ci=CIMethod.LOG_LOG)
    assert curve.table["lower"].to_list()[0] is None
    assert curve.table["upper"].to_list()[0] is None


def test_nearly_equal_times_are_tied_as_r_timefix() -> None:
    # 0.1 + 0.2 != 0.3 in floating point; R's aeqSurv makes them one time.
    curve = _curve([0.1 + 0.2, 0.3, 1.0], [True, True, False])
    assert curve.table["n_event"].to_list() == [2, 0]


# --- the summary value --------------------------------------------------------------------------


def cohort() -> pl.DataFrame:
    """Twelve patients: EMD yes/no/not recorded, one missing PFS time, one missing status."""
    return pl.DataFrame(
        {
            "patient_id": [f"D{i:03d}" for i in range(1, 13)],
            "pfs_days": [
                30.0,
                60.0,
                90.0,
                120.0,
                200.0,
                None,
                45.0,
                80.0,
                400.0,
                500.0,
                10.0,
                70.0,
            ],
            "pfs_event": [True, True, False, True, True, True, None, True, False, True, True, True],
            "emd": [True, True, True, True, False, False, False, False, False, False, None, True],
        },
        schema={
            "patient_id": pl.String,
            "pfs_days": pl.Float64,
            "pfs_event": pl.Boolean,
            "emd": pl.Boolean,
        },
    )


def test_summary_excludes_and_counts_missing_outcomes_and_groups() -> None:
    summary = summarise_survival(cohort(), "pfs", by="emd")
    assert summary.excluded_missing_outcome == 2
    assert summary.excluded_missing_group == 1
    assert [(g.label, g.n, g.events) for g in summary.groups] == [("No", 4, 3), ("Yes", 5, 4)]
    assert summary.notes == (
        "2 patient(s) without a recorded PFS time or status excluded.",
        "1 patient(s) with Extramedullary disease (EMD) not recorded excluded from the comparison.",
    )
    assert summary.cox is not None
    assert summary.cox.reference == "No"


def test_summary_warns_when_a_group_is_small() -> None:
    summary = summarise_survival(cohort(), "pfs", by="emd")
    assert summary.small_groups == ("No", "Yes")
    assert summary.warnings[0].startswith("Fewer than 10 patients in No (n = 4), Yes (n = 5)")
    lung = summarise_survival(dataset("lung"), "pfs", by="sex")
    assert lung.small_groups == ()
    assert lung.warnings == ()


def test_the_tests_between_groups_are_computed_on_first_access_once() -> None:
    # A medians table never reads them, so it never fits the model (nor imports SciPy).
    summary = summarise_survival(cohort(), "pfs", by="emd")
    assert "cox" not in summary.__dict__
    assert "logrank" not in summary.__dict__
    caution = summary.small_group_warnings
    assert caution[0].startswith("Fewer than 10 patients in No (n = 4), Yes (n = 5)")
    assert "cox" not in summary.__dict__  # the small-groups caution needs no model
    cox, logrank = summary.cox, summary.logrank
    assert cox is summary.cox
    assert logrank is summary.logrank
    assert cox is not None
    assert logrank is not None
    assert cox.reference == "No"
    assert logrank.groups == ("No", "Yes")
    assert summary.warnings[: len(caution)] == caution
    other = summarise_survival(cohort(), "pfs", by="emd", reference="Yes").cox
    assert other is not None
    assert other.reference == "Yes"
    with pytest.raises(Unavailable, match="reference group 'Maybe' is not one of"):
        summarise_survival(cohort(), "pfs", by="emd", reference="Maybe")


def test_medians_frame_has_the_cli_columns_in_months() -> None:
    summary = summary_for("veteran", "trt", CIMethod.LOG)
    frame = summary.medians_frame()
    assert frame.columns == [
        "group",
        "n",
        "events",
        "median_months",
        "ci_lower_months",
        "ci_upper_months",
    ]
    assert frame.row(1) == pytest.approx(
        ("2", 68, 64, 52.5 / DAYS_PER_MONTH, 44 / DAYS_PER_MONTH, 95 / DAYS_PER_MONTH)
    )
    assert summary_for("ovarian", "rx", CIMethod.LOG).medians_frame()["median_months"][1] is None


def test_logrank_frame_has_the_cli_columns() -> None:
    frame = summary_for("aml", "x", CIMethod.LOG).logrank_frame()
    assert frame.columns == ["chi2", "df", "p_value"]
    want = reference()["datasets"]["aml"]["groupings"]["x"]["logrank"]
    assert frame.row(0) == pytest.approx(
        (scalar(want["chi2"]), 1, scalar(want["p_value"])), rel=1e-9
    )


def test_landmarks_are_6_12_24_months() -> None:
    summary = summary_for("lung", "overall", CIMethod.LOG)
    frame = summary.landmarks_frame()
    assert frame["months"].to_list() == [6.0, 12.0, 24.0]
    want = reference()["datasets"]["lung"]["groupings"]["overall"]["ci"]["log"]["landmarks"]["all"]
    assert_close(frame["surv"].to_numpy(), want["surv"])
    assert frame["n_risk"].to_list() == values(want["n_risk"]).tolist()


def test_landmark_after_last_follow_up_is_none() -> None:
    (beyond,) = _curve([10, 20], [True, False]).survival_at([24 * DAYS_PER_MONTH])
    assert (beyond.surv, beyond.n_risk, beyond.lower) == (None, None, None)


def test_reference_group_can_be_named() -> None:
    default = summary_for("aml", "x", CIMethod.LOG).cox
    swapped = summarise_survival(dataset("aml"), "pfs", by="x", reference="Nonmaintained").cox
    assert default is not None
    assert swapped is not None
    assert swapped.reference == "Nonmaintained"
    assert swapped.ratios[0].hazard_ratio == pytest.approx(1 / default.ratios[0].hazard_ratio)
    assert swapped.likelihood_ratio.chi2 == pytest.approx(default.likelihood_ratio.chi2)


def test_empty_subgroup_gives_an_empty_summary_not_an_error() -> None:
    summary = summarise_survival(cohort().clear(), "os" if False else "pfs", by="emd")
    assert summary.groups == ()
    assert summary.logrank is None
    assert summary.cox is None
    assert summary.medians_frame().height == 0
    assert summary.logrank_frame().height == 0
    assert summary.curves_frame().columns[:3] == ["group", "time", "time_months"]


def test_one_group_has_no_tests() -> None:
    summary = summarise_survival(cohort().filter(pl.col("emd")), "pfs", by="emd")
    assert [g.label for g in summary.groups] == ["Yes"]
    assert summary.logrank is None
    assert summary.cox is None


def test_code_groups_follow_contract_order() -> None:
    frame = pl.DataFrame(
        {
            "os_days": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
            "os_event": [True, False, True, True, False, True],
            "bsab": [
                "talquetamab",
                "elranatamab",
                "teclistamab",
                "other",
                "teclistamab",
                "elranatamab",
            ],
        }
    )
    summary = summarise_survival(frame, Endpoint.OS, by="bsab")
    assert [g.label for g in summary.groups] == [
        "teclistamab",
        "elranatamab",
        "talquetamab",
        "other",
    ]
    assert summary.cox is not None
    assert summary.cox.reference == "teclistamab"


def test_missing_column_is_named() -> None:
    assert required_columns("os", "emd") == ("os_days", "os_event", "emd")
    with pytest.raises(ValueError, match="os_event"):
        summarise_survival(pl.DataFrame({"os_days": [1.0]}), "os")


def test_group_with_no_events_flags_an_infinite_hazard_ratio() -> None:
    # R: coxph(Surv(t, e) ~ g) with t = c(1:10, 1:10 + 0.5), e = rep(1:0, each = 10):
    # "Loglik converged before variable 1; coefficient may be infinite", iter 20,
    # coef -21.202894770746781, se 12710.133141911356.
    time = [*range(1, 11), *(t + 0.5 for t in range(1, 11))]
    event = [True] * 10 + [False] * 10
    group = [0] * 10 + [1] * 10
    summary = _by_group(time, event, group)
    cox = _cox_of(summary)
    assert (cox.converged, cox.iterations) == (True, 20)
    (ratio,) = cox.ratios
    assert ratio.coef == pytest.approx(-21.202894770746781, rel=COX_RTOL)
    assert ratio.se == pytest.approx(12710.133141911356, rel=1e-6)
    assert ratio.may_be_infinite
    assert (ratio.lower, ratio.upper) == (0.0, math.inf)
    # survdiff on the same data: chisq 10, expected 5 and 5.
    logrank = _logrank_of(summary)
    assert logrank.chi2 == pytest.approx(10.0, rel=RTOL)
    assert logrank.expected == pytest.approx((5.0, 5.0), rel=RTOL)
    assert logrank.observed == (10.0, 0.0)


def test_cox_that_runs_out_of_iterations_says_so() -> None:
    # R: "Ran out of iterations and did not converge"; coef -22.110377175925176.
    time = [1, 2, 3, 4, 5, 6, 7, 8]
    event = [True, True, True, True, False, False, False, False]
    cox = _cox_of(_by_group(time, event, [0, 0, 0, 0, 1, 1, 1, 1]))
    assert not cox.converged
    assert cox.ratios[0].coef == pytest.approx(-22.110377175925176, rel=COX_RTOL)


def test_a_million_patients_are_summarised() -> None:
    rng = np.random.default_rng(7)
    n = 1_000_000
    time = np.round(rng.exponential(400, n))
    event = rng.random(n) < 0.7
    curve = _curve(time, event)
    assert curve.n == n
    assert curve.table["n_event"].sum() == int(event.sum())
    assert curve.table.height == len(np.unique(time))


def test_closed_form_efron_sums_equal_the_term_by_term_sums() -> None:
    # `ties` has ~48 deaths per time: above TIE_EXPANSION_LIMIT, so the closed form is used
    # (test_cox_equals_coxph_efron[ties-grp] checks it against R); here both ways agree.
    frame = dataset("ties")
    codes = frame["grp"].replace_strict(["a", "b", "c"], [0, 1, 2]).to_numpy()
    time, event = frame["pfs_days"].to_numpy(), frame["pfs_event"].to_numpy()
    assert TIE_EXPANSION_LIMIT < 40
    counts = tabulate(time.astype(np.float64), event.astype(np.bool_), codes, 3, True)
    closed = fit_cox(counts, ["a", "b", "c"], None, 0.95)
    expanded = fit_cox(counts, ["a", "b", "c"], None, 0.95, 10**9)
    assert closed is not None
    assert closed == summarise_survival(frame, "pfs", by="grp").cox
    assert expanded is not None
    assert closed.iterations == expanded.iterations
    assert_close(closed.loglik, list(expanded.loglik), rtol=1e-13)
    for a, b in zip(closed.ratios, expanded.ratios, strict=True):
        assert (a.coef, a.se) == pytest.approx((b.coef, b.se), rel=1e-11)
    assert closed.score.chi2 == pytest.approx(expanded.score.chi2, rel=1e-11)
