"""Kaplan–Meier curves, as R's `survfit`: Greenwood variance, pointwise confidence intervals
(conf.type `log`, `log-log`, `plain`), `print.survfit` medians and `summary.survfit(times = )`.

The median and its CI bounds follow `print.survfit`: the first time the curve (or its lower /
upper CI curve) falls to 50 % or below, or the midpoint to the next drop when the curve sits
exactly at 50 %. `None` when the curve never gets there ("not reached").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from bsab_explorer.analyses.survival.tabulation import (
    R_TOLERANCE,
    FloatArray,
    IntArray,
    normal_quantile,
    tabulate,
)
from bsab_explorer.formatting import to_months


class CIMethod(StrEnum):
    """Pointwise confidence interval transformation, as R's `survfit(conf.type = )`."""

    LOG = "log"
    LOG_LOG = "log-log"
    PLAIN = "plain"

    @property
    def label(self) -> str:
        """How the method is named on figures and tables."""
        return {
            "log": "log transformation (R default)",
            "log-log": "log-log transformation",
            "plain": "plain (linear), clipped to 0–100 %",
        }[self.value]


def _optional(value: float) -> float | None:
    """NaN (R's NA/NaN) as None."""
    return None if math.isnan(value) else float(value)


class MonthBounds:
    """A CI in days (`lower_days`, `upper_days`: None when not estimable), also in months."""

    lower_days: float | None
    upper_days: float | None

    @property
    def lower_months(self) -> float | None:
        """Lower CI bound in months."""
        return to_months(self.lower_days)

    @property
    def upper_months(self) -> float | None:
        """Upper CI bound in months."""
        return to_months(self.upper_days)


@dataclass(frozen=True)
class MedianEstimate(MonthBounds):
    """Median survival time and its CI in days; None when not reached / not estimable."""

    days: float | None
    lower_days: float | None
    upper_days: float | None

    @property
    def months(self) -> float | None:
        """The median in months."""
        return to_months(self.days)

    def text(self, digits: int = 1) -> str:
        """'10.2 (6.9–NR)' in months; NR: not reached, NE: lower bound not estimable."""

        def fmt(value: float | None, missing: str) -> str:
            return missing if value is None else f"{value:.{digits}f}"

        return (
            f"{fmt(self.months, 'NR')} "
            f"({fmt(self.lower_months, 'NE')}–{fmt(self.upper_months, 'NR')})"
        )


@dataclass(frozen=True)
class SurvivalAt:
    """The curve at one time, as `summary.survfit(times = )`; None beyond the last follow-up."""

    days: float
    n_risk: int | None
    surv: float | None
    std_err: float | None
    lower: float | None
    upper: float | None

    @property
    def months(self) -> float:
        """The time in months."""
        return to_months(self.days)


@dataclass(frozen=True, eq=False)
class KaplanMeierCurve:
    """One group's Kaplan–Meier estimate: a row per distinct time, as R's `survfit` object.

    `table` columns: time (days), n_risk, n_event, n_censor, surv, std_err (Greenwood, of the
    cumulative hazard as R's `std.err`; inf once the curve reaches 0), lower, upper (null where
    R gives NA/NaN).
    """

    group: str
    n: int
    events: int
    ci_method: CIMethod
    conf_level: float
    table: pl.DataFrame

    def median(self) -> MedianEstimate:
        """Median and CI as `print.survfit` reports them."""
        time = self.table["time"].to_numpy()
        return MedianEstimate(
            days=_median_time(self.table["surv"].to_numpy(), time),
            lower_days=_median_time(self.table["lower"].to_numpy(), time),
            upper_days=_median_time(self.table["upper"].to_numpy(), time),
        )

    def survival_at(self, days: Sequence[float]) -> tuple[SurvivalAt, ...]:
        """The curve at each time in `days` (in that order), as `summary.survfit(times = )`."""
        return _survival_at(self.table, days)

    def at_risk(self, days: Sequence[float]) -> pl.DataFrame:
        """Number at risk (time ≥ t), cumulative events and censored (time ≤ t) at each time."""
        time = self.table["time"].to_numpy()
        n_event = self.table["n_event"].to_numpy()
        n_censor = self.table["n_censor"].to_numpy()
        query = np.asarray(days, dtype=np.float64)
        first_at_or_after = np.searchsorted(time, query, side="left")
        last_at_or_before = np.searchsorted(time, query, side="right")
        n_risk = self.n - _prefix(n_event + n_censor, first_at_or_after)
        return pl.DataFrame(
            {
                "time": query,
                "n_risk": n_risk.astype(np.int64),
                "cum_events": _prefix(n_event, last_at_or_before).astype(np.int64),
                "cum_censored": _prefix(n_censor, last_at_or_before).astype(np.int64),
            }
        )


def _prefix(values: npt.NDArray[Any], stop: IntArray) -> IntArray:
    """Sum of values[:stop] for each stop."""
    cumulative = np.concatenate(([0], np.cumsum(values)))
    return cumulative[stop].astype(np.int64)


CURVE_SCHEMA: dict[str, type[pl.DataType]] = {
    "time": pl.Float64,
    "n_risk": pl.Int64,
    "n_event": pl.Int64,
    "n_censor": pl.Int64,
    "surv": pl.Float64,
    "std_err": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
}


def empty_curve_table() -> pl.DataFrame:
    """A curve table without rows (a group nobody is in)."""
    return pl.DataFrame(schema=CURVE_SCHEMA)


