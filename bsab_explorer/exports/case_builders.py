"""The builders of the case series' figures and tables: case timeline, swimmer plot, CRS latency,
recurrent CRS and the case series' Table 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from bsab_explorer.analyses.case_table import build_case_table
from bsab_explorer.analyses.recurrence import RECURRENCE_FIELDS, analyse_recurrence, crs_episodes
from bsab_explorer.exports.options import (
    Built,
    ExportUnavailable,
    Source,
    _cases,
)
from bsab_explorer.exports.request import ExportRequest

if TYPE_CHECKING:
    from bsab_explorer.charts.crs_latency import By as LatencyBy
    from bsab_explorer.charts.swimmer import SortBy
    from bsab_explorer.charts.timeline import Unit

# The charts (and Altair) are imported by the builders that draw them: a table's command does
# not pay for them (see `bsab_explorer.exports`).


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
    from bsab_explorer.charts.timeline import timeline_chart

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
    from bsab_explorer.charts.swimmer import swimmer_chart

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
    from bsab_explorer.charts.crs_latency import crs_latency_chart

    return Built(episodes, crs_latency_chart(episodes, by))
