"""The course of cytokine release syndrome: when it starts after a dose, how long it lasts, and
whether it comes back.

One frame of episodes serves both studies:
- the cohort's `adverse_events` table (contract 1.1), its `CRS` rows: `after_dose`, `dose_day`,
  `onset_day`, `resolution_day`; tocilizumab when `management` names it (an empty cell in a
  recorded column means none was given; a column recorded for no one leaves it unknown);
- the case series' `events`, through `recurrence.crs_episodes`, which attributes each episode
  to the latest dose at or before its onset: a `step-up n` dose gives `step_up_n`, the first
  treatment dose `first_full_dose`, any later one `later`; tocilizumab when given within the
  episode window (`recurrence.EPISODE_WINDOW_DAYS` after onset).

Definitions (those of `recurrence`, so the two views agree on the case series)
- Onset after the dose: onset day − dose day, in days; duration: resolution − onset, in days.
- Initial episodes follow a step-up dose or the first full dose (or no known dose); every
  later one is recurrent. Intervals are the days between consecutive recurrent episodes; one
  longer than `recurrence.GAP_FACTOR` times the patient's median interval is a gap, and the
  rhythm is the whole-day range of the other intervals. Latency (hours from the dose to onset)
  is taken over recurrent episodes.
- Recurrence after a first episode: a patient whose first episode was managed with (without)
  tocilizumab and who had another episode afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bsab_explorer.analyses.availability import unrecorded
from bsab_explorer.analyses.mrd import Proportion, estimate_proportion
from bsab_explorer.analyses.recurrence import GAP_FACTOR, crs_episodes
from bsab_explorer.analyses.time_to_response import DaysSummary, summarise_days
from bsab_explorer.errors import Unavailable
from bsab_explorer.schema import AFTER_DOSE_CODES, STEP_UP_PREFIX

PATIENT = "patient_id"
CRS_TERM = "CRS"
FIRST_FULL_DOSE = "first_full_dose"
LATER = "later"
#: Doses after which an episode is initial (the step-up phase and the first full dose).
INITIAL_DOSES = tuple(code for code in AFTER_DOSE_CODES if code != LATER)
#: Columns of the adverse_events table the CRS course needs.
REQUIRED_COLUMNS = ("term", "onset_day", "after_dose", "dose_day")

EPISODE_SCHEMA: dict[str, type[pl.DataType]] = {
    PATIENT: pl.String,
    "onset_day": pl.Float64,
    "resolution_day": pl.Float64,
    "grade": pl.Int64,
    "after_dose": pl.String,
    "dose_day": pl.Float64,
    "tocilizumab": pl.Boolean,
}


def episodes_from_adverse_events(adverse_events: pl.DataFrame | None) -> pl.DataFrame:
    """The CRS episodes of a cohort's adverse_events table (`EPISODE_SCHEMA`)."""
    if adverse_events is None or adverse_events.height == 0:
        raise Unavailable(
            "The CRS course needs the adverse_events table (onset_day, after_dose, dose_day of "
            "each CRS episode); the data have only the patients' worst grades."
        )
    missing = unrecorded(adverse_events, REQUIRED_COLUMNS)
    if missing:
        names = ", ".join(f"adverse_events.{c}" for c in missing)
        raise Unavailable(f"The CRS course needs {names}, which the data do not record.")
    management = pl.col("management").fill_null("").str.to_lowercase().str.split(";")
    given = management.list.eval(pl.element().str.strip_chars()).list.contains("tocilizumab")
    known = not unrecorded(adverse_events, ("management",))
    return adverse_events.filter(pl.col("term") == CRS_TERM).select(
        PATIENT,
        "onset_day",
        "resolution_day",
        "grade",
        "after_dose",
        "dose_day",
        (given if known else pl.lit(None, pl.Boolean)).alias("tocilizumab"),
    )


def _after_dose(detail: pl.Expr, treatment_number: pl.Expr) -> pl.Expr:
    step = detail.fill_null("").str.strip_chars().str.to_lowercase()
    number = step.str.strip_prefix(STEP_UP_PREFIX).str.strip_chars()
    return (
        pl.when(step.str.starts_with(STEP_UP_PREFIX))
        .then(pl.lit("step_up_") + number)
        .when(treatment_number == 1)
        .then(pl.lit(FIRST_FULL_DOSE))
        .when(treatment_number > 1)
        .then(pl.lit(LATER))
    )


