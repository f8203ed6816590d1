"""Time to first and to best response among responders, from the assessment days.

Papers report both as a median and range among responders (MajesTEC-1: "median time to first
response 1.2 months (range 0.2–5.5)"), not as a Kaplan–Meier estimate; so does this module.

Definitions
- Responders: best response to the bispecific (`response.best_responses`: the recorded
  `best_response`, else the best assessment on a cycle) of PR or better.
- Days are `responses.day`: days from the first full dose, the origin of `pfs_days`. The
  post-debulking assessment precedes the bispecific and is never a response to it.
- First response: the earliest assessment at PR or better. It is known only when every such
  assessment of the patient has a day (otherwise an undated one might have come first); a
  responder without it is counted, not guessed.
- Best response: the earliest assessment at the patient's best category, known under the same
  rule; unknown too when no assessment shows the recorded best response.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from bsab_explorer.analyses.availability import unrecorded
from bsab_explorer.analyses.groups import GROUP, PATIENT, group_patients
from bsab_explorer.analyses.response import POST_DEBULKING, best_responses
from bsab_explorer.errors import Unavailable
from bsab_explorer.formatting import to_months
from bsab_explorer.schema import ORR_CODES

#: Columns of the responses table the timing of responses needs.
REQUIRED_RESPONSE_COLUMNS = ("response", "day")

FIRST_DAY = "first_response_day"
BEST = "best_response"
BEST_DAY = "best_response_day"


def require_response_days(responses: pl.DataFrame, view: str) -> None:
    """Raise `Unavailable` naming the responses columns `view` needs and the data lack."""
    missing = unrecorded(responses, REQUIRED_RESPONSE_COLUMNS)
    if missing:
        names = ", ".join(f"responses.{c}" for c in missing)
        raise Unavailable(
            f"{view} needs {names} (days of the response assessments), which the data do not "
            "record."
        )


def _earliest_day_where(condition: pl.Expr) -> pl.Expr:
    """The earliest day among rows meeting `condition`; null when any such row has no day."""
    days = pl.col("day").filter(condition)
    return pl.when(days.null_count() == 0).then(days.min())


def responder_days(patients: pl.DataFrame, responses: pl.DataFrame) -> pl.DataFrame:
    """One row per responder: patient_id, best_response, first_response_day, best_response_day
    (null where the rules of the module docstring leave it unknown)."""
    require_response_days(responses, "Time to response")
    best = best_responses(patients, responses).rename({"response": BEST})
    responders = best.filter(pl.col(BEST).is_in(ORR_CODES))
    on_bispecific = responses.filter(
        pl.col("timepoint").is_null() | (pl.col("timepoint") != POST_DEBULKING)
    ).select(PATIENT, "response", "day")
    days = (
        on_bispecific.join(responders, on=PATIENT, how="inner")
        .group_by(PATIENT)
        .agg(
            _earliest_day_where(pl.col("response").is_in(ORR_CODES)).alias(FIRST_DAY),
            _earliest_day_where(pl.col("response") == pl.col(BEST)).alias(BEST_DAY),
        )
    )
    return (
        responders.join(days, on=PATIENT, how="left")
        .select(
            PATIENT,
            BEST,
            pl.col(FIRST_DAY).cast(pl.Float64),
            pl.col(BEST_DAY).cast(pl.Float64),
        )
        .sort(PATIENT)
    )


@dataclass(frozen=True)
class DaysSummary:
    """Median and range of a time in days among `n` responders (None when n is 0)."""

    n: int
    median_days: float | None
    min_days: float | None
    max_days: float | None

    @property
    def median_months(self) -> float | None:
        """The median in months."""
        return to_months(self.median_days)

    def text(self, digits: int = 1) -> str:
        """'1.2 (0.7–5.5)' in months, or 'NE' without a responder with a known day."""
        if self.median_days is None or self.min_days is None or self.max_days is None:
            return "NE"
        values = (self.median_days, self.min_days, self.max_days)
        median, low, high = (f"{to_months(v):.{digits}f}" for v in values)
        return f"{median} ({low}–{high})"


def summarise_days(values: pl.Series) -> DaysSummary:
    """Median and range of the recorded values of `values` (days)."""
    known = values.drop_nulls().cast(pl.Float64).to_numpy()
    if known.size == 0:
        return DaysSummary(0, None, None, None)
    return DaysSummary(
        int(known.size), float(np.median(known)), float(known.min()), float(known.max())
    )


@dataclass(frozen=True)
class GroupResponseTime:
    """Time to first and to best response in one group."""

    group: str
    responders: int
    first: DaysSummary
    best: DaysSummary


@dataclass(frozen=True)
class TimeToResponse:
    """Time to first and to best response, per group, with what was left out and why."""

    by: str | None
    groups: tuple[GroupResponseTime, ...]
    #: Responders whose first (best) response day is unknown (see the module docstring).
    unknown_first_day: int
    unknown_best_day: int
    #: Patients left out because their grouping value is not recorded.
    excluded_missing_group: int


def summarise_time_to_response(
    patients: pl.DataFrame, responses: pl.DataFrame, by: str | None = None
) -> TimeToResponse:
    """Median and range of the time to first and to best response among responders."""
    days = responder_days(patients, responses)
    groups = group_patients(patients, by)
    grouped = days.join(groups.members, on=PATIENT, how="inner")
    out = []
    for label in groups.labels:
        rows = grouped.filter(pl.col(GROUP) == label)
        out.append(
            GroupResponseTime(
                label,
                rows.height,
                summarise_days(rows.get_column(FIRST_DAY)),
                summarise_days(rows.get_column(BEST_DAY)),
            )
        )
    return TimeToResponse(
        by=by,
        groups=tuple(out),
        unknown_first_day=grouped.get_column(FIRST_DAY).null_count(),
        unknown_best_day=grouped.get_column(BEST_DAY).null_count(),
        excluded_missing_group=groups.missing,
    )
