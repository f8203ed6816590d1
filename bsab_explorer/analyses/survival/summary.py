"""The one entry point for pages, CLI, report and audit: curves, medians, landmarks, log-rank
and Cox for an endpoint, overall or by a column of the patients table.

Rows without a time or an event status are excluded and counted; rows whose grouping value is
not recorded are excluded from the grouped analysis and counted (R's `na.omit`), never shown as
a group of their own. Groups are ordered as the column's levels: No before Yes, numbers
ascending, contract codes in contract order (others alphabetically after them). The first level
is the Cox reference unless another is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from bsab_explorer.analyses.groups import OVERALL, level_labels
from bsab_explorer.analyses.levels import Levels, levels_of
from bsab_explorer.analyses.survival.cox import CoxModel, fit_cox
from bsab_explorer.analyses.survival.kaplan_meier import (
    CURVE_SCHEMA,
    CIMethod,
    KaplanMeierCurve,
    MedianEstimate,
    SurvivalAt,
    curve_from_counts,
    empty_curve_table,
)
from bsab_explorer.analyses.survival.logrank import LogRankTest, compute_logrank
from bsab_explorer.analyses.survival.tabulation import IntArray, Tabulation, tabulate
from bsab_explorer.errors import Unavailable
from bsab_explorer.filters import Cohort
from bsab_explorer.schema import DAYS_PER_MONTH, column_label

#: A group smaller than this gets a warning next to any p-value.
SMALL_GROUP_SIZE = 10

#: Landmark times (months) reported with every summary.
LANDMARK_MONTHS: tuple[float, ...] = (6.0, 12.0, 24.0)

#: Label of the single curve when no grouping column is chosen.
OVERALL_GROUP = OVERALL


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
class GroupComparison:
    """What the log-rank test and the Cox model of two or more groups are computed from."""

    counts: Tabulation
    labels: tuple[str, ...]
    #: The Cox reference group (None: the first group); checked to be one of `labels`.
    reference: str | None
    conf_level: float


@dataclass(frozen=True, eq=False)
class SurvivalSummary:
    """Everything the survival page, CLI, report and audit show for one endpoint and grouping.

    The log-rank test and the Cox model are computed on first access (`logrank`, `cox`): a table
    of medians or curves never shows them, and need not wait for them (nor for SciPy).
    """

    endpoint: Endpoint
    by: str | None
    ci_method: CIMethod
    conf_level: float
    landmark_months: tuple[float, ...]
    groups: tuple[GroupSurvival, ...]
    #: The groups' counts for the test and the model (None: fewer than two groups, or none).
    comparison: GroupComparison | None
    #: Rows excluded because the endpoint's time or status was not recorded.
    excluded_missing_outcome: int
    #: Rows excluded because the grouping value was not recorded.
    excluded_missing_group: int

    @cached_property
    def logrank(self) -> LogRankTest | None:
        """The log-rank test between the groups (None with fewer than two usable groups)."""
        c = self.comparison
        return None if c is None else compute_logrank(c.counts, c.labels)

    @cached_property
    def cox(self) -> CoxModel | None:
        """The Cox model of the groups against the reference (None with fewer than two)."""
        c = self.comparison
        return None if c is None else fit_cox(c.counts, c.labels, c.reference, c.conf_level)

    @property
    def by_label(self) -> str:
        """Readable name of the grouping (or 'All patients')."""
        return OVERALL_GROUP if self.by is None else column_label(self.by)

    @property
    def small_groups(self) -> tuple[str, ...]:
        """Groups with fewer than SMALL_GROUP_SIZE patients."""
        return tuple(g.label for g in self.groups if g.n < SMALL_GROUP_SIZE)

    @property
    def small_group_warnings(self) -> tuple[str, ...]:
        """The caution about groups too small to compare (empty when none is, or one group)."""
        if not (self.small_groups and len(self.groups) > 1):
            return ()
        sizes = ", ".join(f"{g.label} (n = {g.n})" for g in self.groups if g.n < SMALL_GROUP_SIZE)
        return (
            f"Fewer than {SMALL_GROUP_SIZE} patients in {sizes}: "
            "tests and hazard ratios are unreliable.",
        )

    @property
    def warnings(self) -> tuple[str, ...]:
        """Cautions to show next to any p-value or hazard ratio (empty when none apply)."""
        out = list(self.small_group_warnings)
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
                empty_curve_table()
                .with_columns(
                    pl.lit(None, pl.String).alias("group"),
                    pl.lit(None, pl.Float64).alias("time_months"),
                )
                .select("group", "time", "time_months", *CURVE_SCHEMA.keys() - {"time"})
            )
        stacked = pl.concat(frames)
        return stacked.select(
            "group", "time", "time_months", *[c for c in CURVE_SCHEMA if c != "time"]
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


def required_columns(endpoint: Endpoint | str, by: str | None = None) -> tuple[str, ...]:
    """Columns of the patients table a survival summary needs."""
    ep = Endpoint(endpoint)
    return (ep.time_column, ep.event_column, *(() if by is None else (by,)))


def _grouping(
    patients: pl.DataFrame, by: str, levels: Levels | None
) -> tuple[list[Any], list[str], IntArray]:
    """Distinct non-null values of a grouping column in level order, their labels, and each
    row's position among them (missing values: the number of levels)."""
    dtype = patients.schema[by]
    found = levels_of(patients, by, levels)
    ordered, rows = list(found.values), found.rows
    return ordered, level_labels(dtype, ordered), rows


