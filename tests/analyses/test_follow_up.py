"""Median follow-up by reverse Kaplan–Meier against R.

R (tests/analyses/reference/make_reference.R):
    fit <- survfit(Surv(time, !event) ~ 1, conf.type = ct, conf.int = cl)
    summary(fit)$table[c("records", "events", "median", "<cl>LCL", "<cl>UCL")]
"""

from __future__ import annotations

import numpy as np
import pytest

from bsab_explorer.analyses.follow_up import estimate_follow_up
from bsab_explorer.analyses.survival import CIMethod
from bsab_explorer.schema import DAYS_PER_MONTH
from tests.analyses.r_reference import close, dataset, reference

DATA = {
    "cohort_os": ("cohort", "os_days", "os_event"),
    "cohort_pfs": ("cohort", "pfs_days", "pfs_event"),
    "lung": ("lung", "time", "event"),
    "constructed": ("constructed", "time", "event"),
}


@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("ci", list(CIMethod))
@pytest.mark.parametrize("conf_level", [0.9, 0.95, 0.99])
def test_follow_up_equals_r(name: str, ci: CIMethod, conf_level: float) -> None:
    file, time, event = DATA[name]
    frame = dataset(file)
    want = reference("follow_up", f"{name} {ci.value} {conf_level:g}")
    got = estimate_follow_up(frame[time], frame[event], ci=ci, conf_level=conf_level)
    assert got.n == want["n"][0]
    assert got.censored == want["censored"][0]
    assert close(got.median_days, want["median"])
    assert close(got.lower_days, want["lower"])
    assert close(got.upper_days, want["upper"])


def test_follow_up_in_months_and_not_reached() -> None:
    # Nobody censored: the reverse curve stays at 1.
    got = estimate_follow_up([10.0, 20.0, 30.0, 40.0], [True, True, True, True])
    assert got.median_days is None
    assert got.median_months is None
    assert got.censored == 0
    frame = dataset("cohort")
    os = estimate_follow_up(frame["os_days"], frame["os_event"])
    assert os.median_days is not None
    assert os.median_months == pytest.approx(os.median_days / DAYS_PER_MONTH)
    assert np.isclose(os.lower_months or 0, (os.lower_days or 0) / DAYS_PER_MONTH)
