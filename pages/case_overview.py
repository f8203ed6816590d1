"""Case-series overview: the cases of the recurrent-CRS series (pseudonyms only)."""

import streamlit as st

from bsab_explorer.analyses.listing import CASE_LISTING_COLUMNS, listing
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.layout import page_header
from bsab_explorer.ui.listings import offer_listing

view = shell.current_view()
series = cache.cases(view)
page_header(
    "Recurrent CRS case series", view.dataset, view.cohort_filter, series.n, series.total, "cases"
)
if series.total == 0:
    st.info("This dataset has no case-series cases (no `cases` table).")
    st.stop()
if series.n == 0:
    st.info("No case matches this filter. Widen it or clear it in the sidebar.")
    st.stop()

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
