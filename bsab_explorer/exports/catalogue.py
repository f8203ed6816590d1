"""Every figure and table of the app by its command-line name, built the same way everywhere.

A page asks `build` for the chart and tables it draws; its downloads, `bsab-explorer
figure|table NAME`, the Python API (`write_export`) and the report call `make_export` with the
same `ExportRequest`, which builds through the same function. So what a page shows is what its
files hold and what its Reproduce command regenerates: there is no second way to a chart.

(One module over 500 lines: the catalogue is one table of entries, and each entry's builder
sits beside the option parsing it shares with the others; split, a reader would chase every
builder across files to see how an option is read.)

Adding a figure: write a builder `(source, request) -> Built` and add an `Entry` to `FIGURES`
(or `TABLES`), naming the options it understands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from bsab_explorer.analyses.adverse_events import tabulate_adverse_events
from bsab_explorer.analyses.case_table import build_case_table
from bsab_explorer.analyses.conversion import (
    alluvial_flows,
    conversion_statements,
    observed_timepoints,
    transition_table,
)
from bsab_explorer.analyses.cox_model import CoxFit, Ties
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
from bsab_explorer.analyses.logrank import LogRankWeights
from bsab_explorer.analyses.mrd import SustainedMRD, summarise_mrd, summarise_sustained_mrd
from bsab_explorer.analyses.prepared import PreparedDataset, cohort_index, select_prepared_cohort
from bsab_explorer.analyses.recurrence import RECURRENCE_FIELDS, analyse_recurrence, crs_episodes
from bsab_explorer.analyses.response import (
    DENOMINATORS,
    POST_DEBULKING,
    Denominator,
    IndexedCohort,
    response_by_timepoint,
)
from bsab_explorer.analyses.survival import (
    LANDMARK_MONTHS,
    CIMethod,
    Endpoint,
    SurvivalSummary,
    required_columns,
    summarise_survival,
)
from bsab_explorer.analyses.survival_tables import follow_up_text
from bsab_explorer.analyses.table1 import build_table1
from bsab_explorer.analyses.time_to_response import summarise_time_to_response
from bsab_explorer.charts.conversion import alluvial_chart
from bsab_explorer.charts.crs_latency import By as LatencyBy
from bsab_explorer.charts.crs_latency import crs_latency_chart
from bsab_explorer.charts.cumulative_incidence import cumulative_incidence_chart
from bsab_explorer.charts.forest import forest_chart, response_forest_chart
from bsab_explorer.charts.response import response_chart
from bsab_explorer.charts.survival import km_chart
from bsab_explorer.charts.swimmer import SortBy, swimmer_chart
from bsab_explorer.charts.timeline import Unit, timeline_chart
from bsab_explorer.dataset import Dataset
from bsab_explorer.errors import Unavailable
from bsab_explorer.exports import survival_statistics as stats
from bsab_explorer.exports.columns import file_frame
from bsab_explorer.exports.figures import chart_to_png, chart_to_svg, svg_to_png
from bsab_explorer.exports.provenance import Clock, Provenance, utc_now
from bsab_explorer.exports.request import ExportRequest
from bsab_explorer.exports.tables import table_to_csv, table_to_zip
from bsab_explorer.filters import Cohort, CohortFilter, select_cases, select_cohort
from bsab_explorer.schema import (
    ADVERSE_EVENTS,
    BEST_TIMEPOINT,
    CASE_SERIES,
    CASES,
    COHORT,
    DAYS_PER_MONTH,
    PATIENTS,
    column_label,
    timepoint_label,
)

#: The CI method of response rates (fixed) and of survival (default; `--ci` changes it).
RESPONSE_CI = "clopper-pearson"
SURVIVAL_CI = "log"
#: Rows under a Kaplan–Meier chart (`--risk-table`).
RISK_TABLES: dict[str, tuple[str, ...]] = {
    "at-risk": ("n_risk",),
    "full": ("n_risk", "cum_events", "cum_censored"),
    "none": (),
}


class ExportUnavailable(Unavailable):
    """A request the data cannot answer (unknown name, missing table or column, bad option)."""


@dataclass(frozen=True)
class Built:
    """What a request builds: the data its file holds, the chart (figures), notes, and the
    analysis result the page formats its on-screen tables from."""

    data: pl.DataFrame
    chart: Any = None
    notes: tuple[str, ...] = ()
    #: The analysis value behind the data (a survival or response summary, Table 1...).
    summary: Any = None


Builder = Callable[["Source", ExportRequest], Built]


@dataclass(frozen=True)
class Entry:
    """One exportable figure or table: its CLI name, title, study and the options it reads."""

    name: str
    title: str
    study: str
    build: Builder
    #: Request fields and further options this entry reads: by, endpoint, ci, case, denominator...
    options: frozenset[str] = field(default_factory=frozenset)
    description: str = ""


@dataclass(frozen=True)
class Export:
    """A built figure or table with everything its files need."""

    request: ExportRequest
    title: str
    data: pl.DataFrame
    provenance: Provenance
    chart: Any = None
    notes: tuple[str, ...] = ()

    @property
    def is_figure(self) -> bool:
        """Whether this export is a chart (else a table)."""
        return self.chart is not None

    def png(self, size: str = "screen", *, dpi: int | None = None) -> bytes:
        """The chart as PNG with the provenance footer (screen, print, or an explicit dpi)."""
        if dpi is not None:
            return svg_to_png(chart_to_svg(self.chart, self.provenance), dpi=dpi)
        return chart_to_png(self.chart, self.provenance, "print" if size == "print" else "screen")

    def svg(self) -> str:
        """The chart as SVG with the provenance footer."""
        return chart_to_svg(self.chart, self.provenance)

    @property
    def file_data(self) -> pl.DataFrame:
        """The data as files hold them: units in column names, a status beside each bound."""
        return file_frame(self.request.command, self.request.name, self.data)

    def csv(self) -> bytes:
        """The table (or the data behind the chart) as injection-safe CSV, rows only."""
        return table_to_csv(self.file_data)

    def zip(self) -> bytes:
        """A ZIP of the CSV and its provenance file (with the notes and column meanings)."""
        return table_to_zip(
            self.file_data, self.provenance, self.request.file_name("csv"), self.notes
        )


@dataclass(frozen=True)
class Source:
    """The data a request is built from: the dataset and, when the caller keeps it (the app's
    cache does), its prepared value, so that a filter re-reads no response code."""

    dataset: Dataset
    prepared: PreparedDataset | None = None

    def cohort(self, cohort_filter: CohortFilter) -> Cohort:
        """The cohort a filter selects."""
        if self.prepared is None:
            return select_cohort(self.dataset, cohort_filter)
        return select_prepared_cohort(self.prepared, cohort_filter)

    def index(self, cohort: Cohort) -> IndexedCohort:
        """The response index of a cohort this source selected."""
        return cohort_index(cohort, self.prepared)


# --- options ------------------------------------------------------------------------------------


def _cohort(source: Source, request: ExportRequest) -> Cohort:
    if not source.dataset.has("patients"):
        raise ExportUnavailable("This analysis needs the cohort study's patients table.")
    return source.cohort(request.cohort_filter)


def _cases(source: Source, request: ExportRequest) -> tuple[pl.DataFrame, pl.DataFrame]:
    if not source.dataset.has("cases"):
        raise ExportUnavailable("This analysis needs the case series' cases table.")
    series = select_cases(source.dataset, request.cohort_filter)
    return series.cases, series.events


def _by(request: ExportRequest, frame: pl.DataFrame) -> str | None:
    if request.by is not None and request.by not in frame.columns:
        raise ExportUnavailable(f"'{request.by}' is not a column of these data (--by).")
    return request.by


def _denominator(request: ExportRequest) -> Denominator:
    value = request.option("denominator", "evaluable") or "evaluable"
    for known in DENOMINATORS:
        if value == known:
            return known
    raise ExportUnavailable(
        f"--denominator must be one of {', '.join(DENOMINATORS)}, not '{value}'."
    )


def _flag(request: ExportRequest, flag: str, *, default: bool) -> bool:
    value = request.option(flag)
    if value is None:
        return default
    if value.lower() in ("true", "yes", "1"):
        return True
    if value.lower() in ("false", "no", "0"):
        return False
    raise ExportUnavailable(f"--{flag} is true or false, not '{value}'.")


# --- cohort figures and tables ------------------------------------------------------------------


def _response(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    summary = response_by_timepoint(
        cohort.patients,
        cohort.responses,
        _denominator(request),
        _by(request, cohort.patients),
        indexed=source.index(cohort),
    )
    # Drawn as the page draws it; the filter is in the provenance footer.
    chart = response_chart(summary)
    return Built(summary.frame, chart, summary=summary)


def _conversion_flows(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    indexed = source.index(cohort)
    flows = alluvial_flows(cohort.patients, cohort.responses, indexed=indexed)
    return Built(flows, alluvial_chart(flows), _statements(source, cohort))


def _conversion_table(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    patients, responses = cohort.patients, cohort.responses
    start = request.option("from", POST_DEBULKING) or POST_DEBULKING
    end = request.option("to", BEST_TIMEPOINT) or BEST_TIMEPOINT
    known = {*observed_timepoints(responses), POST_DEBULKING, BEST_TIMEPOINT}
    for value in (start, end):
        if value not in known:
            raise ExportUnavailable(f"'{value}' is not a timepoint of these data.")
    table = transition_table(responses, start, end, patients, indexed=source.index(cohort))
    title = f"{timepoint_label(start)} → {timepoint_label(end)}"
    return Built(table, notes=(title, *_statements(source, cohort)), summary=table)


def _statements(source: Source, cohort: Cohort) -> tuple[str, ...]:
    found = conversion_statements(cohort.patients, cohort.responses, indexed=source.index(cohort))
    return tuple(s.text for s in found)


def _table1(source: Source, request: ExportRequest) -> Built:
    patients = _cohort(source, request).patients
    p_values = _flag(request, "p-values", default=False)
    table = build_table1(patients, _by(request, patients), p_values=p_values)
    return Built(table.frame, summary=table)


# --- survival -----------------------------------------------------------------------------------


def _endpoint(request: ExportRequest) -> Endpoint:
    try:
        return Endpoint(request.endpoint or Endpoint.PFS.value)
    except ValueError:
        raise ExportUnavailable(
            f"--endpoint must be one of {', '.join(e.value for e in Endpoint)}, "
            f"not '{request.endpoint}'."
        ) from None


def _ci(request: ExportRequest) -> CIMethod:
    try:
        return CIMethod(request.ci or SURVIVAL_CI)
    except ValueError:
        raise ExportUnavailable(
            f"--ci must be one of {', '.join(m.value for m in CIMethod)}, not '{request.ci}'."
        ) from None


def survival_summary(
    dataset: Dataset, request: ExportRequest, prepared: PreparedDataset | None = None
) -> SurvivalSummary:
    """The survival summary a request names (endpoint, by, CI method) under its filter."""
    return _survival_summary(Source(dataset, prepared), request)


def _survival_summary(source: Source, request: ExportRequest) -> SurvivalSummary:
    cohort = _cohort(source, request)
    patients = cohort.patients
    endpoint = _endpoint(request)
    missing = [c for c in required_columns(endpoint, request.by) if c not in patients.columns]
    if missing:
        raise ExportUnavailable(f"Survival needs the column(s) {', '.join(missing)}.")
    return summarise_survival(
        cohort.patients, endpoint, request.by, _ci(request), conf_level=_conf_level(request)
    )


# --- the survival statistics (`survival_statistics`) --------------------------------------------


def _conf_level(request: ExportRequest) -> float:
    value = request.option("conf-level", stats.CONF_LEVELS[0]) or stats.CONF_LEVELS[0]
    if value not in stats.CONF_LEVELS:
        raise ExportUnavailable(
            f"--conf-level must be one of {', '.join(stats.CONF_LEVELS)}, not '{value}'."
        )
    return float(value)


def _list(request: ExportRequest, flag: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in (request.option(flag) or "").split(",") if v.strip())


def _days(request: ExportRequest, flag: str) -> tuple[float, ...]:
    try:
        days = tuple(float(v) for v in _list(request, flag))
    except ValueError:
        raise ExportUnavailable(
            f"--{flag} takes days separated by commas (e.g. 182,365), not '{request.option(flag)}'."
        ) from None
    if any(not 0 <= d < float("inf") for d in days):
        raise ExportUnavailable(f"--{flag}: days are numbers from 0 on.")
    return days


def _tau(request: ExportRequest) -> float:
    days = _days(request, "tau") or (stats.DEFAULT_TAU_DAYS,)
    if len(days) != 1 or days[0] <= 0:
        raise ExportUnavailable("--tau is one horizon in days, above 0 (e.g. 365).")
    return days[0]


def _ties(request: ExportRequest) -> Ties:
    value = request.option("ties", Ties.EFRON.value) or Ties.EFRON.value
    try:
        return Ties(value)
    except ValueError:
        choices = ", ".join(t.value for t in Ties)
        raise ExportUnavailable(f"--ties must be one of {choices}, not '{value}'.") from None


def _weights(request: ExportRequest) -> LogRankWeights:
    value = request.option("weights", LogRankWeights.LOGRANK.value) or LogRankWeights.LOGRANK
    try:
        return LogRankWeights(value)
    except ValueError:
        choices = ", ".join(w.value for w in LogRankWeights)
        raise ExportUnavailable(f"--weights must be one of {choices}, not '{value}'.") from None


def _columns(request: ExportRequest, flag: str, frame: pl.DataFrame) -> tuple[str, ...]:
    names = _list(request, flag)
    unknown = [n for n in names if n not in frame.columns]
    if unknown:
        raise ExportUnavailable(f"--{flag}: no column(s) {', '.join(unknown)} in these data.")
    return names


def _column(request: ExportRequest, flag: str, frame: pl.DataFrame) -> str | None:
    names = _columns(request, flag, frame)
    if len(names) > 1:
        raise ExportUnavailable(f"--{flag} takes one column, not {len(names)}.")
    return names[0] if names else None


def _statistic(table: stats.StatisticTable) -> Built:
    return Built(table.data, notes=table.notes, summary=table.summary)


def _patients(source: Source, request: ExportRequest) -> pl.DataFrame:
    return _cohort(source, request).patients


def _follow_up(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    table = stats.follow_up_table(patients, _endpoint(request), _ci(request), _conf_level(request))
    return _statistic(table)


def _number_at_risk(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    times = _days(request, "times") or stats.DEFAULT_RISK_DAYS
    return _statistic(stats.risk_table(patients, _endpoint(request), _by(request, patients), times))


def _landmarks(source: Source, request: ExportRequest) -> Built:
    times = _days(request, "times")
    if not times:
        summary = _survival_summary(source, request)
        return Built(summary.landmarks_frame(), notes=(*summary.warnings, *summary.notes),
                     summary=summary)  # fmt: skip
    patients = _patients(source, request)
    table = stats.landmark_table(
        patients,
        _endpoint(request),
        _by(request, patients),
        times,
        _ci(request),
        _conf_level(request),
    )
    return _statistic(table)


def _rmst(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    table = stats.rmst_table(
        patients, _endpoint(request), _by(request, patients), _tau(request), _conf_level(request)
    )
    return _statistic(table)


def _logrank(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    if request.option("weights") is None and request.option("strata") is None:
        summary = _survival_summary(source, request)
        return Built(summary.logrank_frame(), notes=(*summary.warnings, *summary.notes),
                     summary=summary)  # fmt: skip
    by = _by(request, patients)
    if by is None:
        raise ExportUnavailable("A weighted or stratified log-rank test compares groups: --by.")
    table = stats.logrank_table(
        patients, _endpoint(request), by, _weights(request), _column(request, "strata", patients)
    )
    return _statistic(table)


def _cox_fit(source: Source, request: ExportRequest) -> CoxFit:
    patients = _patients(source, request)
    by = _by(request, patients)
    covariates = [*([by] if by else []), *_columns(request, "covariates", patients)]
    if not covariates:
        raise stats.NoModel("No Cox model: name its covariates with --by or --covariates.")
    reference = request.option("reference")
    reference_of = {}
    if reference is not None:
        dtype = patients.schema[covariates[0]]
        if dtype == pl.Boolean and reference.lower() not in ("no", "false"):
            raise ExportUnavailable(
                f"--reference: the model compares Yes with No for {covariates[0]}, a yes/no "
                "column; No is its reference."
            )
        if dtype.is_numeric():
            raise ExportUnavailable(f"--reference: {covariates[0]} is a number, without levels.")
        if dtype != pl.Boolean:
            reference_of = {covariates[0]: reference}
    return stats.fit_model(
        patients,
        _endpoint(request),
        covariates,
        strata=_column(request, "strata", patients),
        reference=reference_of,
        ties=_ties(request),
        conf_level=_conf_level(request),
    )


def _cox(source: Source, request: ExportRequest) -> Built:
    multivariable = ("covariates", "strata", "reference", "ties")
    if all(request.option(flag) is None for flag in multivariable):
        # With --by only: the page's model of the groups, the numbers as they always were.
        summary = _survival_summary(source, request)
        return Built(summary.cox_frame(), notes=(*summary.warnings, *summary.notes),
                     summary=summary)  # fmt: skip
    try:
        return _statistic(stats.cox_table(_cox_fit(source, request)))
    except stats.NoModel as reason:
        return _statistic(stats.no_model_table(reason, proportional_hazards=False))


def _proportional_hazards(source: Source, request: ExportRequest) -> Built:
    try:
        return _statistic(stats.proportional_hazards_table(_cox_fit(source, request)))
    except stats.NoModel as reason:
        return _statistic(stats.no_model_table(reason, proportional_hazards=True))


def _incidence(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    times = _days(request, "times") or tuple(m * DAYS_PER_MONTH for m in LANDMARK_MONTHS)
    table = stats.incidence_table(patients, _by(request, patients), times, _conf_level(request))
    chart = cumulative_incidence_chart(table.summary, stats.COMPETING_EVENT)
    return Built(table.data, chart, table.notes, table.summary)


def _subgroups(
    request: ExportRequest, patients: pl.DataFrame, by: str | None = None
) -> tuple[str, ...]:
    names = _columns(request, "subgroups", patients)
    if not names:
        names = tuple(c for c in stats.DEFAULT_SUBGROUPS if c in patients.columns and c != by)
    if not names:
        raise ExportUnavailable("A forest plot needs subgroup columns: --subgroups A,B,...")
    return names


def _forest(source: Source, request: ExportRequest) -> Built:
    patients = _patients(source, request)
    by = _by(request, patients) or stats.DEFAULT_COMPARISON
    if by not in patients.columns:
        raise ExportUnavailable("A forest plot compares two groups: --by COLUMN.")
    table = stats.forest_table(
        patients,
        _endpoint(request),
        by,
        _subgroups(request, patients, by),
        reference=request.option("reference"),
        ties=_ties(request),
        conf_level=_conf_level(request),
    )
    return Built(table.data, forest_chart(table.summary), table.notes, table.summary)


def _forest_response(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    patients = cohort.patients
    subgroups = _subgroups(request, patients)
    timepoint = request.option("timepoint", BEST_TIMEPOINT) or BEST_TIMEPOINT
    response = "__response"
    if timepoint == BEST_TIMEPOINT:
        if "best_response" not in patients.columns:
            raise ExportUnavailable("The best response needs the column best_response.")
        frame = patients.with_columns(pl.col("best_response").alias(response))
    else:
        responses = cohort.responses
        if timepoint not in observed_timepoints(responses):
            raise ExportUnavailable(f"'{timepoint}' is not a timepoint of these data.")
        at = responses.filter(pl.col("timepoint") == timepoint).select(
            PATIENTS.key, pl.col("response").alias(response)
        )
        # The pseudonym only joins the two tables; it leaves no table, file or chart.
        frame = patients.join(at, on=PATIENTS.key, how="left").drop(PATIENTS.key)
    table = stats.forest_response_table(
        frame.select(response, *subgroups), response, subgroups, _conf_level(request)
    )
    chart = response_forest_chart(table.summary, timepoint_label(timepoint))
    return Built(table.data, chart, table.notes, table.summary)


def _survival_table(frame_of: Callable[[SurvivalSummary], pl.DataFrame]) -> Builder:
    def build(source: Source, request: ExportRequest) -> Built:
        summary = _survival_summary(source, request)
        notes = (*summary.warnings, *summary.notes)
        return Built(frame_of(summary), notes=notes, summary=summary)

    return build


def _follow_up_line(source: Source, request: ExportRequest) -> str | None:
    """The median follow-up under a KM figure (reverse Kaplan–Meier of OS), when OS is recorded."""
    patients = _cohort(source, request).patients
    os = Endpoint.OS
    if any(c not in patients.columns for c in (os.time_column, os.event_column)):
        return None
    table = stats.follow_up_table(patients, os, CIMethod.LOG, _conf_level(request))
    if table.summary.n == 0:
        return None
    return f"Median follow-up {follow_up_text(table.summary)} (reverse Kaplan–Meier of OS)"


def _km(source: Source, request: ExportRequest) -> Built:
    summary = _survival_summary(source, request)
    notes = (*summary.warnings, *summary.notes)
    bands = _flag(request, "bands", default=True)
    median = _flag(request, "median", default=False)
    risk = request.option("risk-table", "at-risk") or "at-risk"
    if risk not in RISK_TABLES:
        raise ExportUnavailable(
            f"--risk-table must be one of {', '.join(RISK_TABLES)}, not '{risk}'."
        )
    chart = km_chart(
        summary,
        show_ci=bands,
        show_median=median,
        risk_rows=RISK_TABLES[risk],
        follow_up=_follow_up_line(source, request),
    )
    return Built(summary.curves_frame(), chart, notes, summary)


# --- response and safety endpoints -------------------------------------------------------------


def _duration(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    result = estimate_duration_of_response(
        cohort.patients, cohort.responses, _by(request, cohort.patients), _ci(request)
    )
    summary = duration_summary(result)
    notes = duration_notes(result)
    if request.command == "table":
        return Built(duration_frame(result), notes=notes, summary=result)
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


# --- case series --------------------------------------------------------------------------------


def _recurrence(source: Source, request: ExportRequest) -> Built:
    cases, events = _cases(source, request)
    return Built(analyse_recurrence(cases, events).select(RECURRENCE_FIELDS))


def _case_table(source: Source, request: ExportRequest) -> Built:
    cases, events = _cases(source, request)
    return Built(build_case_table(cases, events))


def _unit(request: ExportRequest) -> Unit:
    value = request.option("unit", "days") or "days"
    if value == "days":
        return "days"
    if value == "months":
        return "months"
    raise ExportUnavailable(f"--unit must be days or months, not '{value}'.")


def _timeline(source: Source, request: ExportRequest) -> Built:
    cases, events = _cases(source, request)
    known = cases.get_column("case_id").to_list()
    if request.case is None or request.case not in known:
        listed = ", ".join(str(c) for c in known) or "none under this filter"
        given = f"'{request.case}' is not a case" if request.case else "A case is needed (--case)"
        raise ExportUnavailable(f"{given}; cases: {listed}.")
    case_events = events.filter(pl.col("case_id") == request.case)
    return Built(case_events, timeline_chart(events, request.case, _unit(request)))


def _swimmer(source: Source, request: ExportRequest) -> Built:
    cases, events = _cases(source, request)
    value = request.option("sort", "follow_up") or "follow_up"
    sort_by: SortBy
    if value == "follow_up":
        sort_by = "follow_up"
    elif value == "episodes":
        sort_by = "episodes"
    else:
        raise ExportUnavailable(f"--sort must be follow_up or episodes, not '{value}'.")
    return Built(events, swimmer_chart(cases, events, sort_by, _unit(request)))


def _crs_latency(source: Source, request: ExportRequest) -> Built:
    cases, events = _cases(source, request)
    episodes = crs_episodes(cases, events)
    by: LatencyBy
    if request.by in (None, "case", "case_id"):
        by = "case"
    elif request.by == "bsab":
        by = "bsab"
    else:
        raise ExportUnavailable(f"--by must be case or bsab here, not '{request.by}'.")
    return Built(episodes, crs_latency_chart(episodes, by))


_SURVIVAL_OPTIONS = frozenset({"endpoint", "by", "ci", "conf-level"})
_KM_OPTIONS = _SURVIVAL_OPTIONS | {"bands", "median", "risk-table"}
_COX_OPTIONS = _SURVIVAL_OPTIONS | {"covariates", "strata", "reference", "ties"}
_INCIDENCE_OPTIONS = frozenset({"by", "times", "conf-level"})
_FOREST_OPTIONS = frozenset({"endpoint", "by", "subgroups", "reference", "ties", "conf-level"})
_FOREST_RESPONSE_OPTIONS = frozenset({"timepoint", "subgroups", "conf-level"})

FIGURES: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry(
            "response",
            "Response by timepoint",
            COHORT,
            _response,
            frozenset({"by", "denominator"}),
            "Stacked IMWG categories per timepoint with ORR (Clopper–Pearson 95 % CI), ≥VGPR, CR.",
        ),
        Entry(
            "conversion",
            "Response conversion across timepoints",
            COHORT,
            _conversion_flows,
            frozenset(),
            "Alluvial diagram of response categories between consecutive timepoints.",
        ),
        Entry(
            "km",
            "Kaplan–Meier curves",
            COHORT,
            _km,
            _KM_OPTIONS,
            "PFS or OS curves with CI bands, censor ticks and the number at risk.",
        ),
        Entry(
            "timeline",
            "Case timeline",
            CASE_SERIES,
            _timeline,
            frozenset({"case", "unit"}),
            "One case: doses, CRS by grade, ICANS, infections, treatments and schedule changes.",
        ),
        Entry(
            "swimmer",
            "Swimmer plot of all cases",
            CASE_SERIES,
            _swimmer,
            frozenset({"sort", "unit"}),
            "One lane per case with doses, CRS episodes and key events.",
        ),
        Entry(
            "crs-latency",
            "CRS latency after the attributed dose",
            CASE_SERIES,
            _crs_latency,
            frozenset({"by"}),
            "Hours from the attributed dose to each CRS episode, and days between episodes.",
        ),
        Entry(
            "duration-of-response",
            "Duration of response",
            COHORT,
            _duration,
            frozenset({"by", "ci", "bands"}),
            "Kaplan–Meier among responders from the first response to progression or death.",
        ),
        Entry(
            "cumulative-incidence",
            "Cumulative incidence of progression",
            COHORT,
            _incidence,
            _INCIDENCE_OPTIONS,
            "Progression and death without progression (the competing event), Aalen–Johansen.",
        ),
        Entry(
            "forest",
            "Subgroup forest plot of hazard ratios",
            COHORT,
            _forest,
            _FOREST_OPTIONS,
            "Hazard ratio within every subgroup level on a log axis, with interaction p-values.",
        ),
        Entry(
            "forest-response",
            "Subgroup forest plot of response rates",
            COHORT,
            _forest_response,
            _FOREST_RESPONSE_OPTIONS,
            "ORR and ≥VGPR per subgroup level with exact (Clopper–Pearson) CIs.",
        ),
    )
}

TABLES: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry("table1", "Table 1: patient characteristics", COHORT, _table1,
              frozenset({"by", "p-values"})),
        Entry("response", "Response by timepoint", COHORT, _response,
              frozenset({"by", "denominator"})),
        Entry("conversion", "Response conversion", COHORT, _conversion_table,
              frozenset({"from", "to"})),
        Entry("survival-medians", "Median survival", COHORT,
              _survival_table(SurvivalSummary.medians_frame), _SURVIVAL_OPTIONS),
        Entry("survival-landmarks", "Survival at landmarks", COHORT, _landmarks,
              _SURVIVAL_OPTIONS | {"times"}),
        Entry("survival-curve", "Kaplan–Meier estimates", COHORT,
              _survival_table(SurvivalSummary.curves_frame), _SURVIVAL_OPTIONS),
        Entry("logrank", "Log-rank test", COHORT, _logrank,
              _SURVIVAL_OPTIONS | {"weights", "strata"}),
        Entry("cox", "Cox hazard ratios", COHORT, _cox, _COX_OPTIONS),
        Entry("follow-up", "Median follow-up (reverse Kaplan–Meier)", COHORT, _follow_up,
              frozenset({"endpoint", "ci", "conf-level"})),
        Entry("number-at-risk", "Number at risk, cumulative events and censored", COHORT,
              _number_at_risk, frozenset({"endpoint", "by", "times"})),
        Entry("rmst", "Restricted mean survival time", COHORT, _rmst,
              frozenset({"endpoint", "by", "tau", "conf-level"})),
        Entry("proportional-hazards", "Test of proportional hazards", COHORT,
              _proportional_hazards, _COX_OPTIONS),
        Entry("cumulative-incidence", "Cumulative incidence of progression", COHORT, _incidence,
              _INCIDENCE_OPTIONS),
        Entry("forest", "Subgroup hazard ratios", COHORT, _forest, _FOREST_OPTIONS),
        Entry("forest-response", "Subgroup response rates", COHORT, _forest_response,
              _FOREST_RESPONSE_OPTIONS),
        Entry("crs-recurrence", "Recurrent CRS by case", CASE_SERIES, _recurrence),
        Entry("case-table", "Case series: Table 1", CASE_SERIES, _case_table),
        Entry("duration-of-response", "Duration of response", COHORT, _duration,
              frozenset({"by", "ci"})),
        Entry("time-to-response", "Time to first and best response", COHORT, _time_to_response,
              frozenset({"by"})),
        Entry("mrd", "MRD negativity", COHORT, _mrd, frozenset({"by"})),
        Entry("adverse-events", "Adverse events by highest grade", COHORT, _adverse_events,
              frozenset({"by"})),
        Entry("crs-course", "CRS course", COHORT, _crs_course, frozenset({"source"})),
        Entry("crs-course-patients", "CRS course by patient", COHORT, _crs_patients,
              frozenset({"source"})),
    )
}  # fmt: skip


def catalogue(command: str) -> dict[str, Entry]:
    """The entries of `figure` or `table`."""
    return FIGURES if command == "figure" else TABLES


def _entry(request: ExportRequest) -> Entry:
    entries = catalogue(request.command)
    entry = entries.get(request.name)
    if entry is None:
        names = ", ".join(sorted(entries))
        raise ExportUnavailable(f"There is no {request.command} '{request.name}' (use: {names}).")
    return entry


def _ci_method(entry: Entry, request: ExportRequest) -> str | None:
    if "ci" in entry.options:
        return request.ci or SURVIVAL_CI
    if entry.name == "response":
        return RESPONSE_CI
    return None


def request_provenance(
    dataset: Dataset, request: ExportRequest, *, clock: Clock = utc_now
) -> Provenance:
    """The provenance of the export a request names: filter applied, N, CI method, options."""
    entry = _entry(request)
    study = entry.study
    if "source" in entry.options and _crs_source(dataset, request) == "case-series":
        study = CASE_SERIES
    table = CASES if study == CASE_SERIES else PATIENTS
    # A clause on a column the table lacks does not apply to it: the footer says so.
    applied = CohortFilter.of(c for c in request.cohort_filter.clauses if c.column in table.by_name)
    ignored = [c.to_text() for c in request.cohort_filter.clauses if c.column not in table.by_name]
    if study == CASE_SERIES:
        series = select_cases(dataset, applied)
        n, total, unit = series.n, series.total, "cases"
    else:
        cohort = select_cohort(dataset, applied)
        n, total, unit = cohort.n, cohort.total, "patients"
    details: list[tuple[str, str]] = []
    if ignored:
        details.append((f"Not applicable to {unit}", "; ".join(ignored)))
    if request.endpoint:
        details.append(("Endpoint", request.endpoint.upper()))
    if request.by:
        details.append(("Grouped by", column_label(request.by)))
    if request.case:
        details.append(("Case", request.case))
    details.extend((column_label(k).capitalize(), v) for k, v in request.options)
    return Provenance.of(
        dataset,
        applied,
        n,
        total,
        ci_method=_ci_method(entry, request),
        unit=unit,
        details=tuple(details),
        clock=clock,
    )


def build(
    request: ExportRequest, dataset: Dataset, prepared: PreparedDataset | None = None
) -> Built:
    """The chart, data and analysis result a request names: what a page draws, a file holds
    (`prepared`, the dataset's prepared value, only spares work: the result is the same)."""
    built = _entry(request).build(Source(dataset, prepared), request)
    if request.command == "table" and built.chart is not None:
        return Built(built.data, None, built.notes, built.summary)
    return built


def make_export(dataset: Dataset, request: ExportRequest, *, clock: Clock = utc_now) -> Export:
    """Build the figure or table a request names, with its provenance."""
    built = build(request, dataset)
    provenance = request_provenance(dataset, request, clock=clock)
    return Export(request, _entry(request).title, built.data, provenance, built.chart, built.notes)


def write_export(
    dataset: Dataset,
    request: ExportRequest,
    out: str | Path,
    *,
    dpi: int | None = None,
    clock: Clock = utc_now,
) -> Path:
    """Write the export to `out`: .png (144 dpi, or `dpi`), .svg, .csv (the data); a table also
    as .zip (the CSV with its provenance file)."""
    path = Path(out)
    suffix = path.suffix.lower()
    allowed = (".png", ".svg", ".csv") if request.command == "figure" else (".csv", ".zip", "")
    if suffix not in allowed:
        kind = (
            "figure is written as .png, .svg or .csv"
            if request.command == "figure"
            else ("table is written as .csv or .zip")
        )
        raise ExportUnavailable(f"A {kind}, not '{path.suffix}'.")
    export = make_export(dataset, request, clock=clock)
    if suffix == ".svg":
        path.write_text(export.svg(), encoding="utf-8")
    elif suffix == ".png":
        path.write_bytes(export.png(dpi=dpi))
    elif suffix == ".zip":
        path.write_bytes(export.zip())
    else:
        path.write_bytes(export.csv())
    return path
