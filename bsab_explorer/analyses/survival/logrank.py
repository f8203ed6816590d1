"""The log-rank test over groups, as R's `survdiff` (hypergeometric covariance).

`weighted_sums` and `chi_square` are the one implementation of the test: the survival page's
unweighted test sums them over its tabulation, and the weighted, stratified test
(`analyses.logrank.compare_survival`) over each stratum with its weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bsab_explorer.analyses.survival.tabulation import FloatArray, Tabulation


@dataclass(frozen=True)
class ChiSquareTest:
    """A chi-square statistic with its degrees of freedom and p-value."""

    chi2: float
    df: int
    p_value: float


@dataclass(frozen=True)
class LogRankTest:
    """Log-rank test as R's `survdiff` (rho = 0), with observed and expected events per group."""

    groups: tuple[str, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    chi2: float
    df: int
    p_value: float


def weighted_sums(
    at_risk: FloatArray, deaths: FloatArray, weight: FloatArray | float = 1.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Observed, expected and their covariance per group (groups x times in, weights per time).

    The shared core of every log-rank test: `compute_logrank` (unweighted, one stratum) and the
    weighted, stratified `compare_survival` both sum these.
    """
    total_risk = at_risk.sum(axis=0)
    total_deaths = deaths.sum(axis=0)
    share = at_risk / total_risk
    observed = (deaths * weight).sum(axis=1)
    expected = (share * (weight * total_deaths)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.where(
            total_risk > 1, total_deaths * (total_risk - total_deaths) / (total_risk - 1), 0.0
        )
    # Hypergeometric covariance: V_gh = sum_t w_t^2 v_t p_gt (delta_gh - p_ht).
    weighted = share * (np.square(weight) * spread)
    variance = np.diag(weighted.sum(axis=1)) - weighted @ share.T
    return observed, expected, variance


def chi_square(
    observed: FloatArray, expected: FloatArray, variance: FloatArray
) -> ChiSquareTest | None:
    """The chi-square of observed - expected over groups expected to have an event (R's df)."""
    from scipy import special  # deferred: SciPy takes a third of a second to import

    usable = np.flatnonzero(expected > 0)
    df = len(usable) - 1
    if df < 1:
        return None
    kept = usable[1:]
    diff = (observed - expected)[kept]
    chi2 = float(diff @ np.linalg.solve(variance[np.ix_(kept, kept)], diff))
    return ChiSquareTest(chi2=chi2, df=df, p_value=float(special.chdtrc(df, chi2)))


def compute_logrank(counts: Tabulation, labels: Sequence[str]) -> LogRankTest | None:
    """Log-rank test over the tabulated groups, as R's `survdiff`; None if < 2 are usable."""
    n_risk, n_event = counts.risk_sets
    observed, expected, variance = weighted_sums(n_risk, n_event)
    test = chi_square(observed, expected, variance)
    if test is None:
        return None
    return LogRankTest(
        groups=tuple(labels),
        observed=tuple(float(o) for o in observed),
        expected=tuple(float(x) for x in expected),
        chi2=test.chi2,
        df=test.df,
        p_value=test.p_value,
    )
