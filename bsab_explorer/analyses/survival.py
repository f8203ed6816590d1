"""Kaplan–Meier curves, medians, landmarks, log-rank and Cox models for PFS and OS.

Every number equals R's `survival` package (3.5): `survfit` (Greenwood variance, conf.type
`log`, `log-log`, `plain`), `print.survfit` medians, `summary.survfit(times = )`, `survdiff` and
`coxph(ties = "efron")`. The R script and the values it printed are in tests/reference/survival/.

Conventions, as in R:
- Times that differ by less than R's tolerance are merged first (`aeqSurv`, R's `timefix`).
- Rows without a time or an event status are excluded and counted; rows whose grouping value is
  not recorded are excluded from the grouped analysis and counted (R's `na.omit`), never shown
  as a group of their own.
- The median and its CI bounds follow `print.survfit`: the first time the curve (or its lower /
  upper CI curve) falls to 50 % or below, or the midpoint to the next drop when the curve sits
  exactly at 50 %. `None` when the curve never gets there ("not reached").
- Groups are ordered as the column's levels: No before Yes, numbers ascending, contract codes in
  contract order (others alphabetically after them). The first level is the Cox reference unless
  another is named.
- The Cox fit repeats R's coxfit6 iterations (same start, step-halving and stopping rule), so it
  reports the same estimate and iteration count. Times with more than TIE_EXPANSION_LIMIT tied
  deaths have their Efron sums taken in closed form (equal to R's term-by-term sums to ~1e-12).

Performance: one counting pass per summary (direct counts for whole days, one sort otherwise);
a million patients in whole days take tens of milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import special

from bsab_explorer.analyses.levels import column_levels
from bsab_explorer.filters import Cohort
from bsab_explorer.schema import DAYS_PER_MONTH, TABLES, column_label

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: A group smaller than this gets a warning next to any p-value.
SMALL_GROUP_SIZE = 10
#: Landmark times (months) reported with every summary.
LANDMARK_MONTHS: tuple[float, ...] = (6.0, 12.0, 24.0)
#: Label of the single curve when no grouping column is chosen.
OVERALL_GROUP = "All patients"
#: Labels of a boolean grouping column's levels.
BOOL_LABELS = {False: "No", True: "Yes"}
#: R's default tolerance (sqrt of machine epsilon) for ties and for "exactly 50 %".
R_TOLERANCE = math.sqrt(np.finfo(np.float64).eps)
#: coxph.control() defaults.
COX_EPS = 1e-9
COX_MAX_ITER = 20


class Endpoint(StrEnum):
    """A time-to-event endpoint of the patients table."""

    PFS = "pfs"
    OS = "os"

    @property
    def time_column(self) -> str:
        """Column holding the time to event or censoring, in days."""
        return f"{self.value}_days"

    @property
    def event_column(self) -> str:
        """Column holding whether the event was observed."""
        return f"{self.value}_event"

    @property
    def label(self) -> str:
        """Readable name of the endpoint."""
        return {"pfs": "Progression-free survival", "os": "Overall survival"}[self.value]


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


def _months(days: float | None) -> float | None:
    return None if days is None else days / DAYS_PER_MONTH


def _optional(value: float) -> float | None:
    """NaN (R's NA/NaN) as None."""
    return None if math.isnan(value) else float(value)


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MedianEstimate:
    """Median survival time and its CI in days; None when not reached / not estimable."""

    days: float | None
    lower_days: float | None
    upper_days: float | None

    @property
    def months(self) -> float | None:
        """The median in months."""
        return _months(self.days)

    @property
    def lower_months(self) -> float | None:
        """Lower CI bound in months."""
        return _months(self.lower_days)

    @property
    def upper_months(self) -> float | None:
        """Upper CI bound in months."""
        return _months(self.upper_days)

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
        return self.days / DAYS_PER_MONTH


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


@dataclass(frozen=True, eq=False)
class GroupSurvival:
    """One group's curve, median and landmark survival."""

    label: str
    curve: KaplanMeierCurve
    median: MedianEstimate
    landmarks: tuple[SurvivalAt, ...]

    @property
    def n(self) -> int:
        """Patients in the group (with a time and a status)."""
        return self.curve.n

    @property
    def events(self) -> int:
        """Observed events in the group."""
        return self.curve.events


@dataclass(frozen=True, eq=False)
class SurvivalSummary:
    """Everything the survival page, CLI, report and audit show for one endpoint and grouping."""

    endpoint: Endpoint
    by: str | None
    ci_method: CIMethod
    conf_level: float
    landmark_months: tuple[float, ...]
    groups: tuple[GroupSurvival, ...]
    logrank: LogRankTest | None
    cox: CoxModel | None
    #: Rows excluded because the endpoint's time or status was not recorded.
    excluded_missing_outcome: int
    #: Rows excluded because the grouping value was not recorded.
    excluded_missing_group: int

    @property
    def by_label(self) -> str:
        """Readable name of the grouping (or 'All patients')."""
        return OVERALL_GROUP if self.by is None else column_label(self.by)

    @property
    def small_groups(self) -> tuple[str, ...]:
        """Groups with fewer than SMALL_GROUP_SIZE patients."""
        return tuple(g.label for g in self.groups if g.n < SMALL_GROUP_SIZE)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Cautions to show next to any p-value or hazard ratio (empty when none apply)."""
        out: list[str] = []
        if self.small_groups and len(self.groups) > 1:
            sizes = ", ".join(
                f"{g.label} (n = {g.n})" for g in self.groups if g.n < SMALL_GROUP_SIZE
            )
            out.append(
                f"Fewer than {SMALL_GROUP_SIZE} patients in {sizes}: "
                "tests and hazard ratios are unreliable."
            )
        if self.cox is not None:
            infinite = [r.group for r in self.cox.ratios if r.may_be_infinite]
            if infinite:
                out.append(
                    f"Hazard ratio for {', '.join(infinite)} may be infinite "
                    "(a group with no events, or all events in one group)."
                )
            if not self.cox.converged:
                out.append("The Cox model did not converge.")
        return tuple(out)

    @property
    def notes(self) -> tuple[str, ...]:
        """What was left out, in words (empty when nothing was)."""
        out: list[str] = []
        if self.excluded_missing_outcome:
            out.append(
                f"{self.excluded_missing_outcome} patient(s) without a recorded "
                f"{self.endpoint.value.upper()} time or status excluded."
            )
        if self.excluded_missing_group:
            out.append(
                f"{self.excluded_missing_group} patient(s) with {self.by_label} not recorded "
                "excluded from the comparison."
            )
        return tuple(out)

    def medians_frame(self) -> pl.DataFrame:
        """group, n, events, median_months, ci_lower_months, ci_upper_months (null: NR/NE)."""
        return pl.DataFrame(
            {
                "group": [g.label for g in self.groups],
                "n": [g.n for g in self.groups],
                "events": [g.events for g in self.groups],
                "median_months": [g.median.months for g in self.groups],
                "ci_lower_months": [g.median.lower_months for g in self.groups],
                "ci_upper_months": [g.median.upper_months for g in self.groups],
            },
            schema={
                "group": pl.String,
                "n": pl.Int64,
                "events": pl.Int64,
                "median_months": pl.Float64,
                "ci_lower_months": pl.Float64,
                "ci_upper_months": pl.Float64,
            },
        )

    def landmarks_frame(self) -> pl.DataFrame:
        """group, months, n_risk, surv, ci_lower, ci_upper per group and landmark."""
        rows = [
            (g.label, lm.months, lm.n_risk, lm.surv, lm.std_err, lm.lower, lm.upper)
            for g in self.groups
            for lm in g.landmarks
        ]
        names = ("group", "months", "n_risk", "surv", "std_err", "ci_lower", "ci_upper")
        types = (pl.String, pl.Float64, pl.Int64, pl.Float64, pl.Float64, pl.Float64, pl.Float64)
        return pl.DataFrame(
            {n: [r[i] for r in rows] for i, n in enumerate(names)},
            schema=dict(zip(names, types, strict=True)),
        )

    def curves_frame(self) -> pl.DataFrame:
        """All curves stacked: group, time (days), time_months and the survfit columns."""
        frames = [
            g.curve.table.with_columns(
                pl.lit(g.label).alias("group"),
                (pl.col("time") / DAYS_PER_MONTH).alias("time_months"),
            )
            for g in self.groups
        ]
        if not frames:
            return (
                _empty_curve_table()
                .with_columns(
                    pl.lit(None, pl.String).alias("group"),
                    pl.lit(None, pl.Float64).alias("time_months"),
                )
                .select("group", "time", "time_months", *_CURVE_SCHEMA.keys() - {"time"})
            )
        stacked = pl.concat(frames)
        return stacked.select(
            "group", "time", "time_months", *[c for c in _CURVE_SCHEMA if c != "time"]
        )

    def logrank_frame(self) -> pl.DataFrame:
        """chi2, df, p_value (one row; no row when there are fewer than two groups)."""
        schema = {"chi2": pl.Float64, "df": pl.Int64, "p_value": pl.Float64}
        if self.logrank is None:
            return pl.DataFrame(schema=schema)
        lr = self.logrank
        return pl.DataFrame(
            {"chi2": [lr.chi2], "df": [lr.df], "p_value": [lr.p_value]}, schema=schema
        )

    def cox_frame(self) -> pl.DataFrame:
        """group, reference, hazard_ratio, ci_lower, ci_upper, p_value (Wald) per group."""
        ratios = self.cox.ratios if self.cox is not None else ()
        return pl.DataFrame(
            {
                "group": [r.group for r in ratios],
                "reference": [r.reference for r in ratios],
                "coef": [r.coef for r in ratios],
                "se": [r.se for r in ratios],
                "hazard_ratio": [r.hazard_ratio for r in ratios],
                "ci_lower": [r.lower for r in ratios],
                "ci_upper": [r.upper for r in ratios],
                "p_value": [r.p_value for r in ratios],
            },
            schema={
                "group": pl.String,
                "reference": pl.String,
                "coef": pl.Float64,
                "se": pl.Float64,
                "hazard_ratio": pl.Float64,
                "ci_lower": pl.Float64,
                "ci_upper": pl.Float64,
                "p_value": pl.Float64,
            },
        )


# --- Kaplan–Meier --------------------------------------------------------------------------------

_CURVE_SCHEMA: dict[str, type[pl.DataType]] = {
    "time": pl.Float64,
    "n_risk": pl.Int64,
    "n_event": pl.Int64,
    "n_censor": pl.Int64,
    "surv": pl.Float64,
    "std_err": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
}


def _empty_curve_table() -> pl.DataFrame:
    return pl.DataFrame(schema=_CURVE_SCHEMA)


def _distinct_counts(sorted_values: FloatArray) -> tuple[FloatArray, IntArray]:
    """Distinct values of a sorted array and how often each occurs (faster than np.unique)."""
    if len(sorted_values) == 0:
        return sorted_values, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    counts = np.diff(np.append(starts, len(sorted_values)))
    return sorted_values[starts], counts.astype(np.int64)


def _normal_quantile(conf_level: float) -> float:
    # statistics.NormalDist uses Wichura's AS241, as R's qnorm: the same last digit.
    return NormalDist().inv_cdf(1 - (1 - conf_level) / 2)


def _confidence_limits(
    surv: FloatArray, std_err: FloatArray, ci: CIMethod, conf_level: float
) -> tuple[FloatArray, FloatArray]:
    """R's survfit_confint (logse = TRUE, usual lower limit); NaN where R gives NA or NaN."""
    z = _normal_quantile(conf_level)
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


def _tied_cuts(distinct: FloatArray) -> IntArray | None:
    """For sorted distinct times, the index of the merged time each maps to (R's aeqSurv).

    None when no two times are closer than R's tolerance (the usual case).
    """
    if len(distinct) < 2:
        return None
    gaps = np.diff(distinct)
    scale = np.mean(np.abs(distinct))
    with np.errstate(divide="ignore", invalid="ignore"):
        tied = (gaps <= R_TOLERANCE) | (gaps / scale <= R_TOLERANCE)
    if not tied.any():
        return None
    return np.concatenate(([0], np.cumsum(~tied)))


def align_tied_times(time: npt.ArrayLike) -> FloatArray:
    """Merge times closer than R's tolerance onto the first of them, as R's `aeqSurv` (timefix)."""
    t = np.asarray(time, dtype=np.float64)
    finite = t[np.isfinite(t)]
    distinct, _ = _distinct_counts(np.sort(finite))
    cut_of = _tied_cuts(distinct)
    if cut_of is None:
        return t
    cuts = distinct[np.concatenate(([True], cut_of[1:] != cut_of[:-1]))]
    return cuts[np.searchsorted(cuts, t, side="right") - 1]


#: Whole-day times up to this bound are tabulated by direct counting instead of sorting.
_DENSE_TIME_LIMIT = 1_000_000


@dataclass(frozen=True)
class _Tabulation:
    """Patients at each distinct time (after R's timefix), per group: everything KM,
    log-rank and Cox need, in O(groups x distinct times) memory."""

    times: FloatArray  # (m,) ascending
    at_time: IntArray  # (groups, m): patients whose time is this time
    events: IntArray  # (groups, m): of whom with the event

    def curve_counts(self, group: int) -> tuple[FloatArray, IntArray, IntArray]:
        """The group's distinct times, patients at each and events at each."""
        present = self.at_time[group] > 0
        return self.times[present], self.at_time[group, present], self.events[group, present]

    @cached_property
    def risk_sets(self) -> tuple[FloatArray, FloatArray]:
        """Number at risk and events per group at each time with at least one event."""
        at_risk = np.cumsum(self.at_time[:, ::-1], axis=1)[:, ::-1]
        with_event = self.events.sum(axis=0) > 0
        return at_risk[:, with_event].astype(np.float64), self.events[:, with_event].astype(
            np.float64
        )


def _tabulate(
    time: FloatArray, event: BoolArray, group: IntArray, n_groups: int, timefix: bool
) -> _Tabulation:
    """Count patients and events per (group, distinct time) without a Python loop."""
    if len(time) == 0:
        empty = np.zeros((n_groups, 0), dtype=np.int64)
        return _Tabulation(np.zeros(0), empty, empty)
    top = float(time.max())
    if time.min() >= 0 and top < _DENSE_TIME_LIMIT and np.array_equal(time, np.floor(time)):
        # Whole days (the usual case): direct counting; integer gaps are never "tied" for R.
        width = int(top) + 1
        key = group * width + time.astype(np.int64)
        at_time = np.bincount(key, minlength=n_groups * width).reshape(n_groups, width)
        events = np.bincount(key[event], minlength=n_groups * width).reshape(n_groups, width)
        used = at_time.sum(axis=0) > 0
        return _Tabulation(
            np.flatnonzero(used).astype(np.float64), at_time[:, used], events[:, used]
        )
    order = np.argsort(time)
    sorted_time = time[order]
    starts = np.concatenate(([True], sorted_time[1:] != sorted_time[:-1]))
    distinct = sorted_time[starts]
    index = np.cumsum(starts) - 1
    cut_of = _tied_cuts(distinct) if timefix else None
    if cut_of is not None:
        index = cut_of[index]
        distinct = distinct[np.concatenate(([True], cut_of[1:] != cut_of[:-1]))]
    m = len(distinct)
    key = group[order] * m + index
    at_time = np.bincount(key, minlength=n_groups * m).reshape(n_groups, m)
    events = np.bincount(key[event[order]], minlength=n_groups * m).reshape(n_groups, m)
    return _Tabulation(distinct, at_time, events)


def _kaplan_meier(
    times: FloatArray,
    at_time: IntArray,
    n_event: IntArray,
    ci: CIMethod,
    conf_level: float,
    group: str,
) -> KaplanMeierCurve:
    n = int(at_time.sum())
    if n == 0:
        return KaplanMeierCurve(group, 0, 0, ci, conf_level, _empty_curve_table())
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
        schema=_CURVE_SCHEMA,
    ).with_columns(pl.col("lower", "upper").fill_nan(None))
    return KaplanMeierCurve(group, n, int(n_event.sum()), ci, conf_level, table)


