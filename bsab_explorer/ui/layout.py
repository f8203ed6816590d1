"""Page furniture: the data banner, headers, presentation mode and the error boundary."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from bsab_explorer.data.store import StoreDamaged, StoreUnavailable
from bsab_explorer.dataset import Dataset
from bsab_explorer.filters import CohortFilter
from bsab_explorer.schema import RECONSTRUCTED_NOTICE
from bsab_explorer.ui.text import escape_markdown

LOG = logging.getLogger("bsab_explorer")

PRESENT_KEY = "present"

# Static CSS only: no data value ever reaches these strings.
# Charts take the container's width (`ui.charts`), between a width under which their labels
# would crowd and one beyond which a curve is hard to follow across the screen.
_CHART_CSS = """
[data-testid="stVegaLiteChart"] { min-width: 560px; max-width: 1400px; }
"""
_BASE_CSS = f"""
<style>
[data-testid="stMetricValue"] {{ font-size: 2.2rem; }}
[data-testid="stCaptionContainer"] {{ font-size: 1rem; }}
[data-testid="stMarkdownPre"] code {{ white-space: pre-wrap !important; overflow-wrap: anywhere; }}
{_CHART_CSS}
</style>
"""
# The projector layout: the main figure is seen whole under the title and the data banner on a
# 1280x720 projector. The view's controls fold away (the link keeps the view; leaving
# presentation mode brings them back); chart labels are enlarged by the chart theme, not by
# zooming the drawing, which would push it past the screen's edge.
_PRESENT_CSS = f"""
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stToolbar"], header[data-testid="stHeader"] {{ display: none !important; }}
[data-testid="stMain"] [data-testid="stElementContainer"]:has([data-testid="stWidgetLabel"]),
[data-testid="stMain"] [data-testid="stHorizontalBlock"]:not(:has([data-testid="stButton"],
[data-testid="stVegaLiteChart"], [data-testid="stMarkdown"], [data-testid="stTable"]))
{{ display: none !important; }}
.stMarkdown p, .stMarkdown li,
[data-testid="stTable"] td, [data-testid="stTable"] th,
button p, [data-baseweb="select"] div {{ font-size: 1.35rem !important; }}
[data-testid="stAlertContainer"] p {{ font-size: 1.1rem !important; }}
[data-testid="stAlertContainer"] {{ padding: 0.4rem 0.8rem !important; }}
[data-testid="stHeading"] h1 {{ font-size: 2.4rem !important; padding: 0 !important; }}
[data-testid="stHeading"] h2, [data-testid="stHeading"] h3 {{ font-size: 2.3rem !important; }}
[data-testid="stMetricValue"] {{ font-size: 3rem !important; }}
.block-container {{ max-width: 96vw !important; padding-top: 1.5rem !important;
  padding-left: 2rem !important; padding-right: 2rem !important; }}
[data-testid="stMain"] [data-testid="stVerticalBlock"] {{ gap: 0.6rem; }}
[data-testid="stMarkdownPre"] code {{ white-space: pre-wrap !important; overflow-wrap: anywhere; }}
{_CHART_CSS}
</style>
"""


def presentation_mode() -> bool:
    """Whether the projector layout is on (bound to `?present=true` in the URL)."""
    return bool(st.session_state.get(PRESENT_KEY, False))


def side_by_side(widths: int | list[int]) -> list[DeltaGenerator]:
    """Places side by side on a screen (`st.columns(widths)`); on a projector the same places
    one under the other, each as wide as the page, where wide tables side by side were cut off
    at 1280 pixels."""
    if presentation_mode():
        return [st.container() for _ in range(widths if isinstance(widths, int) else len(widths))]
    return list(st.columns(widths))


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
    error: str | None = None,
) -> None:
    """Title, data banner, the filtered N of total N and, when the filter text does not parse,
    why (in the main area: the sidebar is hidden in presentation mode)."""
    st.title(escape_markdown(title))
    data_banner(dataset)
    shown = f"**{escape_markdown(n)} of {escape_markdown(total)} {escape_markdown(unit)}**"
    present = presentation_mode()
    # In presentation mode the way out shares the line, so that the figure starts higher.
    line, aside = st.columns([3, 1], vertical_alignment="center") if present else (st, st)
    if cohort_filter.is_empty:
        line.markdown(f"{shown} · no filter")
    else:
        # The filter is URL text: escaped, not in a code span (which backticks in it would end).
        line.markdown(f"{shown} · filter: {escape_markdown(cohort_filter.to_text())}")
        line.caption(escape_markdown(cohort_filter.describe()))
    if error is not None:
        st.error(
            f"Filter not applied: {escape_markdown(error.rstrip('.'))}. Shown: the last valid "
            "filter, as stated above.",
            icon=":material/filter_alt_off:",
        )
    if present:
        aside.button("Exit presentation mode", on_click=_leave_presentation, type="tertiary")


def _leave_presentation() -> None:
    st.session_state[PRESENT_KEY] = False


#: What every page shows while the store cannot be reached (its reason goes to the server log
#: only: it names the server, and a viewer cannot act on it).
STORE_UNAVAILABLE = (
    "The data store cannot be reached just now, so there is nothing to show. The data are safe "
    "in the store: this page shows them again as soon as the store is back (reload the page "
    "or change anything to try again). If it lasts, tell the deployment's administrator: the "
    "server's log says why."
)


def store_unavailable(error: StoreUnavailable) -> None:
    """Say in words that the store cannot be reached (the reason to the log), and stop the page.

    Nothing is kept from the failed attempt: the next rerun tries the store again.
    """
    LOG.error("The store cannot be reached: %s", error)
    st.error(STORE_UNAVAILABLE, icon=":material/cloud_off:")
    st.stop()


def run_guarded(render: Callable[[], None]) -> None:
    """Run a page; an unexpected error becomes a short message with a reference, never a trace."""
    try:
        render()
    except StoreUnavailable as error:
        store_unavailable(error)
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
