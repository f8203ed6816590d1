"""The response and safety endpoints as the tables files and pages hold them.

The analyses (`duration_of_response`, `time_to_response`, `mrd`, `adverse_events`,
`crs_course`) return values; the CLI, the downloads, the report and the pages need rows. Each
function here turns one result into one frame whose column names carry their unit (``_months``,
``_days``, ``_hours``, ``_pct``), and says in `*_notes` what was left out, so a file and a page
read the same numbers. Times of the response endpoints are in months (days / 30.4375) as the
papers report them; the CRS course stays in days and hours, its natural scale.
"""

from __future__ import annotations

import polars as pl

from bsab_explorer.analyses.adverse_events import GRADES, AdverseEventTable
from bsab_explorer.analyses.counts import format_count, format_number, format_percent
from bsab_explorer.analyses.crs_course import CRSCourse
from bsab_explorer.analyses.duration_of_response import DurationOfResponse
from bsab_explorer.analyses.mrd import MRDSummary, Proportion, SustainedMRD
from bsab_explorer.analyses.survival import Endpoint, SurvivalSummary
from bsab_explorer.analyses.survival.summary import LANDMARK_MONTHS, GroupSurvival
from bsab_explorer.analyses.time_to_response import DaysSummary, TimeToResponse
from bsab_explorer.formatting import to_months
from bsab_explorer.schema import DAYS_PER_MONTH

#: Denominators of the MRD rates, as the table names them.
ALL_TREATED = "all treated"
CR_OR_BETTER = "CR or better"


