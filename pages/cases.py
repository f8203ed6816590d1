"""Case-series overview: the cases of the recurrent-CRS series (pseudonyms only)."""

import streamlit as st

from bsab_explorer.analyses.listing import CASE_LISTING_COLUMNS, listing
from bsab_explorer.ui import shell
from bsab_explorer.ui.listings import offer_listing

view, series = shell.case_page("Recurrent CRS case series")

left, right = st.columns(2)
left.metric("Cases", series.n)
right.metric("Timeline events", series.events.height)
st.subheader("Cases")
case_listing = listing(series.cases, "cases", CASE_LISTING_COLUMNS)
st.dataframe(case_listing, hide_index=True)
offer_listing(
    case_listing,
    "cases",
    view.dataset,
    view.cohort_filter,
    n=series.n,
    total=series.total,
    unit="cases",
)
