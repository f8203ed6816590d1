"""Survival at landmark times and the difference of two groups against R.

R (tests/analyses/reference/make_reference.R):
    s <- summary(survfit(Surv(time, event) ~ group, conf.type = ct, conf.int = cl), times = times)
    d <- s$surv[a] - s$surv[b]; se <- sqrt(s$std.err[a]^2 + s$std.err[b]^2)
    d -/+ qnorm(1 - (1 - cl) / 2) * se; 2 * pnorm(-abs(d / se))
"""

from __future__ import annotations

import pytest

from bsab_explorer.analyses.landmarks import estimate_landmarks
from bsab_explorer.analyses.survival import CIMethod
from tests.analyses.r_reference import close, codes, dataset, numbers, reference

CASES = {
    "cohort_pfs_emd": (
        "cohort",
        "pfs_days",
        "pfs_event",
        "emd",
        [91, 182, 365, 730],
        ("TRUE", "FALSE"),
    ),
    "lung_sex": ("lung", "time", "event", "sex", [90, 180, 365, 500, 800], ("1", "2")),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("ci", list(CIMethod))
@pytest.mark.parametrize("conf_level", [0.9, 0.95, 0.99])
def test_landmarks_equal_r(name: str, ci: CIMethod, conf_level: float) -> None:
    file, time, event, by, times, compare = CASES[name]
    frame = dataset(file)
    want = reference("landmarks", f"{name} {ci.value} {conf_level:g}")
    group, labels = codes(frame[by])
    got = estimate_landmarks(
        frame[time],
        frame[event],
        group,
        labels,
        times,
        compare=compare,
        ci=ci,
        conf_level=conf_level,
    )
    for label in labels:
        expected = want["estimates"][label]
        # R's summary leaves out times beyond the group's last follow-up; here they are None.
        reached = [at for at in got.of(label) if at.surv is not None]
        assert [at.days for at in reached] == list(numbers(expected["time"]))
        assert [at.n_risk for at in reached] == expected["n_risk"]
        assert close([at.surv for at in reached], numbers(expected["surv"]))
        assert close([at.std_err for at in reached], numbers(expected["std_err"]))
        assert close([at.lower for at in reached], numbers(expected["lower"]))
        assert close([at.upper for at in reached], numbers(expected["upper"]))
    diff = want["difference"]
    estimable = [d for d in got.differences if d.difference is not None]
    assert [d.days for d in estimable] == list(numbers(diff["time"]))
    assert close([d.difference for d in estimable], numbers(diff["difference"]))
    assert close([d.std_err for d in estimable], numbers(diff["std_err"]))
    assert close([d.lower for d in estimable], numbers(diff["lower"]))
    assert close([d.upper for d in estimable], numbers(diff["upper"]))
    assert close([d.p_value for d in estimable], numbers(diff["p"]))


def test_no_difference_beyond_follow_up_or_without_spread() -> None:
    got = estimate_landmarks(
        [1.0, 2.0, 3.0, 5.0, 8.0],
        [False, False, True, True, False],
        [0, 0, 0, 1, 1],
        ["a", "b"],
        [1.5, 3.0, 9.0],
        compare=("a", "b"),
    )
    at_start, middle, beyond = got.differences
    assert at_start.difference == 0.0
    assert at_start.std_err == 0.0
    assert at_start.p_value is None
    # Group a is at 0 by then: R's std.err is NaN, so there is no interval.
    assert got.of("a")[1].surv == 0.0
    assert got.of("a")[1].std_err is None
    assert middle.difference is None
    assert beyond.difference is None
    assert got.of("a")[2].surv is None
    with pytest.raises(ValueError, match="no group 'z'"):
        estimate_landmarks([1.0], [True], [0], ["a"], [1.0], compare=("a", "z"))
    with pytest.raises(ValueError, match="conf_level"):
        estimate_landmarks([1.0], [True], [0], ["a"], [1.0], conf_level=95)
