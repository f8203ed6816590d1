"""Survival (Fig. 1C–F): Kaplan–Meier curves for PFS and OS with risk table, medians and tests."""

import streamlit as st

from bsab_explorer.analyses.availability import unrecorded
from bsab_explorer.analyses.survival import CIMethod, required_columns
from bsab_explorer.analyses.survival_tables import (
    comparison_lines,
    cox_estimates,
    follow_up_text,
    median_table,
    method_note,
    readable_columns,
)
from bsab_explorer.exports import ExportRequest
from bsab_explorer.schema import DAYS_PER_MONTH, column_label
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart
from bsab_explorer.ui.downloads import offer_chart, offer_tables
from bsab_explorer.ui.layout import presentation_mode, side_by_side
from bsab_explorer.ui.params import (
    FALSE,
    TRUE,
    endpoint_choice,
    group_choice,
    url_choice,
    url_choices,
    url_toggle,
)
from bsab_explorer.ui.tables import show_table
from bsab_explorer.ui.text import escape_markdown

#: Covariates the page's Cox model offers (the CLI takes any column: --covariates).
COVARIATES = ("age_years", "iss_stage", "hrca")

view, cohort = shell.cohort_page("Survival")

controls = st.columns([1, 2, 2, 2])
endpoint = endpoint_choice(where=controls[0])
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
figure, beside = st.columns([5, 1])
with figure:
    show_chart(drawn.chart)
follow_up_request = ExportRequest("table", "follow-up", view.cohort_filter, endpoint="os")
if not unrecorded(cohort.patients, required_columns("os")):
    follow_up = cache.result(view, follow_up_request).summary
    # The number alone (its unit and CI in the caption under it): a metric's label and value
    # are cut off where they are wider than this narrow column (1280 px).
    reached = follow_up.median_months is not None
    beside.metric(
        "Median follow-up",
        f"{follow_up.median_months:.1f}" if reached else "not reached",
    )
    beside.caption(
        escape_markdown(
            f"{follow_up_text(follow_up)}; reverse Kaplan–Meier of OS (censoring as the event)."
        )
    )
offer_chart(drawn.chart, survival_request, view.dataset, data=drawn.data)

st.subheader("Medians and landmarks")
show_table(median_table(summary), static=True)
for line in comparison_lines(summary):
    st.markdown(f"- {escape_markdown(line)}")
for warning in summary.warnings:
    st.warning(escape_markdown(warning))
for note in summary.notes:
    st.caption(escape_markdown(note))
st.caption(escape_markdown(method_note(summary)))

st.subheader("More survival statistics")
statistics = side_by_side(2)
tau = url_choice(
    "RMST horizon",
    ["365", "182", "730"],
    key="tau",
    format_func=lambda days: f"{int(days) / DAYS_PER_MONTH:.0f} months ({days} days)",
    where=statistics[0],
)
rmst_request = ExportRequest(
    "table", "rmst", view.cohort_filter, by=by, endpoint=endpoint, options=(("tau", tau),)
)
rmst = cache.result(view, rmst_request)
statistics[0].markdown("**Restricted mean survival time** (days, up to the horizon)")
with statistics[0]:
    show_table(readable_columns(rmst.data))
risk_request = ExportRequest(
    "table", "number-at-risk", view.cohort_filter, by=by, endpoint=endpoint
)
at_risk = cache.result(view, risk_request)
statistics[1].markdown("**Number at risk, cumulative events and censored** (by day)")
with statistics[1]:
    show_table(readable_columns(at_risk.data), height=250)

candidates = [c for c in COVARIATES if c in cohort.patients.columns and c != by]
covariates = url_choices(
    "Cox model covariates",
    candidates,
    key="covariates",
    param="covariates",
    format_func=column_label,
)
model_options = (("covariates", ",".join(covariates)),) if covariates else ()
cox_request = ExportRequest(
    "table", "cox", view.cohort_filter, by=by, endpoint=endpoint, options=model_options
)
ph_request = ExportRequest(
    "table",
    "proportional-hazards",
    view.cohort_filter,
    by=by,
    endpoint=endpoint,
    options=model_options,
)
if by is None and not covariates:
    st.info("Choose a comparison or covariates for the Cox model.")
else:
    cox = cache.result(view, cox_request)
    ph = cache.result(view, ph_request)
    model = side_by_side([3, 2])
    model[0].markdown("**Cox model** (hazard ratios, Efron ties, Wald CI)")
    with model[0]:
        if presentation_mode():
            # Its two dozen columns would not fit a projector; its warnings are said below.
            show_table(readable_columns(cox_estimates(cox.data)))
            st.caption("The table's CSV (below) has every column: the model's fit and tests.")
        else:
            show_table(readable_columns(cox.data))
    model[1].markdown("**Proportional hazards** (R's cox.zph, KM transform)")
    with model[1]:
        show_table(readable_columns(ph.data))
    for warning in dict.fromkeys((*cox.notes, *ph.notes)):
        st.warning(escape_markdown(warning))

offer_tables(
    view.dataset,
    [
        ("Follow-up", follow_up_request),
        ("RMST", rmst_request),
        ("Number at risk", risk_request),
        *((("Cox with covariates", cox_request),) if covariates else ()),
        *((("PH test", ph_request),) if by or covariates else ()),
    ],
    key="survival-statistics",
)

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
