"""Case-series overview: the cases of the recurrent-CRS series as the paper summarises them
(pseudonyms only)."""

import streamlit as st

from bsab_explorer.analyses.listing import CASE_LISTING_COLUMNS, case_headlines, listing
from bsab_explorer.exports import ExportRequest
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.downloads import offer_table
from bsab_explorer.ui.listings import offer_listing
from bsab_explorer.ui.tables import show_table
from bsab_explorer.ui.text import escape_markdown

view, series = shell.case_page("Recurrent CRS case series")

headlines = case_headlines(series.cases, series.events)
for column, headline in zip(st.columns(len(headlines)), headlines, strict=True):
    column.metric(escape_markdown(headline.label), headline.value)

st.subheader("Summary of the cases")
summary = ExportRequest("table", "case-table", view.cohort_filter)
rows = cache.result(view, summary).data
show_table(rows, static=True)
offer_table(rows, summary, view.dataset)
st.caption(
    "First CRS: cycle and day of onset after the first dose (C1 D2: day 2), and grade (G2). "
    "Recurrent CRS: interval between episodes and latency after the infusion. Management over "
    "all episodes; impact: what happened to the bispecific treatment."
)

st.subheader("Cases")
show_table(listing(series.cases, "cases", CASE_LISTING_COLUMNS, readable=True), wrap=True)
# The file keeps the contract's codes, which other tools read.
offer_listing(
    listing(series.cases, "cases", CASE_LISTING_COLUMNS),
    "cases",
    view.dataset,
    view.cohort_filter,
    n=series.n,
    total=series.total,
    unit="cases",
)
