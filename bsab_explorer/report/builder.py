"""The reproducible report: every figure and table for one filter, in one self-contained file.

`build_report` is a pure function of the dataset, the filter, the options and the clock; the
clock appears on one line only (the "Created" line), so two runs on the same inputs differ in
that line alone. Figures are rendered server-side (vl-convert) and embedded as SVG data URIs.

(Just over 500 lines: `_Report` holds one method a section, in the order the report prints
them, each a few lines that ask the exports catalogue for a screen's figures and tables. The
HTML pieces live in `template`, the methods text in `methods`; split further, the sections would
lose the one place that shows their order.)
"""

from __future__ import annotations

import platform
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

import polars as pl

from bsab_explorer import __version__
from bsab_explorer.analyses.endpoint_tables import (
    adverse_event_display,
    crs_course_display,
    crs_course_lines,
    duration_display,
)
from bsab_explorer.analyses.response import rate_statement
from bsab_explorer.analyses.survival import CIMethod, Endpoint, SurvivalSummary
from bsab_explorer.analyses.survival_tables import (
    comparison_lines,
    landmark_notes,
    median_table,
)
from bsab_explorer.analyses.table1 import NOT_RECORDED
from bsab_explorer.audit import AUDIT_STATUSES, REPRODUCED, audit_dataset
from bsab_explorer.dataset import Dataset
from bsab_explorer.errors import Unavailable
from bsab_explorer.exports import (
    FIGURES,
    Export,
    ExportRequest,
    build,
    chart_to_svg,
    make_export,
    reproduce_command,
    survival_summary,
)
from bsab_explorer.exports.provenance import Clock, utc_now
from bsab_explorer.exports.reproduce import data_argument
from bsab_explorer.exports.survival_statistics import DEFAULT_COMPARISON
from bsab_explorer.filters import CohortFilter, select_cases, select_cohort
from bsab_explorer.formatting import format_p
from bsab_explorer.report.methods import DEFINITIONS, SOFTWARE, statistical_methods
from bsab_explorer.report.template import (
    FONT_STACK,
    definition_list,
    esc,
    figure_html,
    key_value_table,
    page,
    paragraph,
    paragraphs,
    section,
    table_html,
)
from bsab_explorer.schema import (
    DEFAULT_COMPARISONS,
    RECONSTRUCTED_NOTICE,
    STUDY_LABELS,
    column_label,
)

REPORT_TITLE = "bsab-explorer report"
#: Said instead of the case-series charts when the filter keeps no case.
NO_CASES = "No cases in this subgroup: the filter keeps none of the case series, so no CRS chart."
AUDIT_TITLE = "Audit against the publications"
#: Covariates of the report's multivariable Cox model, beside the first comparison.
COX_COVARIATES: tuple[str, ...] = ("age_years", "iss_stage")
#: Packages whose versions the provenance block lists: those that computed, drew or served it.
PACKAGES = tuple(name for name, _ in SOFTWARE)
#: The one line that changes between two runs on the same inputs.
TIMESTAMP_PREFIX = "Created "
_TIMESTAMP_LINE = re.compile(rf'<p class="timestamp">{TIMESTAMP_PREFIX}[^<]*</p>')


@dataclass(frozen=True)
class Section:
    """One report section: its anchor, title and HTML body."""

    anchor: str
    title: str
    body: str


Block = Callable[[], str]


def _guarded(block: Block) -> str:
    # A part the data cannot answer says why; the rest of the report still appears.
    try:
        return block()
    except (Unavailable, ValueError, pl.exceptions.PolarsError) as error:
        return paragraph(f"Not available for these data: {error}", "unavailable")


def package_versions() -> tuple[tuple[str, str], ...]:
    """Versions of Python and of the packages that compute and draw the report."""
    found = [("python", platform.python_version())]
    for name in PACKAGES:
        try:
            found.append((name, version(name)))
        except PackageNotFoundError:
            found.append((name, "not installed"))
    return tuple(found)


