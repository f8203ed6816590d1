"""CRS course: onset and duration by dose, repeat episodes, recurrence by first management.

On the case series it must say what the paper's Table 1 says; the expected values are read
from the quoted rows of that table (data/recurrent_crs/quotes.toml), not typed again.
"""

from __future__ import annotations

import re

import polars as pl
import pytest

from bsab_explorer.analyses.crs_course import (
    CRSCourse,
    episodes_from_adverse_events,
    episodes_from_events,
    summarise_crs_course,
)
from bsab_explorer.analyses.recurrence import analyse_recurrence
from bsab_explorer.analyses.time_to_response import DaysSummary
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.errors import Unavailable
from tests.analyses.paper_quotes import quoted
from tests.fixtures.cohorts import contract_frame

#: Table 1 of the case series: case, first CRS (timing, grade), recurrent CRS (timing).
TABLE_1 = {
    "RC1": quoted(
        "recurrent_crs",
        "1\t64/F\tIgG κ\t4\tTecelstamab\tC1 D2, G2\tEvery 7 days, 48 h post-infusion",
    ),
    "RC2": quoted(
        "recurrent_crs",
        "2\t65/M\tIgG κ\t4\tTalquetamab\tC1 D2, G2\tEvery 35–40 days, 24–48 h post-infusion",
    ),
    "RC3": quoted(
        "recurrent_crs", "3\t71/F\tIgG λ\t5\tTalquetamab\tC1 D3, G2\tEvery 30–35 days post-infusion"
    ),
    "RC4": quoted(
        "recurrent_crs", "4\t75/F\tIgA λ\t5\tTalquetamab\tC1 D2, G2\tEvery 30 days post-infusion"
    ),
    "RC5": quoted(
        "recurrent_crs",
        "5\t69/F\tlight-chain κ\t4\tTalquetamab\tNone during step-up dose\tEvery 15 days, "
        "24 h post-infusion",
    ),
}
_FIRST = re.compile(r"C1 D(\d+), G(\d)")
_EVERY = re.compile(r"Every (\d+)(?:–(\d+))? days")
_LATENCY = re.compile(r"(\d+)(?:–(\d+))? h post-infusion")


@pytest.fixture(scope="module")
def series_course() -> CRSCourse:
    dataset = load_dataset().dataset
    assert dataset is not None
    return summarise_crs_course(
        episodes_from_events(dataset.table("cases"), dataset.table("events"))
    )


@pytest.mark.parametrize("case", list(TABLE_1))
def test_first_crs_timing_and_grade_are_those_of_table_1(
    series_course: CRSCourse, case: str
) -> None:
    row = TABLE_1[case].split("\t")
    course = {c.patient_id: c for c in series_course.patients}[case]
    if match := _FIRST.fullmatch(row[5]):
        # "C1 D2": day 2 of cycle 1, counted from the first (step-up) dose on day 0.
        assert course.first_after_dose == "step_up_1"
        assert course.first_onset_day == float(match.group(1))
        assert course.first_onset_after_dose_days == float(match.group(1))
        assert course.first_grade == int(match.group(2))
    else:
        assert row[5] == "None during step-up dose"
        assert course.first_after_dose == "later"


@pytest.mark.parametrize("case", list(TABLE_1))
def test_recurrence_interval_and_latency_are_those_of_table_1(
    series_course: CRSCourse, case: str
) -> None:
    timing = TABLE_1[case].split("\t")[6]
    course = {c.patient_id: c for c in series_course.patients}[case]
    every = _EVERY.match(timing)
    assert every is not None
    low = int(every.group(1))
    assert (course.rhythm_days_min, course.rhythm_days_max) == (low, int(every.group(2) or low))
    if latency := _LATENCY.search(timing):
        first = float(latency.group(1))
        assert (course.latency_hours_min, course.latency_hours_max) == (
            first,
            float(latency.group(2) or first),
        )


def test_the_case_series_agrees_with_the_recurrence_analysis(series_course: CRSCourse) -> None:
    dataset = load_dataset().dataset
    assert dataset is not None
    recurrence = analyse_recurrence(dataset.table("cases"), dataset.table("events"))
    expected = recurrence.select(
        "case_id", "n_episodes", "n_recurrent", "rhythm_days_min", "rhythm_days_max", "n_gaps"
    ).rows()
    found = [
        (c.patient_id, c.episodes, c.recurrent, c.rhythm_days_min, c.rhythm_days_max, c.gaps)
        for c in series_course.patients
    ]
    assert found == expected


