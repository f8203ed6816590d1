"""Patient timeline: one case's doses, CRS episodes and management (e.g. /timeline?case=RC2)."""

import streamlit as st

from bsab_explorer.analyses.case_card import case_card, recurrence_card
from bsab_explorer.exports import ExportRequest
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart
from bsab_explorer.ui.downloads import offer_chart
from bsab_explorer.ui.params import url_choice
from bsab_explorer.ui.text import escape_markdown

view, series = shell.case_page("Patient timeline")

case_ids = series.cases["case_id"].to_list()
left, right = st.columns([3, 1])
case_id = url_choice("Case", case_ids, key="case", where=left)
unit = url_choice(
    "Time axis",
    ["days", "months"],
    key="unit",
    format_func=lambda u: "Days" if u == "days" else "Months",
    kind="segmented",
    where=right,
)

timeline = ExportRequest(
    "figure", "timeline", view.cohort_filter, case=case_id, options=(("unit", unit),)
)
drawn = cache.result(view, timeline)
show_chart(drawn.chart)
offer_chart(drawn.chart, timeline, view.dataset, data=drawn.data)
st.caption(
    "Scroll to zoom and drag to pan the time axis; hover a mark for its detail. Step-up and "
    "treatment doses are distinct ticks; CRS episodes are coloured by ASTCT grade."
)

card, recurrence = st.columns(2)
with card:
    st.subheader(f"Case {escape_markdown(case_id)}")
    for line in case_card(series.cases, case_id):
        st.markdown(f"**{escape_markdown(line.label)}:** {escape_markdown(line.value)}")
with recurrence:
    st.subheader("Recurrence")
    for line in recurrence_card(cache.recurrence(view), case_id):
        st.markdown(f"**{escape_markdown(line.label)}:** {escape_markdown(line.value)}")
