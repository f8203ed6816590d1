"""Restricted mean survival time (RMST) up to a horizon τ, per group and between two groups.

The area under each group's Kaplan–Meier curve from 0 to τ and its standard error are R's
`print(survfit(...), rmean = τ)` (`survmean`): the curve's rectangles up to τ, and the variance
Σ A(tᵢ)² dᵢ / (nᵢ (nᵢ − dᵢ)) over event times before τ, A(tᵢ) being the area from tᵢ to τ
(times where everyone at risk dies add nothing, as in R). The CI is the Wald interval
RMST ± z·se. The difference of two groups uses independent variances, as survRM2's
`rmst2` does: (RMST₁ − RMST₂) ± z·√(se₁² + se₂²), with its two-sided p.

Own code on this project's Kaplan–Meier tables (equal to R's `survfit`): lifelines'
`restricted_mean_survival_time` gives no standard error.

>>> means = estimate_rmst([2, 4, 6, 8], [True, True, False, True], [0, 0, 0, 0], ["all"], 5.0)
>>> means.of("all").days  # 2 days at 100 %, 2 at 75 %, 1 at 50 %
4.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bsab_explorer.analyses.landmarks import normal_quantile, two_sided_p
from bsab_explorer.analyses.survival import KaplanMeierCurve, estimate_kaplan_meier
from bsab_explorer.analyses.survival.tabulation import survival_arrays
from bsab_explorer.formatting import to_months


@dataclass(frozen=True)
class RestrictedMean:
    """One group's RMST up to `tau` (days), its standard error and Wald CI."""

    group: str
    n: int
    events: int
    tau: float
    days: float
    std_err: float
    lower: float
    upper: float

    @property
    def months(self) -> float:
        """The RMST in months."""
        return to_months(self.days)


@dataclass(frozen=True)
class RestrictedMeanDifference:
    """RMST(first) − RMST(second) in days with its Wald CI and p (None when se is 0)."""

    first: str
    second: str
    difference: float
    std_err: float
    lower: float
    upper: float
    z: float | None
    p_value: float | None


@dataclass(frozen=True)
class RestrictedMeans:
    """RMST of every group up to one horizon, and the difference between two groups."""

    tau: float
    conf_level: float
    means: tuple[RestrictedMean, ...]
    difference: RestrictedMeanDifference | None

    def of(self, group: str) -> RestrictedMean:
        """One group's RMST."""
        for mean in self.means:
            if mean.group == group:
                return mean
        raise ValueError(f"no group {group!r}; groups are {[m.group for m in self.means]}")


def _restricted_mean(curve: KaplanMeierCurve, tau: float) -> tuple[float, float]:
    """R's survmean: area under the curve up to tau and its variance."""
    time = curve.table["time"].to_numpy()
    surv = curve.table["surv"].to_numpy()
    n_risk = curve.table["n_risk"].to_numpy().astype(np.float64)
    n_event = curve.table["n_event"].to_numpy().astype(np.float64)
    start = min(0.0, float(time[0])) if len(time) else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard_term = np.where(n_risk == n_event, 0.0, n_event / (n_risk * (n_risk - n_event)))
    keep = time <= tau
    if not keep.any():
        step_time = np.array([tau])
        step_surv = np.array([1.0])
        terms = np.array([0.0])
    else:
        step_time = np.append(time[keep], tau)
        step_surv = np.append(surv[keep], surv[keep][-1])
        terms = np.append(hazard_term[keep], 0.0)
    widths = np.diff(np.concatenate(([start], step_time)))
    rectangles = widths * np.concatenate(([1.0], step_surv[:-1]))
    area_after = np.cumsum(rectangles[1:][::-1])
    variance = float(np.sum(area_after**2 * terms[::-1][1:]))
    return float(rectangles.sum() + start), variance


def estimate_rmst(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    group: npt.ArrayLike,
    labels: Sequence[str],
    tau: float,
    *,
    compare: tuple[str, str] | None = None,
    conf_level: float = 0.95,
) -> RestrictedMeans:
    """RMST up to `tau` per group (codes index `labels`), as R's `print(fit, rmean = tau)`."""
    t, e, g = survival_arrays(time, event, group)
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a positive number of days, not {tau}")
    if len(t) and tau < t.min():
        # R: "Truncation point for the mean time in state is < smallest survival".
        raise ValueError(f"tau ({tau:g}) is before the first time ({t.min():g})")
    z_crit = normal_quantile(conf_level)
    means: list[RestrictedMean] = []
    for code, label in enumerate(labels):
        rows = g == code
        if not rows.any():
            continue
        curve = estimate_kaplan_meier(t[rows], e[rows], group=label)
        days, variance = _restricted_mean(curve, tau)
        se = math.sqrt(variance)
        means.append(
            RestrictedMean(
                label, curve.n, curve.events, tau, days, se, days - z_crit * se, days + z_crit * se
            )
        )
    difference = None
    if compare is not None:
        by_label = {m.group: m for m in means}
        for name in compare:
            if name not in by_label:
                raise ValueError(f"no group {name!r} with patients; groups are {list(by_label)}")
        a, b = by_label[compare[0]], by_label[compare[1]]
        diff = a.days - b.days
        se = math.hypot(a.std_err, b.std_err)
        z = diff / se if se > 0 else None
        difference = RestrictedMeanDifference(
            first=a.group,
            second=b.group,
            difference=diff,
            std_err=se,
            lower=diff - z_crit * se,
            upper=diff + z_crit * se,
            z=z,
            p_value=None if z is None else two_sided_p(z),
        )
    return RestrictedMeans(tau, conf_level, tuple(means), difference)