def _pct(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


def _ungrouped(excluded: int) -> list[str]:
    """The note on patients left out because their grouping value is not recorded (none: [])."""
    if not excluded:
        return []
    return [f"{excluded} patient(s) whose grouping value is not recorded excluded."]


# --- duration of response -----------------------------------------------------------------------


def duration_summary(result: DurationOfResponse) -> SurvivalSummary:
    """The duration of response as a survival summary, so the Kaplan–Meier chart and the
    median and curve tables of the survival views draw it unchanged (no test between groups)."""
    landmark_days = [m * DAYS_PER_MONTH for m in LANDMARK_MONTHS]
    groups = tuple(
        GroupSurvival(g.group, g.curve, g.median, g.curve.survival_at(landmark_days))
        for g in result.groups
    )
    # The endpoint only names the curve's time columns; every exclusion is counted by
    # `duration_notes`, not by the survival summary's own notes.
    return SurvivalSummary(
        endpoint=Endpoint.PFS,
        by=result.by,
        ci_method=result.ci_method,
        conf_level=result.conf_level,
        landmark_months=LANDMARK_MONTHS,
        groups=groups,
        comparison=None,
        excluded_missing_outcome=0,
        excluded_missing_group=0,
    )


def duration_frame(result: DurationOfResponse) -> pl.DataFrame:
    """group, responders, events, median_months, ci_lower_months, ci_upper_months (null: NR/NE)."""
    return duration_summary(result).medians_frame().rename({"n": "responders"})


def duration_notes(result: DurationOfResponse) -> tuple[str, ...]:
    """What the duration of response left out, and how it treats same-day progression."""
    out = [
        f"{result.responders} responder(s) (best response PR or better); duration from the first "
        "response to progression or death, censored at the last PFS follow-up. "
        f"{int(result.conf_level * 100)} % CI of the median: {result.ci_method.label}."
    ]
    reasons = (
        (result.excluded_unknown_first_day, "without a known first response day"),
        (result.excluded_missing_outcome, "without a recorded PFS time or status"),
        (result.excluded_response_after_end, "whose first response comes after their PFS time"),
        (result.excluded_missing_group, "whose grouping value is not recorded"),
    )
    out.extend(f"{n} responder(s) {why} excluded." for n, why in reasons if n)
    if result.same_day_events:
        out.append(
            f"{result.same_day_events} responder(s) progressed on the day of their first "
            "response: a duration of 0 days with an event, kept in the curve."
        )
    return tuple(out)


# --- time to response ---------------------------------------------------------------------------


def _days_columns(prefix: str, summary: DaysSummary) -> dict[str, float | int | None]:
    return {
        f"{prefix}_n": summary.n,
        f"{prefix}_median_months": to_months(summary.median_days),
        f"{prefix}_min_months": to_months(summary.min_days),
        f"{prefix}_max_months": to_months(summary.max_days),
    }


_TTR_SCHEMA: dict[str, type[pl.DataType]] = {
    "group": pl.String,
    "responders": pl.Int64,
    **{
        f"{p}_{s}": pl.Int64 if s == "n" else pl.Float64
        for p in ("first_response", "best_response")
        for s in ("n", "median_months", "min_months", "max_months")
    },
}


def time_to_response_frame(result: TimeToResponse) -> pl.DataFrame:
    """Per group: responders, and median, min and max months to first and to best response."""
    rows = [
        {
            "group": g.group,
            "responders": g.responders,
            **_days_columns("first_response", g.first),
            **_days_columns("best_response", g.best),
        }
        for g in result.groups
    ]
    return pl.DataFrame(rows, schema=_TTR_SCHEMA)


def time_to_response_notes(result: TimeToResponse) -> tuple[str, ...]:
    """What the time to response left out."""
    out = ["Median and range among responders (PR or better), months since the first full dose."]
    if result.unknown_first_day:
        out.append(f"{result.unknown_first_day} responder(s) without a known first response day.")
    if result.unknown_best_day:
        out.append(f"{result.unknown_best_day} responder(s) without a known best response day.")
    out.extend(_ungrouped(result.excluded_missing_group))
    return tuple(out)


# --- MRD ----------------------------------------------------------------------------------------

_RATE_SCHEMA: dict[str, type[pl.DataType]] = {
    "group": pl.String,
    "measure": pl.String,
    "sensitivity": pl.Float64,
    "denominator": pl.String,
    "n": pl.Int64,
    "total": pl.Int64,
    "rate_pct": pl.Float64,
    "ci_lower_pct": pl.Float64,
    "ci_upper_pct": pl.Float64,
}


def _rate_row(
    group: str, measure: str, sensitivity: float, denominator: str, p: Proportion
) -> dict[str, object]:
    return {
        "group": group,
        "measure": measure,
        "sensitivity": sensitivity,
        "denominator": denominator,
        "n": p.n,
        "total": p.total,
        "rate_pct": _pct(p.rate),
        "ci_lower_pct": _pct(p.lower),
        "ci_upper_pct": _pct(p.upper),
    }


def mrd_frame(rates: MRDSummary, sustained: SustainedMRD | None) -> pl.DataFrame:
    """MRD negativity per group and sensitivity among all treated and among ≥CR, then sustained
    negativity among all treated: n, total, rate and Clopper–Pearson 95 % CI in percent."""
    rows = []
    for r in rates.rates:
        rows.append(_rate_row(r.group, "MRD negative", r.sensitivity, ALL_TREATED, r.all_treated))
        rows.append(
            _rate_row(r.group, "MRD negative", r.sensitivity, CR_OR_BETTER, r.complete_responders)
        )
    for s in sustained.rates if sustained is not None else ():
        rows.append(
            _rate_row(s.group, "sustained MRD negative", s.sensitivity, ALL_TREATED, s.all_treated)
        )
    return pl.DataFrame(rows, schema=_RATE_SCHEMA)


def mrd_notes(rates: MRDSummary, sustained_unavailable: str | None) -> tuple[str, ...]:
    """What the MRD rates left out, and why sustained negativity is missing when it is."""
    out = [
        "Negative at a sensitivity counts a negative result of a test at least as sensitive; "
        "sustained: two negative results at least one year apart, no positive between."
    ]
    if rates.negatives_without_sensitivity:
        out.append(
            f"{rates.negatives_without_sensitivity} negative result(s) without a recorded "
            "sensitivity are in no rate."
        )
    out.extend(_ungrouped(rates.excluded_missing_group))
    if sustained_unavailable:
        out.append(sustained_unavailable)
    return tuple(out)


# --- adverse events -----------------------------------------------------------------------------

_AE_SCHEMA: dict[str, type[pl.DataType]] = {
    "term": pl.String,
    "group": pl.String,
    "patients": pl.Int64,
    "any_grade_n": pl.Int64,
    "any_grade_pct": pl.Float64,
    "grade3plus_n": pl.Int64,
    "grade3plus_pct": pl.Float64,
    **{f"highest_grade_{g}_n": pl.Int64 for g in GRADES},
    "ungraded_n": pl.Int64,
    "not_recorded_n": pl.Int64,
}


def adverse_event_frame(table: AdverseEventTable) -> pl.DataFrame:
    """Per term and group: patients, any grade and grade ≥ 3 (n and % of all treated), and the
    patients by highest grade (null where the source cannot tell)."""
    rows = [
        {
            "term": r.term,
            "group": r.group,
            "patients": r.total,
            "any_grade_n": r.any_grade,
            "any_grade_pct": r.any_grade_percent,
            "grade3plus_n": r.grade3plus,
            "grade3plus_pct": r.grade3plus_percent,
            **{f"highest_grade_{g}_n": n for g, n in zip(GRADES, r.by_highest_grade, strict=True)},
            "ungraded_n": r.ungraded,
            "not_recorded_n": r.not_recorded,
        }
        for r in table.rows
    ]
    return pl.DataFrame(rows, schema=_AE_SCHEMA)


def adverse_event_notes(table: AdverseEventTable) -> tuple[str, ...]:
    """Where the counts come from, and what was left out."""
    out = [
        f"Source: {table.source}. Each patient counts once per term, at the highest grade; "
        "percentages of all treated patients of the group."
    ]
    if any(r.any_grade is None for r in table.rows):
        out.append(
            "Empty any-grade and per-grade counts: the source records only whether a grade ≥ 3 "
            "event occurred."
        )
    out.extend(_ungrouped(table.excluded_missing_group))
    return tuple(out)


# --- CRS course ---------------------------------------------------------------------------------

_COURSE_SCHEMA: dict[str, type[pl.DataType]] = {
    "measure": pl.String,
    "after_dose": pl.String,
    "episodes": pl.Int64,
    "patients": pl.Int64,
    "median_days": pl.Float64,
    "min_days": pl.Float64,
    "max_days": pl.Float64,
    "n": pl.Int64,
    "total": pl.Int64,
    "rate_pct": pl.Float64,
    "ci_lower_pct": pl.Float64,
    "ci_upper_pct": pl.Float64,
}

#: Measures of the CRS course table.
ONSET = "onset after the dose"
DURATION = "duration"
MORE_THAN_ONE = "more than one episode"
AFTER_TOCILIZUMAB = "recurrence after a first episode with tocilizumab"
WITHOUT_TOCILIZUMAB = "recurrence after a first episode without tocilizumab"


def _spread(measure: str, dose: str, episodes: int, patients: int, d: DaysSummary) -> dict:
    return {
        "measure": measure,
        "after_dose": dose,
        "episodes": episodes,
        "patients": patients,
        "median_days": d.median_days,
        "min_days": d.min_days,
        "max_days": d.max_days,
    }


def _share(measure: str, p: Proportion) -> dict:
    return {
        "measure": measure,
        "n": p.n,
        "total": p.total,
        "rate_pct": _pct(p.rate),
        "ci_lower_pct": _pct(p.lower),
        "ci_upper_pct": _pct(p.upper),
    }


def crs_course_frame(course: CRSCourse) -> pl.DataFrame:
    """Onset after the dose and duration (days) by dose of the schedule, then the share of
    patients with more than one episode and the recurrence after a first episode managed with
    and without tocilizumab (n, total, % with Clopper–Pearson 95 % CI)."""
    rows: list[dict] = []
    for d in course.by_dose:
        rows.append(_spread(ONSET, d.after_dose, d.episodes, d.patients, d.onset))
    for d in course.by_dose:
        rows.append(_spread(DURATION, d.after_dose, d.episodes, d.patients, d.duration))
    rows.append(_share(MORE_THAN_ONE, course.more_than_one_episode))
    for measure, share in (
        (AFTER_TOCILIZUMAB, course.recurrence_after_tocilizumab),
        (WITHOUT_TOCILIZUMAB, course.recurrence_without_tocilizumab),
    ):
        if share is not None:
            rows.append(_share(measure, share))
    return pl.DataFrame(rows, schema=_COURSE_SCHEMA)


_PATIENT_COURSE_SCHEMA: dict[str, type[pl.DataType]] = {
    "patient_id": pl.String,
    "episodes": pl.Int64,
    "first_onset_day": pl.Float64,
    "first_after_dose": pl.String,
    "first_onset_after_dose_days": pl.Float64,
    "first_grade": pl.Int64,
    "first_tocilizumab": pl.Boolean,
    "recurrent_episodes": pl.Int64,
    "rhythm_min_days": pl.Int64,
    "rhythm_max_days": pl.Int64,
    "gaps": pl.Int64,
    "latency_min_hours": pl.Float64,
    "latency_max_hours": pl.Float64,
}


def crs_patients_frame(course: CRSCourse) -> pl.DataFrame:
    """One row per patient (case) with CRS: the first episode (day, dose, days after it, grade,
    tocilizumab) and the recurrent ones (count, rhythm in whole days, gaps, latency in hours)."""
    rows = [
        {
            "patient_id": p.patient_id,
            "episodes": p.episodes,
            "first_onset_day": p.first_onset_day,
            "first_after_dose": p.first_after_dose,
            "first_onset_after_dose_days": p.first_onset_after_dose_days,
            "first_grade": p.first_grade,
            "first_tocilizumab": p.first_tocilizumab,
            "recurrent_episodes": p.recurrent,
            "rhythm_min_days": p.rhythm_days_min,
            "rhythm_max_days": p.rhythm_days_max,
            "gaps": p.gaps,
            "latency_min_hours": p.latency_hours_min,
            "latency_max_hours": p.latency_hours_max,
        }
        for p in course.patients
    ]
    return pl.DataFrame(rows, schema=_PATIENT_COURSE_SCHEMA)


def crs_course_notes(course: CRSCourse, source: str) -> tuple[str, ...]:
    """Where the episodes come from and what is unknown."""
    out = [
        f"Source: {source}. {course.patients_with_crs} patient(s) with CRS; onset in days after "
        "the dose that preceded it, duration from onset to resolution."
    ]
    if course.episodes_without_dose:
        out.append(f"{course.episodes_without_dose} episode(s) without a known preceding dose.")
    if course.recurrence_after_tocilizumab is None:
        out.append(
            "Recurrence by first management is unknown: the data do not say whether "
            "tocilizumab was given."
        )
    return tuple(out)


# --- on screen ----------------------------------------------------------------------------------

#: Readable names of the doses of the step-up schedule.
DOSE_LABELS = {
    "step_up_1": "Step-up dose 1",
    "step_up_2": "Step-up dose 2",
    "step_up_3": "Step-up dose 3",
    "first_full_dose": "First full dose",
    "later": "Later doses",
}


def adverse_event_display(table: AdverseEventTable) -> pl.DataFrame:
    """The safety table as a page shows it: a row per term, "n (%)" any grade and grade ≥ 3
    per group ("–" where the source does not record grades below 3)."""
    columns: dict[str, list[str]] = {"Adverse event": list(table.terms)}
    for group in table.groups:
        counts = [table.row(term, group) for term in table.terms]
        total = counts[0].total if counts else 0
        head = f"{group} (n = {total})"
        columns[f"{head}: any grade"] = [
            "–" if c.any_grade is None else format_count(c.any_grade, c.total, c.total)
            for c in counts
        ]
        columns[f"{head}: grade ≥ 3"] = [
            format_count(c.grade3plus, c.total, c.total) for c in counts
        ]
    return pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))


