"""The log-rank test over groups, as R's `survdiff` (hypergeometric covariance)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from bsab_explorer.analyses.survival.tabulation import Tabulation


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


def compute_logrank(counts: Tabulation, labels: Sequence[str]) -> LogRankTest | None:
    """Log-rank test over the tabulated groups, as R's `survdiff`; None if < 2 are usable."""
    n_risk, n_event = counts.risk_sets
    total_risk = n_risk.sum(axis=0)
    total_event = n_event.sum(axis=0)
    share = n_risk / total_risk
    expected = (share * total_event).sum(axis=1)
    observed = n_event.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(
            total_risk > 1, total_event * (total_risk - total_event) / (total_risk - 1), 0.0
        )
    # Hypergeometric covariance: V_gh = sum_t w_t p_gt (delta_gh - p_ht).
    weighted = share * weight
    variance = np.diag(weighted.sum(axis=1)) - weighted @ share.T
    usable = np.flatnonzero(expected > 0)
    df = len(usable) - 1
    if df < 1:
        return None
    kept = usable[1:]
    diff = (observed - expected)[kept]
    chi2 = float(diff @ np.linalg.solve(variance[np.ix_(kept, kept)], diff))
    return LogRankTest(
        groups=tuple(labels),
        observed=tuple(float(o) for o in observed),
        expected=tuple(float(x) for x in expected),
        chi2=chi2,
        df=df,
        p_value=float(special.chdtrc(df, chi2)),
    )
