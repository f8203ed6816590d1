"""Survival at chosen times (milestones) per group, and the difference between two groups.

Each group's survival, its standard error (Greenwood) and pointwise CI are R's
`summary(survfit(...), times = )`, taken from this project's Kaplan–Meier estimator (see
`bsab_explorer.analyses.survival`). The difference of two groups at a time is the usual Wald
comparison of independent Kaplan–Meier estimates, S₁(t) − S₂(t) ± z·√(se₁² + se₂²), with its
two-sided p; R has no function for it, so the R reference computes it from `summary`'s values.
No difference is given at a time beyond either group's last follow-up or where a curve has
fallen to 0 (R's standard error is NaN there); where both curves are still at 1 the difference
is 0 with no p.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy.typing as npt

from bsab_explorer.analyses.survival import CIMethod, SurvivalAt, estimate_kaplan_meier
from bsab_explorer.analyses.survival.tabulation import survival_arrays


@dataclass(frozen=True)
class SurvivalDifference:
    """S(first) − S(second) at one time with its Wald CI and p (None when not estimable)."""

    days: float
    first: str
    second: str
    difference: float | None
    std_err: float | None
    lower: float | None
    upper: float | None
    z: float | None
    p_value: float | None


@dataclass(frozen=True)
class Landmarks:
    """Survival of every group at every time, and the differences between two groups."""

    groups: tuple[str, ...]
    times: tuple[float, ...]
    ci_method: CIMethod
    conf_level: float
    #: estimates[i][j]: group i at times[j].
    estimates: tuple[tuple[SurvivalAt, ...], ...]
    differences: tuple[SurvivalDifference, ...]

    def of(self, group: str) -> tuple[SurvivalAt, ...]:
        """One group's survival at each time."""
        if group not in self.groups:
            raise ValueError(f"no group {group!r}; groups are {list(self.groups)}")
        return self.estimates[self.groups.index(group)]


def normal_quantile(conf_level: float) -> float:
    """The two-sided standard normal quantile of a confidence level (R's `qnorm`)."""
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1, not {conf_level}")
    return NormalDist().inv_cdf(1 - (1 - conf_level) / 2)


def two_sided_p(z: float) -> float:
    """Two-sided normal p-value of a z statistic."""
    return math.erfc(abs(z) / math.sqrt(2))


def _difference(
    days: float, first: str, second: str, a: SurvivalAt, b: SurvivalAt, z_crit: float
) -> SurvivalDifference:
    if a.surv is None or b.surv is None or a.std_err is None or b.std_err is None:
        return SurvivalDifference(days, first, second, None, None, None, None, None, None)
    difference = a.surv - b.surv
    se = math.hypot(a.std_err, b.std_err)
    if se == 0:
        return SurvivalDifference(days, first, second, difference, 0.0, None, None, None, None)
    z = difference / se
    return SurvivalDifference(
        days=days,
        first=first,
        second=second,
        difference=difference,
        std_err=se,
        lower=difference - z_crit * se,
        upper=difference + z_crit * se,
        z=z,
        p_value=two_sided_p(z),
    )


def estimate_landmarks(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    group: npt.ArrayLike,
    labels: Sequence[str],
    times: Sequence[float],
    *,
    compare: tuple[str, str] | None = None,
    ci: CIMethod | str = CIMethod.LOG,
    conf_level: float = 0.95,
) -> Landmarks:
    """Survival per group (codes index `labels`) at `times`; `compare`: S(first) − S(second)."""
    t, e, g = survival_arrays(time, event, group)
    z_crit = normal_quantile(conf_level)
    query = [float(x) for x in times]
    estimates = tuple(
        estimate_kaplan_meier(t[g == k], e[g == k], ci=ci, conf_level=conf_level).survival_at(query)
        for k in range(len(labels))
    )
    differences: tuple[SurvivalDifference, ...] = ()
    if compare is not None:
        first, second = compare
        for name in compare:
            if name not in labels:
                raise ValueError(f"no group {name!r}; groups are {list(labels)}")
        a, b = estimates[list(labels).index(first)], estimates[list(labels).index(second)]
        differences = tuple(
            _difference(d, first, second, x, y, z_crit) for d, x, y in zip(query, a, b, strict=True)
        )
    return Landmarks(
        groups=tuple(labels),
        times=tuple(query),
        ci_method=CIMethod(ci),
        conf_level=conf_level,
        estimates=estimates,
        differences=differences,
    )
