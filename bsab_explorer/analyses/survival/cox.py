"""The Cox model of group indicators, as R's `coxph(ties = "efron")`.

The fit repeats R's coxfit6 iterations (same start, step-halving and stopping rule), so it
reports the same estimate and iteration count. Times with more than TIE_EXPANSION_LIMIT tied
deaths have their Efron sums taken in closed form (equal to R's term-by-term sums to ~1e-12).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bsab_explorer.analyses.survival.logrank import ChiSquareTest
from bsab_explorer.analyses.survival.tabulation import FloatArray, Tabulation, normal_quantile
from bsab_explorer.errors import Unavailable

#: coxph.control() defaults.
COX_EPS = 1e-9

COX_MAX_ITER = 20


@dataclass(frozen=True)
class HazardRatio:
    """One group against the reference in a Cox model (Wald CI and p-value, as `coxph`)."""

    group: str
    reference: str
    coef: float
    se: float
    hazard_ratio: float
    lower: float
    upper: float
    z: float
    p_value: float
    #: R's "Loglik converged before variable ...; coefficient may be infinite".
    may_be_infinite: bool


@dataclass(frozen=True)
class CoxModel:
    """Cox proportional hazards on group indicators, Efron ties, as R's `coxph`."""

    reference: str
    ratios: tuple[HazardRatio, ...]
    wald: ChiSquareTest
    score: ChiSquareTest
    likelihood_ratio: ChiSquareTest
    #: Log partial likelihood at beta = 0 and at the estimate.
    loglik: tuple[float, float]
    iterations: int
    converged: bool


#: Tied deaths at one time up to this many are summed term by term (as R does); more are
#: summed in closed form with log-gamma and polygamma functions (the same sums, O(1) per time).
TIE_EXPANSION_LIMIT = 32