def summarise_survival(
    patients: pl.DataFrame,
    endpoint: Endpoint | str = Endpoint.PFS,
    by: str | None = None,
    ci: CIMethod | str = CIMethod.LOG,
    *,
    reference: str | None = None,
    conf_level: float = 0.95,
    landmark_months: Sequence[float] = LANDMARK_MONTHS,
    levels: Levels | None = None,
) -> SurvivalSummary:
    """Curves, medians, landmarks, log-rank and Cox for `endpoint`, overall or by column `by`
    (`levels`, when given, are `patient_levels(patients, by)`, computed once for several
    analyses)."""
    ep = Endpoint(endpoint)
    method = CIMethod(ci)
    missing = [c for c in required_columns(ep, by) if c not in patients.columns]
    if missing:
        raise Unavailable(f"survival needs column(s) {', '.join(missing)}")
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
        ordered, labels, all_codes = _grouping(patients, by, levels)
        kept &= all_codes < len(ordered)
        codes = all_codes[kept]
    excluded_group = with_outcome - codes.size
    counts = tabulate(time[kept], event[kept] == 1, codes, len(labels), timefix=True)
    seen = counts.at_time.sum(axis=1) > 0
    if not seen.all():
        # Levels without a patient with an outcome are not groups (as if never seen).
        labels = [label for label, found in zip(labels, seen, strict=True) if found]
        counts = Tabulation(counts.times, counts.at_time[seen], counts.events[seen])
    landmark_days = [m * DAYS_PER_MONTH for m in landmark_months]
    groups: list[GroupSurvival] = []
    for k, label in enumerate(labels):
        if counts.at_time[k].sum() == 0:
            continue
        curve = curve_from_counts(*counts.curve_counts(k), method, conf_level, label)
        groups.append(GroupSurvival(label, curve, curve.median(), curve.survival_at(landmark_days)))
    comparison = None
    if len(groups) > 1:
        if reference is not None and reference not in labels:
            # Refused here, as when the model was fitted with the summary, not on first use.
            raise Unavailable(f"reference group {reference!r} is not one of {list(labels)}")
        comparison = GroupComparison(counts, tuple(labels), reference, conf_level)
    return SurvivalSummary(
        endpoint=ep,
        by=by,
        ci_method=method,
        conf_level=conf_level,
        landmark_months=tuple(float(m) for m in landmark_months),
        groups=tuple(groups),
        comparison=comparison,
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
