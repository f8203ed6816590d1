"""Recurrent CRS across cases: swimmer plot, dose-anchored latency, recurrence and case tables."""

import streamlit as st

from bsab_explorer.analyses.case_card import recurrence_display
from bsab_explorer.exports import ExportRequest
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart
from bsab_explorer.ui.downloads import offer_chart, offer_table
from bsab_explorer.ui.params import url_choice
from bsab_explorer.ui.tables import show_table

view, series = shell.case_page("Recurrent CRS across cases")

st.subheader("All cases")
sort_by = url_choice(
    "Order lanes by",
    ["follow_up", "episodes"],
    key="sort",
    format_func=lambda s: "Follow-up" if s == "follow_up" else "Number of CRS episodes",
    kind="segmented",
)
swimmer = ExportRequest("figure", "swimmer", view.cohort_filter, options=(("sort", sort_by),))
lanes = cache.result(view, swimmer)
show_chart(lanes.chart)
offer_chart(lanes.chart, swimmer, view.dataset, data=lanes.data)

st.subheader("When CRS starts after a dose")
by = url_choice(
    "Group episodes by",
    ["case", "bsab"],
    key="latency_by",
    param="by",
    aliases={"latency_by": str},
    format_func=lambda b: "Case" if b == "case" else "Bispecific antibody",
    kind="segmented",
)
latency = ExportRequest("figure", "crs-latency", view.cohort_filter, by=by)
episodes = cache.result(view, latency)
show_chart(episodes.chart)
offer_chart(episodes.chart, latency, view.dataset, data=episodes.data)

st.subheader("Recurrence by case")
recurrence = ExportRequest("table", "crs-recurrence", view.cohort_filter)
by_case = cache.result(view, recurrence).data
show_table(recurrence_display(by_case))
offer_table(by_case, recurrence, view.dataset)
st.caption(
    "Each CRS episode is attributed to the latest dose at or before its onset; episodes after "
    "a step-up dose or the first treatment dose are initial, later ones recurrent. 'Possible "
    "infection': onset within 3 days of a documented infection."
)

st.subheader("Case series table")
case_table = ExportRequest("table", "case-table", view.cohort_filter)
rows = cache.result(view, case_table).data
show_table(rows, wrap=True)
offer_table(rows, case_table, view.dataset)
