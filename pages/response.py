"""Response by cycle (Fig. 1A): IMWG categories per timepoint, ORR with exact CI, by group."""

import streamlit as st

from bsab_explorer.analyses.endpoint_tables import duration_display
from bsab_explorer.analyses.response import DENOMINATOR_LABELS, DENOMINATORS
from bsab_explorer.analyses.response_tables import response_display
from bsab_explorer.errors import Unavailable
from bsab_explorer.exports import ExportRequest
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart
from bsab_explorer.ui.downloads import offer_chart, offer_table
from bsab_explorer.ui.params import group_choice, url_choice
from bsab_explorer.ui.tables import show_table
from bsab_explorer.ui.text import escape_markdown

view, cohort = shell.cohort_page("Response by cycle", needs_responses=True)

# The rates' two buttons are wider than half a laptop's page.
left, right = st.columns([3, 2])
denominator = url_choice(
    "Rates computed over",
    list(DENOMINATORS),
    key="denominator",
    format_func=lambda d: DENOMINATOR_LABELS[d].capitalize(),
    kind="segmented",
    where=left,
)
by = group_choice("Compare by", cohort.patients.columns, where=right)

options = (("denominator", denominator),) if denominator != "evaluable" else ()
figure = ExportRequest("figure", "response", view.cohort_filter, by=by, options=options)
drawn = cache.result(view, figure)
summary = drawn.summary
show_chart(drawn.chart)
offer_chart(drawn.chart, figure, view.dataset, data=drawn.data)
st.subheader("Counts and rates")
show_table(
    response_display(summary),
    column_config={"PET-CT": st.column_config.TextColumn("PET-CT", alignment="right")},
)
offer_table(
    drawn.data,
    ExportRequest("table", "response", view.cohort_filter, by=by, options=options),
    view.dataset,
)
st.caption(
    "ORR: PR or better; ≥ VGPR: sCR + CR + VGPR; CR or better: sCR + CR. Percentages of "
    f"{escape_markdown(summary.denominator_label)}; 95 % CI of the ORR by the exact "
    "Clopper–Pearson method. No row means not assessed; NE means assessed but not evaluable. "
    "PET-CT is counted per visit, so not for the best response (—)."
)

st.subheader("Duration of response")
duration_request = ExportRequest("figure", "duration-of-response", view.cohort_filter, by=by)
try:
    duration = cache.result(view, duration_request)
except Unavailable as refusal:
    st.info(escape_markdown(str(refusal)))
else:
    show_chart(duration.chart)
    offer_chart(duration.chart, duration_request, view.dataset, data=duration.data)
    show_table(duration_display(duration.summary), static=True)
    duration_table = ExportRequest("table", "duration-of-response", view.cohort_filter, by=by)
    offer_table(
        lambda: cache.result(view, duration_table).data,
        duration_table,
        view.dataset,
        key="duration-table",
    )
    for note in duration.notes:
        st.caption(escape_markdown(note))
