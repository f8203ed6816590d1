"""Duration of response: Kaplan–Meier among responders, from the first response to progression
or death.

The estimate is the project's Kaplan–Meier (`survival.estimate_kaplan_meier`, equal to R's
`survfit`), so the curve, the median and its CI follow R's conventions (Greenwood variance,
`log` CIs by default, `print.survfit` medians). tests/analyses/reference/endpoints.R
holds the R code, endpoints.txt the values it printed.

Definitions
- Responders and their first response day: `time_to_response.responder_days` (best response
  PR or better; days since the first full dose, the origin of `pfs_days`).
- Duration: `pfs_days` − first response day; the event is `pfs_event` (progression or death),
  otherwise the responder is censored at `pfs_days`.
- Ties: progression or death recorded on the day of the first response gives a duration of 0
  days with an event. It stays in the analysis (R's `survfit` accepts a time of 0: the curve
  drops at 0), so a response that did not last is never dropped; `same_day_events` counts them.
- Left out, and counted: responders whose first response day is unknown, whose PFS time or
  status is not recorded, whose first response comes after their PFS time (contradictory
  data), and (when grouped) whose grouping value is not recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bsab_explorer.analyses.availability import unrecorded
from bsab_explorer.analyses.groups import GROUP, PATIENT, group_patients
from bsab_explorer.analyses.survival import (
    CIMethod,
    KaplanMeierCurve,
    MedianEstimate,
    estimate_kaplan_meier,
)
from bsab_explorer.analyses.time_to_response import FIRST_DAY, require_response_days, responder_days
from bsab_explorer.errors import Unavailable

#: Columns of the patients table the duration of response needs.
REQUIRED_PATIENT_COLUMNS = ("pfs_days", "pfs_event")

DURATION = "dor_days"
EVENT = "dor_event"
VIEW = "Duration of response"


def responder_durations(patients: pl.DataFrame, responses: pl.DataFrame) -> pl.DataFrame:
    """One row per responder: patient_id, first_response_day, dor_days, dor_event (null when
    not computable, see the module docstring)."""
    missing = unrecorded(patients, REQUIRED_PATIENT_COLUMNS)
    if missing:
        names = ", ".join(f"patients.{c}" for c in missing)
        raise Unavailable(f"{VIEW} needs {names}, which the data do not record.")
    require_response_days(responses, VIEW)
    days = responder_days(patients, responses)
    outcome = patients.select(PATIENT, "pfs_days", "pfs_event")
    duration = pl.col("pfs_days") - pl.col(FIRST_DAY)
    usable = duration.is_not_null() & pl.col("pfs_event").is_not_null() & (duration >= 0)
    return (
        days.join(outcome, on=PATIENT, how="left")
        .select(
            PATIENT,
            FIRST_DAY,
            pl.when(usable).then(duration).alias(DURATION),
            pl.when(usable).then(pl.col("pfs_event")).alias(EVENT),
            (duration < 0).fill_null(False).alias("response_after_end"),
        )
        .sort(PATIENT)
    )


@dataclass(frozen=True)
class GroupDuration:
    """One group's duration-of-response curve and its median."""

    group: str
    curve: KaplanMeierCurve
    median: MedianEstimate


@dataclass(frozen=True)
class DurationOfResponse:
    """Duration of response per group, with every responder left out counted by reason."""

    by: str | None
    ci_method: CIMethod
    conf_level: float
    groups: tuple[GroupDuration, ...]
    #: Responders (best response PR or better) before any exclusion.
    responders: int
    excluded_unknown_first_day: int
    excluded_missing_outcome: int
    #: First response after progression or censoring: the data contradict each other.
    excluded_response_after_end: int
    excluded_missing_group: int
    #: Durations of 0 days with an event (progression on the day of the first response).
    same_day_events: int


def estimate_duration_of_response(
    patients: pl.DataFrame,
    responses: pl.DataFrame,
    by: str | None = None,
    ci: CIMethod | str = CIMethod.LOG,
    *,
    conf_level: float = 0.95,
) -> DurationOfResponse:
    """Kaplan–Meier duration of response among responders, overall or by column `by`."""
    method = CIMethod(ci)
    durations = responder_durations(patients, responses)
    unknown_first = durations.get_column(FIRST_DAY).null_count()
    contradictory = int(durations.get_column("response_after_end").sum())
    usable = durations.filter(pl.col(DURATION).is_not_null())
    missing_outcome = durations.height - unknown_first - contradictory - usable.height
    groups = group_patients(patients, by)
    grouped = usable.join(groups.members, on=PATIENT, how="inner")
    out: list[GroupDuration] = []
    for label in groups.labels:
        rows = grouped.filter(pl.col(GROUP) == label)
        if rows.height == 0:
            continue
        curve = estimate_kaplan_meier(
            rows.get_column(DURATION).to_numpy(),
            rows.get_column(EVENT).to_numpy(),
            ci=method,
            conf_level=conf_level,
            group=label,
        )
        out.append(GroupDuration(label, curve, curve.median()))
    same_day = grouped.filter((pl.col(DURATION) == 0) & pl.col(EVENT)).height
    return DurationOfResponse(
        by=by,
        ci_method=method,
        conf_level=conf_level,
        groups=tuple(out),
        responders=durations.height,
        excluded_unknown_first_day=unknown_first,
        excluded_missing_outcome=missing_outcome,
        excluded_response_after_end=contradictory,
        excluded_missing_group=usable.height - grouped.height,
        same_day_events=same_day,
    )
