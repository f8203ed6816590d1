"""Every figure and table of the app by its command-line name, built the same way everywhere.

A page asks `build` for the chart and tables it draws; its downloads, `bsab-explorer
figure|table NAME`, the Python API (`write_export`) and the report call `make_export` with the
same `ExportRequest`, which builds through the same function. So what a page shows is what its
files hold and what its Reproduce command regenerates: there is no second way to a chart.

The builders live beside it by domain (`cohort_builders`, `summary_builders`,
`survival_builders`, `endpoint_builders`, `case_builders`), the options they share in
`options`. An entry names its builder as "module:attribute" and the module is imported when the
entry first builds: the domain modules pull in their analyses (Table 1 brings pyarrow, the
further survival statistics their Cox, competing-risks and forest models), and a command
building one table should not wait for the others.

Adding a figure: write a builder `(source, request) -> Built` and add an `Entry` to `FIGURES`
(or `TABLES`) naming it and the options it understands (a test resolves every entry).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from bsab_explorer.analyses.survival import required_columns
from bsab_explorer.dataset import Dataset
from bsab_explorer.exports.columns import file_frame
from bsab_explorer.exports.options import (
    RESPONSE_CI,
    SURVIVAL_CI,
    Builder,
    Built,
    ExportUnavailable,
    Source,
    _endpoint,
)
from bsab_explorer.exports.provenance import Clock, Provenance, utc_now
from bsab_explorer.exports.request import ExportRequest
from bsab_explorer.exports.tables import table_to_csv, table_to_zip
from bsab_explorer.filters import CohortFilter, select_cases, select_cohort
from bsab_explorer.schema import (
    ADVERSE_EVENTS,
    CASE_SERIES,
    CASES,
    COHORT,
    EVENTS,
    PATIENTS,
    RESPONSES,
    column_label,
)

if TYPE_CHECKING:
    from bsab_explorer.analyses.prepared import PreparedDataset


@dataclass(frozen=True)
class Entry:
    """One exportable figure or table: its CLI name, title, study and the options it reads."""

    name: str
    title: str
    study: str
    #: The builder as "module:attribute" in this package, imported on first build (so a command
    #: imports the one domain module its entry needs: a medians table no Table 1 nor case code).
    builder: str
    #: Request fields and further options this entry reads: by, endpoint, ci, case, denominator...
    options: frozenset[str] = field(default_factory=frozenset)
    description: str = ""
    #: The tables its builder reads (None: every table): a command loads only these from a
    #: store (`needed_data`). A test builds every entry that declares them from them alone.
    needs: frozenset[str] | None = None
    #: Whether, of the patients, its builder reads only the survival summary's columns (the
    #: request's endpoint and --by) and the filter's: a command then loads only those columns.
    summary_columns: bool = False

    @property
    def build(self) -> Builder:
        """The builder function, its module imported on first use."""
        module, attribute = self.builder.split(":")
        return cast(Builder, getattr(importlib.import_module(f"{__package__}.{module}"), attribute))


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
        # Altair and vl-convert are imported by what renders a chart, not by a table's command.
        from bsab_explorer.exports.figures import chart_to_png, chart_to_svg, svg_to_png

        if dpi is not None:
            return svg_to_png(chart_to_svg(self.chart, self.provenance), dpi=dpi)
        return chart_to_png(self.chart, self.provenance, "print" if size == "print" else "screen")

    def svg(self) -> str:
        """The chart as SVG with the provenance footer."""
        from bsab_explorer.exports.figures import chart_to_svg

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


_SURVIVAL_OPTIONS = frozenset({"endpoint", "by", "ci", "conf-level"})
_KM_OPTIONS = _SURVIVAL_OPTIONS | {"bands", "median", "risk-table"}
_COX_OPTIONS = _SURVIVAL_OPTIONS | {"covariates", "strata", "reference", "ties"}
_INCIDENCE_OPTIONS = frozenset({"by", "times", "conf-level"})
_FOREST_OPTIONS = frozenset({"endpoint", "by", "subgroups", "reference", "ties", "conf-level"})
_FOREST_RESPONSE_OPTIONS = frozenset({"timepoint", "subgroups", "conf-level"})
#: What the tables read (`Entry.needs`): the patient-level tables the patients alone, never
#: the responses; the response tables the patients and their responses; and so on.
_PATIENTS = frozenset({PATIENTS.name})
_RESPONSES = frozenset({PATIENTS.name, RESPONSES.name})
_ADVERSE_EVENTS = frozenset({PATIENTS.name, ADVERSE_EVENTS.name})
_CASE_SERIES = frozenset({CASES.name, EVENTS.name})

FIGURES: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry(
            "response",
            "Response by timepoint",
            COHORT,
            "cohort_builders:_response",
            frozenset({"by", "denominator"}),
            "Stacked IMWG categories per timepoint with ORR (Clopper–Pearson 95 % CI), ≥VGPR, CR.",
        ),
        Entry(
            "conversion",
            "Response conversion across timepoints",
            COHORT,
            "cohort_builders:_conversion_flows",
            frozenset(),
            "Alluvial diagram of response categories between consecutive timepoints.",
        ),
        Entry(
            "km",
            "Kaplan–Meier curves",
            COHORT,
            "survival_builders:_km",
            _KM_OPTIONS,
            "PFS or OS curves with CI bands, censor ticks and the number at risk.",
        ),
        Entry(
            "timeline",
            "Case timeline",
            CASE_SERIES,
            "case_builders:_timeline",
            frozenset({"case", "unit"}),
            "One case: doses, CRS by grade, ICANS, infections, treatments and schedule changes.",
        ),
        Entry(
            "swimmer",
            "Swimmer plot of all cases",
            CASE_SERIES,
            "case_builders:_swimmer",
            frozenset({"sort", "unit"}),
            "One lane per case with doses, CRS episodes and key events.",
        ),
        Entry(
            "crs-latency",
            "CRS latency after the attributed dose",
            CASE_SERIES,
            "case_builders:_crs_latency",
            frozenset({"by"}),
            "Hours from the attributed dose to each CRS episode, and days between episodes.",
        ),
        Entry(
            "duration-of-response",
            "Duration of response",
            COHORT,
            "endpoint_builders:_duration",
            frozenset({"by", "ci", "bands"}),
            "Kaplan–Meier among responders from the first response to progression or death.",
        ),
        Entry(
            "cumulative-incidence",
            "Cumulative incidence of progression",
            COHORT,
            "survival_builders:_incidence",
            _INCIDENCE_OPTIONS,
            "Progression and death without progression (the competing event), Aalen–Johansen.",
        ),
        Entry(
            "forest",
            "Subgroup forest plot of hazard ratios",
            COHORT,
            "survival_builders:_forest",
            _FOREST_OPTIONS,
            "Hazard ratio within every subgroup level on a log axis, with interaction p-values.",
        ),
        Entry(
            "forest-response",
            "Subgroup forest plot of response rates",
            COHORT,
            "survival_builders:_forest_response",
            _FOREST_RESPONSE_OPTIONS,
            "ORR and ≥VGPR per subgroup level with exact (Clopper–Pearson) CIs.",
        ),
    )
}

TABLES: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry("table1", "Table 1: patient characteristics", COHORT,
              "cohort_builders:_table1", frozenset({"by", "p-values"}), needs=_PATIENTS),
        Entry("response", "Response by timepoint", COHORT,
              "cohort_builders:_response", frozenset({"by", "denominator"}), needs=_RESPONSES),
        Entry("conversion", "Response conversion", COHORT,
              "cohort_builders:_conversion_table", frozenset({"from", "to"}), needs=_RESPONSES),
        Entry("survival-medians", "Median survival", COHORT,
              "summary_builders:_medians", _SURVIVAL_OPTIONS,
              needs=_PATIENTS, summary_columns=True),
        Entry("survival-landmarks", "Survival at landmarks", COHORT,
              "survival_builders:_landmarks", _SURVIVAL_OPTIONS | {"times"}, needs=_PATIENTS),
        Entry("survival-curve", "Kaplan–Meier estimates", COHORT,
              "summary_builders:_curve_table", _SURVIVAL_OPTIONS,
              needs=_PATIENTS, summary_columns=True),
        Entry("logrank", "Log-rank test", COHORT,
              "survival_builders:_logrank", _SURVIVAL_OPTIONS | {"weights", "strata"},
              needs=_PATIENTS),
        Entry("cox", "Cox hazard ratios", COHORT,
              "survival_builders:_cox", _COX_OPTIONS, needs=_PATIENTS),
        Entry("follow-up", "Median follow-up (reverse Kaplan–Meier)", COHORT,
              "survival_builders:_follow_up", frozenset({"endpoint", "ci", "conf-level"}),
              needs=_PATIENTS),
        Entry("number-at-risk", "Number at risk, cumulative events and censored", COHORT,
              "survival_builders:_number_at_risk", frozenset({"endpoint", "by", "times"}),
              needs=_PATIENTS),
        Entry("rmst", "Restricted mean survival time", COHORT,
              "survival_builders:_rmst", frozenset({"endpoint", "by", "tau", "conf-level"}),
              needs=_PATIENTS),
        Entry("proportional-hazards", "Test of proportional hazards", COHORT,
              "survival_builders:_proportional_hazards", _COX_OPTIONS, needs=_PATIENTS),
        Entry("cumulative-incidence", "Cumulative incidence of progression", COHORT,
              "survival_builders:_incidence", _INCIDENCE_OPTIONS, needs=_PATIENTS),
        Entry("forest", "Subgroup hazard ratios", COHORT,
              "survival_builders:_forest", _FOREST_OPTIONS, needs=_PATIENTS),
        Entry("forest-response", "Subgroup response rates", COHORT,
              "survival_builders:_forest_response", _FOREST_RESPONSE_OPTIONS,
              needs=_RESPONSES),
        Entry("crs-recurrence", "Recurrent CRS by case", CASE_SERIES,
              "case_builders:_recurrence", needs=_CASE_SERIES),
        Entry("case-table", "Case series: Table 1", CASE_SERIES,
              "case_builders:_case_table", needs=_CASE_SERIES),
        Entry("duration-of-response", "Duration of response", COHORT,
              "endpoint_builders:_duration", frozenset({"by", "ci"}), needs=_RESPONSES),
        Entry("time-to-response", "Time to first and best response", COHORT,
              "endpoint_builders:_time_to_response", frozenset({"by"}), needs=_RESPONSES),
        Entry("mrd", "MRD negativity", COHORT,
              "endpoint_builders:_mrd", frozenset({"by"}), needs=_RESPONSES),
        Entry("adverse-events", "Adverse events by highest grade", COHORT,
              "endpoint_builders:_adverse_events", frozenset({"by"}), needs=_ADVERSE_EVENTS),
        # The CRS course reads the cohort's adverse events or the case series (--source, whose
        # default depends on what the data hold): everything is loaded.
        Entry("crs-course", "CRS course", COHORT,
              "endpoint_builders:_crs_course", frozenset({"source"})),
        Entry("crs-course-patients", "CRS course by patient", COHORT,
              "endpoint_builders:_crs_patients", frozenset({"source"})),
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


def needed_data(request: ExportRequest) -> dict[str, frozenset[str] | None] | None:
    """What of a dataset a request's table and its provenance read: table -> its columns (None:
    every column); None when the entry declares nothing (everything is read).

    The columns: the survival summary's (`Entry.summary_columns`), the filter's and the key;
    the filter's columns are those the provenance counts patients with (`request_provenance`).
    """
    entry = _entry(request)
    if entry.needs is None:
        return None
    needed: dict[str, frozenset[str] | None] = dict.fromkeys(entry.needs)
    if entry.summary_columns:
        try:
            endpoint = _endpoint(request)
        except ExportUnavailable:
            return None  # the builder refuses it, from the whole dataset as before
        filtered = (c.column for c in request.cohort_filter.clauses)
        summary = required_columns(endpoint, request.by)
        needed[PATIENTS.name] = frozenset({PATIENTS.key, *summary, *filtered})
    return needed


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
    if "source" in entry.options:
        from bsab_explorer.exports.endpoint_builders import _crs_source

        if _crs_source(dataset, request) == "case-series":
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


__all__ = [
    "FIGURES",
    "RESPONSE_CI",
    "SURVIVAL_CI",
    "TABLES",
    "Built",
    "Entry",
    "Export",
    "ExportUnavailable",
    "Source",
    "build",
    "catalogue",
    "make_export",
    "needed_data",
    "request_provenance",
    "write_export",
]
