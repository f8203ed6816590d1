"""Tests of proportional hazards against R's cox.zph.

R (tests/analyses/reference/make_reference.R):
    z <- cox.zph(coxph(formula, data = data, ties = ties))   # transform = "km", terms = TRUE
    z$table[, c("chisq", "df", "p")]
"""

from __future__ import annotations

import pytest

from bsab_explorer.analyses.cox_model import Ties, fit_cox_model
from bsab_explorer.analyses.proportional_hazards import assess_proportional_hazards
from tests.analyses.r_reference import COX_CASES as CASES
from tests.analyses.r_reference import close, numbers, reference

FITS = [
    ("lung", Ties.EFRON),
    ("lung", Ties.BRESLOW),
    ("lung_factor_strata", Ties.EFRON),
    ("constructed", Ties.EFRON),
    ("constructed", Ties.BRESLOW),
    ("constructed_strata", Ties.EFRON),
    ("cohort_os", Ties.EFRON),
]


@pytest.mark.parametrize(("name", "ties"), FITS)
def test_proportional_hazards_equal_r(name: str, ties: Ties) -> None:
    load, time, event, covariates, strata = CASES[name]
    want = reference("zph", f"{name}_{ties.value}")
    fit = fit_cox_model(
        load(), time=time, event=event, covariates=covariates, strata=strata, ties=ties
    )
    got = assess_proportional_hazards(fit)
    rows = [*got.terms, got.overall]
    assert [r.term for r in got.terms] == covariates
    assert [r.term for r in rows][-1] == want["terms"][-1] == "GLOBAL"
    assert close([r.chi2 for r in rows], numbers(want["chisq"]))
    assert [r.df for r in rows] == want["df"]
    assert close([r.p_value for r in rows], numbers(want["p"]))
    assert got.transform == "km"
