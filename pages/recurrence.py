"""Recurrent CRS across cases: swimmer plot, dose-anchored latency, recurrence and case tables."""

import streamlit as st

from bsab_explorer.analyses.case_card import recurrence_display
from bsab_explorer.charts.crs_latency import crs_latency_chart
from bsab_explorer.charts.swimmer import swimmer_chart
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart
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
show_chart(swimmer_chart(series.cases, series.events, sort_by))

st.subheader("When CRS starts after a dose")
by = url_choice(
    "Group episodes by",
    ["case", "bsab"],
    key="latency_by",
    format_func=lambda b: "Case" if b == "case" else "Bispecific antibody",
    kind="segmented",
)
show_chart(crs_latency_chart(cache.episodes(view), by))

st.subheader("Recurrence by case")
st.dataframe(recurrence_display(cache.recurrence(view)), hide_index=True)
st.caption(
    "Each CRS episode is attributed to the latest dose at or before its onset; episodes after "
    "a step-up dose or the first treatment dose are initial, later ones recurrent. 'Possible "
    "infection': onset within 3 days of a documented infection."
)

st.subheader("Case series table")
st.dataframe(cache.case_table(view), hide_index=True)
