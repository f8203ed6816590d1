"""The private Streamlit and Altair internals the app relies on, pinned to the versions they were
measured against (bench/internals.py, docs/performance.md "Private internals").

A new version of either library fails here on purpose: rerun `python -m bench.internals`, check
that each shortcut still exists, still gives the same spec (tests/app/test_chart_spec.py,
tests/charts/test_compose.py) and still pays, then update the versions below.
"""

from __future__ import annotations

import altair as alt
import streamlit as st

#: What to re-check when a version changes, shortcut by shortcut.
RECHECK = (
    "streamlit.dataframe_util.convert_anything_to_arrow_bytes (ui/charts.vega_lite_spec writes "
    "the chart's datasets as st.altair_chart does); runner.postScriptGC = false "
    "(.streamlit/config.toml) with gc.freeze after the first page (ui/shell.freeze_once); "
    "altair.utils.schemapi.disable_debug_mode (ui/charts); the Altair subclasses of "
    "charts/compose.py that skip their parent's constructor"
)


def test_streamlit_is_the_version_the_shortcuts_were_measured_with() -> None:
    assert st.__version__ == "1.67.0", f"Streamlit changed: re-check {RECHECK}"


def test_altair_is_the_version_the_shortcuts_were_measured_with() -> None:
    assert alt.__version__ == "6.3.0", f"Altair changed: re-check {RECHECK}"


def test_the_private_functions_the_app_calls_still_exist() -> None:
    from altair.utils import schemapi
    from streamlit import dataframe_util

    assert callable(dataframe_util.convert_anything_to_arrow_bytes), RECHECK
    assert callable(schemapi.disable_debug_mode), RECHECK
