"""Log-rank and Peto–Peto (G-rho) tests between groups, optionally within strata.

R's `survdiff(Surv(time, status) ~ group + strata(s), rho = ρ)`: at each event time the deaths
of each group are compared with those expected if the groups shared one hazard, each time
weighted by S(t−)^ρ, S being the Kaplan–Meier estimate of the stratum's pooled data (ρ = 0:
log-rank, ρ = 1: Peto & Peto's modification of the Gehan–Wilcoxon test). Observed and expected
counts are weighted sums too, as R prints them. Within strata the observed minus expected and
their hypergeometric variances are summed over strata before the chi-square; groups expected to
have no event are left out of it (R's `df`).

Own code: lifelines' `logrank_test`/`multivariate_logrank_test` has Fleming–Harrington weights
but no strata. The sums and the chi-square are those of `survival.logrank` (`weighted_sums`,
`chi_square`), which the survival page's unweighted test uses on its own tabulation: one
implementation of the test, two ways to count the risk sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from bsab_explorer.analyses.survival import align_tied_times
from bsab_explorer.analyses.survival.logrank import chi_square, weighted_sums
from bsab_explorer.analyses.survival.tabulation import stratified_arrays, tabulate


class LogRankWeights(StrEnum):
    """The weight of each event time: S(t−)^ρ."""

    LOGRANK = "logrank"
    PETO_PETO = "peto-peto"

    @property
    def rho(self) -> float:
        """R's `survdiff(rho = )`."""
        return {"logrank": 0.0, "peto-peto": 1.0}[self.value]


@dataclass(frozen=True)
class GroupComparison:
    """A (weighted, stratified) log-rank test: observed and expected per group, chi-square."""

    groups: tuple[str, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    #: Variance of observed − expected, summed over strata (groups × groups).
    variance: tuple[tuple[float, ...], ...]
    chi2: float
    df: int
    p_value: float
    rho: float
    strata: tuple[str, ...]

    @property
    def stratified(self) -> bool:
        """Whether the test was computed within strata."""
        return len(self.strata) > 1


def _stratum_sums(
    time: npt.NDArray[np.float64],
    event: npt.NDArray[np.bool_],
    group: npt.NDArray[np.int64],
    n_groups: int,
    rho: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Weighted observed, expected and variance of one stratum."""
    n_risk, n_deaths = tabulate(time, event, group, n_groups, timefix=False).risk_sets
    # Left-continuous Kaplan–Meier of the pooled stratum: the weight of each event time.
    step = 1.0 - n_deaths.sum(axis=0) / n_risk.sum(axis=0)
    surv_before = np.concatenate(([1.0], np.cumprod(step)[:-1]))
    weight = surv_before**rho if rho != 0 else np.ones(len(step))
    return weighted_sums(n_risk, n_deaths, weight)


def compare_survival(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    group: npt.ArrayLike,
    labels: Sequence[str],
    *,
    weights: LogRankWeights | str = LogRankWeights.LOGRANK,
    strata: npt.ArrayLike | None = None,
    strata_labels: Sequence[str] = (),
) -> GroupComparison | None:
    """Test of equal survival across groups (codes index `labels`), as R's `survdiff`.

    `strata`: codes indexing `strata_labels` (None: one stratum). None when fewer than two
    groups are expected to have an event.
    """
    rho = LogRankWeights(weights).rho
    raw, e, g, s = stratified_arrays(time, event, group, strata)
    t = align_tied_times(raw)
    if len(g) and (g.min() < 0 or g.max() >= len(labels)):
        raise ValueError("group codes must index labels")
    n_groups = len(labels)
    observed = np.zeros(n_groups)
    expected = np.zeros(n_groups)
    variance = np.zeros((n_groups, n_groups))
    for stratum in np.unique(s):
        rows = s == stratum
        o, x, v = _stratum_sums(t[rows], e[rows], g[rows], n_groups, rho)
        observed += o
        expected += x
        variance += v
    test = chi_square(observed, expected, variance)
    if test is None:
        return None
    names = tuple(strata_labels) if strata is not None else ()
    return GroupComparison(
        groups=tuple(labels),
        observed=tuple(float(o) for o in observed),
        expected=tuple(float(x) for x in expected),
        variance=tuple(tuple(float(c) for c in row) for row in variance),
        chi2=test.chi2,
        df=test.df,
        p_value=test.p_value,
        rho=rho,
        strata=names,
    )
