"""Weighted and stratified log-rank tests against R.

R (tests/analyses/reference/make_reference.R):
    d <- survdiff(Surv(time, event) ~ group [+ strata(s)], data = data, rho = rho)
    rowSums(d$obs), rowSums(d$exp), d$var, d$chisq, pchisq(d$chisq, df, lower.tail = FALSE)
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from bsab_explorer.analyses.logrank import LogRankWeights, compare_survival
from bsab_explorer.analyses.survival.logrank import compute_logrank
from bsab_explorer.analyses.survival.tabulation import tabulate
from tests.analyses.r_reference import close, codes, dataset, numbers, reference, scalar

CASES = {
    "cohort_pfs_emd": ("cohort", "pfs_days", "pfs_event", "emd", None),
    "cohort_os_iss": ("cohort", "os_days", "os_event", "iss_stage", None),
    "cohort_pfs_emd_strata_sex": ("cohort", "pfs_days", "pfs_event", "emd", "sex"),
    "constructed_grp": ("constructed", "time", "event", "grp", None),
    "constructed_grp_strata": ("constructed", "time", "event", "grp", "stratum"),
    "lung_ecog_strata_sex": ("lung", "time", "event", "ph.ecog", "sex"),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("weights", list(LogRankWeights))
def test_logrank_equals_r(name: str, weights: LogRankWeights) -> None:
    file, time, event, by, strata = CASES[name]
    frame = dataset(file).drop_nulls([c for c in (time, event, by, strata) if c is not None])
    want = reference("logrank", f"{name} {weights.rho:g}")
    group, labels = codes(frame[by])
    layers, layer_labels = codes(frame[strata]) if strata else (None, [])
    got = compare_survival(
        frame[time],
        frame[event],
        group,
        labels,
        weights=weights,
        strata=layers,
        strata_labels=layer_labels,
    )
    assert got is not None
    assert list(got.groups) == want["groups"]
    assert close(got.observed, numbers(want["observed"]))
    assert close(got.expected, numbers(want["expected"]))
    assert close(np.array(got.variance).ravel(order="F"), numbers(want["variance"]))
    assert close(got.chi2, scalar(want["chisq"]))
    assert got.df == want["df"][0]
    assert close(got.p_value, scalar(want["p"]))
    assert got.stratified == (strata is not None)


def test_unweighted_unstratified_equals_the_survival_page_test() -> None:
    frame = dataset("constructed")
    group, labels = codes(frame["grp"])
    mine = compare_survival(frame["time"], frame["event"], group, labels)
    counts = tabulate(
        frame["time"].cast(pl.Float64).to_numpy(),
        frame["event"].cast(pl.Boolean).to_numpy(),
        np.asarray(group, dtype=np.int64),
        len(labels),
        timefix=True,
    )
    page = compute_logrank(counts, labels)
    assert mine is not None
    assert page is not None
    assert mine.chi2 == pytest.approx(page.chi2, rel=1e-12)
    assert mine.expected == pytest.approx(page.expected, rel=1e-12)


def test_no_test_when_one_group_can_have_events() -> None:
    frame = pl.DataFrame({"t": [1.0, 2.0, 3.0], "e": [True, True, False]})
    assert compare_survival(frame["t"], frame["e"], [0, 0, 0], ["a", "b"]) is None
    with pytest.raises(ValueError, match="same length"):
        compare_survival([1.0], [True], [0], ["a"], strata=[0, 1])
