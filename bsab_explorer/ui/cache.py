"""Cached access to the store, the loaded data and the filtered views (keyed by specs)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import streamlit as st

from bsab_explorer.analyses.case_table import build_case_table
from bsab_explorer.analyses.conversion import (
    ConversionStatement,
    alluvial_flows,
    conversion_statements,
    observed_timepoints,
    transition_table,
)
from bsab_explorer.analyses.levels import Levels, patient_levels
from bsab_explorer.analyses.prepared import (
    PreparedDataset,
    cohort_index,
    prepare_dataset,
    select_prepared_cohort,
)
from bsab_explorer.analyses.recurrence import analyse_recurrence, crs_episodes
from bsab_explorer.analyses.response import (
    Denominator,
    IndexedCohort,
    ResponseSummary,
    response_by_timepoint,
)
from bsab_explorer.analyses.response_tables import SHOWN_IDS
from bsab_explorer.analyses.survival import SurvivalSummary, summarise_survival
from bsab_explorer.analyses.table1 import Table1, build_table1
from bsab_explorer.audit import audit_dataset, audit_frame
from bsab_explorer.charts.conversion import TOOLTIP_IDS
from bsab_explorer.data.loading import LoadResult
from bsab_explorer.data.store import Store, Which, open_store, resolve_store_path
from bsab_explorer.dataset import Dataset
from bsab_explorer.filters import CaseSeries, Cohort, CohortFilter, select_cases

DATA_KEY = "data"
#: The sidebar's dataset switch: the label shown (and kept in the URL, `?data=Pooled`) -> the
#: store's dataset. Labels are single words because a bound widget keeps its label in the URL.
DATA_CHOICES = {"Bundled": "bundled", "Pooled": "pooled", "Both": "both"}
DATA_HELP = (
    "Bundled: the study data shipped with the app (reconstructed). Pooled: the batches centers "
    "uploaded. Both: the two together."
)


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    # One store (one DuckDB writer connection) per server process.
    return open_store(path)


def store() -> Store:
    """The process-wide store at the configured path."""
    return _store(str(resolve_store_path()))


def store_generation(the_store: Store) -> str:
    """A key that changes whenever a batch is stored, retracted or restored."""
    return the_store.generation()


@st.cache_resource(show_spinner="Loading data…", max_entries=8)
def _load(path: str, which: str, generation: str) -> LoadResult:
    choice: Which = "pooled" if which == "pooled" else "both" if which == "both" else "bundled"
    result = _store(path).load_dataset(choice)
    if result.dataset is not None:
        # Once per dataset, under the loading spinner, rather than on the first filter change.
        _prepared(result.dataset, result.dataset.fingerprint)
    return result


@st.cache_resource(show_spinner=False, max_entries=8)
def _prepared(_dataset: Dataset, fingerprint: str) -> PreparedDataset:
    return prepare_dataset(_dataset)


def load(which: str) -> LoadResult:
    """The store's dataset `which` (bundled, pooled or both), through the cache the pages read."""
    the_store = store()
    return _load(str(the_store.path), which, store_generation(the_store))


def load_bundled() -> LoadResult:
    """The bundled dataset (the server's warm-up loads it before any browser asks for it)."""
    return load(DATA_CHOICES["Bundled"])


def load_current() -> LoadResult:
    """The dataset chosen in the sidebar switch, loaded through the store."""
    return load(DATA_CHOICES.get(st.session_state.get(DATA_KEY) or "Bundled", "bundled"))


@dataclass(frozen=True)
class View:
    """What every page starts from: the dataset and the filter in force."""

    dataset: Dataset
    cohort_filter: CohortFilter


@st.cache_data(show_spinner=False, max_entries=256)
def _cases(_dataset: Dataset, fingerprint: str, filter_text: str) -> CaseSeries:
    return select_cases(_dataset, CohortFilter.parse(filter_text))


def prepared(view: View) -> PreparedDataset:
    """What every filter of the dataset in view reuses (derived once per dataset)."""
    return _prepared(view.dataset, view.dataset.fingerprint)


# Cohorts kept (the most recently used): a page, its downloads and its provenance footers ask
# for the same filter several times per rerun.
@st.cache_resource(show_spinner=False, max_entries=8)
def _cohort(_prepared: PreparedDataset, fingerprint: str, filter_text: str) -> Cohort:
    return select_prepared_cohort(_prepared, CohortFilter.parse(filter_text))


def cohort(view: View) -> Cohort:
    """The filtered cohort study (cached by dataset fingerprint and filter text)."""
    return _cohort(prepared(view), *_key(view))


@st.cache_resource(show_spinner=False, max_entries=8)
def _index(_prepared: PreparedDataset, _cohort: Cohort, key: tuple[str, str]) -> IndexedCohort:
    return cohort_index(_cohort, _prepared)


def index(view: View) -> IndexedCohort:
    """The response index of the filtered cohort, narrowed from the dataset's."""
    return _index(prepared(view), cohort(view), _key(view))


def cases(view: View) -> CaseSeries:
    """The filtered case series (cached by dataset fingerprint and filter text)."""
    return _cases(view.dataset, view.dataset.fingerprint, view.cohort_filter.to_text())