def estimate_kaplan_meier(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    *,
    ci: CIMethod | str = CIMethod.LOG,
    conf_level: float = 0.95,
    group: str = OVERALL_GROUP,
    timefix: bool = True,
) -> KaplanMeierCurve:
    """Kaplan–Meier estimate, Greenwood variance and CI, as R's `survfit` (no missing values)."""
    t, e, g = _checked_inputs(time, event, np.zeros(np.shape(time), dtype=np.int64), 1)
    counts = _tabulate(t, e, g, 1, timefix)
    return _kaplan_meier(*counts.curve_counts(0), CIMethod(ci), conf_level, group)


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


# --- comparisons ---------------------------------------------------------------------------------


def _checked_inputs(
    time: npt.ArrayLike, event: npt.ArrayLike, group: npt.ArrayLike, n_groups: int
) -> tuple[FloatArray, BoolArray, IntArray]:
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event, dtype=np.bool_)
    g = np.asarray(group, dtype=np.int64)
    if not (t.shape == e.shape == g.shape):
        raise ValueError("time, event and group must have the same length")
    if len(g) and (g.min() < 0 or g.max() >= n_groups):
        raise ValueError("group codes must index labels")
    if not np.isfinite(t).all():
        raise ValueError("time has missing or infinite values; exclude them first")
    return t, e, g


