"""Cohort overview: who is in the filtered cohort (pseudonyms only)."""

import streamlit as st

from bsab_explorer.analyses.listing import PATIENT_LISTING_COLUMNS, cohort_headlines, listing
from bsab_explorer.ui import shell

view, cohort = shell.cohort_page("Debulking cohort")

headlines = cohort_headlines(cohort.patients)
for column, headline in zip(st.columns(len(headlines)), headlines, strict=True):
    column.metric(headline.label, headline.value, help=headline.help or None)

st.subheader("Patients")
st.dataframe(
    listing(cohort.patients, "patients", PATIENT_LISTING_COLUMNS),
    hide_index=True,
)
st.caption("Times since the first full bispecific dose, in months (1 month = 30.4375 days).")