def _range_text(d: DaysSummary) -> str:
    if d.median_days is None or d.min_days is None or d.max_days is None:
        return "–"
    return (
        f"{format_number(d.median_days)} ({format_number(d.min_days)}–{format_number(d.max_days)})"
    )


def crs_course_display(course: CRSCourse) -> pl.DataFrame:
    """Onset and duration by dose as a page shows them: median (range) in days."""
    return pl.DataFrame(
        {
            "After dose": [DOSE_LABELS.get(d.after_dose, d.after_dose) for d in course.by_dose],
            "Episodes": [d.episodes for d in course.by_dose],
            "Patients": [d.patients for d in course.by_dose],
            "Onset after the dose, days": [_range_text(d.onset) for d in course.by_dose],
            "Duration, days": [_range_text(d.duration) for d in course.by_dose],
        },
        schema={
            "After dose": pl.String,
            "Episodes": pl.Int64,
            "Patients": pl.Int64,
            "Onset after the dose, days": pl.String,
            "Duration, days": pl.String,
        },
    )


def _share_text(p: Proportion) -> str:
    if p.total == 0 or p.lower is None or p.upper is None:
        return f"{p.n}/{p.total}"
    ci = f"95 % CI {100 * p.lower:.0f}–{100 * p.upper:.0f} %"
    return f"{p.n}/{p.total} ({format_percent(p.n, p.total)} %; {ci})"


