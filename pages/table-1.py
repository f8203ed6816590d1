"""Table 1: baseline, disease, treatment and safety characteristics, overall or by a variable."""

import streamlit as st

from bsab_explorer.analyses.table1_view import table1_rows
from bsab_explorer.exports import ExportRequest
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.downloads import offer_table
from bsab_explorer.ui.params import FALSE, TRUE, group_choice, url_toggle
from bsab_explorer.ui.tables import show_table
from bsab_explorer.ui.text import escape_markdown

view, cohort = shell.cohort_page("Table 1")

left, right = st.columns([2, 1])
by = group_choice("Split by", cohort.patients.columns, where=left)
with_p = url_toggle(
    "Comparison p-values",
    key="p_values",
    param="p-values",
    disabled=by is None,
    help="Fisher's exact (2×2) or chi-squared for counts; Wilcoxon rank-sum or Kruskal–Wallis "
    "for numbers. The test is named in each row.",
    where=right,
)
request = ExportRequest(
    "table",
    "table1",
    view.cohort_filter,
    by=by,
    options=(("p-values", TRUE if with_p and by is not None else FALSE),),
)
built = cache.result(view, request)
table = built.summary
# Whole, without a scroll box: on a projector a static table in large type.
show_table(table1_rows(table), whole=True)
offer_table(built.data, request, view.dataset)
for note in table.notes:
    st.caption(escape_markdown(note))
