"""Numbers at risk, cumulative events and censored against R.

R (tests/analyses/reference/make_reference.R):
    s <- summary(survfit(Surv(time, event) ~ group), times = times, extend = TRUE)
    n.risk, cumsum(n.event), cumsum(n.censor) per stratum
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from bsab_explorer.analyses.number_at_risk import count_at_risk
from tests.analyses.r_reference import codes, dataset, numbers, reference

CASES = {
    "cohort_pfs_emd": ("cohort", "pfs_days", "pfs_event", "emd"),
    "cohort_os_all": ("cohort", "os_days", "os_event", None),
    "constructed_grp": ("constructed", "time", "event", "grp"),
    "lung_sex": ("lung", "time", "event", "sex"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_risk_table_equals_r(name: str) -> None:
    file, time, event, by = CASES[name]
    frame = dataset(file)
    want = reference("number_at_risk", name)
    if by is None:
        group, labels = np.zeros(frame.height, dtype=np.int64), ["all"]
    else:
        group, labels = codes(frame[by])
    times = list(numbers(next(iter(want.values()))["time"]))
    got = count_at_risk(frame[time], frame[event], group, labels, times)
    assert got.groups == tuple(labels)
    for label in labels:
        rows = got.of(label)
        expected = want[label]
        assert rows["time"].to_list() == list(numbers(expected["time"]))
        assert rows["n_risk"].to_list() == expected["n_risk"]
        assert rows["cum_events"].to_list() == expected["cum_events"]
        assert rows["cum_censored"].to_list() == expected["cum_censored"]


def test_risk_table_sorts_times_and_refuses_unknown_group() -> None:
    got = count_at_risk(
        [1.0, 2.0, 2.0, 3.0], [True, False, True, True], [0, 0, 0, 0], ["x"], [3, 0, 2]
    )
    assert got.times == (0.0, 2.0, 3.0)
    assert got.table.schema["n_risk"] == pl.Int64
    assert got.of("x")["n_risk"].to_list() == [4, 3, 1]
    assert got.of("x")["cum_events"].to_list() == [0, 2, 3]
    assert got.of("x")["cum_censored"].to_list() == [0, 1, 1]
    with pytest.raises(ValueError, match="no group 'y'"):
        got.of("y")
