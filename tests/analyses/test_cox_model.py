"""Multivariable Cox models against R's coxph.

R (tests/analyses/reference/make_reference.R):
    fit <- coxph(formula, data = data, ties = ties, control = coxph.control(iter.max = it))
    coef(fit), sqrt(diag(fit$var)), fit$loglik, fit$iter, fit$score, fit$wald.test,
    2 * diff(fit$loglik), fit$concordance["concordance"], summary(fit, conf.int = cl)$conf.int
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from bsab_explorer.analyses.concordance import concordance_index
from bsab_explorer.analyses.cox_model import Ties, fit_cox_model
from bsab_explorer.analyses.partial_likelihood import event_time_sums
from tests.analyses.r_reference import COX_CASES as CASES
from tests.analyses.r_reference import close, dataset, numbers, reference, scalar

FITS = [
    ("lung", Ties.EFRON),
    ("lung", Ties.BRESLOW),
    ("lung_factor_strata", Ties.EFRON),
    ("lung_factor_strata", Ties.BRESLOW),
    ("constructed", Ties.EFRON),
    ("constructed", Ties.BRESLOW),
    ("constructed_strata", Ties.EFRON),
    ("cohort_os", Ties.EFRON),
]


@pytest.mark.parametrize(("name", "ties"), FITS)
@pytest.mark.parametrize("conf_level", [0.9, 0.95, 0.99])
def test_cox_model_equals_r(name: str, ties: Ties, conf_level: float) -> None:
    load, time, event, covariates, strata = CASES[name]
    want = reference("cox", f"{name}_{ties.value}")
    fit = fit_cox_model(
        load(),
        time=time,
        event=event,
        covariates=covariates,
        strata=strata,
        ties=ties,
        conf_level=conf_level,
    )
    assert fit.converged
    assert fit.iterations == want["iter"][0]
    assert fit.n == want["n"][0]
    assert fit.events == want["nevent"][0]
    assert close(fit.coefficients, numbers(want["coef"]))
    assert close([t.se for t in fit.terms], numbers(want["se"]))
    assert close([t.z for t in fit.terms], numbers(want["z"]))
    assert close([t.p_value for t in fit.terms], numbers(want["p"]))
    assert close([t.lower for t in fit.terms], numbers(want[f"lower_{conf_level:g}"]))
    assert close([t.upper for t in fit.terms], numbers(want[f"upper_{conf_level:g}"]))
    assert close(fit.loglik, numbers(want["loglik"]))
    assert close(fit.score.chi2, scalar(want["score"]))
    assert close(fit.wald.chi2, scalar(want["wald"]))
    assert close(fit.likelihood_ratio.chi2, scalar(want["lr"]))
    assert fit.likelihood_ratio.df == want["df"][0]
    assert close(fit.concordance, scalar(want["concordance"]))
    assert not any(t.may_be_infinite for t in fit.terms)
    assert want["warnings"] == []


def test_terms_are_named_by_level_against_the_reference() -> None:
    fit = fit_cox_model(
        dataset("cohort"),
        time="os_days",
        event="os_event",
        covariates=["emd", "age_years", "iss_stage"],
    )
    assert [t.name for t in fit.terms] == [
        "emd: Yes vs No",
        "age_years",
        "iss_stage: II vs I",
        "iss_stage: III vs I",
    ]
    assert fit.excluded_missing == dataset("cohort").height - fit.n
    frame = fit.frame()
    assert frame["term"].to_list() == [t.name for t in fit.terms]
    assert frame["hazard_ratio"].to_list() == [t.hazard_ratio for t in fit.terms]
    other = fit_cox_model(
        dataset("cohort"),
        time="os_days",
        event="os_event",
        covariates=["iss_stage"],
        reference={"iss_stage": "III"},
    )
    assert [t.name for t in other.terms] == ["iss_stage: I vs III", "iss_stage: II vs III"]


def test_few_events_per_variable_warn() -> None:
    fit = fit_cox_model(
        dataset("cohort"),
        time="os_days",
        event="os_event",
        covariates=["emd", "age_years", "iss_stage"],
    )
    assert fit.events_per_variable == pytest.approx(18 / 4)
    assert fit.warnings == (
        "18 events for 4 coefficients (4.5 per variable, fewer than 10): "
        "the model may be overfitted.",
    )
    lung = fit_cox_model(dataset("lung"), time="time", event="event", covariates=["age", "sex"])
    assert lung.warnings == ()


@pytest.mark.parametrize("ties", list(Ties))
def test_infinite_coefficient_is_reported_as_r_does(ties: Ties) -> None:
    # R: "Loglik converged before variable 1; coefficient may be infinite."
    want = reference("cox", f"separated_{ties.value}")
    assert want["warnings"][0].startswith("Loglik converged before variable  1")
    fit = fit_cox_model(
        dataset("separated"), time="time", event="event", covariates=["grp"], ties=ties
    )
    assert fit.converged
    assert fit.iterations == want["iter"][0]
    assert close(fit.coefficients, numbers(want["coef"]))
    assert close(fit.loglik, numbers(want["loglik"]))
    assert close(fit.likelihood_ratio.chi2, scalar(want["lr"]))
    assert close(fit.score.chi2, scalar(want["score"]))
    assert np.allclose([t.se for t in fit.terms], numbers(want["se"]), rtol=1e-6)
    assert fit.terms[0].may_be_infinite
    assert "Coefficient(s) may be infinite: grp: b vs a" in fit.warnings[-1]


def test_a_fit_out_of_iterations_says_so() -> None:
    # R: "Ran out of iterations and did not converge" (coxph.control(iter.max = 2)).
    want = reference("cox", "lung_iter2_efron")
    assert want["warnings"] == ["Ran out of iterations and did not converge"]
    fit = fit_cox_model(
        dataset("lung"),
        time="time",
        event="event",
        covariates=["age", "sex", "ph.ecog"],
        max_iter=2,
    )
    assert not fit.converged
    assert fit.iterations == 2  # R reports iter.max + 1
    assert want["iter"] == [3]
    assert close(fit.coefficients, numbers(want["coef"]))
    assert close(fit.loglik, numbers(want["loglik"]))
    assert close(fit.score.chi2, scalar(want["score"]))
    assert close(fit.likelihood_ratio.chi2, scalar(want["lr"]))
    # The variance reported is the inverse information at the coefficients reported (R's is not).
    info = event_time_sums(fit.design, fit.coefficients).information
    assert np.allclose(fit.variance @ info, np.eye(3), atol=1e-9)
    assert not close([t.se for t in fit.terms], numbers(want["se"]))
    assert fit.warnings == (
        "The model did not converge in 2 iterations: its estimates are not reliable.",
    )


def test_lifelines_stops_short_of_r() -> None:
    """Why the fit is not lifelines': its CoxPHFitter misses R's coefficients by ~4e-6."""
    from lifelines import CoxPHFitter

    lung = dataset("lung").select("time", "event", "age", "sex", "ph.ecog").to_pandas()
    lung["event"] = lung["event"].astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lifelines_fit = CoxPHFitter().fit(lung, "time", "event", fit_options={"precision": 1e-10})
    want = numbers(reference("cox", "lung_efron", "coef"))
    gap = np.max(np.abs(lifelines_fit.params_.to_numpy() - want) / np.abs(want))
    assert 1e-6 < gap < 1e-4
    ours = fit_cox_model(
        dataset("lung"), time="time", event="event", covariates=["age", "sex", "ph.ecog"]
    )
    assert close(ours.coefficients, want)


def test_unusable_models_are_refused() -> None:
    frame = pl.DataFrame(
        {"t": [1.0, 2.0, 3.0], "e": [False, False, False], "x": [1.0, 2.0, 3.0], "c": ["a"] * 3}
    )
    with pytest.raises(ValueError, match="no events"):
        fit_cox_model(frame, time="t", event="e", covariates=["x"])
    with pytest.raises(ValueError, match="single level"):
        fit_cox_model(frame, time="t", event="e", covariates=["c"])
    with pytest.raises(ValueError, match="at least one covariate"):
        fit_cox_model(frame, time="t", event="e", covariates=[])
    with pytest.raises(ValueError, match="no column"):
        fit_cox_model(frame, time="t", event="e", covariates=["y"])
    with pytest.raises(ValueError, match="reference level 'z'"):
        fit_cox_model(
            frame.with_columns(pl.Series("c", ["a", "b", "a"]), pl.lit(True).alias("e")),
            time="t",
            event="e",
            covariates=["c"],
            reference={"c": "z"},
        )


def test_concordance_counts_every_comparable_pair() -> None:
    """The tree-based count equals counting all pairs one by one (ties in time, risk, strata)."""
    rng = np.random.default_rng(7)
    n = 300
    time = rng.integers(1, 40, n).astype(float)
    event = rng.random(n) < 0.6
    risk = np.round(rng.normal(size=n), 1)
    strata = rng.integers(0, 2, n)
    concordant = discordant = tied = 0
    for i in np.flatnonzero(event):
        for j in range(n):
            later = time[j] > time[i] or (time[j] == time[i] and not event[j])
            if strata[j] != strata[i] or not later:
                continue
            concordant += risk[j] < risk[i]
            discordant += risk[j] > risk[i]
            tied += risk[j] == risk[i]
    want = (concordant + tied / 2) / (concordant + discordant + tied)
    assert concordance_index(time, event, risk, strata) == pytest.approx(want, rel=1e-15)
