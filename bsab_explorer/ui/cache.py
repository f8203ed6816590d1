"""Cached access to the store, the loaded data, the filtered views and the results the pages
draw (keyed by specs: the data's fingerprint, the filter text, the export request)."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import polars as pl
import streamlit as st

from bsab_explorer.analyses.conversion import observed_timepoints
from bsab_explorer.analyses.levels import Levels, patient_levels
from bsab_explorer.analyses.prepared import (
    PreparedDataset,
    cohort_index,
    prepare_dataset,
    select_prepared_cohort,
)
from bsab_explorer.analyses.recurrence import analyse_recurrence
from bsab_explorer.analyses.response import IndexedCohort
from bsab_explorer.analyses.response_tables import SHOWN_IDS
from bsab_explorer.audit import audit_dataset, audit_frame
from bsab_explorer.data.loading import LoadResult, Progress, load_dataset
from bsab_explorer.data.store import Store, StoreDamaged, Which, open_store, resolve_store_path
from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import Built, ExportRequest, build
from bsab_explorer.filters import CaseSeries, Cohort, CohortFilter, select_cases
from bsab_explorer.ui.progress import ProgressBar, progress_bar, within

T = TypeVar("T")

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


class _Slot(Generic[T]):
    """A value computed at most once, by the first caller (see `_fill`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: T | None = None


def _fill(slot: _Slot[T], compute: Callable[[ProgressBar], T]) -> T:
    """The slot's value, computed now under a progress bar if no caller has computed it yet.

    Streamlit records every element a cached function draws and draws it again on each later
    hit: a progress bar drawn inside `st.cache_resource` would come back on every rerun. So the
    cache holds an empty slot per key, and the first caller fills it here, outside the cached
    function; a second session asking meanwhile waits for that value instead of computing it
    again (as a cached function's own lock would have it wait).
    """
    with progress_bar() as bar:
        if not slot.lock.acquire(blocking=False):
            bar(0.0, WAITING_STEP)
            slot.lock.acquire()
        try:
            if slot.value is None:
                slot.value = compute(bar)
            return slot.value
        finally:
            slot.lock.release()


#: What the bar says while another session loads the same data.
WAITING_STEP = "Waiting for the data another page is loading"
#: The share of the bar for reading the data; preparing the pages takes the rest (measured at a
#: million patients from the store, docs/performance.md).
READING_SHARE = 0.75


@st.cache_resource(show_spinner=False, max_entries=8)
def _read_slot(path: str, which: str, generation: str) -> _Slot[LoadResult]:
    return _Slot()


def _load(path: str, which: str, generation: str) -> LoadResult:
    choice: Which = "pooled" if which == "pooled" else "both" if which == "both" else "bundled"

    def read(bar: ProgressBar) -> LoadResult:
        result = _store(path).load_dataset(choice, progress=within(bar, 0.0, READING_SHARE))
        if result.dataset is not None:
            # Once per dataset, under the same bar, rather than on the first filter change.
            _prepare(result.dataset, within(bar, READING_SHARE, 1.0))
        return result

    return _fill(_read_slot(path, which, generation), read)


@st.cache_resource(show_spinner=False, max_entries=8)
def _prepared_slot(fingerprint: str) -> _Slot[PreparedDataset]:
    return _Slot()


def _prepare(dataset: Dataset, progress: Progress | None = None) -> PreparedDataset:
    """The prepared dataset (derived once per fingerprint), telling `progress` how far."""

    def prepare(bar: ProgressBar) -> PreparedDataset:
        return prepare_dataset(dataset, progress=progress or bar)

    return _fill(_prepared_slot(dataset.fingerprint), prepare)


def load(which: str) -> LoadResult:
    """The store's dataset `which` (bundled, pooled or both), through the cache the pages read;
    the bundled data from the package when the store is damaged (`store_damage` says why)."""
    try:
        the_store = store()
        return _load(str(the_store.path), which, store_generation(the_store))
    except StoreDamaged:
        return _load_package()


@st.cache_resource(show_spinner=False)
def _package_slot() -> _Slot[LoadResult]:
    return _Slot()


def _load_package() -> LoadResult:
    def read(bar: ProgressBar) -> LoadResult:
        result = load_dataset(None, progress=within(bar, 0.0, READING_SHARE))
        if result.dataset is not None:
            _prepare(result.dataset, within(bar, READING_SHARE, 1.0))
        return result

    return _fill(_package_slot(), read)


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


def prepared(view: View) -> PreparedDataset:
    """What every filter of the dataset in view reuses (derived once per dataset)."""
    return _prepare(view.dataset)


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


def _key(view: View) -> tuple[str, str]:
    return view.dataset.fingerprint, view.cohort_filter.to_text()


def timepoints(view: View) -> list[str]:
    """Timepoints assessed in the filtered cohort, in clinical order."""
    selected = cohort(view)
    return observed_timepoints(selected.responses, indexed=index(view))


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
    _prepared: PreparedDataset, fingerprint: str, request_key: str, _request: ExportRequest
) -> Built:
    # Returned as a later hit returns it (unpickled: each frame in one chunk), so the chart's
    # datasets, named by their Arrow bytes, keep their names from the first draw to the next
    # rerun and the browser does not draw the same chart again.
    return pickle.loads(pickle.dumps(build(_request, _prepared.dataset, _prepared)))  # noqa: S301 (our own bytes)


def result(view: View, request: ExportRequest) -> Built:
    """What `request` builds from the data in view: the chart and tables its page draws (the
    same as its files and its Reproduce command make). A copy per call: a chart drawn is never
    shared between sessions."""
    # The request's repr spells every field, the canonical filter included: equal requests,
    # equal keys.
    return _result(prepared(view), view.dataset.fingerprint, repr(request), request)


def shown_transitions(table: pl.DataFrame) -> pl.DataFrame:
    """A transition table as the page lists it: `SHOWN_IDS` pseudonyms a row at most (the CSV
    lists them all; the row says how many more)."""
    return table.with_columns(pl.col("patient_ids").list.head(SHOWN_IDS))
