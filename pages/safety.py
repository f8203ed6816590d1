"""Safety of the cohort: adverse events by highest grade and the course of CRS by dose."""

import streamlit as st

from bsab_explorer.analyses.endpoint_tables import (
    adverse_event_display,
    crs_course_display,
    crs_course_lines,
)
from bsab_explorer.errors import Unavailable
from bsab_explorer.exports import ExportRequest
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.downloads import offer_table
from bsab_explorer.ui.params import group_choice
from bsab_explorer.ui.tables import show_table
from bsab_explorer.ui.text import escape_markdown

view, cohort = shell.cohort_page("Safety")

st.subheader("Adverse events by highest grade")
by = group_choice("Compare by", cohort.patients.columns)
events_request = ExportRequest("table", "adverse-events", view.cohort_filter, by=by)
try:
    events = cache.result(view, events_request)
except Unavailable as refusal:
    st.warning(escape_markdown(str(refusal)))
else:
    show_table(adverse_event_display(events.summary), static=True)
    offer_table(events.data, events_request, view.dataset)
    for note in events.notes:
        st.caption(escape_markdown(note))

st.subheader("CRS course")
# The cohort's own episodes: the case series' course is on the Recurrence page.
course_request = ExportRequest(
    "table", "crs-course", view.cohort_filter, options=(("source", "adverse-events"),)
)
try:
    course = cache.result(view, course_request)
except Unavailable as refusal:
    st.warning(escape_markdown(str(refusal)))
else:
    show_table(crs_course_display(course.summary), static=True)
    for line in crs_course_lines(course.summary):
        st.markdown(escape_markdown(line))
    offer_table(course.data, course_request, view.dataset)
    for note in course.notes:
        st.caption(escape_markdown(note))