class _Report:
    """Builds the sections for one dataset, filter and set of options."""

    def __init__(
        self,
        dataset: Dataset,
        cohort_filter: CohortFilter,
        ci: CIMethod,
        comparisons: Sequence[str],
        clock: Clock,
    ) -> None:
        self.dataset = dataset
        self.cohort_filter = cohort_filter
        self.ci = ci
        self.comparisons = tuple(comparisons)
        self.clock = clock

    # --- helpers -------------------------------------------------------------------------------

    def request(self, command: str, name: str, **fields: object) -> ExportRequest:
        return ExportRequest(command, name, self.cohort_filter, **fields)  # type: ignore[arg-type]

    def export(self, command: str, name: str, **fields: object) -> Export:
        return make_export(self.dataset, self.request(command, name, **fields), clock=self.clock)

    def figure(self, name: str, caption: str, **fields: object) -> str:
        export = self.export("figure", name, **fields)
        svg = chart_to_svg(export.chart, None, font=FONT_STACK)
        return figure_html(svg, caption, alt=export.title) + self.command(export.request)

    def command(self, request: ExportRequest) -> str:
        """The command line that regenerates one figure or table of the report."""
        data = data_argument(self.dataset)
        return paragraph(f"Reproduce: {reproduce_command(request, data=data)}", "command")

    # --- cohort study ---------------------------------------------------------------------------

    def table1(self) -> str:
        export = self.export("table", "table1")
        return table_html(
            export.data,
            hide=("section",),
            indent_column="indent",
            label_column="characteristic",
            muted_labels=(NOT_RECORDED,),
            labels={"characteristic": "Characteristic"},
        ) + self.command(export.request)

    def response(self) -> str:
        parts = [self.figure("response", "IMWG response by timepoint (evaluable patients).")]
        export = self.export("table", "response")
        data = export.data
        rows = [
            {
                "Timepoint": row["timepoint_label"],
                "Assessed": f"{row['n_assessed']} of {row['n_patients']}",
                "ORR": rate_statement(row, "orr").removeprefix("ORR "),
                "≥VGPR": rate_statement(row, "vgpr").removeprefix("≥VGPR "),
                "CR": rate_statement(row, "cr").removeprefix("CR "),
            }
            for row in data.iter_rows(named=True)
        ]
        frame = pl.DataFrame(
            rows, schema=dict.fromkeys(("Timepoint", "Assessed", "ORR", "≥VGPR", "CR"), pl.String)
        )
        parts.append(
            table_html(frame, caption="Rates of patients evaluable at each timepoint (95 % CI)")
        )
        parts.append(self.command(export.request))
        return "".join(parts)

    def conversion(self) -> str:
        parts = [
            _guarded(
                lambda: self.figure(
                    "conversion", "Response categories across consecutive timepoints."
                )
            )
        ]
        export = self.export("table", "conversion")
        title, *statements = export.notes
        parts.append(paragraphs(statements))
        parts.append(
            table_html(
                export.data.select("from", "to", "n"),
                caption=f"Transitions: {title}",
                labels={"from": "From", "to": "To", "n": "Patients"},
                small=True,
            )
        )
        parts.append(self.command(export.request))
        return "".join(parts)

    def survival(self, endpoint: Endpoint) -> str:
        parts: list[str] = []
        for by in (None, *self.comparisons):
            heading = (
                f"{endpoint.label}: {'all patients' if by is None else 'by ' + column_label(by)}"
            )
            parts.append(f"<h3>{esc(heading)}</h3>")
            parts.append(_guarded(lambda by=by: self.survival_block(endpoint, by)))  # type: ignore[misc]
        return "".join(parts)

    def survival_block(self, endpoint: Endpoint, by: str | None) -> str:
        request = self.request(
            "table", "survival-medians", endpoint=endpoint.value, by=by, ci=self.ci.value
        )
        summary = survival_summary(self.dataset, request)
        parts = [self.km_figure(endpoint, by)]
        parts.append(_survival_table(summary))
        parts.append(paragraphs([f"{line}." for line in comparison_lines(summary)]))
        parts.append(paragraphs(summary.warnings, "warning"))
        parts.append(paragraphs(summary.notes, "note"))
        parts.append(self.command(request))
        return "".join(parts)

    def km_figure(self, endpoint: Endpoint, by: str | None) -> str:
        if "km" not in _figure_names():
            return ""
        return self.figure(
            "km",
            f"Kaplan–Meier estimate of {endpoint.label.lower()}; shaded: pointwise 95 % CI, "
            f"{self.ci.label}; ticks: censored.",
            endpoint=endpoint.value,
            by=by,
            ci=self.ci.value,
        )

    # --- response and safety endpoints ---------------------------------------------------------

    def duration_available(self) -> bool:
        """Whether the data can give the duration of response (assessment days, PFS)."""
        try:
            build(self.request("table", "duration-of-response"), self.dataset)
        except Unavailable:
            return False
        return True

    def duration(self) -> str:
        request = self.request("table", "duration-of-response", ci=self.ci.value)
        built = build(request, self.dataset)
        parts = [
            self.figure(
                "duration-of-response",
                "Kaplan–Meier estimate of the duration of response among responders; shaded: "
                f"pointwise 95 % CI, {self.ci.label}; ticks: censored.",
                ci=self.ci.value,
            ),
            table_html(duration_display(built.summary)),
            paragraphs(built.notes, "note"),
            self.command(request),
        ]
        return "".join(parts)

    def safety(self) -> str:
        request = self.request("table", "adverse-events")
        built = build(request, self.dataset)
        return (
            table_html(
                adverse_event_display(built.summary),
                caption="Patients with each adverse event by highest grade, n (% of all treated)",
            )
            + paragraphs(built.notes, "note")
            + self.command(request)
        )

    def crs_course(self) -> str:
        request = self.request("table", "crs-course")
        built = build(request, self.dataset)
        return (
            table_html(
                crs_course_display(built.summary),
                caption="CRS onset after the preceding dose and duration: median (range), days",
            )
            + paragraphs(crs_course_lines(built.summary))
            + paragraphs(built.notes, "note")
            + self.command(request)
        )

    # --- survival statistics ----------------------------------------------------------------------

    def follow_up(self) -> str:
        export = self.export("table", "follow-up", endpoint=Endpoint.OS.value)
        if export.data.height == 0 or export.data["n"][0] == 0:
            return paragraph("No patient with a recorded OS time.", "unavailable")
        row = export.data.row(0, named=True)
        text = (
            "not reached"
            if row["median_months"] is None
            else f"{row['median_months']:.1f} months (95 % CI "
            f"{_months(row['ci_lower_months'], 'NE')}–{_months(row['ci_upper_months'], 'NR')})"
        )
        return (
            paragraph(
                f"Median follow-up: {text}, reverse Kaplan–Meier estimate of OS "
                f"({row['n']} patients, {row['censored']} alive at their last contact)."
            )
            + paragraphs(export.notes, "note")
            + self.command(export.request)
        )

    def cox(self) -> str:
        by = self.comparisons[0] if self.comparisons else None
        covariates = [c for c in COX_COVARIATES if c != by]
        fields: dict[str, object] = {"endpoint": Endpoint.PFS.value, "by": by}
        options = (("covariates", ",".join(covariates)),)
        export = self.export("table", "cox", options=options, **fields)
        ph = self.export("table", "proportional-hazards", options=options, **fields)
        parts = [
            table_html(
                export.data.select("term", "hazard_ratio", "ci_lower", "ci_upper", "p_value"),
                caption="Multivariable Cox model of PFS (Efron ties; hazard ratios, Wald 95 % CI)",
                labels={
                    "term": "Term",
                    "hazard_ratio": "Hazard ratio",
                    "ci_lower": "95 % CI lower",
                    "ci_upper": "95 % CI upper",
                    "p_value": "p (Wald)",
                },
            ),
        ]
        if export.data.height:
            row = export.data.row(0, named=True)
            parts.append(
                paragraph(
                    f"{row['n']} patients, {row['events']} events; likelihood-ratio test "
                    f"p = {format_p(row['likelihood_ratio_p'])}; concordance "
                    f"{row['concordance']:.3f}."
                )
            )
        parts.append(paragraphs(export.notes, "warning"))
        parts.append(self.command(export.request))
        parts.append(
            table_html(
                ph.data.select("term", "chi2", "df", "p_value"),
                caption="Test of proportional hazards (R's cox.zph, Kaplan–Meier transform)",
                labels={"term": "Term", "chi2": "χ²", "df": "df", "p_value": "p"},
                small=True,
            )
        )
        parts.append(self.command(ph.request))
        return "".join(parts)

    def forest(self) -> str:
        by = self.comparisons[0] if self.comparisons else DEFAULT_COMPARISON
        return self.figure(
            "forest",
            "Hazard ratio of PFS within each subgroup level (Cox model, Efron ties, Wald 95 % "
            "CI, log scale); marker size: events; interaction p: likelihood-ratio test.",
            endpoint=Endpoint.PFS.value,
            by=by,
        ) + self.figure(
            "cumulative-incidence",
            "Cumulative incidence of progression and of death without progression (the "
            "competing event), Aalen–Johansen estimates; Gray's test between groups.",
            by=by,
        )

    # --- case series ----------------------------------------------------------------------------

    def case_table(self) -> str:
        export = self.export("table", "case-table")
        return table_html(export.data) + self.command(export.request)

    def recurrence(self) -> str:
        export = self.export("table", "crs-recurrence")
        data = export.data
        rows = [
            {
                "Case": str(row["case_id"]),
                "CRS episodes (recurrent)": f"{row['n_episodes']} ({row['n_recurrent']})",
                "First CRS": _first_crs(row["first_crs_day"], row["first_crs_grade"]),
                "Interval, days: median (range)": _spread(row, "interval_days"),
                "Latency after dose, hours: median (range)": _spread(row, "latency_hours"),
                "Worst grade": _short(row["max_grade"]),
                "Possible infection": _short(row["possible_infection_episodes"]),
                "Pattern": str(row["pattern"] or "—"),
            }
            for row in data.iter_rows(named=True)
        ]
        columns = (
            "Case",
            "CRS episodes (recurrent)",
            "First CRS",
            "Interval, days: median (range)",
            "Latency after dose, hours: median (range)",
            "Worst grade",
            "Possible infection",
            "Pattern",
        )
        frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String))
        return (
            table_html(frame)
            + paragraph("Definitions under Methods.", "note")
            + self.command(export.request)
        )

    def case_figures(self) -> str:
        if select_cases(self.dataset, self.cohort_filter).n == 0:
            # An empty swimmer or latency chart would read as "no CRS", not "nobody selected".
            return paragraph(NO_CASES, "unavailable")
        names = _figure_names()
        parts = []
        for name, caption in (
            ("swimmer", "Every case on one lane: doses, CRS episodes by grade and treatments."),
            ("crs-latency", "CRS episodes by hours after their attributed dose."),
        ):
            if name in names:
                parts.append(_guarded(lambda n=name, c=caption: self.figure(n, c)))  # type: ignore[misc]
        if "timeline" in names:
            cases = select_cases(self.dataset, self.cohort_filter).cases
            for case in cases.get_column("case_id").to_list():
                parts.append(
                    _guarded(
                        lambda c=case: self.figure(  # type: ignore[misc]
                            "timeline", f"Timeline of case {c}.", case=c
                        )
                    )
                )
        return "".join(parts)

    # --- whole report ---------------------------------------------------------------------------

    def sections(self) -> list[Section]:
        out: list[Section] = []
        if self.dataset.has("patients"):
            out += [
                Section("table1", "Patient characteristics (Table 1)", _guarded(self.table1)),
                Section("response", "Response by timepoint", _guarded(self.response)),
                Section("conversion", "Response conversion", _guarded(self.conversion)),
            ]
            if self.duration_available():
                out.append(
                    Section("duration-of-response", "Duration of response", _guarded(self.duration))
                )
            out += [
                Section(
                    "pfs",
                    "Progression-free survival",
                    _guarded(lambda: self.survival(Endpoint.PFS)),
                ),
                Section("os", "Overall survival", _guarded(lambda: self.survival(Endpoint.OS))),
                Section("safety", "Adverse events", _guarded(self.safety)),
                Section("follow-up", "Follow-up", _guarded(self.follow_up)),
                Section("cox", "Multivariable Cox model", _guarded(self.cox)),
                Section("forest", "Subgroups and competing risks", _guarded(self.forest)),
            ]
        if self.dataset.has("adverse_events") or self.dataset.has("cases"):
            out.append(Section("crs-course", "CRS course", _guarded(self.crs_course)))
        if self.dataset.has("cases"):
            figures = self.case_figures()
            out += [
                Section("case-table", "Recurrent CRS: case series", _guarded(self.case_table)),
                Section(
                    "recurrence", "Recurrent CRS: recurrence by case", _guarded(self.recurrence)
                ),
            ]
            if figures:
                out.append(Section("timelines", "Recurrent CRS: timelines", figures))
        try:
            audit = _audit_section(self.dataset)
        except (OSError, ValueError, KeyError) as error:  # e.g. the targets file is missing
            message = paragraph(f"The audit could not run: {error}", "unavailable")
            audit = Section("audit", AUDIT_TITLE, message)
        if audit is not None:
            out.append(audit)
        out.append(Section("methods", "Methods and definitions", self.methods()))
        out.append(Section("provenance", "Provenance", self.provenance()))
        return out

    def methods(self) -> str:
        return paragraphs(statistical_methods(self.ci)) + definition_list(DEFINITIONS)

    def header(self, sections: Sequence[Section]) -> str:
        parts = [f"<h1>{esc(REPORT_TITLE)}</h1>"]
        if self.dataset.reconstructed:
            parts.append(f'<div class="banner">{esc(RECONSTRUCTED_NOTICE)}</div>')
        parts.append(paragraph(f"Data: {self.dataset.name}", "meta"))
        parts.append(paragraph(f"Filter: {self.filter_text()}", "meta"))
        parts.append(paragraph(self.counts_text(), "meta"))
        items = "".join(f'<li><a href="#{esc(s.anchor)}">{esc(s.title)}</a></li>' for s in sections)
        parts.append(f"<nav><ol>{items}</ol></nav>")
        return "\n".join(parts)

    def filter_text(self) -> str:
        if self.cohort_filter.is_empty:
            return "none (everyone)"
        return f"{self.cohort_filter.to_text()} ({self.cohort_filter.describe()})"

    def counts_text(self) -> str:
        parts = []
        if self.dataset.has("patients"):
            cohort = select_cohort(self.dataset, self.cohort_filter)
            parts.append(f"Cohort study: N = {cohort.n} of {cohort.total} patients")
        if self.dataset.has("cases"):
            series = select_cases(self.dataset, self.cohort_filter)
            parts.append(f"case series: N = {series.n} of {series.total} cases")
        return "; ".join(parts) if parts else "No study tables loaded."

    def provenance(self) -> str:
        pairs = [
            ("Dataset", self.dataset.name),
            ("Source", self.dataset.source or "—"),
            (
                "Reconstructed data",
                "yes: " + RECONSTRUCTED_NOTICE if self.dataset.reconstructed else "no",
            ),
            ("Fingerprint (sha256)", self.dataset.fingerprint),
            ("Filter", self.filter_text()),
            ("N", self.counts_text()),
            ("Survival CI method", f"{self.ci.value}: {self.ci.label}"),
            ("Response-rate CI method", "Clopper–Pearson exact"),
            ("bsab-explorer", __version__),
            *package_versions(),
        ]
        created = self.clock().astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        command = report_command(
            self.cohort_filter,
            ci=self.ci.value,
            comparisons=self.comparisons,
            data=data_argument(self.dataset),
        )
        return (
            key_value_table(pairs)
            + paragraph(f"Regenerate with: {command}", "command")
            + f'\n<p class="timestamp">{TIMESTAMP_PREFIX}{esc(created)}</p>\n'
        )

    def build(self) -> str:
        sections = self.sections()
        body = "\n".join(
            [self.header(sections), *(section(s.anchor, s.title, s.body) for s in sections)]
        )
        return page(REPORT_TITLE, body)


