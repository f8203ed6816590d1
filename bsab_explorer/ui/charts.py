"""Drawing the package's Altair charts the same way on every page."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import altair as alt
import streamlit as st
from altair.utils import Undefined
from altair.utils.schemapi import disable_debug_mode
from streamlit import dataframe_util

from bsab_explorer.charts.theme import theme_config
from bsab_explorer.ui.layout import presentation_mode

# Altair checks every object it creates (and every copy of one) against the Vega-Lite schema.
# The app draws only the package's own charts, each kind checked by the tests: in the app the
# per-object checks only made a chart slower to build (docs/performance.md).
# Exports keep them.
disable_debug_mode()

AnyChart = alt.Chart | alt.LayerChart | alt.VConcatChart | alt.HConcatChart | alt.FacetChart

#: Where a composed chart keeps its parts.
_PARTS = ("layer", "vconcat", "hconcat", "concat", "spec")


def _frames(chart: Any) -> list[Any]:
    """`chart` and every chart inside it with a data frame of its own, in the order Altair's
    `to_dict` meets them."""
    if not isinstance(chart, alt.SchemaBase):
        return []
    data = getattr(chart, "data", Undefined)
    own = data is not Undefined and not isinstance(data, dict | str | alt.SchemaBase)
    found = [chart] if own else []
    for name in _PARTS:
        inner = getattr(chart, name, Undefined)
        for part in inner if isinstance(inner, list) else [inner]:
            found += _frames(part)
    return found


def vega_lite_spec(chart: AnyChart) -> dict[str, Any]:
    """The spec `st.altair_chart(chart, theme=None)` would send, without its schema check.

    `st.altair_chart` checks the whole spec against the Vega-Lite schema on every rerun, a
    large share of a filter change's server time (docs/performance.md). The app
    draws only the package's own charts, and the tests check every kind against the schema and
    against `st.altair_chart`'s spec (tests/app/test_chart_spec.py), datasets included.

    As Streamlit does, each data frame is sent as a dataset in Arrow IPC, named by the hash of
    its bytes (data given as values stay in the spec), and Altair's default theme (which would
    add a 300-pixel default view size) is left out. The chart is left as it was.
    """
    datasets: dict[str, bytes] = {}
    inline: dict[str, Any] = {}
    names: dict[int, str] = {}
    swapped = []
    try:
        for part in _frames(chart):
            data = part.data
            if id(data) not in names:
                payload = dataframe_util.convert_anything_to_arrow_bytes(data)
                name = hashlib.blake2b(payload, digest_size=16, usedforsecurity=False).hexdigest()
                datasets[name] = payload
                names[id(data)] = name
            swapped.append((part, data))
            part.data = alt.NamedData(name=names[id(data)])
        # Not at the top level: no theme merged in, no `$schema` (added below). Data given as
        # values (not a frame) are collected in `inline`, as Altair does at the top level.
        spec = chart.to_dict(validate=False, context={"top_level": False, "datasets": inline})
    finally:
        for part, data in swapped:
            part.data = data
    spec["$schema"] = alt.SCHEMA_URL
    spec["datasets"] = inline | datasets
    return spec


#: Tallest single view in presentation mode, so that the figure is seen whole on a 720-pixel
#: projector under the page's title and banner (the Kaplan–Meier curves give up the height, their
#: table keeps its rows).
PRESENTATION_MAX_HEIGHT = 340

#: Width the panels of a split figure share in presentation mode, side by side: within a
#: 1280-pixel projector's page beside the legend and the axis.
PRESENTATION_FACET_WIDTH = 1040
#: Height of each such panel: the figure, its panel headers and axis fit under the page title.
PRESENTATION_FACET_HEIGHT = 170

#: How a single or layered view fills the page: the whole figure (axes, legend, table labels)
#: within the container's width, the plot taking what is left.
FIT_WIDTH: dict[str, Any] = {"type": "fit-x", "contains": "padding"}


def _side_by_side(spec: dict[str, Any]) -> None:
    """A figure split into groups one under the other, redrawn with its groups side by side
    and its panels narrower and lower, so that it is seen whole on a projector."""
    facet, inner = spec.get("facet"), spec.get("spec")
    if not isinstance(facet, dict) or "row" not in facet or not isinstance(inner, dict):
        return
    groups = max(len(facet["row"].get("sort") or ()), 1)
    spacing = spec.get("spacing", 0) if isinstance(spec.get("spacing"), int | float) else 0
    column = dict(facet["row"])
    # The variable named in each panel's header ("EMD: Yes"), not in a line of its own above.
    title = column.pop("title", None)
    if isinstance(title, str):
        short = re.search(r"\(([^()]+)\)$", title)
        prefix = json.dumps(f"{short.group(1) if short else title}: ")
        column["header"] = {**column.get("header", {}), "labelExpr": f"{prefix} + datum.value"}
    column["title"] = None
    spec["facet"] = {"column": column}
    if isinstance(inner.get("width"), int | float):
        share = (PRESENTATION_FACET_WIDTH - spacing * (groups - 1)) // groups
        inner["width"] = min(inner["width"], share)
    if isinstance(inner.get("height"), int | float):
        inner["height"] = min(inner["height"], PRESENTATION_FACET_HEIGHT)


def show_chart(chart: AnyChart, *, stretch: bool = False) -> Any:
    """Draw a chart with its own theme (as exported), at the container's width where it can.

    Single-view and layered charts (the Kaplan–Meier curves with their table are one view)
    take the container's width whole: Streamlit gives the view the container's width and
    `FIT_WIDTH` keeps axes and legends inside it (the page's CSS bounds the container,
    `ui.layout`). Files keep the width the chart was built with. Concatenated charts keep the
    widths they were built with, or their parts take the container's width with `stretch`.
    In presentation mode the labels are larger (the theme's presentation sizes) and a single
    view is at most `PRESENTATION_MAX_HEIGHT` high.
    """
    spec = vega_lite_spec(chart)
    if presentation_mode():
        spec["config"] = theme_config(presentation=True)
        if isinstance(spec.get("height"), int | float):
            spec["height"] = min(spec["height"], PRESENTATION_MAX_HEIGHT)
        if isinstance(chart, alt.FacetChart):
            _side_by_side(spec)
    concatenated = isinstance(chart, alt.VConcatChart | alt.HConcatChart)
    if concatenated and not stretch:
        return st.vega_lite_chart(spec, theme=None, width="content")
    if not isinstance(chart, alt.VConcatChart | alt.HConcatChart | alt.FacetChart):
        spec["autosize"] = FIT_WIDTH
    return st.vega_lite_chart(spec, theme=None, width="stretch")


def show_panels(chart: alt.HConcatChart) -> None:
    """Draw the panels of a side-by-side chart one under the other, each a single view at the
    container's width (its legend and titles inside it, as `show_chart` draws a single view).

    A concatenated chart keeps the widths it was built with: two panels built for a file are
    wider than the main area of a 1280-px screen, which cut off the right panel and its legend.
    The overall title is the page's subheader; the file keeps the chart whole.
    """
    for panel in chart.hconcat:
        if not isinstance(panel, alt.Chart | alt.LayerChart):
            raise TypeError(f"a panel is a single or layered view, not {type(panel).__name__}")
        alone = panel.properties(width="container")
        alone.config = chart.config  # the house theme the whole chart carries
        show_chart(alone)