def episodes_from_events(cases: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """The CRS episodes of the case series' events (`EPISODE_SCHEMA`; patient_id = case_id)."""
    found = crs_episodes(cases, events)
    return found.select(
        pl.col("case_id").alias(PATIENT),
        pl.col("day").alias("onset_day"),
        pl.col("end_day").alias("resolution_day"),
        "grade",
        _after_dose(pl.col("dose_detail"), pl.col("treatment_dose_number")).alias("after_dose"),
        "dose_day",
        "tocilizumab",
    )


@dataclass(frozen=True)
class DoseCourse:
    """Episodes after one dose of the schedule: onset after that dose and duration, in days."""

    after_dose: str
    episodes: int
    patients: int
    onset: DaysSummary
    duration: DaysSummary


@dataclass(frozen=True)
class PatientCourse:
    """One patient's CRS: the first episode, and the rhythm of the recurrent ones."""

    patient_id: str
    episodes: int
    first_onset_day: float
    first_after_dose: str | None
    first_onset_after_dose_days: float | None
    first_grade: int | None
    first_tocilizumab: bool | None
    recurrent: int
    rhythm_days_min: int | None
    rhythm_days_max: int | None
    gaps: int
    latency_hours_min: float | None
    latency_hours_max: float | None


@dataclass(frozen=True)
class CRSCourse:
    """The CRS course of a cohort or a case series."""

    #: Doses in schedule order; episodes without a known dose are counted apart.
    by_dose: tuple[DoseCourse, ...]
    episodes_without_dose: int
    patients_with_crs: int
    #: Patients with more than one episode, among patients with CRS.
    more_than_one_episode: Proportion
    #: Patients with another episode after a first one managed with / without tocilizumab
    #: (None when the data do not say whether tocilizumab was given).
    recurrence_after_tocilizumab: Proportion | None
    recurrence_without_tocilizumab: Proportion | None
    patients: tuple[PatientCourse, ...]


def _by_dose(episodes: pl.DataFrame) -> tuple[DoseCourse, ...]:
    onset = pl.col("onset_day") - pl.col("dose_day")
    duration = pl.col("resolution_day") - pl.col("onset_day")
    timed = episodes.with_columns(onset.alias("_onset"), duration.alias("_duration"))
    doses = timed.get_column("after_dose").drop_nulls().unique().to_list()
    order = [
        *(c for c in AFTER_DOSE_CODES if c in doses),
        *sorted(set(doses) - set(AFTER_DOSE_CODES)),
    ]
    out = []
    for dose in order:
        rows = timed.filter(pl.col("after_dose") == dose)
        out.append(
            DoseCourse(
                dose,
                rows.height,
                rows.get_column(PATIENT).n_unique(),
                summarise_days(rows.get_column("_onset")),
                summarise_days(rows.get_column("_duration")),
            )
        )
    return tuple(out)


def _with_rhythm(episodes: pl.DataFrame) -> pl.DataFrame:
    """Episodes in patient and onset order, with the recurrence definitions of `recurrence`."""
    recurrent = pl.col("after_dose").is_not_null() & ~pl.col("after_dose").is_in(INITIAL_DOSES)
    previous = pl.when(recurrent).then(pl.col("onset_day")).shift(1).forward_fill().over(PATIENT)
    interval = pl.when(recurrent).then((pl.col("onset_day") - previous).round(6))
    return (
        episodes.sort(PATIENT, "onset_day")
        .with_columns(
            recurrent.alias("recurrent"),
            interval.alias("interval_days"),
            pl.when(recurrent)
            .then(((pl.col("onset_day") - pl.col("dose_day")) * 24).round(3))
            .alias("latency_hours"),
        )
        .with_columns(
            (pl.col("interval_days") > GAP_FACTOR * pl.col("interval_days").median().over(PATIENT))
            .fill_null(False)
            .alias("gap")
        )
    )


def _patients(episodes: pl.DataFrame) -> tuple[PatientCourse, ...]:
    whole = pl.col("interval_days").filter(~pl.col("gap")).round(0).cast(pl.Int64)
    per_patient = (
        _with_rhythm(episodes)
        .group_by(PATIENT, maintain_order=True)
        .agg(
            pl.len().alias("episodes"),
            pl.col("onset_day").first().alias("first_onset_day"),
            pl.col("after_dose").first().alias("first_after_dose"),
            (pl.col("onset_day") - pl.col("dose_day")).first().alias("first_onset_after_dose_days"),
            pl.col("grade").first().alias("first_grade"),
            pl.col("tocilizumab").first().alias("first_tocilizumab"),
            pl.col("recurrent").sum().alias("recurrent"),
            whole.min().alias("rhythm_days_min"),
            whole.max().alias("rhythm_days_max"),
            pl.col("gap").sum().alias("gaps"),
            pl.col("latency_hours").min().alias("latency_hours_min"),
            pl.col("latency_hours").max().alias("latency_hours_max"),
        )
    )
    return tuple(
        PatientCourse(
            patient_id=row[PATIENT],
            episodes=int(row["episodes"]),
            first_onset_day=float(row["first_onset_day"]),
            first_after_dose=row["first_after_dose"],
            first_onset_after_dose_days=row["first_onset_after_dose_days"],
            first_grade=row["first_grade"],
            first_tocilizumab=row["first_tocilizumab"],
            recurrent=int(row["recurrent"]),
            rhythm_days_min=row["rhythm_days_min"],
            rhythm_days_max=row["rhythm_days_max"],
            gaps=int(row["gaps"]),
            latency_hours_min=row["latency_hours_min"],
            latency_hours_max=row["latency_hours_max"],
        )
        for row in per_patient.iter_rows(named=True)
    )


def _recurrence(courses: tuple[PatientCourse, ...], tocilizumab: bool) -> Proportion | None:
    if any(c.first_tocilizumab is None for c in courses):
        return None
    first = [c for c in courses if c.first_tocilizumab is tocilizumab]
    return estimate_proportion(sum(c.episodes > 1 for c in first), len(first))


def summarise_crs_course(episodes: pl.DataFrame) -> CRSCourse:
    """Onset and duration by dose, repeat episodes and recurrence by first management."""
    episodes = episodes.filter(pl.col("onset_day").is_not_null())
    courses = _patients(episodes)
    return CRSCourse(
        by_dose=_by_dose(episodes),
        episodes_without_dose=episodes.get_column("after_dose").null_count(),
        patients_with_crs=len(courses),
        more_than_one_episode=estimate_proportion(
            sum(c.episodes > 1 for c in courses), len(courses)
        ),
        recurrence_after_tocilizumab=_recurrence(courses, True),
        recurrence_without_tocilizumab=_recurrence(courses, False),
        patients=courses,
    )