def test_the_case_series_by_dose_and_recurrence_by_first_management(
    series_course: CRSCourse,
) -> None:
    by_dose = {d.after_dose: d for d in series_course.by_dose}
    assert list(by_dose) == ["step_up_1", "first_full_dose", "later"]
    # Cases 1–4: CRS after step-up 1, on day 2 (case 3: day 3), lasting a day (case 3: two).
    assert (by_dose["step_up_1"].episodes, by_dose["step_up_1"].patients) == (4, 4)
    assert by_dose["step_up_1"].onset == DaysSummary(4, 2.0, 2.0, 3.0)
    assert by_dose["step_up_1"].duration == DaysSummary(4, 1.0, 1.0, 2.0)
    assert series_course.patients_with_crs == 5
    assert (series_course.more_than_one_episode.n, series_course.more_than_one_episode.total) == (
        5,
        5,
    )
    # Cases 1–4 had tocilizumab for their first CRS; case 5's first (late) CRS had steroids.
    with_toci = series_course.recurrence_after_tocilizumab
    without = series_course.recurrence_without_tocilizumab
    assert with_toci is not None
    assert without is not None
    assert (with_toci.n, with_toci.total, without.n, without.total) == (4, 4, 1, 1)


# (patient, term, grade, onset_day, resolution_day, after_dose, dose_day, management)
COHORT_CRS: list[tuple[str, str, int, float, float | None, str, float, str | None]] = [
    ("P1", "CRS", 1, 1, 3, "step_up_1", 0, "tocilizumab"),
    ("P1", "CRS", 2, 4, 5, "step_up_2", 3, None),
    ("P2", "CRS", 2, 2, 4, "step_up_1", 0, "corticosteroid"),
    ("P3", "CRS", 1, 8, 9, "first_full_dose", 7, None),
    ("P3", "CRS", 1, 16, 17, "later", 14, None),
    ("P3", "CRS", 1, 23, 24, "later", 21, None),
    ("P4", "CRS", 3, 4, None, "step_up_2", 3, "Tocilizumab; corticosteroid"),
    ("P5", "ICANS", 1, 5, 6, "step_up_2", 3, "corticosteroid"),
]


def _adverse_events() -> pl.DataFrame:
    names = (
        "patient_id",
        "term",
        "grade",
        "onset_day",
        "resolution_day",
        "after_dose",
        "dose_day",
        "management",
    )
    columns = {n: list(v) for n, v in zip(names, zip(*COHORT_CRS, strict=True), strict=True)}
    return contract_frame("adverse_events", columns)


def test_a_cohort_table_by_dose_repeat_episodes_and_recurrence() -> None:
    course = summarise_crs_course(episodes_from_adverse_events(_adverse_events()))
    by_dose = {d.after_dose: d for d in course.by_dose}
    assert list(by_dose) == ["step_up_1", "step_up_2", "first_full_dose", "later"]
    assert by_dose["step_up_1"].onset == DaysSummary(2, 1.5, 1.0, 2.0)
    assert by_dose["step_up_1"].duration == DaysSummary(2, 2.0, 2.0, 2.0)
    # P4's episode is ongoing: its onset counts, its duration is unknown (not zero).
    assert by_dose["step_up_2"].onset == DaysSummary(2, 1.0, 1.0, 1.0)
    assert by_dose["step_up_2"].duration == DaysSummary(1, 1.0, 1.0, 1.0)
    assert (by_dose["later"].episodes, by_dose["later"].patients) == (2, 1)
    assert course.patients_with_crs == 4  # P5 had ICANS only
    assert (course.more_than_one_episode.n, course.more_than_one_episode.total) == (2, 4)
    # First episode with tocilizumab: P1 (recurred), P4; without: P2, P3 (recurred).
    assert course.recurrence_after_tocilizumab is not None
    assert course.recurrence_without_tocilizumab is not None
    assert (course.recurrence_after_tocilizumab.n, course.recurrence_after_tocilizumab.total) == (
        1,
        2,
    )
    assert (
        course.recurrence_without_tocilizumab.n,
        course.recurrence_without_tocilizumab.total,
    ) == (1, 2)
    p3 = {c.patient_id: c for c in course.patients}["P3"]
    assert (p3.recurrent, p3.rhythm_days_min, p3.rhythm_days_max, p3.latency_hours_max) == (
        2,
        7,
        7,
        48.0,
    )


def test_without_a_management_column_recurrence_by_tocilizumab_is_unknown() -> None:
    events = _adverse_events().with_columns(pl.lit(None, pl.String).alias("management"))
    course = summarise_crs_course(episodes_from_adverse_events(events))
    assert course.recurrence_after_tocilizumab is None
    assert course.recurrence_without_tocilizumab is None


def test_the_bundled_cohort_has_no_crs_course_and_says_why() -> None:
    dataset = load_dataset().dataset
    assert dataset is not None
    with pytest.raises(Unavailable, match="needs the adverse_events table"):
        episodes_from_adverse_events(dataset.tables.get("adverse_events"))
    no_dose_day = _adverse_events().with_columns(pl.lit(None, pl.Float64).alias("dose_day"))
    with pytest.raises(Unavailable, match=r"adverse_events\.dose_day"):
        episodes_from_adverse_events(no_dose_day)
