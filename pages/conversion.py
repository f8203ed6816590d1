"""Response conversion (Fig. 1B): how responses change between timepoints."""

import streamlit as st

import bsab_explorer.ui.ready  # noqa: F401  (first: waits for the server's warm-up)
from bsab_explorer.analyses.response_tables import transition_display
from bsab_explorer.charts.conversion import alluvial_chart
from bsab_explorer.exports import ExportRequest
from bsab_explorer.schema import timepoint_label
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart
from bsab_explorer.ui.downloads import offer_chart, offer_export
from bsab_explorer.ui.params import url_choice

view, cohort = shell.cohort_page("Response conversion", needs_responses=True)

timepoints = cache.timepoints(view)
chart = alluvial_chart(cache.flows(view))
show_chart(chart)
offer_chart(chart, ExportRequest("figure", "conversion", view.cohort_filter), view.dataset)
st.caption(
    "Bands are sized by patients and coloured by the response they leave; hover a band for "
    "its patients. 'Not assessed' keeps every treated patient in each column."
)

st.subheader("What became of each post-debulking response")
statements = cache.statements(view)
if statements:
    for statement in statements:
        st.markdown(f"- {statement.text}")
else:
    st.caption("No post-debulking assessments in this subgroup.")

st.subheader("Transitions between two timepoints")
choices = [*timepoints, "best"]
left, right = st.columns(2)
start = url_choice(
    "From", choices, key="from", default=choices[0], format_func=timepoint_label, where=left
)
end = url_choice(
    "To", choices, key="to", default=choices[-1], format_func=timepoint_label, where=right
)
st.dataframe(transition_display(cache.transitions(view, start, end)), hide_index=True)
offer_export(
    view.dataset,
    ExportRequest(
        "table", "conversion", view.cohort_filter, options=(("from", start), ("to", end))
    ),
)
