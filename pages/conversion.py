"""Response conversion (Fig. 1B): how responses change between timepoints."""

import streamlit as st

from bsab_explorer.analyses.response_tables import transition_display
from bsab_explorer.exports import ExportRequest
from bsab_explorer.schema import timepoint_label
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart
from bsab_explorer.ui.downloads import offer_chart, offer_table
from bsab_explorer.ui.params import url_choice
from bsab_explorer.ui.tables import show_table
from bsab_explorer.ui.text import escape_markdown

view, cohort = shell.cohort_page("Response conversion", needs_responses=True)

timepoints = cache.timepoints(view)
figure = ExportRequest("figure", "conversion", view.cohort_filter)
drawn = cache.result(view, figure)
show_chart(drawn.chart)
offer_chart(drawn.chart, figure, view.dataset, data=drawn.data)
st.caption(
    "Bands are sized by patients and coloured by the response they leave; hover a band for "
    "its patients. 'Not assessed' keeps every treated patient in each column."
)

st.subheader("What became of each post-debulking response")
# The figure's notes are the conversion statements of the cohort in view.
if drawn.notes:
    for statement in drawn.notes:
        st.markdown(f"- {escape_markdown(statement)}")
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
table = ExportRequest(
    "table", "conversion", view.cohort_filter, options=(("from", start), ("to", end))
)
transitions = cache.result(view, table).data
show_table(transition_display(cache.shown_transitions(transitions)))
offer_table(transitions, table, view.dataset)
