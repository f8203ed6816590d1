"""The shared look of every chart: projector-sized fonts and one categorical palette.

Chart modules build layers with the constants here and call `apply_theme` once, on the
outermost chart (Vega-Lite accepts `config` only at the top level, so a themed chart can no
longer be layered or concatenated).
"""

from __future__ import annotations

from typing import Any, TypeVar

import altair as alt

#: Categorical colours for groups (Okabe–Ito, colour-blind safe; first entry for the overall curve).
GROUP_PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
#: Colour for "Not recorded" / missing categories.
MISSING_COLOR = "#999999"

FONT = "Helvetica, Arial, sans-serif"
#: Base font size (axis labels, legend labels, text marks) readable on a projector.
FONT_SIZE = 16
#: Axis and legend titles.
TITLE_FONT_SIZE = 18
#: Chart title.
HEADING_FONT_SIZE = 22
#: Default stroke width of lines.
LINE_WIDTH = 2.5
#: How much larger every label is in presentation mode (read from the back of a room).
PRESENTATION_SCALE = 1.3

ChartT = TypeVar(
    "ChartT", alt.Chart, alt.LayerChart, alt.VConcatChart, alt.HConcatChart, alt.FacetChart
)


def group_colors(groups: list[str] | tuple[str, ...]) -> list[str]:
    """One palette colour per group, in order (cycling when there are more groups than colours)."""
    return [GROUP_PALETTE[i % len(GROUP_PALETTE)] for i in range(len(groups))]


def theme_config(*, presentation: bool = False) -> dict[str, Any]:
    """The Vega-Lite `config` block of the house theme (larger labels for presentation)."""
    scale = PRESENTATION_SCALE if presentation else 1.0
    base, title, heading = (
        round(size * scale) for size in (FONT_SIZE, TITLE_FONT_SIZE, HEADING_FONT_SIZE)
    )
    return {
        "font": FONT,
        "title": {"fontSize": heading, "subtitleFontSize": base, "anchor": "start"},
        "axis": {
            "labelFontSize": base,
            "titleFontSize": title,
            "titleFontWeight": "normal",
            "gridColor": "#e6e6e6",
        },
        "legend": {
            "labelFontSize": base,
            "titleFontSize": title,
            "titleFontWeight": "normal",
            "symbolSize": 200,
            "symbolStrokeWidth": 3,
        },
        "header": {"labelFontSize": base, "titleFontSize": title},
        "text": {"fontSize": base},
        "line": {"strokeWidth": LINE_WIDTH},
        "range": {"category": list(GROUP_PALETTE)},
        "view": {"stroke": None},
    }


def apply_theme(chart: ChartT) -> ChartT:
    """The chart with the house theme as its top-level config (call last, on a chart just built).

    The config is set on `chart` itself: Altair's `configure` returns a copy, and copying a
    composed chart runs its constructor again, which deep-copies every part, on every filter
    change (docs/performance.md).
    """
    chart.config = alt.Config(**theme_config())
    return chart
