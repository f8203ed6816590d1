"""Recurrent CRS across cases: swimmer plot, dose-anchored latency, recurrence and case tables."""

import streamlit as st

import bsab_explorer.ui.ready  # noqa: F401  (first: waits for the server's warm-up)
from bsab_explorer.analyses.case_card import recurrence_display
from bsab_explorer.charts.crs_latency import crs_latency_chart
from bsab_explorer.charts.swimmer import swimmer_chart
from bsab_explorer.exports import ExportRequest
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart
from bsab_explorer.ui.downloads import offer_chart, offer_export
from bsab_explorer.ui.params import url_choice

view, series = shell.case_page("Recurrent CRS across cases")

st.subheader("All cases")
sort_by = url_choice(
    "Order lanes by",
    ["follow_up", "episodes"],
    key="sort",
    format_func=lambda s: "Follow-up" if s == "follow_up" else "Number of CRS episodes",
    kind="segmented",
)
swimmer = swimmer_chart(series.cases, series.events, sort_by)
show_chart(swimmer)
offer_chart(
    swimmer,
    ExportRequest("figure", "swimmer", view.cohort_filter, options=(("sort", sort_by),)),
    view.dataset,
)

st.subheader("When CRS starts after a dose")
by = url_choice(
    "Group episodes by",
    ["case", "bsab"],
    key="latency_by",
    format_func=lambda b: "Case" if b == "case" else "Bispecific antibody",
    kind="segmented",
)
latency = crs_latency_chart(cache.episodes(view), by)
show_chart(latency)
offer_chart(
    latency, ExportRequest("figure", "crs-latency", view.cohort_filter, by=by), view.dataset
)

st.subheader("Recurrence by case")
st.dataframe(recurrence_display(cache.recurrence(view)), hide_index=True)
offer_export(view.dataset, ExportRequest("table", "crs-recurrence", view.cohort_filter))
st.caption(
    "Each CRS episode is attributed to the latest dose at or before its onset; episodes after "
    "a step-up dose or the first treatment dose are initial, later ones recurrent. 'Possible "
    "infection': onset within 3 days of a documented infection."
)

st.subheader("Case series table")
st.dataframe(cache.case_table(view), hide_index=True)
offer_export(view.dataset, ExportRequest("table", "case-table", view.cohort_filter))
