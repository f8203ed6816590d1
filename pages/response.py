"""Response by cycle (Fig. 1A): IMWG categories per timepoint, ORR with exact CI, by group."""

import streamlit as st

import bsab_explorer.ui.ready  # noqa: F401  (first: waits for the server's warm-up)
from bsab_explorer.analyses.response import DENOMINATOR_LABELS, DENOMINATORS
from bsab_explorer.analyses.response_tables import response_display
from bsab_explorer.charts.response import response_chart
from bsab_explorer.exports import ExportRequest
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart
from bsab_explorer.ui.downloads import offer_chart, offer_export
from bsab_explorer.ui.params import group_choice, url_choice

view, cohort = shell.cohort_page("Response by cycle", needs_responses=True)

left, right = st.columns(2)
denominator = url_choice(
    "Rates computed over",
    list(DENOMINATORS),
    key="denominator",
    format_func=lambda d: DENOMINATOR_LABELS[d].capitalize(),
    kind="segmented",
    where=left,
)
by = group_choice("Compare by", cohort.patients.columns, where=right)

summary = cache.response(view, denominator, by)
chart = response_chart(summary)
show_chart(chart)
options = (("denominator", denominator),) if denominator != "evaluable" else ()
offer_chart(
    chart,
    ExportRequest("figure", "response", view.cohort_filter, by=by, options=options),
    view.dataset,
)
st.subheader("Counts and rates")
st.dataframe(
    response_display(summary),
    hide_index=True,
    column_config={"PET-CT": st.column_config.TextColumn("PET-CT", alignment="right")},
)
offer_export(
    view.dataset, ExportRequest("table", "response", view.cohort_filter, by=by, options=options)
)
st.caption(
    "ORR: PR or better; ≥ VGPR: sCR + CR + VGPR; CR or better: sCR + CR. Percentages of "
    f"{summary.denominator_label}; 95 % CI of the ORR by the exact Clopper–Pearson method. "
    "No row means not assessed; NE means assessed but not evaluable. PET-CT is counted per "
    "visit, so not for the best response (—)."
)
