"""The builders of the cohort's response, conversion and Table 1 figures and tables."""

from __future__ import annotations

from bsab_explorer.analyses.conversion import (
    alluvial_flows,
    conversion_statements,
    observed_timepoints,
    transition_table,
)
from bsab_explorer.analyses.response import (
    POST_DEBULKING,
    response_by_timepoint,
)
from bsab_explorer.analyses.table1 import build_table1
from bsab_explorer.exports.options import (
    Built,
    ExportUnavailable,
    Source,
    _by,
    _cohort,
    _denominator,
    _flag,
)
from bsab_explorer.exports.request import ExportRequest
from bsab_explorer.filters import Cohort
from bsab_explorer.schema import (
    BEST_TIMEPOINT,
    timepoint_label,
)


def _response(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    summary = response_by_timepoint(
        cohort.patients,
        cohort.responses,
        _denominator(request),
        _by(request, cohort.patients),
        indexed=source.index(cohort),
    )
    from bsab_explorer.charts.response import response_chart  # Altair, for figures only

    # Drawn as the page draws it; the filter is in the provenance footer.
    chart = response_chart(summary)
    return Built(summary.frame, chart, summary=summary)


def _conversion_flows(source: Source, request: ExportRequest) -> Built:
    cohort = _cohort(source, request)
    indexed = source.index(cohort)
    flows = alluvial_flows(cohort.patients, cohort.responses, indexed=indexed)
    from bsab_explorer.charts.conversion import alluvial_chart  # Altair, for figures only

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