def compute_logrank(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    group: npt.ArrayLike,
    labels: Sequence[str],
    *,
    timefix: bool = True,
) -> LogRankTest | None:
    """Log-rank test over groups coded 0..len(labels)-1, as R's `survdiff`; None if < 2 usable."""
    t, e, g = _checked_inputs(time, event, group, len(labels))
    return _logrank(_tabulate(t, e, g, len(labels), timefix), labels)


def _logrank(counts: _Tabulation, labels: Sequence[str]) -> LogRankTest | None:
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
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    group: npt.ArrayLike,
    labels: Sequence[str],
    *,
    reference: str | None = None,
    conf_level: float = 0.95,
    timefix: bool = True,
) -> CoxModel | None:
    """Cox model on indicators of each group against `reference`, as R's `coxph` (Efron ties).

    Follows coxfit6: Newton–Raphson from 0, step-halving, stop when the relative change of the
    log likelihood is ≤ 1e-9 (at most 20 iterations). None when fewer than two groups have
    patients or there is no event.
    """
    t, e, g = _checked_inputs(time, event, group, len(labels))
    counts = _tabulate(t, e, g, len(labels), timefix)
    return _cox(counts, labels, reference, conf_level)


def _cox(
    counts: _Tabulation,
    labels: Sequence[str],
    reference: str | None,
    conf_level: float,
    tie_expansion_limit: int = TIE_EXPANSION_LIMIT,
) -> CoxModel | None:
    present = [k for k in range(len(labels)) if counts.at_time[k].sum() > 0]
    if not present:
        return None
    ref = labels[present[0]] if reference is None else reference
    if ref not in labels:
        raise ValueError(f"reference group {ref!r} is not one of {list(labels)}")
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
    z_crit = _normal_quantile(conf_level)
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


