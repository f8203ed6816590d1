"""Median follow-up by the reverse Kaplan–Meier method (Schemper & Smith).

Reviewers read a median survival only next to how long patients were followed: the reverse
Kaplan–Meier estimate treats censoring as the event and deaths as censored, so patients who died
early do not shorten the follow-up. It is R's `survfit(Surv(time, 1 - status) ~ 1)` read by
`print.survfit`, computed with this project's own Kaplan–Meier estimator
(`bsab_explorer.analyses.survival.estimate_kaplan_meier`, equal to R's `survfit` to 1e-12):
lifelines would give log-log intervals and another median convention only.

>>> fu = estimate_follow_up([5, 10, 15, 20], [False, True, False, False])
>>> fu.median_days, fu.censored
(15.0, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bsab_explorer.analyses.survival import CIMethod, estimate_kaplan_meier
from bsab_explorer.analyses.survival.kaplan_meier import MonthBounds
from bsab_explorer.formatting import to_months


@dataclass(frozen=True)
class FollowUp(MonthBounds):
    """Median follow-up (days) and its CI; None where the reverse curve does not reach 50 %."""

    n: int
    #: Patients still followed (censored) at their last contact: the reverse curve's events.
    censored: int
    median_days: float | None
    lower_days: float | None
    upper_days: float | None
    ci_method: CIMethod
    conf_level: float

    @property
    def median_months(self) -> float | None:
        """The median follow-up in months."""
        return to_months(self.median_days)


def estimate_follow_up(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    *,
    ci: CIMethod | str = CIMethod.LOG,
    conf_level: float = 0.95,
) -> FollowUp:
    """Median follow-up by reverse Kaplan–Meier with its CI, as R's `survfit(Surv(t, 1 - s) ~ 1)`.

    `time` and `event` are the survival endpoint's (usually OS); rows must have both.
    """
    followed = ~np.asarray(event, dtype=np.bool_)
    curve = estimate_kaplan_meier(time, followed, ci=ci, conf_level=conf_level)
    median = curve.median()
    return FollowUp(
        n=curve.n,
        censored=curve.events,
        median_days=median.days,
        lower_days=median.lower_days,
        upper_days=median.upper_days,
        ci_method=CIMethod(ci),
        conf_level=conf_level,
    )
