"""Drawing the package's Altair charts the same way on every page."""

from __future__ import annotations

from typing import Any

import altair as alt
import streamlit as st
from altair.utils.schemapi import disable_debug_mode

# Altair checks every object it creates (and every copy of one) against the Vega-Lite schema.
# The app draws only the package's own charts, each kind checked by the tests, and Streamlit
# checks each whole spec again before sending it: in the app the per-object checks only made a
# chart slower to build (the Kaplan–Meier chart 23 → 10 ms). Exports keep them.
disable_debug_mode()

AnyChart = alt.Chart | alt.LayerChart | alt.VConcatChart | alt.HConcatChart | alt.FacetChart


def show_chart(chart: AnyChart, *, stretch: bool = False) -> Any:
    """Draw a chart with its own theme (as exported), at its own size or the page's width.

    Single-view and layered charts are stretched to the page (Streamlit collapses their
    discrete axes at "content" width); concatenated charts keep the widths they were built with.
    """
    concatenated = isinstance(chart, alt.VConcatChart | alt.HConcatChart)
    if concatenated and not stretch:
        return st.altair_chart(chart, theme=None, width="content")
    return st.altair_chart(chart, theme=None, width="stretch")
