"""The frame around every page: navigation, the dataset switch, the shared filter, the guard."""

from __future__ import annotations

import atexit
import gc
from typing import Any

# Imported whole before any page runs: Altair looks pandas up in sys.modules, so a chart drawn
# while another run's thread is still importing pandas lazily (st.dataframe does) fails with
# "partially initialized module 'pandas'" (a filter changed while the first page loads).
import pandas  # noqa: F401
import streamlit as st
from streamlit import runtime
from streamlit.runtime.pages_manager import PagesManager

from bsab_explorer import __version__
from bsab_explorer.analyses.response import missing_columns
from bsab_explorer.data.store import StoreUnavailable
from bsab_explorer.filters import CaseSeries, Cohort
from bsab_explorer.schema import CASE_SERIES, CASES, PATIENTS, QUICK_BOOLEANS, QUICK_CODES
from bsab_explorer.ui import access, cache
from bsab_explorer.ui.cache import DATA_CHOICES, DATA_HELP, DATA_KEY, View, load_current
from bsab_explorer.ui.layout import (
    PRESENT_KEY,
    apply_page_style,
    page_header,
    run_guarded,
    store_unavailable,
)
from bsab_explorer.ui.pages import DATA, PAGES_DIR, SECTIONS, Screen, all_screens
from bsab_explorer.ui.params import FALSE, TRUE, report_unknown
from bsab_explorer.ui.sidebar import filter_error, filter_sidebar
from bsab_explorer.ui.text import escape_markdown

#: Session state: this session has run through app.py's navigation (see `ensure_shell`).
SHELL_KEY = "_bsab_shell"


def navigation() -> Any:
    """Admit the visitor (`access.admit`), register every page they may open explicitly
    (st.navigation) and return the selected one."""
    st.session_state[SHELL_KEY] = True
    visitor = access.admit()
    sections = {
        section: [
            st.Page(
                PAGES_DIR / screen.file,
                title=screen.title,
                url_path=screen.url_path,
                icon=screen.icon,
                default=(screen is all_screens()[0]),
            )
            for screen in screens
            if access.may_open(visitor, screen.url_path)
        ]
        for section, screens in SECTIONS.items()
    }
    return st.navigation(sections)


def _screen_of(page: Any) -> Screen:
    path = getattr(page, "url_path", "") or ""
    for screen in all_screens():
        if screen.url_path == path:
            return screen
    return all_screens()[0]