@st.cache_resource(show_spinner=False, max_entries=64)
def _levels(_cohort: Cohort, key: tuple[str, str], by: str) -> Levels:
    return patient_levels(_cohort.patients, by)


def levels(view: View, by: str | None) -> Levels | None:
    """The filtered cohort's levels of `by`, which survival, response and Table 1 share (None
    without a `by` the patients table has: the analysis then says what is missing)."""
    selected = cohort(view)
    if by is None or by not in selected.patients.columns:
        return None
    return _levels(selected, _key(view), by)


@st.cache_resource(show_spinner=False, max_entries=64)
def _survival(
    _cohort: Cohort,
    _levels: Levels | None,
    key: tuple[str, str],
    endpoint: str,
    by: str | None,
    ci: str,
) -> SurvivalSummary:
    return summarise_survival(_cohort.patients, endpoint, by, ci, levels=_levels)


def survival(view: View, endpoint: str, by: str | None, ci: str) -> SurvivalSummary:
    """The survival summary of the filtered cohort (the page and its table downloads share it)."""
    return _survival(cohort(view), levels(view, by), _key(view), endpoint, by, ci)


def _key(view: View) -> tuple[str, str]:
    return view.dataset.fingerprint, view.cohort_filter.to_text()


@st.cache_resource(show_spinner=False, max_entries=256)
def _response(
    _cohort: Cohort,
    _indexed: IndexedCohort,
    _levels: Levels | None,
    key: tuple[str, str],
    denominator: str,
    by: str | None,
) -> ResponseSummary:
    chosen: Denominator = "all_treated" if denominator == "all_treated" else "evaluable"
    return response_by_timepoint(
        _cohort.patients, _cohort.responses, chosen, by, indexed=_indexed, levels=_levels
    )


def response(view: View, denominator: str, by: str | None) -> ResponseSummary:
    """Response by timepoint of the filtered cohort."""
    return _response(cohort(view), index(view), levels(view, by), _key(view), denominator, by)


def timepoints(view: View) -> list[str]:
    """Timepoints assessed in the filtered cohort, in clinical order."""
    selected = cohort(view)
    return observed_timepoints(selected.responses, indexed=index(view))


@st.cache_resource(show_spinner=False, max_entries=256)
def _flows(_cohort: Cohort, _indexed: IndexedCohort, key: tuple[str, str]) -> pl.DataFrame:
    return alluvial_flows(
        _cohort.patients, _cohort.responses, indexed=_indexed, max_ids=TOOLTIP_IDS
    )


def flows(view: View) -> pl.DataFrame:
    """Alluvial flows between consecutive observed timepoints, with the pseudonyms the chart's
    tooltips show (the CSV download lists them all)."""
    return _flows(cohort(view), index(view), _key(view))


def statements(view: View) -> list[ConversionStatement]:
    """The conversion statements of the filtered cohort."""
    selected = cohort(view)
    return conversion_statements(selected.patients, selected.responses, indexed=index(view))


def transitions(view: View, start: str, end: str) -> pl.DataFrame:
    """Transition table between two timepoints (all treated patients of the filtered cohort),
    with the pseudonyms the page lists (`SHOWN_IDS` a row; the CSV download lists them all)."""
    selected = cohort(view)
    return transition_table(
        selected.responses,
        start,
        end,
        selected.patients,
        indexed=index(view),
        max_ids=SHOWN_IDS,
    )


@st.cache_resource(show_spinner=False, max_entries=256)
def _table1(
    _cohort: Cohort, _levels: Levels | None, key: tuple[str, str], by: str | None, p_values: bool
) -> Table1:
    return build_table1(_cohort.patients, by=by, p_values=p_values, levels=_levels)


def table1(view: View, by: str | None, p_values: bool) -> Table1:
    """Table 1 of the filtered cohort."""
    return _table1(cohort(view), levels(view, by), _key(view), by, p_values)


@st.cache_resource(show_spinner=False, max_entries=64)
def _recurrence(_series: CaseSeries, key: tuple[str, str]) -> pl.DataFrame:
    return analyse_recurrence(_series.cases, _series.events)


def recurrence(view: View) -> pl.DataFrame:
    """The recurrence analysis of the filtered case series (one row per case)."""
    return _recurrence(cases(view), _key(view))


@st.cache_resource(show_spinner=False, max_entries=64)
def _episodes(_series: CaseSeries, key: tuple[str, str]) -> pl.DataFrame:
    return crs_episodes(_series.cases, _series.events)


def episodes(view: View) -> pl.DataFrame:
    """Every CRS episode of the filtered case series, attributed to its dose."""
    return _episodes(cases(view), _key(view))


def case_table(view: View) -> pl.DataFrame:
    """The case-series Table 1 rebuilt from the filtered data."""
    series = cases(view)
    return build_case_table(series.cases, series.events)


@st.cache_resource(show_spinner="Recomputing every published value…", max_entries=8)
def _audit(_dataset: Dataset, fingerprint: str) -> pl.DataFrame:
    return audit_frame(audit_dataset(_dataset))


def audit(view: View) -> pl.DataFrame:
    """The audit of the whole dataset in view (the filter does not apply: papers report all)."""
    return _audit(view.dataset, view.dataset.fingerprint)
