"""Restricted mean survival time against R.

R (tests/analyses/reference/make_reference.R):
    tab <- summary(survfit(Surv(time, event) ~ group), rmean = tau)$table
    tab[, c("records", "events", "rmean", "se(rmean)")]
    difference: d <- rmean[a] - rmean[b]; se <- sqrt(se[a]^2 + se[b]^2)
                d -/+ z * se; 2 * pnorm(-abs(d / se))
"""

from __future__ import annotations

import pytest

from bsab_explorer.analyses.rmst import estimate_rmst
from tests.analyses.r_reference import close, codes, dataset, numbers, reference, scalar

CASES = {
    "cohort_pfs_emd_365": ("cohort", "pfs_days", "pfs_event", "emd", 365, ("TRUE", "FALSE"), 0.95),
    "cohort_os_emd_730": ("cohort", "os_days", "os_event", "emd", 730, ("TRUE", "FALSE"), 0.9),
    "constructed_grp_10": ("constructed", "time", "event", "grp", 10, ("a", "c"), 0.99),
    "constructed_grp_23": ("constructed", "time", "event", "grp", 23, ("a", "b"), 0.95),
    "lung_sex_365": ("lung", "time", "event", "sex", 365, ("1", "2"), 0.95),
    "lung_sex_1000": ("lung", "time", "event", "sex", 1000, ("1", "2"), 0.95),
}


@pytest.mark.parametrize("name", list(CASES))
def test_rmst_equals_r(name: str) -> None:
    file, time, event, by, tau, compare, level = CASES[name]
    frame = dataset(file)
    want = reference("rmst", name)
    group, labels = codes(frame[by])
    got = estimate_rmst(
        frame[time], frame[event], group, labels, tau, compare=compare, conf_level=level
    )
    assert [m.group for m in got.means] == want["groups"]
    assert [m.n for m in got.means] == want["n"]
    assert [m.events for m in got.means] == want["events"]
    assert close([m.days for m in got.means], numbers(want["rmean"]))
    assert close([m.std_err for m in got.means], numbers(want["se"]))
    z = scalar(want["difference"]["z"])
    for m in got.means:
        assert m.lower == pytest.approx(m.days - z * m.std_err, rel=1e-12)
        assert m.upper == pytest.approx(m.days + z * m.std_err, rel=1e-12)
    diff = got.difference
    assert diff is not None
    expected = want["difference"]
    assert close(diff.difference, numbers(expected["difference"]))
    assert close(diff.std_err, numbers(expected["std_err"]))
    assert close(diff.lower, numbers(expected["lower"]))
    assert close(diff.upper, numbers(expected["upper"]))
    assert close(diff.p_value, numbers(expected["p"]))


def test_rmst_refuses_a_horizon_before_the_first_time_as_r_does() -> None:
    # R: "Truncation point for the mean time in state is < smallest survival".
    with pytest.raises(ValueError, match="before the first"):
        estimate_rmst([2.0, 3.0], [True, True], [0, 0], ["a"], 1.0)
    with pytest.raises(ValueError, match="positive"):
        estimate_rmst([2.0, 3.0], [True, True], [0, 0], ["a"], -1.0)


def test_rmst_is_the_horizon_without_events_and_in_months() -> None:
    got = estimate_rmst([5.0, 6.0, 7.0], [False, False, False], [0, 0, 0], ["a"], 6.0)
    only = got.of("a")
    assert only.days == 6.0
    assert only.std_err == 0.0
    assert only.months == pytest.approx(6.0 / 30.4375)
    assert got.difference is None