@dataclass(frozen=True)
class _EfronLikelihood:
    """Cox partial likelihood of group indicators with Efron ties (row 0: the reference group).

    With m tied deaths at a time, Efron's k-th term (k = 0..m-1) removes k/m of them from the
    risk set. Times with few ties are expanded to one column per death; for a time with many,
    the sums over k of log(denominator), 1/denominator and 1/denominator² are digamma-family
    differences, because each group's share of the k-th risk set is linear in its denominator.
    """

    at_risk: FloatArray  # (groups, expanded deaths): risk set of each Efron term
    tied_risk: FloatArray  # (groups, heavily tied times): patients at risk
    tied_events: FloatArray  # (groups, heavily tied times): deaths
    deaths: FloatArray  # (groups,)

    @classmethod
    def from_risk_sets(
        cls, n_risk: FloatArray, n_event: FloatArray, limit: int = TIE_EXPANSION_LIMIT
    ) -> _EfronLikelihood:
        deaths_at = n_event.sum(axis=0).astype(np.int64)
        heavy = deaths_at > limit
        if not heavy.any() and deaths_at.max(initial=0) == 1:
            # No ties at all (continuous times): one term per time, nothing to expand.
            return cls(n_risk, n_risk[:, :0], n_event[:, :0], n_event.sum(axis=1))
        light = np.flatnonzero(~heavy)
        per_time = deaths_at[light]
        column = np.repeat(light, per_time)
        first = np.repeat(np.cumsum(per_time) - per_time, per_time)
        fraction = (np.arange(len(column)) - first) / deaths_at[column]
        return cls(
            at_risk=n_risk[:, column] - fraction * n_event[:, column],
            tied_risk=n_risk[:, heavy],
            tied_events=n_event[:, heavy],
            deaths=n_event.sum(axis=1),
        )

    def __call__(self, beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        """Log partial likelihood, score and information at `beta`."""
        from scipy import special  # deferred: SciPy takes a third of a second to import

        weight = np.exp(np.concatenate(([0.0], beta)))
        denom = weight @ self.at_risk
        mean = self.at_risk[1:] * (weight[1:, None] / denom)  # (coefs, terms)
        log_sum = np.log(denom).sum()
        mean_sum = mean.sum(axis=1)
        cross = mean @ mean.T
        if self.tied_risk.shape[1]:
            # k-th term: denominator S - (k/m) D, group share u_g + v_g * denominator.
            risk = weight[:, None] * self.tied_risk
            dead = weight[:, None] * self.tied_events
            total = risk.sum(axis=0)
            died = dead.sum(axis=0)
            m = self.tied_events.sum(axis=0)
            a = total * m / died
            low = a - m + 1
            log_sum += (m * np.log(died / m) + special.gammaln(a + 1) - special.gammaln(low)).sum()
            h1 = m / died * (special.digamma(a + 1) - special.digamma(low))
            h2 = (m / died) ** 2 * (special.polygamma(1, low) - special.polygamma(1, a + 1))
            u = (risk - dead * (total / died))[1:]
            v = (dead / died)[1:]
            mean_sum = mean_sum + (u * h1 + v * m).sum(axis=1)
            cross = cross + (u * h2) @ u.T + (u * h1) @ v.T + (v * h1) @ u.T + (v * m) @ v.T
        loglik = float(beta @ self.deaths[1:] - log_sum)
        return loglik, self.deaths[1:] - mean_sum, np.diag(mean_sum) - cross


def fit_cox(
    counts: Tabulation,
    labels: Sequence[str],
    reference: str | None,
    conf_level: float,
    tie_expansion_limit: int = TIE_EXPANSION_LIMIT,
) -> CoxModel | None:
    """Cox model on indicators of each group against `reference`, as R's `coxph` (Efron ties).

    Follows coxfit6: Newton–Raphson from 0, step-halving, stop when the relative change of the
    log likelihood is ≤ 1e-9 (at most 20 iterations). None when fewer than two groups have
    patients or there is no event.
    """
    from scipy import special  # deferred: SciPy takes a third of a second to import

    present = [k for k in range(len(labels)) if counts.at_time[k].sum() > 0]
    if not present:
        return None
    ref = labels[present[0]] if reference is None else reference
    if ref not in labels:
        raise Unavailable(f"reference group {ref!r} is not one of {list(labels)}")
    ref_code = list(labels).index(ref)
    if ref_code not in present or len(present) < 2 or counts.events.sum() == 0:
        return None
    order = [ref_code, *[k for k in present if k != ref_code]]
    all_risk, all_event = counts.risk_sets
    n_risk = all_risk[order]
    n_event = all_event[order]
    # A group nobody of which is at risk at any event time has no estimable coefficient.
    estimable = [0, *[i for i in range(1, len(order)) if n_risk[i].sum() > 0]]
    if len(estimable) < 2:
        return None
    n_risk = n_risk[estimable]
    n_event = n_event[estimable]
    coded = [labels[order[i]] for i in estimable]
    evaluate = _EfronLikelihood.from_risk_sets(n_risk, n_event, tie_expansion_limit)

    p = len(coded) - 1
    beta = np.zeros(p)
    loglik0, score0, info0 = evaluate(beta)
    step = np.linalg.solve(info0, score0)
    score_test = float(score0 @ step)
    best = loglik0
    new_beta = beta + step
    halving = 0
    converged = False
    iterations = 0
    for iterations in range(1, COX_MAX_ITER + 1):  # noqa: B007 (the count is reported)
        new_loglik, score, info = evaluate(new_beta)
        finite = math.isfinite(new_loglik) and np.isfinite(score).all() and np.isfinite(info).all()
        if finite and abs(1 - best / new_loglik) <= COX_EPS:
            beta, best, converged = new_beta, new_loglik, True
            break
        if not finite or new_loglik < best:
            halving += 1
            new_beta = (new_beta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            best = new_loglik
            beta = new_beta
            new_beta = new_beta + np.linalg.solve(info, score)
    if not converged:
        best, score, info = evaluate(beta)
    variance = np.linalg.inv(info)
    se = np.sqrt(np.diag(variance))
    z_crit = normal_quantile(conf_level)
    # coxph.fit's check for coefficients drifting to infinity (toler.inf = sqrt(eps)).
    drift = np.abs(score @ variance)
    infinite = ~np.isfinite(score) | (
        (drift > COX_EPS) & (drift > math.sqrt(COX_EPS) * np.abs(beta))
    )
    with np.errstate(over="ignore"):
        hazard_ratio = np.exp(beta)
        lower = np.exp(beta - z_crit * se)
        upper = np.exp(beta + z_crit * se)
    z = beta / se
    ratios = tuple(
        HazardRatio(
            group=coded[i + 1],
            reference=ref,
            coef=float(beta[i]),
            se=float(se[i]),
            hazard_ratio=float(hazard_ratio[i]),
            lower=float(lower[i]),
            upper=float(upper[i]),
            z=float(z[i]),
            p_value=float(2 * special.ndtr(-abs(z[i]))),
            may_be_infinite=bool(infinite[i]) and converged,
        )
        for i in range(p)
    )
    wald = float(beta @ np.linalg.solve(variance, beta))
    lr = 2 * (best - loglik0)
    return CoxModel(
        reference=ref,
        ratios=ratios,
        wald=ChiSquareTest(wald, p, float(special.chdtrc(p, wald))),
        score=ChiSquareTest(score_test, p, float(special.chdtrc(p, score_test))),
        likelihood_ratio=ChiSquareTest(lr, p, float(special.chdtrc(p, lr))),
        loglik=(loglik0, best),
        iterations=iterations,
        converged=converged,
    )
