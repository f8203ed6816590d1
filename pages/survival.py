"""Survival (Fig. 1C–F): Kaplan–Meier curves for PFS and OS with risk table, medians and tests."""

import streamlit as st

from bsab_explorer.analyses.availability import unrecorded
from bsab_explorer.analyses.survival import CIMethod, Endpoint, required_columns
from bsab_explorer.analyses.survival_tables import (
    comparison_lines,
    median_table,
    method_note,
)
from bsab_explorer.exports import ExportRequest
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart
from bsab_explorer.ui.downloads import offer_chart, offer_tables
from bsab_explorer.ui.params import FALSE, TRUE, group_choice, url_choice, url_toggle
from bsab_explorer.ui.text import escape_frame, escape_markdown

view, cohort = shell.cohort_page("Survival")

controls = st.columns([1, 2, 2, 2])
endpoint = url_choice(
    "Endpoint",
    [e.value for e in Endpoint],
    key="endpoint",
    format_func=str.upper,
    kind="segmented",
    where=controls[0],
)
by = group_choice("Compare by", cohort.patients.columns, where=controls[1])
ci = url_choice(
    "Confidence interval",
    [m.value for m in CIMethod],
    key="ci",
    format_func=lambda m: CIMethod(m).label,
    where=controls[2],
)
risk_full = url_toggle(
    "Events and censored under the curve",
    key="risk_extra",
    param="risk-table",
    on="full",
    off="at-risk",
    aliases={"risk_extra": lambda old: "full" if old == TRUE else "at-risk"},
    where=controls[3],
)
show_ci = url_toggle(
    "Confidence bands",
    key="ci_bands",
    param="bands",
    default=True,
    aliases={"ci_bands": lambda old: FALSE if old == FALSE else TRUE},
    where=controls[3],
)
show_median = url_toggle(
    "Median lines", key="median_lines", param="median", default=False, where=controls[3]
)

missing = unrecorded(cohort.patients, required_columns(endpoint, by))
if missing:
    st.warning(
        f"Survival is unavailable for these data: {escape_markdown(', '.join(missing))} not "
        "recorded."
    )
    st.stop()

# Only options that differ from the defaults, so file names and commands stay short.
options = (
    *((("bands", FALSE),) if not show_ci else ()),
    *((("risk-table", "full"),) if risk_full else ()),
    *((("median", TRUE),) if show_median else ()),
)
survival_request = ExportRequest(
    "figure", "km", view.cohort_filter, by=by, endpoint=endpoint, ci=ci, options=options
)
drawn = cache.result(view, survival_request)
summary = drawn.summary
show_chart(drawn.chart)
offer_chart(drawn.chart, survival_request, view.dataset, data=drawn.data)

st.subheader("Medians and landmarks")
st.table(escape_frame(median_table(summary)), hide_index=True)
for line in comparison_lines(summary):
    st.markdown(f"- {escape_markdown(line)}")
for warning in summary.warnings:
    st.warning(escape_markdown(warning))
for note in summary.notes:
    st.caption(escape_markdown(note))
st.caption(escape_markdown(method_note(summary)))
st.markdown("**Download the tables** (CSV), with the commands that rebuild them")
tables = {"survival-medians": "Medians", "survival-landmarks": "Landmarks"}
if by is not None:
    tables |= {"logrank": "Log-rank test", "cox": "Cox model"}
offer_tables(
    view.dataset,
    [
        (label, ExportRequest("table", name, view.cohort_filter, by=by, endpoint=endpoint, ci=ci))
        for name, label in tables.items()
    ],
    key="survival-tables",
)
