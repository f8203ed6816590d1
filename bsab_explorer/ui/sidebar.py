"""The shared cohort filter in the sidebar, bound to the URL (`?filter=...`).

The filter text box is the single source of truth and is bound to the query parameter
`filter`; the quick widgets below it are views of that text: they are set from the filter on
every run and, when changed, rewrite the filter text. So a copied link reopens the same view.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import polars as pl
import streamlit as st

from bsab_explorer.filters import Clause, CohortFilter, FilterError
from bsab_explorer.schema import (
    COHORT,
    QUICK_BOOLEANS,
    QUICK_CODE_VALUES,
    QUICK_CODES,
    column_label,
)
from bsab_explorer.ui.text import escape_markdown

FILTER_KEY = "filter"
_LAST_VALID_KEY = "_filter_last_valid"
_YES, _NO, _NA = "Yes", "No", "Not recorded"
_TRISTATE = (_YES, _NO, _NA)
_TRISTATE_VALUE = {_YES: "true", _NO: "false", _NA: "na"}
#: The sidebar container of the filter (its CSS class is `st-key-` and this key).
FILTER_BOX_KEY = "cohort-filter-box"
# Static CSS only: hides the filter on a page it does not apply to.
_HIDE_FILTER_CSS = f"<style>.st-key-{FILTER_BOX_KEY} {{ display: none !important; }}</style>"


def current_filter() -> CohortFilter:
    """The filter in force: the text box parsed, or the last valid filter while it is invalid."""
    text = st.session_state.get(FILTER_KEY, "") or ""
    try:
        parsed = CohortFilter.parse(text)
    except FilterError:
        return CohortFilter.parse(st.session_state.get(_LAST_VALID_KEY, ""))
    st.session_state[_LAST_VALID_KEY] = parsed.to_text()
    return parsed


def filter_error() -> str | None:
    """Why the filter text in force does not parse (None: it parses, or there is none)."""
    try:
        CohortFilter.parse(st.session_state.get(FILTER_KEY, "") or "")
    except FilterError as error:
        return str(error)
    return None


def _set_filter(cohort_filter: CohortFilter) -> None:
    st.session_state[FILTER_KEY] = cohort_filter.to_text()


def _canonicalise() -> None:
    text = st.session_state.get(FILTER_KEY, "") or ""
    # An invalid text stays as typed: the error is shown under the box on this run.
    with contextlib.suppress(FilterError):
        st.session_state[FILTER_KEY] = CohortFilter.parse(text).to_text()


def _on_boolean(column: str) -> None:
    choice = st.session_state.get(f"_quick_{column}")
    clause = Clause(column, "=", (_TRISTATE_VALUE[choice],)) if choice in _TRISTATE_VALUE else None
    _set_filter(current_filter().with_clause(clause, column))


def _on_codes(column: str) -> None:
    chosen = tuple(sorted(st.session_state.get(f"_quick_{column}") or ()))
    clause = Clause(column, "=", chosen) if chosen else None
    _set_filter(current_filter().with_clause(clause, column))


def _on_age(bounds: tuple[int, int]) -> None:
    low, high = st.session_state.get("_quick_age_years", bounds)
    updated = current_filter().with_clause(None, "age_years")
    clauses = list(updated.clauses)
    if low > bounds[0]:
        clauses.append(Clause("age_years", ">=", (format(float(low), "g"),)))
    if high < bounds[1]:
        clauses.append(Clause("age_years", "<=", (format(float(high), "g"),)))
    _set_filter(CohortFilter.of(clauses))


def _clear() -> None:
    st.session_state[FILTER_KEY] = ""


def _boolean_choice(cohort_filter: CohortFilter, column: str) -> str | None:
    clauses = cohort_filter.clauses_for(column)
    if len(clauses) == 1 and clauses[0].op == "=" and len(clauses[0].values) == 1:
        by_value = {v: k for k, v in _TRISTATE_VALUE.items()}
        return by_value.get(clauses[0].values[0])
    return None


def _code_choice(cohort_filter: CohortFilter, column: str, options: Sequence[str]) -> list[str]:
    clauses = [c for c in cohort_filter.clauses_for(column) if c.op == "="]
    return [v for v in clauses[0].values if v in options] if clauses else []


def _age_choice(cohort_filter: CohortFilter, bounds: tuple[int, int]) -> tuple[int, int]:
    low, high = bounds
    for clause in cohort_filter.clauses_for("age_years"):
        value = round(float(clause.values[0]))
        if clause.op in (">=", ">"):
            low = max(low, value + (1 if clause.op == ">" else 0))
        elif clause.op in ("<=", "<"):
            high = min(high, value - (1 if clause.op == "<" else 0))
    return (min(low, bounds[1]), max(min(high, bounds[1]), min(low, bounds[1])))


def filter_sidebar(
    frame: pl.DataFrame,
    booleans: Sequence[str] = QUICK_BOOLEANS[COHORT],
    codes: Sequence[str] = QUICK_CODES[COHORT],
    *,
    applies: bool = True,
) -> CohortFilter:
    """Draw the filter box and quick filters for the columns `frame` has; return the filter.

    On a page the filter does not apply to (`applies` false) the box is drawn but not shown:
    the filter stays bound to the link, for the next page it applies to.
    """
    sidebar = st.sidebar.container(key=FILTER_BOX_KEY)
    if not applies:
        sidebar.html(_HIDE_FILTER_CSS)
    sidebar.header("Cohort filter")
    sidebar.text_input(
        "Filter",
        key=FILTER_KEY,
        bind="query-params",
        on_change=_canonicalise,
        placeholder="e.g. emd=true;bsab=teclistamab;age_years>=65",
        help="Clauses joined by ';': column=value, column=a,b, column!=value, column>=number, "
        "column=na (not recorded). The link in the address bar reopens this view.",
    )
    error = filter_error()
    if error is not None:
        sidebar.error(f"Filter not applied: {escape_markdown(error)}")
    cohort_filter = current_filter()

    for column in booleans:
        if column not in frame.columns:
            continue
        key = f"_quick_{column}"
        st.session_state[key] = _boolean_choice(cohort_filter, column)
        sidebar.segmented_control(
            escape_markdown(column_label(column)),
            _TRISTATE,
            key=key,
            on_change=_on_boolean,
            args=(column,),
        )
    for column in codes:
        if column not in frame.columns:
            continue
        present = [v for v in frame[column].drop_nulls().unique().sort().to_list() if v]
        options = list(dict.fromkeys([*QUICK_CODE_VALUES.get(column, ()), *present]))
        key = f"_quick_{column}"
        st.session_state[key] = _code_choice(cohort_filter, column, options)
        sidebar.multiselect(
            escape_markdown(column_label(column)),
            options,
            key=key,
            on_change=_on_codes,
            args=(column,),
            placeholder="Any",
        )
    ages = frame["age_years"].drop_nulls() if "age_years" in frame.columns else None
    if ages is not None and ages.len() > 0 and ages.min() != ages.max():
        bounds = (int(ages.min()), int(ages.max()))  # type: ignore[arg-type]
        st.session_state["_quick_age_years"] = _age_choice(cohort_filter, bounds)
        sidebar.slider(
            escape_markdown(column_label("age_years")),
            bounds[0],
            bounds[1],
            key="_quick_age_years",
            on_change=_on_age,
            args=(bounds,),
        )
    if not cohort_filter.is_empty:
        sidebar.button("Clear filter", on_click=_clear, icon=":material/filter_alt_off:")
    return cohort_filter
