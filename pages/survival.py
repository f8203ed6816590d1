"""Survival (Fig. 1C–F): Kaplan–Meier curves for PFS and OS with risk table, medians and tests."""

import streamlit as st

import bsab_explorer.ui.ready  # noqa: F401  (first: waits for the server's warm-up)
from bsab_explorer.analyses.availability import unrecorded
from bsab_explorer.analyses.survival import CIMethod, Endpoint, required_columns
from bsab_explorer.analyses.survival_tables import (
    comparison_lines,
    median_table,
    method_note,
)
from bsab_explorer.charts.survival import km_chart
from bsab_explorer.exports import ExportRequest
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart
from bsab_explorer.ui.downloads import offer_chart, offer_tables
from bsab_explorer.ui.params import group_choice, url_choice

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
risk_extra = controls[3].toggle("Events and censored under the curve", key="risk_extra")
show_ci = controls[3].toggle("Confidence bands", value=True, key="ci_bands")

missing = unrecorded(cohort.patients, required_columns(endpoint, by))
if missing:
    st.warning(f"Survival is unavailable for these data: {', '.join(missing)} not recorded.")
    st.stop()

summary = cache.survival(view, endpoint, by, ci)
rows = ("n_risk", "cum_events", "cum_censored") if risk_extra else ("n_risk",)
chart = km_chart(summary, show_ci=show_ci, risk_rows=rows)
show_chart(chart)
# Only options that differ from the defaults, so file names and commands stay short.
options = (
    *((("bands", "false"),) if not show_ci else ()),
    *((("risk-table", "full"),) if risk_extra else ()),
)
survival_request = ExportRequest(
    "figure", "km", view.cohort_filter, by=by, endpoint=endpoint, ci=ci, options=options
)
offer_chart(chart, survival_request, view.dataset)

st.subheader("Medians and landmarks")
st.table(median_table(summary), hide_index=True)
for line in comparison_lines(summary):
    st.markdown(f"- {line}")
for warning in summary.warnings:
    st.warning(warning)
for note in summary.notes:
    st.caption(note)
st.caption(method_note(summary))
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