# --- the one entry point for pages, CLI, report and audit ----------------------------------------


def required_columns(endpoint: Endpoint | str, by: str | None = None) -> tuple[str, ...]:
    """Columns of the patients table a survival summary needs."""
    ep = Endpoint(endpoint)
    return (ep.time_column, ep.event_column, *(() if by is None else (by,)))


def _grouping(patients: pl.DataFrame, by: str) -> tuple[list[Any], list[str], IntArray]:
    """Distinct non-null values of a grouping column in level order, their labels, and each
    row's position among them (missing values: the number of levels)."""
    dtype = patients.schema[by]
    codes = () if dtype == pl.Boolean else TABLES["patients"].codes_of(by)
    ordered, rows = column_levels(patients, by, codes)
    if dtype == pl.Boolean:
        labels = [BOOL_LABELS[bool(v)] for v in ordered]
    elif dtype.is_numeric():
        labels = [f"{v:g}" if isinstance(v, float) else str(v) for v in ordered]
    else:
        labels = [str(v) for v in ordered]
    return ordered, labels, rows


def summarise_survival(
    patients: pl.DataFrame,
    endpoint: Endpoint | str = Endpoint.PFS,
    by: str | None = None,
    ci: CIMethod | str = CIMethod.LOG,
    *,
    reference: str | None = None,
    conf_level: float = 0.95,
    landmark_months: Sequence[float] = LANDMARK_MONTHS,
) -> SurvivalSummary:
    """Curves, medians, landmarks, log-rank and Cox for `endpoint`, overall or by column `by`."""
    ep = Endpoint(endpoint)
    method = CIMethod(ci)
    missing = [c for c in required_columns(ep, by) if c not in patients.columns]
    if missing:
        raise ValueError(f"survival needs column(s) {', '.join(missing)}")
    # Plain arrays and one mask: no frame of the kept rows (nor of a text column) is copied.
    time = patients.get_column(ep.time_column).cast(pl.Float64).to_numpy()
    flags = patients.get_column(ep.event_column).cast(pl.Boolean).cast(pl.Int8)
    event = flags.fill_null(-1).to_numpy()
    kept = ~np.isnan(time) & (event >= 0)
    excluded_outcome = patients.height - int(kept.sum())
    with_outcome = patients.height - excluded_outcome
    if by is None:
        labels = [OVERALL_GROUP]
        codes = np.zeros(with_outcome, dtype=np.int64)
    else:
        levels, labels, all_codes = _grouping(patients, by)
        kept &= all_codes < len(levels)
        codes = all_codes[kept]
    excluded_group = with_outcome - codes.size
    counts = _tabulate(time[kept], event[kept] == 1, codes, len(labels), timefix=True)
    seen = counts.at_time.sum(axis=1) > 0
    if not seen.all():
        # Levels without a patient with an outcome are not groups (as if never seen).
        labels = [label for label, found in zip(labels, seen, strict=True) if found]
        counts = _Tabulation(counts.times, counts.at_time[seen], counts.events[seen])
    landmark_days = [m * DAYS_PER_MONTH for m in landmark_months]
    groups: list[GroupSurvival] = []
    for k, label in enumerate(labels):
        if counts.at_time[k].sum() == 0:
            continue
        curve = _kaplan_meier(*counts.curve_counts(k), method, conf_level, label)
        groups.append(GroupSurvival(label, curve, curve.median(), curve.survival_at(landmark_days)))
    logrank = cox = None
    if len(groups) > 1:
        logrank = _logrank(counts, labels)
        cox = _cox(counts, labels, reference, conf_level)
    return SurvivalSummary(
        endpoint=ep,
        by=by,
        ci_method=method,
        conf_level=conf_level,
        landmark_months=tuple(float(m) for m in landmark_months),
        groups=tuple(groups),
        logrank=logrank,
        cox=cox,
        excluded_missing_outcome=excluded_outcome,
        excluded_missing_group=excluded_group,
    )


def cohort_survival(
    cohort: Cohort,
    endpoint: Endpoint | str = Endpoint.PFS,
    by: str | None = None,
    ci: CIMethod | str = CIMethod.LOG,
) -> SurvivalSummary:
    """`summarise_survival` of a filtered cohort's patients."""
    return summarise_survival(cohort.patients, Endpoint(endpoint), by, CIMethod(ci))
