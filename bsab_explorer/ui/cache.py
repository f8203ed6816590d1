"""Cached access to the store, the loaded data, the filtered views and the results the pages
draw (keyed by specs: the data's fingerprint, the filter text, the export request)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import polars as pl
import streamlit as st

from bsab_explorer.analyses.conversion import observed_timepoints
from bsab_explorer.analyses.recurrence import analyse_recurrence
from bsab_explorer.analyses.response import cohort_index, prepare_dataset
from bsab_explorer.analyses.response_tables import SHOWN_IDS
from bsab_explorer.audit import audit_dataset, audit_frame
from bsab_explorer.data.loading import LoadResult, load_dataset
from bsab_explorer.data.store import Store, StoreDamaged, Which, open_store, resolve_store_path
from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import Built, ExportRequest, build
from bsab_explorer.filters import CaseSeries, Cohort, CohortFilter, select_cases, select_cohort

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


#: What loading says while it works, step by step (each step shows only while it runs).
READING_STEP = "Loading data, step 1 of 2: reading the store…"
PREPARING_STEP = "Loading data, step 2 of 2: preparing the pages (groups, timepoints, flows)…"


@st.cache_resource(show_spinner=READING_STEP, max_entries=8)
def _read(path: str, which: str, generation: str) -> LoadResult:
    choice: Which = "pooled" if which == "pooled" else "both" if which == "both" else "bundled"
    return _store(path).load_dataset(choice)


@st.cache_resource(show_spinner=PREPARING_STEP, max_entries=8)
def _prepared(_result: LoadResult, path: str, which: str, generation: str) -> LoadResult:
    # Once per dataset, under its own message, rather than on the first filter change.
    if _result.dataset is not None:
        prepare_dataset(_result.dataset)
    return _result


def _load(path: str, which: str, generation: str) -> LoadResult:
    return _prepared(_read(path, which, generation), path, which, generation)


def load(which: str) -> LoadResult:
    """The store's dataset `which` (bundled, pooled or both), through the cache the pages read;
    the bundled data from the package when the store is damaged (`store_damage` says why)."""
    try:
        the_store = store()
        return _load(str(the_store.path), which, store_generation(the_store))
    except StoreDamaged:
        return _load_package()


@st.cache_resource(show_spinner="Loading data…")
def _load_package() -> LoadResult:
    result = load_dataset(None)
    if result.dataset is not None:
        prepare_dataset(result.dataset)
    return result


def store_damage() -> str | None:
    """What is wrong with the store file and what to do, when it is damaged (else None)."""
    try:
        store()
    except StoreDamaged as damage:
        return str(damage)
    return None


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


def cohort(view: View) -> Cohort:
    """The filtered cohort study (the recent ones are kept with the dataset)."""
    return select_cohort(view.dataset, view.cohort_filter)


def cases(view: View) -> CaseSeries:
    """The filtered case series (cached by dataset fingerprint and filter text)."""
    return _cases(view.dataset, view.dataset.fingerprint, view.cohort_filter.to_text())


def _key(view: View) -> tuple[str, str]:
    return view.dataset.fingerprint, view.cohort_filter.to_text()


def timepoints(view: View) -> list[str]:
    """Timepoints assessed in the filtered cohort, in clinical order."""
    selected = cohort(view)
    return observed_timepoints(selected.responses, indexed=cohort_index(selected))


@st.cache_resource(show_spinner=False, max_entries=64)
def _recurrence(_series: CaseSeries, key: tuple[str, str]) -> pl.DataFrame:
    return analyse_recurrence(_series.cases, _series.events)


def recurrence(view: View) -> pl.DataFrame:
    """The recurrence analysis of the filtered case series (one row per case)."""
    return _recurrence(cases(view), _key(view))


@st.cache_resource(show_spinner="Recomputing every published value…", max_entries=8)
def _audit(_dataset: Dataset, fingerprint: str) -> pl.DataFrame:
    return audit_frame(audit_dataset(_dataset))


def audit(view: View) -> pl.DataFrame:
    """The audit of the whole dataset in view (the filter does not apply: papers report all)."""
    return _audit(view.dataset, view.dataset.fingerprint)


# 64 results: a page holds one to four, so the last dozen or more views a server showed. Each is
# kept pickled, data included (at registry size a conversion's pseudonym lists are megabytes).
@st.cache_data(show_spinner=False, max_entries=64)
def _result(
    _dataset: Dataset, fingerprint: str, request_key: str, _request: ExportRequest
) -> Built:
    # Returned as a later hit returns it (unpickled: each frame in one chunk), so the chart's
    # datasets, named by their Arrow bytes, keep their names from the first draw to the next
    # rerun and the browser does not draw the same chart again.
    return pickle.loads(pickle.dumps(build(_request, _dataset)))  # noqa: S301 (our own bytes)


def result(view: View, request: ExportRequest) -> Built:
    """What `request` builds from the data in view: the chart and tables its page draws (the
    same as its files and its Reproduce command make). A copy per call: a chart drawn is never
    shared between sessions."""
    # The request's repr spells every field, the canonical filter included: equal requests,
    # equal keys.
    return _result(view.dataset, view.dataset.fingerprint, repr(request), request)


def shown_transitions(table: pl.DataFrame) -> pl.DataFrame:
    """A transition table as the page lists it: `SHOWN_IDS` pseudonyms a row at most (the CSV
    lists them all; the row says how many more)."""
    return table.with_columns(pl.col("patient_ids").list.head(SHOWN_IDS))
