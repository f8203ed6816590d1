"""Page furniture: the data banner, headers, presentation mode and the error boundary."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import streamlit as st

from bsab_explorer.data.store import StoreDamaged
from bsab_explorer.dataset import Dataset
from bsab_explorer.filters import CohortFilter
from bsab_explorer.schema import RECONSTRUCTED_NOTICE
from bsab_explorer.ui.text import escape_markdown

LOG = logging.getLogger("bsab_explorer")

PRESENT_KEY = "present"

# Static CSS only: no data value ever reaches these strings.
_BASE_CSS = """
<style>
[data-testid="stMetricValue"] { font-size: 2.2rem; }
[data-testid="stCaptionContainer"] { font-size: 1rem; }
[data-testid="stMarkdownPre"] code { white-space: pre-wrap !important; overflow-wrap: anywhere; }
</style>
"""
_PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stToolbar"], header[data-testid="stHeader"] { display: none !important; }
.stMarkdown p, .stMarkdown li, [data-testid="stWidgetLabel"] p,
[data-testid="stTable"] td, [data-testid="stTable"] th, [data-testid="stAlertContainer"] p,
button p, [data-baseweb="select"] div { font-size: 1.35rem !important; }
[data-testid="stHeading"] h1 { font-size: 3.2rem !important; }
[data-testid="stHeading"] h2, [data-testid="stHeading"] h3 { font-size: 2.3rem !important; }
[data-testid="stMetricValue"] { font-size: 3rem !important; }
[data-testid="stVegaLiteChart"] { zoom: 1.3; }
.block-container { max-width: 96vw !important; padding-top: 1rem !important; }
[data-testid="stMarkdownPre"] code { white-space: pre-wrap !important; overflow-wrap: anywhere; }
</style>
"""


def presentation_mode() -> bool:
    """Whether the projector layout is on (bound to `?present=true` in the URL)."""
    return bool(st.session_state.get(PRESENT_KEY, False))


def apply_page_style() -> None:
    """Inject the static page CSS (larger metrics; the projector layout when it is on)."""
    st.html(_PRESENT_CSS if presentation_mode() else _BASE_CSS)


def data_banner(dataset: Dataset) -> None:
    """Say which data are shown; the reconstructed-data notice is never hidden."""
    label = f"Data: {dataset.name} · fingerprint {dataset.short_fingerprint}"
    if dataset.reconstructed:
        st.warning(f"**{RECONSTRUCTED_NOTICE}** {escape_markdown(label)}", icon=":material/info:")
    else:
        st.caption(escape_markdown(label))


def page_header(
    title: str,
    dataset: Dataset,
    cohort_filter: CohortFilter,
    n: int,
    total: int,
    unit: str = "patients",
) -> None:
    """Title, data banner and the filtered N of total N."""
    st.title(escape_markdown(title))
    data_banner(dataset)
    shown = f"**{escape_markdown(n)} of {escape_markdown(total)} {escape_markdown(unit)}**"
    if cohort_filter.is_empty:
        st.markdown(f"{shown} · no filter")
    else:
        # The filter is URL text: escaped, not in a code span (which backticks in it would end).
        st.markdown(f"{shown} · filter: {escape_markdown(cohort_filter.to_text())}")
        st.caption(escape_markdown(cohort_filter.describe()))
    if presentation_mode():
        st.button("Exit presentation mode", on_click=_leave_presentation, type="tertiary")


def _leave_presentation() -> None:
    st.session_state[PRESENT_KEY] = False


def run_guarded(render: Callable[[], None]) -> None:
    """Run a page; an unexpected error becomes a short message with a reference, never a trace."""
    try:
        render()
    except StoreDamaged as damage:
        st.error("The data store is damaged: nothing can be stored or retracted.")
        st.code(str(damage), language=None, wrap_lines=True)
    except Exception:
        reference = uuid.uuid4().hex[:8]
        LOG.exception("page failed (reference %s)", reference)
        st.error(
            "This view could not be drawn for the current data and filter. Try another filter or "
            f"dataset; if it keeps happening, report reference **{escape_markdown(reference)}**.",
            icon=":material/error:",
        )