def _figure_names() -> frozenset[str]:
    return frozenset(FIGURES)


def _survival_table(summary: SurvivalSummary) -> str:
    return table_html(
        median_table(summary),
        caption=f"Medians and survival at landmarks (95 % CI, {summary.ci_method.value})",
    ) + paragraphs(landmark_notes(summary), "note")


def _months(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.1f}"


def _short(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{round(value, 1):g}"
    return str(value)


def _spread(row: dict[str, object], stem: str) -> str:
    median = row[f"{stem}_median"]
    if median is None:
        return "—"
    return f"{_short(median)} ({_short(row[f'{stem}_min'])}–{_short(row[f'{stem}_max'])})"


def _first_crs(day: object, grade: object) -> str:
    if day is None:
        return "none"
    return f"day {_short(day)}, grade {_short(grade)}"


def _audit_section(dataset: Dataset) -> Section | None:
    rows = audit_dataset(dataset)
    if not rows:
        return None
    counts = {status: sum(r.status == status for r in rows) for status in AUDIT_STATUSES}
    summary = (
        f"{len(rows)} published figures checked against these data: "
        + ", ".join(f"{n} {status}" for status, n in counts.items())
        + "."
    )
    studies = []
    for study in dict.fromkeys(r.study for r in rows):
        mine = [r for r in rows if r.study == study]
        shown = ", ".join(
            f"{sum(r.status == status for r in mine)} {status}" for status in AUDIT_STATUSES
        )
        studies.append(f"{STUDY_LABELS.get(study, study)}: {len(mine)} figures, {shown}.")
    scope = (
        "The audit recomputes every number the publications print, with the analyses of this "
        "report, on all the data (the filter does not apply). Figures the publications "
        "contradict are shown with the arithmetic and the reading kept."
    )
    flagged = [r for r in rows if r.status != REPRODUCED]
    frame = pl.DataFrame(
        {
            "Study": [r.study for r in flagged],
            "Figure": [r.label for r in flagged],
            "Published": [r.published for r in flagged],
            "Recomputed": [r.recomputed for r in flagged],
            "Status": [r.status for r in flagged],
            "Arithmetic and reading": [r.note for r in flagged],
        },
        schema=dict.fromkeys(
            ("Study", "Figure", "Published", "Recomputed", "Status", "Arithmetic and reading"),
            pl.String,
        ),
    )
    body = paragraph(summary) + paragraphs(studies) + paragraph(scope, "note")
    if flagged:
        body += table_html(frame, caption="Figures not plainly reproduced")
    return Section("audit", AUDIT_TITLE, body)


def report_command(
    cohort_filter: CohortFilter,
    *,
    ci: str = CIMethod.LOG.value,
    comparisons: Sequence[str] = DEFAULT_COMPARISONS,
    data: str | None = None,
    out: str = "report.html",
) -> str:
    """The shell command that regenerates a report (arguments quoted for POSIX shells)."""
    args = ["bsab-explorer", "report", "--out", out]
    if not cohort_filter.is_empty:
        args += ["--filter", cohort_filter.to_text()]
    if ci != CIMethod.LOG.value:
        args += ["--ci", ci]
    if tuple(comparisons) != DEFAULT_COMPARISONS:
        for by in comparisons:
            args += ["--by", by]
    if data is not None:
        args += ["--data", data]
    return shlex.join(args)


def fixed_clock(moment: datetime) -> Clock:
    """A clock that always says `moment`."""

    def clock() -> datetime:
        return moment

    return clock


def build_report(
    dataset: Dataset,
    cohort_filter: CohortFilter | None = None,
    *,
    ci: CIMethod | str = CIMethod.LOG,
    comparisons: Sequence[str] = DEFAULT_COMPARISONS,
    now: datetime | None = None,
    clock: Clock = utc_now,
) -> str:
    """The report for `dataset` under `cohort_filter` as one self-contained HTML page."""
    if now is not None:
        clock = fixed_clock(now)
    builder = _Report(dataset, cohort_filter or CohortFilter(), CIMethod(ci), comparisons, clock)
    return builder.build()


def without_timestamp(report: str) -> str:
    """The report with its one timestamp line blanked (to compare two runs)."""
    return _TIMESTAMP_LINE.sub('<p class="timestamp"></p>', report)
