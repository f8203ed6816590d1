"""Audit: every published number of both papers beside the number recomputed from the data."""

import streamlit as st

from bsab_explorer.audit import DIFFERS, STATUS_ORDER, audit_counts, audit_rows, audit_studies
from bsab_explorer.filters import CohortFilter
from bsab_explorer.schema import STUDY_LABELS
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.layout import data_banner
from bsab_explorer.ui.listings import offer_listing
from bsab_explorer.ui.params import url_choice, url_choices
from bsab_explorer.ui.tables import show_table
from bsab_explorer.ui.text import escape_markdown

view = shell.current_view()
st.title("Audit of the published figures")
data_banner(view.dataset)
st.markdown(
    "Each published value of the two papers beside the value this app's own analyses recompute "
    "from the data in view (all patients: the filter does not apply). *Paper inconsistent* "
    "rows are figures the paper contradicts elsewhere; the reading kept and the arithmetic "
    "are given."
)
frame = cache.audit(view)
if frame.height == 0:
    st.info("These data hold neither study's tables, so there is nothing to audit.")
    st.stop()

counts = audit_counts(frame)
for column, status in zip(st.columns(len(STATUS_ORDER)), STATUS_ORDER, strict=True):
    column.metric(escape_markdown(status.capitalize()), counts[status])
if counts[DIFFERS]:
    st.error(f"{escape_markdown(counts[DIFFERS])} published value(s) differ from the data.")
else:
    st.success("Every published value is reproduced or explained as a paper inconsistency.")

left, right = st.columns([1, 2])
studies = ["all", *audit_studies(frame)]
study = url_choice(
    "Study",
    studies,
    key="audit_study",
    param="study",
    format_func=lambda s: "Both papers" if s == "all" else STUDY_LABELS[s],
    where=left,
)
statuses = url_choices(
    "Status", list(STATUS_ORDER), key="audit_status", param="status", where=right
)
shown = audit_rows(frame, None if study == "all" else study, statuses)
show_table(shown, wrap=True, height=700)
offer_listing(
    shown,
    "audit",
    view.dataset,
    CohortFilter(),
    n=shown.height,
    total=frame.height,
    unit="published values",
    command="bsab-explorer audit --format csv [--data PATH]",
)