def _confidence_limits(
    surv: FloatArray, std_err: FloatArray, ci: CIMethod, conf_level: float
) -> tuple[FloatArray, FloatArray]:
    """R's survfit_confint (logse = TRUE, usual lower limit); NaN where R gives NA or NaN."""
    z = normal_quantile(conf_level)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if ci is CIMethod.PLAIN:
            half = std_err * surv * z
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if ci is CIMethod.LOG:
            log_surv = np.log(np.where(surv == 0, np.nan, surv))
            half = z * std_err
            return np.exp(log_surv - half), np.minimum(np.exp(log_surv + half), 1.0)
        log_surv = np.log(np.where((surv == 0) | (surv == 1), np.nan, surv))
        half = z * std_err / log_surv
        loglog = np.log(-log_surv)
        return np.exp(-np.exp(loglog - half)), np.exp(-np.exp(loglog + half))


def curve_from_counts(
    times: FloatArray,
    at_time: IntArray,
    n_event: IntArray,
    ci: CIMethod,
    conf_level: float,
    group: str,
) -> KaplanMeierCurve:
    """Kaplan–Meier estimate, Greenwood variance and CI of one group, as R's `survfit`, from
    its distinct times, patients at each and events at each (`Tabulation.curve_counts`)."""
    n = int(at_time.sum())
    if n == 0:
        return KaplanMeierCurve(group, 0, 0, ci, conf_level, empty_curve_table())
    n_risk = n - np.concatenate(([0], np.cumsum(at_time)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod((n_risk - n_event) / n_risk)
        # Greenwood; the term is infinite when everyone at risk dies (R reports std.err = Inf).
        std_err = np.sqrt(np.cumsum(n_event / (n_risk * (n_risk - n_event).astype(np.float64))))
    lower, upper = _confidence_limits(surv, std_err, ci, conf_level)
    table = pl.DataFrame(
        {
            "time": times,
            "n_risk": n_risk,
            "n_event": n_event,
            "n_censor": at_time - n_event,
            "surv": surv,
            "std_err": std_err,
            "lower": lower,
            "upper": upper,
        },
        schema=CURVE_SCHEMA,
    ).with_columns(pl.col("lower", "upper").fill_nan(None))
    return KaplanMeierCurve(group, n, int(n_event.sum()), ci, conf_level, table)


def _median_time(curve: FloatArray, time: FloatArray) -> float | None:
    """First time the curve is ≤ 50 %, midpoint rule at exactly 50 % (R's survmean `minmin`)."""
    keep = ~np.isnan(curve) & (curve < 0.5 + R_TOLERANCE)
    if not keep.any():
        return None
    x = time[keep]
    y = curve[keep]
    if abs(y[0] - 0.5) < R_TOLERANCE:
        below = np.flatnonzero(y < y[0])
        if len(below):
            return float((x[0] + x[below[0]]) / 2)
    return float(x[0])


def _survival_at(table: pl.DataFrame, days: Sequence[float]) -> tuple[SurvivalAt, ...]:
    """R's summary.survfit(times = ) on the curve with its time-0 row (survfit0), extend = FALSE."""
    query = [float(d) for d in days]
    if table.height == 0:
        return tuple(SurvivalAt(d, None, None, None, None, None) for d in query)
    time = table["time"].to_numpy()
    n_risk = table["n_risk"].to_numpy()
    surv = table["surv"].to_numpy()
    std_err = table["std_err"].to_numpy()
    lower = table["lower"].to_numpy()
    upper = table["upper"].to_numpy()
    start = min(0.0, float(time[0]))
    if time[0] != start:
        time = np.concatenate(([start], time))
        n_risk = np.concatenate(([n_risk[0]], n_risk))
        surv = np.concatenate(([1.0], surv))
        std_err = np.concatenate(([0.0], std_err))
        lower = np.concatenate(([1.0], lower))
        upper = np.concatenate(([1.0], upper))
    out: list[SurvivalAt] = []
    for d in query:
        if not math.isfinite(d) or d > time[-1]:
            out.append(SurvivalAt(d, None, None, None, None, None))
            continue
        row = max(int(np.searchsorted(time, d, side="right")) - 1, 0)
        risk_row = int(np.searchsorted(time, d, side="left"))
        with np.errstate(invalid="ignore"):
            se_surv = float(std_err[row] * surv[row])
        out.append(
            SurvivalAt(
                days=d,
                n_risk=int(n_risk[risk_row]) if risk_row < len(time) else 0,
                surv=float(surv[row]),
                std_err=_optional(se_surv),
                lower=_optional(float(lower[row])),
                upper=_optional(float(upper[row])),
            )
        )
    return tuple(out)


def estimate_kaplan_meier(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    *,
    ci: CIMethod | str = CIMethod.LOG,
    conf_level: float = 0.95,
    group: str = "All patients",
    timefix: bool = True,
) -> KaplanMeierCurve:
    """Kaplan–Meier estimate of one sample from raw times and event flags, as R's `survfit`
    (for the analyses that build their own time scale: follow-up, duration of response, RMST)."""
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event, dtype=np.bool_)
    if t.shape != e.shape:
        raise ValueError("time and event must have the same length")
    if not np.isfinite(t).all():
        raise ValueError("time has missing or infinite values; exclude them first")
    counts = tabulate(t, e, np.zeros(len(t), dtype=np.int64), 1, timefix)
    return curve_from_counts(*counts.curve_counts(0), CIMethod(ci), conf_level, group)
