"""Subgroups: hazard ratios and response rates within every subgroup level, as forest plots, and
the cumulative incidence of progression with death as the competing event."""

import streamlit as st

from bsab_explorer.analyses.survival_tables import (
    GROUPING_COLUMNS,
    grouping_label,
    readable_columns,
)
from bsab_explorer.exports import ExportRequest
from bsab_explorer.exports.survival_statistics import DEFAULT_COMPARISON, DEFAULT_SUBGROUPS
from bsab_explorer.schema import BEST_TIMEPOINT, column_label, timepoint_label
from bsab_explorer.ui import cache, shell
from bsab_explorer.ui.charts import show_chart, show_panels
from bsab_explorer.ui.downloads import offer_chart
from bsab_explorer.ui.params import endpoint_choice, url_choice, url_choices
from bsab_explorer.ui.tables import show_table
from bsab_explorer.ui.text import escape_markdown

view, cohort = shell.cohort_page("Subgroups")
columns = [c for c in GROUPING_COLUMNS if c in cohort.patients.columns]

controls = st.columns([1, 2, 3])
endpoint = endpoint_choice(where=controls[0])
comparison = url_choice(
    "Hazard ratio of",
    columns,
    key="by",
    default=DEFAULT_COMPARISON if DEFAULT_COMPARISON in columns else columns[0],
    format_func=grouping_label,
    where=controls[1],
)
subgroups = url_choices(
    "Subgroups",
    [c for c in columns if c != comparison],
    key="subgroups",
    param="subgroups",
    format_func=column_label,
    where=controls[2],
    default=DEFAULT_SUBGROUPS,
)


def show_notes(notes: tuple[str, ...]) -> None:
    """The small-data guards and exclusions of a result, escaped."""
    for note in notes:
        st.warning(escape_markdown(note))


st.subheader("Hazard ratio by subgroup")
if not subgroups:
    st.info("Choose at least one subgroup variable.")
else:
    forest = ExportRequest(
        "figure",
        "forest",
        view.cohort_filter,
        by=comparison,
        endpoint=endpoint,
        options=(("subgroups", ",".join(subgroups)),),
    )
    drawn = cache.result(view, forest)
    show_chart(drawn.chart)
    show_notes(drawn.notes)
    st.caption(
        "Cox model within each level (Efron ties, Wald 95 % CI); interaction p: likelihood-ratio "
        "test of the comparison × subgroup term. Computed by this project's code, equal to R's "
        "coxph."
    )
    show_table(readable_columns(drawn.data))
    offer_chart(drawn.chart, forest, view.dataset, data=drawn.data, key="forest")

    st.subheader("Response rate by subgroup")
    timepoints = [BEST_TIMEPOINT, *[t for t in cache.timepoints(view) if t != BEST_TIMEPOINT]]
    timepoint = url_choice("Response at", timepoints, key="timepoint", format_func=timepoint_label)
    response = ExportRequest(
        "figure",
        "forest-response",
        view.cohort_filter,
        options=(("subgroups", ",".join(subgroups)), ("timepoint", timepoint)),
    )
    drawn = cache.result(view, response)
    show_chart(drawn.chart)
    show_notes(drawn.notes)
    show_table(readable_columns(drawn.data))
    offer_chart(drawn.chart, response, view.dataset, data=drawn.data, key="forest-response")

st.subheader("Cumulative incidence of progression")
incidence = ExportRequest("figure", "cumulative-incidence", view.cohort_filter, by=comparison)
drawn = cache.result(view, incidence)
show_panels(drawn.chart)
show_notes(drawn.notes)
st.caption(
    "Aalen–Johansen estimates with death without progression as the competing event (derived "
    "from the PFS and OS columns); log(−log) 95 % CIs and Gray's test as cmprsk's cuminc."
)
show_table(readable_columns(drawn.data))
offer_chart(drawn.chart, incidence, view.dataset, data=drawn.data, key="cumulative-incidence")
