"""`bsab-explorer table` for the survival statistics equals R on the bundled cohort.

tests/analyses/reference/cohort.csv is the bundled patients table without identifiers, and
reference.json holds what R printed for it (tests/analyses/reference/make_reference.R, the R
code beside every value): the command line must give the same numbers, through the catalogue.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd
import pytest

from bsab_explorer.cli import EXIT_OK, main
from tests.analyses.r_reference import ATOL, RTOL, numbers, reference


def table(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], str]:
    """The JSON rows of `bsab-explorer table ARGV` and what it wrote to standard error."""
    assert main(["table", *argv, "--format", "json"]) == EXIT_OK
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def csv(argv: list[str], capsys: pytest.CaptureFixture[str]) -> pd.DataFrame:
    """The CSV of `bsab-explorer table ARGV` read by pandas."""
    assert main(["table", *argv]) == EXIT_OK
    return pd.read_csv(io.StringIO(capsys.readouterr().out))


def close(actual: Any, expected: Any) -> None:
    assert numbers(actual) == pytest.approx(numbers(expected), rel=RTOL, abs=ATOL, nan_ok=True)


@pytest.mark.parametrize("level", ["0.90", "0.95", "0.99"])
def test_follow_up_is_rs_reverse_kaplan_meier(
    level: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # R: survfit(Surv(os_days, 1 - os_event) ~ 1, data = cohort, conf.int = level)
    rows, _ = table(["follow-up", "--endpoint", "os", "--conf-level", level], capsys)
    r = reference("follow_up", f"cohort_os log {float(level):g}")
    (row,) = rows
    assert (row["n"], row["censored"]) == (r["n"][0], r["censored"][0])
    close([row["median_days"], row["ci_lower_days"], row["ci_upper_days"]],
          [*r["median"], *r["lower"], *r["upper"]])  # fmt: skip


def test_number_at_risk_is_rs_summary_with_extend(capsys: pytest.CaptureFixture[str]) -> None:
    # R: summary(survfit(Surv(pfs_days, pfs_event) ~ emd), times = ..., extend = TRUE)
    times = "0,91,182,274,365,548,730,1000"
    frame = csv(["number-at-risk", "--by", "emd", "--times", times], capsys)
    for group, key in (("No", "FALSE"), ("Yes", "TRUE")):
        r = reference("number_at_risk", "cohort_pfs_emd", key)
        rows = frame[frame["group"] == group]
        assert rows["time_days"].tolist() == r["time"]
        assert rows["n_risk"].tolist() == r["n_risk"]
        assert rows["cum_events"].tolist() == r["cum_events"]
        assert rows["cum_censored"].tolist() == r["cum_censored"]


def test_landmarks_at_chosen_times_with_the_difference(capsys: pytest.CaptureFixture[str]) -> None:
    # R: summary(survfit(..., conf.int = 0.9), times = c(91, 182, 365, 730)); difference by Wald
    argv = [
        "survival-landmarks",
        "--by",
        "emd",
        "--times",
        "91,182,365,730",
        "--conf-level",
        "0.90",
    ]
    rows, _ = table(argv, capsys)
    r = reference("landmarks", "cohort_pfs_emd log 0.9")
    no = [row for row in rows if row["group"] == "No"]
    close([row["surv"] for row in no], r["estimates"]["FALSE"]["surv"])
    close([row["ci_lower"] for row in no][1:], r["estimates"]["FALSE"]["lower"][1:])
    difference = [row for row in rows if row["group"] == "Yes − No"]
    close([row["difference"] for row in difference], r["difference"]["difference"])
    close([row["difference_ci_lower"] for row in difference], r["difference"]["lower"])
    close([row["p_value"] for row in difference], r["difference"]["p"])


def test_rmst_and_its_difference(capsys: pytest.CaptureFixture[str]) -> None:
    # R: print(survfit(Surv(pfs_days, pfs_event) ~ emd), rmean = 365)
    rows, _ = table(["rmst", "--by", "emd", "--tau", "365"], capsys)
    r = reference("rmst", "cohort_pfs_emd_365")
    close([row["rmst_days"] for row in rows[:2]], r["rmean"])
    close([row["se_days"] for row in rows[:2]], r["se"])
    difference = rows[2]
    assert difference["group"] == "Yes − No"
    close([difference["rmst_days"], difference["p_value"]],
          [*r["difference"]["difference"], *r["difference"]["p"]])  # fmt: skip


@pytest.mark.parametrize(("weights", "rho"), [("logrank", "0"), ("peto-peto", "1")])
def test_stratified_weighted_logrank(
    weights: str, rho: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # R: survdiff(Surv(pfs_days, pfs_event) ~ emd + strata(sex), rho = rho)
    argv = ["logrank", "--by", "emd", "--weights", weights, "--strata", "sex"]
    rows, _ = table(argv, capsys)
    r = reference("logrank", f"cohort_pfs_emd_strata_sex {rho}")
    close([row["observed"] for row in rows], r["observed"])
    close([row["expected"] for row in rows], r["expected"])
    close([rows[0]["chi2"], rows[0]["p_value"]], [*r["chisq"], *r["p"]])


def test_cox_with_covariates_is_rs_coxph(capsys: pytest.CaptureFixture[str]) -> None:
    # R: coxph(Surv(os_days, os_event) ~ emd + age_years + iss_stage, ties = "efron")
    argv = ["cox", "--endpoint", "os", "--by", "emd", "--covariates", "age_years,iss_stage"]
    rows, err = table(argv, capsys)
    r = reference("cox", "cohort_os_efron")
    close([row["coef"] for row in rows], r["coef"])
    close([row["ci_lower"] for row in rows], r["lower_0.95"])
    close([row["p_value"] for row in rows], r["p"])
    first = rows[0]
    close([first["likelihood_ratio_chi2"], first["wald_chi2"], first["score_chi2"]],
          [*r["lr"], *r["wald"], *r["score"]])  # fmt: skip
    close([first["concordance"]], r["concordance"])
    assert (first["n"], first["events"]) == (r["n"][0], r["nevent"][0])
    # 18 events for 4 coefficients: the guard is in the file and on standard error.
    assert first["events_per_variable"] == 4.5
    assert "fewer than 10" in first["warning"]
    assert "the model may be overfitted" in err


def test_cox_with_by_only_keeps_todays_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    # R: coxph(Surv(pfs_days, pfs_event) ~ emd) = the forest's overall row
    rows, _ = table(["cox", "--by", "emd"], capsys)
    r = reference("forest", "cohort_pfs_emd", "overall")
    (row,) = rows
    assert set(row) == {"group", "reference", "coef", "se", "hazard_ratio", "ci_lower",
                        "ci_upper", "p_value"}  # fmt: skip
    close([row["hazard_ratio"], row["ci_lower"], row["ci_upper"], row["p_value"]],
          [*r["hr"], *r["lower"], *r["upper"], *r["p"]])  # fmt: skip


@pytest.mark.parametrize("level", ["0.90", "0.99"])
def test_cox_conf_level(level: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["cox", "--endpoint", "os", "--by", "emd", "--covariates", "age_years,iss_stage"]
    rows, _ = table([*argv, "--conf-level", level], capsys)
    r = reference("cox", "cohort_os_efron")
    key = f"{float(level):g}"
    close([row["ci_lower"] for row in rows], r[f"lower_{key}"])
    close([row["ci_upper"] for row in rows], r[f"upper_{key}"])


def test_proportional_hazards_is_rs_cox_zph(capsys: pytest.CaptureFixture[str]) -> None:
    # R: cox.zph(coxph(Surv(os_days, os_event) ~ emd + age_years + iss_stage))
    argv = ["proportional-hazards", "--endpoint", "os", "--by", "emd"]
    rows, _ = table([*argv, "--covariates", "age_years,iss_stage"], capsys)
    r = reference("zph", "cohort_os_efron")
    assert [row["term"] for row in rows] == r["terms"]
    close([row["chi2"] for row in rows], r["chisq"])
    assert [row["df"] for row in rows] == r["df"]
    close([row["p_value"] for row in rows], r["p"])


def test_a_singular_proportional_hazards_test_says_why_in_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 4 patients (of 5: one lacks a covariate), 1 event, 3 coefficients: the score test's
    # information matrix is singular (R's
    # cox.zph stops with "system is computationally singular"). The Survival page drew its
    # "could not be drawn" error for this filter instead of the reason.
    argv = ["proportional-hazards", "--endpoint", "os", "--filter", "age_years<=47"]
    rows, err = table([*argv, "--covariates", "age_years,iss_stage,hrca"], capsys)
    assert rows == []
    assert err == (
        "Note: No test of proportional hazards: its information matrix is singular (too few "
        "patients or events for 3 coefficient(s): 4 patients, 1 event(s)). Choose fewer "
        "covariates or a wider filter.\n"
    )


def test_cumulative_incidence_is_cmprsk_with_grays_test(capsys: pytest.CaptureFixture[str]) -> None:
    # R: cmprsk::timepoints(cuminc(pfs_days, status, emd), c(91, 182, 365, 730))
    rows, err = table(["cumulative-incidence", "--by", "emd", "--times", "91,182,365,730"], capsys)
    r = reference("cuminc", "cohort_emd")
    progression = [x for x in rows if x["event"] == "Progression" and x["group"] == "No"]
    curve = r["curves"]["FALSE 1"]
    close([x["incidence"] for x in progression], curve["at_est"][1:5])
    close([x["ci_upper"] for x in progression][1:], curve["upper_0.95"][2:5])
    close([progression[0]["gray_chi2"], progression[0]["gray_p"]],
          [r["tests"]["stat"][0], r["tests"]["p"][0]])  # fmt: skip
    # No death without progression among the EMD-free patients: the test says why it is absent.
    death = [x for x in rows if x["event"] == "Death without progression"]
    assert {x["gray_p"] for x in death} == {None}
    assert "an empty cell" in death[0]["gray_note"]
    assert "Gray's test of death without progression" in err


def test_forest_is_coxph_per_subgroup_with_the_interaction(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # R: coxph(Surv(pfs_days, pfs_event) ~ emd, subset = sex == level); anova(~ emd * sex)
    rows, _ = table(["forest", "--by", "emd", "--subgroups", "sex,iss_stage,hrca"], capsys)
    r = reference("forest", "cohort_pfs_emd")
    assert rows[0]["level"] == "All patients"
    close([rows[0]["hazard_ratio"]], r["overall"]["hr"])
    for variable in ("sex", "iss_stage", "hrca"):
        expected = r["subgroups"][variable]
        found = [row for row in rows if row["variable"] == variable]
        close([row["hazard_ratio"] for row in found],
              [level["hr"][0] for level in expected["levels"].values()])  # fmt: skip
        close([found[0]["interaction_p"]], expected["interaction_p"])
        assert [row["events"] for row in found] == [
            level["events"][0] for level in expected["levels"].values()
        ]


def test_forest_response_is_binom_test(capsys: pytest.CaptureFixture[str]) -> None:
    # R: binom.test(x, n, conf.level = 0.95) per level of emd among the evaluable
    rows, _ = table(["forest-response", "--subgroups", "emd"], capsys)
    r = reference("forest_response", "emd TRUE orr 0.95")
    (yes,) = [row for row in rows if row["outcome"] == "ORR" and row["level"] == "Yes"]
    assert (yes["responders"], yes["n"]) == (r["x"][0], r["n"][0])
    close([yes["rate_pct"] / 100, yes["ci_lower_pct"] / 100, yes["ci_upper_pct"] / 100],
          [*r["estimate"], *r["lower"], *r["upper"]])  # fmt: skip


def test_a_bad_conf_level_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", "follow-up", "--conf-level", "0.8"]) != EXIT_OK
    assert "--conf-level must be one of 0.95, 0.90, 0.99" in capsys.readouterr().err


def test_cox_reference_level_of_a_coded_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    rows, _ = table(["cox", "--by", "iss_stage", "--reference", "III"], capsys)
    assert [row["term"] for row in rows] == ["iss_stage: I vs III", "iss_stage: II vs III"]
    assert {row["reference"] for row in rows} == {"III"}
    # A yes/no column has No as its reference: another one is refused, not silently ignored.
    assert main(["table", "cox", "--by", "emd", "--reference", "Yes"]) != EXIT_OK
    assert "No is its reference" in capsys.readouterr().err