def crs_course_lines(course: CRSCourse) -> tuple[str, ...]:
    """The repeat and recurrence shares of a CRS course, in words."""
    lines = [f"More than one CRS episode: {_share_text(course.more_than_one_episode)} of patients "
             "with CRS."]  # fmt: skip
    if course.recurrence_after_tocilizumab is not None:
        lines.append(
            "Another episode after a first one managed with tocilizumab: "
            f"{_share_text(course.recurrence_after_tocilizumab)}."
        )
    if course.recurrence_without_tocilizumab is not None:
        lines.append(
            "Another episode after a first one managed without tocilizumab: "
            f"{_share_text(course.recurrence_without_tocilizumab)}."
        )
    return tuple(lines)


def duration_display(result: DurationOfResponse) -> pl.DataFrame:
    """Median duration of response per group as a page shows it: '10.2 (6.9–NR)' months."""
    return pl.DataFrame(
        {
            "Group": [g.group for g in result.groups],
            "Responders": [g.curve.n for g in result.groups],
            "Events": [g.curve.events for g in result.groups],
            "Median DOR, months (95 % CI)": [g.median.text() for g in result.groups],
        },
        schema={
            "Group": pl.String,
            "Responders": pl.Int64,
            "Events": pl.Int64,
            "Median DOR, months (95 % CI)": pl.String,
        },
    )
