"""Drawing the package's Altair charts the same way on every page."""

from __future__ import annotations

import copy
import hashlib
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

#: Height of each group's view of a split figure in presentation mode, the groups side by
#: side: the figure's title, legend, panels and axis fit under the page's title on a 720-pixel
#: projector.
PRESENTATION_GROUP_HEIGHT = 200

#: Width, in ems, of the longest line of the multi-line labels above a band ("≥VGPR 100 %")
#: and of a band's axis label ("After debulking"): such labels are set smaller where the bands
#: are narrower than that, never below `MIN_LABEL_SIZE` pixels, so that neighbouring labels
#: never run into each other.
LABEL_EMS = 7.2
MIN_LABEL_SIZE = 10

#: How a single or layered view fills the page: the whole figure (axes, legend, table labels)
#: within the container's width, the plot taking what is left.
FIT_WIDTH: dict[str, Any] = {"type": "fit-x", "contains": "padding"}


def _group_prefix(title: Any) -> str:
    """How each group is named above its view: "EMD: " from "Extramedullary disease (EMD)"."""
    if not isinstance(title, str):
        return ""
    short = re.search(r"\(([^()]+)\)$", title)
    return f"{short.group(1) if short else title}: "


def _fitted_size(size: float, bands: int) -> dict[str, str]:
    """A font size of at most `size` for a label `LABEL_EMS` wide under or over each of
    `bands` bands across the view's width."""
    return {"expr": f"min({size}, max({MIN_LABEL_SIZE}, width / {bands} / {LABEL_EMS}))"}


def _fitted_layers(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The layers of a group's view at the container's width: no legend (it is drawn once
    above the groups), every band of the x axis in every group (as the panels of a facet share
    it), and the labels of the bands smaller where the bands get narrower than the labels
    (`LABEL_EMS`)."""
    fitted = []
    for layer in layers:
        layer = copy.deepcopy(layer)
        for channel in layer.get("encoding", {}).values():
            if isinstance(channel, dict) and "legend" in channel:
                channel["legend"] = None
        x = layer.get("encoding", {}).get("x")
        bands = x.get("sort") if isinstance(x, dict) else None
        if isinstance(bands, list) and bands:
            x["scale"] = {**x.get("scale", {}), "domain": bands}
            axis, mark = x.get("axis"), layer.get("mark")
            if isinstance(axis, dict) and isinstance(axis.get("labelFontSize"), int | float):
                axis["labelFontSize"] = _fitted_size(axis["labelFontSize"], len(bands))
            if isinstance(mark, dict) and mark.get("type") == "text" and "lineBreak" in mark:
                size = mark.get("fontSize")
                if isinstance(size, int | float):
                    mark["fontSize"] = _fitted_size(size, len(bands))
        fitted.append(layer)
    return fitted


def group_specs(spec: dict[str, Any], *, presentation: bool) -> list[dict[str, Any]] | None:
    """A figure split into groups one under the other (a row facet), as the specs of its
    title and legend followed by one view per group, each at the container's width; None when
    the figure is not such a facet."""
    facet, inner = spec.get("facet"), spec.get("spec")
    if not isinstance(facet, dict) or set(facet) != {"row"} or not isinstance(inner, dict):
        return None
    row, layers = facet["row"], inner.get("layer")
    groups = row.get("sort")
    if not isinstance(groups, list) or not groups or not isinstance(layers, list):
        return None
    config = theme_config(presentation=True) if presentation else spec.get("config", {})
    common = {
        "$schema": spec["$schema"],
        "datasets": spec.get("datasets", {}),
        "data": spec["data"],
        "width": "container",
        "autosize": FIT_WIDTH,
    }
    legends = [
        layer["encoding"]["color"]
        for layer in layers
        if isinstance(layer.get("encoding", {}).get("color"), dict)
        and layer["encoding"]["color"].get("legend") is not None
    ]
    # The title and the legend once above the groups: a view of no rows (the legend lists its
    # scale's domain), so that the legend is the one the figure's file shows.
    heading = {
        **common,
        "config": config,
        "title": spec.get("title"),
        "height": 1,
        "transform": [{"filter": "false"}],
        "mark": {"type": "bar"},
        "encoding": {"color": legends[0]} if legends else {},
    }
    height = inner.get("height")
    if presentation and isinstance(height, int | float):
        height = min(height, PRESENTATION_GROUP_HEIGHT)
    header = row.get("header", {})
    prefix = _group_prefix(row.get("title"))
    layered = _fitted_layers(layers)
    views = [
        {
            **common,
            "config": {**config, "legend": {**config.get("legend", {}), "disable": True}},
            "title": {
                "text": f"{prefix}{group}",
                "anchor": "start",
                "fontSize": config.get("header", {}).get("labelFontSize")
                if presentation
                else header.get("labelFontSize"),
            },
            "transform": [{"filter": {"field": row["field"], "equal": group}}],
            "height": height,
            "layer": layered,
        }
        for group in groups
    ]
    return [heading, *views]


def show_groups(chart: alt.FacetChart) -> bool:
    """Draw a figure split into groups one under the other (a row facet) as one view per group
    at the page's width, its title and legend once above them: on a screen the groups one
    under the other, in presentation mode side by side. False when `chart` is not such a
    figure (nothing drawn).

    A facet's panels keep the width they were built with: a split figure filled half of a
    1920-pixel page, and side by side (presentation) its panels had to be narrow enough for a
    1280-pixel projector, where the labels above neighbouring bars ran into each other. The
    figure's file keeps the facet.
    """
    presentation = presentation_mode()
    specs = group_specs(vega_lite_spec(chart), presentation=presentation)
    if specs is None:
        return False
    heading, *views = specs
    st.vega_lite_chart(heading, theme=None, width="stretch")
    if presentation:
        for place, view in zip(st.columns(len(views), gap="medium"), views, strict=True):
            place.vega_lite_chart(view, theme=None, width="stretch")
    else:
        for view in views:
            st.vega_lite_chart(view, theme=None, width="stretch")
    return True


def show_chart(chart: AnyChart, *, stretch: bool = False) -> Any:
    """Draw a chart with its own theme (as exported), at the container's width where it can.

    Single-view and layered charts (the Kaplan–Meier curves with their table are one view)
    take the container's width whole: Streamlit gives the view the container's width and
    `FIT_WIDTH` keeps axes and legends inside it (the page's CSS bounds the container,
    `ui.layout`). Files keep the width the chart was built with. Concatenated charts keep the
    widths they were built with, or their parts take the container's width with `stretch`.
    In presentation mode the labels are larger (the theme's presentation sizes) and a single
    view is at most `PRESENTATION_MAX_HEIGHT` high. A figure split into groups is drawn by
    `show_groups` (returns None then).
    """
    if isinstance(chart, alt.FacetChart) and show_groups(chart):
        return None
    spec = vega_lite_spec(chart)
    if presentation_mode():
        spec["config"] = theme_config(presentation=True)
        if isinstance(spec.get("height"), int | float):
            spec["height"] = min(spec["height"], PRESENTATION_MAX_HEIGHT)
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
