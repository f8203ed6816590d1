"""Test of proportional hazards per covariate and globally, as R's `cox.zph` (survival ≥ 3.0).

For a fitted Cox model, the score test of adding β·g(t) terms: does each covariate's effect
drift with g(t), the Kaplan–Meier transform of time (R's default `transform = "km"`:
g(t) = 1 − S(t−) of all patients, centred on its mean over the events)? Per covariate (all the
indicators of a coded covariate together, `terms = TRUE`) and globally, with the information
matrix of the extended model at the fitted coefficients, Efron or Breslow as the fit.

Own code on the Cox fit's per-event-time sums (`cox_model.event_time_sums`): lifelines'
`proportional_hazard_test` is the pre-3.0 Grambsch–Therneau approximation, which R replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bsab_explorer.analyses.cox_model import CoxFit
from bsab_explorer.analyses.partial_likelihood import event_time_sums
from bsab_explorer.analyses.survival import estimate_kaplan_meier


@dataclass(frozen=True)
class ProportionalHazardsTerm:
    """The test of one covariate (or the global test): chi-square, df, p."""

    term: str
    chi2: float
    df: int
    p_value: float


@dataclass(frozen=True)
class ProportionalHazardsTest:
    """Per-covariate and global tests; small p-values suggest non-proportional hazards."""

    terms: tuple[ProportionalHazardsTerm, ...]
    overall: ProportionalHazardsTerm
    transform: str = "km"


def _km_transform(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """1 − S(t−) at each time: the left-continuous Kaplan–Meier estimate of all patients."""
    curve = estimate_kaplan_meier(time, event, timefix=False)
    knots = curve.table["time"].to_numpy()
    surv = np.concatenate(([1.0], curve.table["surv"].to_numpy()))
    before = np.searchsorted(knots, time, side="left")
    return np.asarray(1.0 - surv[before], dtype=np.float64)


def assess_proportional_hazards(fit: CoxFit) -> ProportionalHazardsTest:
    """Score tests of proportional hazards per covariate and global, as R's `cox.zph(fit)`."""
    design = fit.design
    transformed = _km_transform(design.time, design.event)
    centred = transformed - transformed[design.event].mean()
    sums = event_time_sums(design, fit.coefficients)
    # g at each event time (tied deaths share their time, hence their g).
    g = np.empty(len(sums.times))
    for k, (t, stratum) in enumerate(zip(sums.times, sums.strata, strict=True)):
        rows = (design.time == t) & (design.strata == stratum)
        g[k] = centred[rows][0]
    p = len(fit.coefficients)
    b = sums.covariance
    info = np.zeros((2 * p, 2 * p))
    info[:p, :p] = b.sum(axis=0)
    info[:p, p:] = info[p:, :p] = np.einsum("t,tij->ij", g, b)
    info[p:, p:] = np.einsum("t,tij->ij", g**2, b)
    score = np.concatenate((np.zeros(p), g @ sums.residual))

    def chi_square(name: str, columns: list[int]) -> ProportionalHazardsTerm:
        from scipy import special  # deferred: SciPy takes a third of a second to import

        keep = [*range(p), *(p + j for j in columns)]
        u = score[keep]
        chi2 = float(u @ np.linalg.solve(info[np.ix_(keep, keep)], u))
        df = len(columns)
        return ProportionalHazardsTerm(name, chi2, df, float(special.chdtrc(df, chi2)))

    terms = tuple(
        chi_square(name, list(columns))
        for name, columns in zip(fit.covariates, design.assign, strict=True)
    )
    return ProportionalHazardsTest(terms=terms, overall=chi_square("GLOBAL", list(range(p))))
