"""The builders of the response and safety endpoints: duration of and time to response, MRD,
adverse events and the CRS course (from the cohort's adverse events or the case series).
"""

from __future__ import annotations

from bsab_explorer.analyses.adverse_events import tabulate_adverse_events
from bsab_explorer.analyses.crs_course import (
    CRSCourse,
    episodes_from_adverse_events,
    episodes_from_events,
    summarise_crs_course,
)
from bsab_explorer.analyses.duration_of_response import estimate_duration_of_response
from bsab_explorer.analyses.endpoint_tables import (
    adverse_event_frame,
    adverse_event_notes,
    crs_course_frame,
    crs_course_notes,
    crs_patients_frame,
    duration_frame,
    duration_notes,
    duration_summary,
    mrd_frame,
    mrd_notes,
    time_to_response_frame,
    time_to_response_notes,
)
from bsab_explorer.analyses.mrd import SustainedMRD, summarise_mrd, summarise_sustained_mrd
from bsab_explorer.analyses.time_to_response import summarise_time_to_response
from bsab_explorer.dataset import Dataset
from bsab_explorer.errors import Unavailable
from bsab_explorer.exports.options import (
    Built,
    ExportUnavailable,
    Source,
    _by,
    _cases,
    _ci,
    _cohort,
    _flag,
)
from bsab_explorer.exports.request import ExportRequest
from bsab_explorer.schema import ADVERSE_EVENTS


def _duration(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    result = estimate_duration_of_response(
        cohort.patients, cohort.responses, _by(request, cohort.patients), _ci(request)
    )
    summary = duration_summary(result)
    notes = duration_notes(result)
    if request.command == "table":
        return Built(duration_frame(result), notes=notes, summary=result)
    from bsab_explorer.charts.survival import km_chart  # Altair, for figures only

    bands = _flag(request, "bands", default=True)
    heading = "Duration of response" + ("" if summary.by is None else f" by {summary.by_label}")
    chart = km_chart(
        summary, show_ci=bands, show_p=False, title=heading, y_title="Probability of response"
    )
    return Built(summary.curves_frame(), chart, notes, result)


def _time_to_response(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    result = summarise_time_to_response(
        cohort.patients, cohort.responses, _by(request, cohort.patients)
    )
    return Built(
        time_to_response_frame(result), notes=time_to_response_notes(result), summary=result
    )


def _mrd(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    by = _by(request, cohort.patients)
    rates = summarise_mrd(cohort.patients, cohort.responses, by)
    sustained: SustainedMRD | None
    try:
        sustained = summarise_sustained_mrd(cohort.patients, cohort.responses, by)
        missing = None
    except Unavailable as refusal:
        sustained, missing = None, str(refusal)
    return Built(mrd_frame(rates, sustained), notes=mrd_notes(rates, missing), summary=rates)


def _adverse_events(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    events = cohort.adverse_events
    if events.height == 0 and source.dataset.has(ADVERSE_EVENTS.name):
        # No event among these patients is a count of 0, not a fall-back to the worst grades of
        # the patients table: the whole table goes in and the analysis keeps these patients' rows.
        events = source.dataset.table(ADVERSE_EVENTS.name)
    table = tabulate_adverse_events(cohort.patients, events, _by(request, cohort.patients))
    return Built(adverse_event_frame(table), notes=adverse_event_notes(table), summary=table)


#: `--source` of the CRS course: the cohort's adverse events or the case series' events.
CRS_SOURCES = ("adverse-events", "case-series")


def _crs_source(dataset: Dataset, request: ExportRequest) -> str:
    default = CRS_SOURCES[0] if dataset.has(ADVERSE_EVENTS.name) else CRS_SOURCES[1]
    value = request.option("source", default) or default
    if value not in CRS_SOURCES:
        raise ExportUnavailable(f"--source must be one of {', '.join(CRS_SOURCES)}, not '{value}'.")
    return value


def crs_course(source: Source, request: ExportRequest) -> tuple[CRSCourse, str]:
    """The CRS course a request names, and where its episodes come from, in words."""
    if _crs_source(source.dataset, request) == "adverse-events":
        cohort = _cohort(source, request)
        if cohort.adverse_events.height == 0 and source.dataset.has(ADVERSE_EVENTS.name):
            # A subgroup without events has no episode (the columns are judged on the table).
            episodes = episodes_from_adverse_events(source.dataset.table(ADVERSE_EVENTS.name))
            episodes = episodes.clear()
        else:
            episodes = episodes_from_adverse_events(cohort.adverse_events)
        return summarise_crs_course(episodes), "the cohort's adverse_events table"
    cases, events = _cases(source, request)
    return summarise_crs_course(episodes_from_events(cases, events)), "the case series' events"


def _crs_course(source: Source, request: ExportRequest) -> Built:
    course, where = crs_course(source, request)
    return Built(crs_course_frame(course), notes=crs_course_notes(course, where), summary=course)


def _crs_patients(source: Source, request: ExportRequest) -> Built:
    course, where = crs_course(source, request)
    return Built(crs_patients_frame(course), notes=crs_course_notes(course, where), summary=course)
