"""Cumulative incidence with a competing event and Gray's test against cmprsk.

R (tests/analyses/reference/make_reference.R):
    fit <- cuminc(time, status, group [, strata]); tp <- timepoints(fit, times)
    fit[["<group> <cause>"]]$time/$est/$var, tp$est, tp$var, fit$Tests[, c("stat", "pv", "df")]
    CI: spread <- qnorm(1 - (1 - cl) / 2) * sqrt(var) / (est * log(est));
        est^exp(-spread), est^exp(spread)
The bundled cohort's outcome: status 0 without a PFS event, 2 for a PFS event on the day of
death, 1 for any other PFS event.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from bsab_explorer.analyses.competing_risks import (
    CompetingEvent,
    derive_competing_outcomes,
    estimate_cumulative_incidence,
)
from tests.analyses.r_reference import close, codes, dataset, numbers, reference


def _cohort() -> tuple[np.ndarray, np.ndarray, pl.DataFrame]:
    patients = dataset("cohort")
    outcomes = derive_competing_outcomes(patients)
    return outcomes.time, outcomes.status, patients.filter(pl.Series(outcomes.kept))


CASES = {
    "cohort_emd": ("cohort", "emd", None),
    "cohort_emd_strata_sex_rho1": ("cohort", "emd", "sex"),
    "cohort_all": ("cohort", None, None),
    "constructed_grp": ("constructed", "grp", None),
    "constructed_grp_strata": ("constructed", "grp", "stratum"),
    "constructed_empty": ("constructed", "grp", None),
    "competing_grp": ("competing", "grp", None),
    "competing_grp_strata": ("competing", "grp", "stratum"),
    "competing_grp_rho1": ("competing", "grp", None),
}
RHO = {"cohort_emd_strata_sex_rho1": 1.0, "competing_grp_rho1": 1.0}


def _inputs(name: str) -> tuple[np.ndarray, np.ndarray, pl.DataFrame]:
    file = CASES[name][0]
    if file == "cohort":
        time, status, frame = _cohort()
        if name == "cohort_emd_strata_sex_rho1":
            recorded = frame["sex"].is_not_null().to_numpy()
            return time[recorded], status[recorded], frame.filter(pl.Series(recorded))
        return time, status, frame
    frame = dataset(file)
    status = {"constructed": "cause", "competing": "status"}[file]
    if name == "constructed_empty":
        status = "cause_empty"
    return frame["time"].to_numpy(), frame[status].to_numpy(), frame


@pytest.mark.parametrize("name", list(CASES))
def test_cumulative_incidence_equals_cmprsk(name: str) -> None:
    _, by, strata = CASES[name]
    time, status, frame = _inputs(name)
    want = reference("cuminc", name)
    if by is None:
        group, labels = np.zeros(len(time), dtype=np.int64), ["1"]
    else:
        group, labels = codes(frame[by])
    layers = None if strata is None else codes(frame[strata])[0]
    got = estimate_cumulative_incidence(
        time, status, group, labels, strata=layers, rho=RHO.get(name, 0.0)
    )
    for key, expected in want["curves"].items():
        label, cause = key.rsplit(" ", 1)
        curve = got.curve(label, CompetingEvent(int(cause)))
        # cmprsk stores a step function's corners: (0, 0), then two points per event time.
        corners = numbers(expected["time"])
        assert close(curve.table["time"], corners[2:-1:2])
        assert close(curve.table["estimate"], numbers(expected["est"])[2:-1:2])
        assert close(curve.table["variance"], numbers(expected["var"])[2:-1:2])
        assert curve.last_follow_up == corners[-1]
        for level in (0.9, 0.95):
            at = curve.at(list(numbers(expected["times"])), conf_level=level)
            assert close([a.estimate for a in at], numbers(expected["at_est"]))
            assert close([a.variance for a in at], numbers(expected["at_var"]))
            assert close([a.lower for a in at], numbers(expected[f"lower_{level:g}"]))
            assert close([a.upper for a in at], numbers(expected[f"upper_{level:g}"]))
    if "tests" not in want:
        assert got.tests == ()
        return
    tests = want["tests"]
    for cause, stat, p, df in zip(
        tests["cause"], numbers(tests["stat"]), numbers(tests["p"]), tests["df"], strict=True
    ):
        gray = got.test(CompetingEvent(int(cause)))
        assert gray is not None
        assert gray.df == df
        if gray.not_computed is None:
            assert close(gray.chi2, stat)
            assert close(gray.p_value, p)


def test_gray_test_with_an_empty_cell_says_why() -> None:
    time, status, frame = _inputs("constructed_empty")
    group, labels = codes(frame["grp"])
    got = estimate_cumulative_incidence(time, status, group, labels)
    death = got.test(CompetingEvent.DEATH_WITHOUT_PROGRESSION)
    assert death is not None
    assert death.chi2 is None
    assert death.p_value is None
    assert death.not_computed == ("not computed: no death without progression in c (an empty cell)")
    progression = got.test(CompetingEvent.PROGRESSION)
    assert progression is not None
    assert progression.not_computed is None
    r_stat = numbers(reference("cuminc", "constructed_empty", "tests", "stat"))
    assert close(progression.chi2, r_stat[0])


def test_outcomes_derived_from_pfs_and_os() -> None:
    patients = pl.DataFrame(
        {
            "pfs_days": [100.0, 200.0, 300.0, None, 50.0, 60.0],
            "pfs_event": [True, True, False, True, True, True],
            "os_days": [400.0, 200.0, 300.0, 10.0, None, 60.0],
            "os_event": [True, True, False, True, None, False],
        }
    )
    got = derive_competing_outcomes(patients)
    assert got.kept.tolist() == [True, True, True, False, False, True]
    assert got.excluded == 2
    assert got.time.tolist() == [100.0, 200.0, 300.0, 60.0]
    assert got.status.tolist() == [1, 2, 0, 1]
    with pytest.raises(ValueError, match="os_event"):
        derive_competing_outcomes(patients.drop("os_event"))


def test_bundled_cohort_derivation_matches_r() -> None:
    time, status, _ = _cohort()
    assert (status == CompetingEvent.DEATH_WITHOUT_PROGRESSION).any()
    want = reference("cuminc", "cohort_all", "curves")
    r_events = {cause: numbers(want[f"1 {cause}"]["est"])[-1] for cause in ("1", "2")}
    got = estimate_cumulative_incidence(time, status, np.zeros(len(time), dtype=np.int64), ["1"])
    for cause, final in r_events.items():
        curve = got.curve("1", CompetingEvent(int(cause)))
        assert close(curve.table["estimate"][-1], final)
    with pytest.raises(ValueError, match="status must be"):
        estimate_cumulative_incidence([1.0], [3], [0], ["a"])


@pytest.mark.parametrize("name", ["competing_grp", "constructed_grp"])
def test_estimate_equals_the_multistate_survfit(name: str) -> None:
    """R: summary(survfit(Surv(time, factor(status, 0:2)) ~ grp), times =, extend = TRUE)$pstate"""
    time, status, frame = _inputs(name)
    group, labels = codes(frame["grp"])
    got = estimate_cumulative_incidence(time, status, group, labels)
    for label, want in reference("multistate", name).items():
        times = list(numbers(want["time"]))
        for event, key in (
            (CompetingEvent.PROGRESSION, "progression"),
            (CompetingEvent.DEATH_WITHOUT_PROGRESSION, "death"),
        ):
            curve = got.curve(label, event)
            # cmprsk (and so this module) gives nothing beyond the group's last follow-up.
            within = [t <= curve.last_follow_up for t in times]
            at = curve.at(times)
            assert [a.estimate is not None for a in at] == within
            assert close(
                [a.estimate for a, kept in zip(at, within, strict=True) if kept],
                numbers(want[key])[within],
            )