def ensure_shell() -> None:
    """Make sure the page runs inside app.py's navigation (see the comment below)."""
    # With a pages/ folder next to app.py, Streamlit runs the very first script of a fresh server
    # in its legacy mode, which executes a deep-linked page (e.g. /survival) without app.py: no
    # sidebar, no filter. Leave that mode and run again through app.py and st.navigation.
    # The mode is one flag for the whole process: sessions that start together on a fresh server
    # all begin in it, and only the first to get here still sees it set. So a session that never
    # ran `navigation` is in the legacy mode whatever the flag says now; without this, it drew
    # its page without the sidebar's filter and stayed so (seen with 8 viewers at once).
    if PagesManager.uses_pages_directory or not st.session_state.get(SHELL_KEY, False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_view() -> View:
    """The dataset and filter every page starts from; stops the page with the report if no data."""
    from bsab_explorer.ui.sidebar import current_filter

    ensure_shell()
    result = load_current()
    damage = cache.store_damage()
    if damage is not None:
        st.error("The data store is damaged: the bundled data are shown from the package.")
        st.code(damage, language=None, wrap_lines=True)
    if result.dataset is None:
        st.error("No data could be loaded. The validation report says why:")
        st.code(result.report.to_text(), language=None)
        st.stop()
    return View(result.dataset, current_filter())


def draw_sidebar(page: Any) -> None:
    """Dataset switch, the shared cohort filter for the page's study, presentation toggle."""
    screen = _screen_of(page)
    # Streamlit drops a bound widget's unknown URL value without a word: read it first.
    asked_data, asked_present = st.query_params.get(DATA_KEY), st.query_params.get(PRESENT_KEY)
    dataset = st.sidebar.selectbox(
        "Dataset",
        list(DATA_CHOICES),
        key=DATA_KEY,
        help=DATA_HELP,
        bind="query-params",
    )
    if asked_data is not None and asked_data not in DATA_CHOICES:
        report_unknown(DATA_KEY, asked_data, str(dataset))
    try:
        result = load_current()
    except StoreUnavailable as error:
        # Every page needs the store: say so in the page's place, for every page alike.
        access.footer(access.current())
        store_unavailable(error)
    if result.dataset is not None:
        table = CASES if screen.study == CASE_SERIES else PATIENTS
        filter_sidebar(
            result.dataset.table(table.name),
            booleans=QUICK_BOOLEANS.get(screen.study, ()),
            codes=QUICK_CODES.get(screen.study, ()),
            # Audit and Upload show every row whatever the filter.
            applies=screen.study != DATA,
        )
    st.sidebar.divider()
    present = st.sidebar.toggle(
        "Presentation mode",
        key=PRESENT_KEY,
        bind="query-params",
        help="Large type for a projector; the sidebar is hidden (add ?present=true to a link).",
    )
    if asked_present is not None and asked_present.lower() not in (TRUE, FALSE):
        report_unknown(PRESENT_KEY, asked_present, TRUE if present else FALSE)
    if result.dataset is not None:
        from bsab_explorer.ui.downloads import offer_report
        from bsab_explorer.ui.sidebar import current_filter

        with st.sidebar:
            offer_report(result.dataset, current_filter())
    access.footer(access.current())
    st.sidebar.caption(f"bsab-explorer {escape_markdown(__version__)}")


_FROZEN: list[bool] = []


def run(page: Any) -> None:
    """Style the page and run it behind the error boundary."""
    apply_page_style()
    run_guarded(page.run)
    freeze_once()


def freeze_once() -> None:
    """Once a process's first page has run: leave everything alive now (the libraries, the
    loaded data) out of later garbage collections (not outside a Streamlit runtime).

    Streamlit's collection after every rerun is turned off (config.toml, docs/performance.md);
    the collections Python still starts on its own would otherwise scan those few hundred
    thousand objects too, now and then in the middle of a filter change.
    """
    if _FROZEN or not runtime.exists():
        return
    _FROZEN.append(True)
    gc.collect()
    gc.freeze()
    # At exit everything is collectable again (extension modules report objects left alive).
    atexit.register(gc.unfreeze)


def cohort_page(title: str, *, needs_responses: bool = False) -> tuple[View, Cohort]:
    """Start a cohort-study page: header, then stop with a clear message when there is nothing
    to show (no patients, an empty subgroup, or no response assessments when they are needed)."""
    view = current_view()
    selected = cache.cohort(view)
    page_header(
        title, view.dataset, view.cohort_filter, selected.n, selected.total, error=filter_error()
    )
    if selected.total == 0:
        st.info("This dataset has no cohort-study patients (no `patients` table).")
        st.stop()
    if selected.n == 0:
        st.info("No patient matches this filter. Widen it or clear it in the sidebar.")
        st.stop()
    if needs_responses:
        if selected.responses.height == 0:
            st.info("No response assessments for these patients (the `responses` table is empty).")
            st.stop()
        missing = missing_columns(selected.patients, selected.responses)
        if missing:
            st.warning(
                "Response views are unavailable for these data: "
                f"{escape_markdown(', '.join(missing))} missing."
            )
            st.stop()
    return view, selected


def case_page(title: str) -> tuple[View, CaseSeries]:
    """Start a case-series page: header, then stop with a clear message when no case is shown."""
    view = current_view()
    series = cache.cases(view)
    page_header(
        title, view.dataset, view.cohort_filter, series.n, series.total, "cases", filter_error()
    )
    if series.total == 0:
        st.info("This dataset has no case-series cases (no `cases` table).")
        st.stop()
    if series.n == 0:
        st.info("No case matches this filter. Widen it or clear it in the sidebar.")
        st.stop()
    return view, series
