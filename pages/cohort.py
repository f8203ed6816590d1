"""Cohort overview: who is in the filtered cohort (pseudonyms only)."""

import streamlit as st

from bsab_explorer.analyses.listing import PATIENT_LISTING_COLUMNS, cohort_headlines, listing
from bsab_explorer.ui import shell
from bsab_explorer.ui.listings import offer_listing
from bsab_explorer.ui.tables import show_table
from bsab_explorer.ui.text import escape_markdown

view, cohort = shell.cohort_page("Debulking cohort")

headlines = cohort_headlines(cohort.patients)
for column, headline in zip(st.columns(len(headlines)), headlines, strict=True):
    column.metric(
        escape_markdown(headline.label),
        headline.value,
        help=escape_markdown(headline.help) if headline.help else None,
    )

st.subheader("Patients")
patient_listing = listing(cohort.patients, "patients", PATIENT_LISTING_COLUMNS)
show_table(patient_listing)
offer_listing(
    patient_listing, "patients", view.dataset, view.cohort_filter, n=cohort.n, total=cohort.total
)
st.caption("Times since the first full bispecific dose, in months (1 month = 30.4375 days).")
