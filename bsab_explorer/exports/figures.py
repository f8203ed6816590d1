"""Charts as PNG and SVG files rendered server-side with vl-convert, provenance drawn in.

Fonts: vl-convert renders text with fonts it bundles (Liberation Sans, metric-compatible with
Arial, in regular, bold and italic), so an export looks the same on every machine whatever
fonts the system has. Every export is set in that family; no system font is needed.

Sizes: ``screen`` is twice the chart's nominal pixel size tagged 144 dpi (sharp on high-density
screens, and the nominal size when placed in a document); ``print`` is tagged 300 dpi with the
pixels to match, at the chart's nominal size (a nominal pixel is a point) but never wider than
a two-column journal figure (180 mm): wider charts are scaled down, so their text prints at
about 7 pt and the footer at about 5 pt, as journals ask.
"""

from __future__ import annotations

import copy
import math
import re
import textwrap
from collections.abc import Mapping
from html import escape
from typing import Any, Literal

import altair as alt
import polars as pl
import vl_convert as vlc

from bsab_explorer.errors import Unavailable
from bsab_explorer.exports.provenance import Provenance

#: The font family vl-convert bundles, used for every exported figure.
EXPORT_FONT = "Liberation Sans"
#: Pixels per inch of Vega's nominal sizes.
NOMINAL_PPI = 72
#: Pixels per inch of each export size.
SIZE_PPI: dict[str, int] = {"screen": 144, "print": 300}
Size = Literal["screen", "print"]
#: Widest print export: a two-column journal figure.
PRINT_MAX_WIDTH_MM = 180.0

#: Footer text size (nominal pixels) and colour: small, but legible at both sizes.
FOOTER_FONT_SIZE = 12
FOOTER_LINE_HEIGHT = 16
FOOTER_COLOR = "#333333"
FOOTER_PAD = 10
#: A footer is never narrower than this (nominal pixels), so a narrow chart keeps short lines.
FOOTER_MIN_WIDTH = 520
#: Average advance of a character in Liberation Sans, in em (digits are 0.556 em), for wrapping.
_CHAR_EM = 0.56

_CLIP_ID = re.compile(r'((?:id="|url\(#)clip)(\d+)')
_SVG_SIZE = re.compile(r'<svg\b[^>]*?\swidth="([\d.]+)"[^>]*?\sheight="([\d.]+)"')


class ExportError(RuntimeError):
    """A chart that vl-convert could not render."""


def chart_spec(
    chart: alt.TopLevelMixin | Mapping[str, Any], *, font: str = EXPORT_FONT
) -> dict[str, Any]:
    """The Vega-Lite spec of a chart, set in the export font on a white background."""
    spec = copy.deepcopy(dict(chart)) if isinstance(chart, Mapping) else chart.to_dict()
    config = dict(spec.get("config") or {})
    config["font"] = font
    config.setdefault("background", "white")
    spec["config"] = config
    return spec


def _render_svg(spec: dict[str, Any]) -> str:
    try:
        svg: str = vlc.vegalite_to_svg(spec)
    except ValueError as error:  # vl-convert reports spec errors as ValueError
        raise ExportError(f"The chart could not be rendered: {error}") from error
    return renumber_clip_ids(svg)


def renumber_clip_ids(svg: str) -> str:
    """Clip-path ids numbered from 1 in order of appearance.

    Vega numbers clip paths with a counter that lives as long as the renderer, so the same
    chart rendered twice gets different ids; renumbering makes exports byte-identical.
    """
    mapping: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        new = mapping.setdefault(match.group(2), str(len(mapping) + 1))
        return f"{match.group(1)}{new}"

    return _CLIP_ID.sub(renumber, svg)


def _svg_size(svg: str) -> tuple[float, float]:
    match = _SVG_SIZE.search(svg)
    if match is None:
        raise ExportError("The rendered chart has no size.")
    return float(match.group(1)), float(match.group(2))


def wrap_lines(lines: tuple[str, ...] | list[str], width: float, font_size: float) -> list[str]:
    """Lines wrapped to fit `width` pixels at `font_size` (a conservative width estimate)."""
    columns = max(20, math.floor(width / (font_size * _CHAR_EM)))
    wrapped: list[str] = []
    for line in lines:
        wrapped.extend(textwrap.wrap(line, columns, break_on_hyphens=False) or [""])
    return wrapped


def add_footer(svg: str, lines: tuple[str, ...] | list[str]) -> str:
    """The chart SVG with the lines set under it in small type (the canvas grows to fit)."""
    width, height = _svg_size(svg)
    canvas = max(width, FOOTER_MIN_WIDTH)
    text = wrap_lines(lines, canvas - 2 * FOOTER_PAD, FOOTER_FONT_SIZE)
    footer = FOOTER_PAD + FOOTER_LINE_HEIGHT * len(text) + FOOTER_PAD // 2
    total = height + footer
    rows = "".join(
        f'<text x="{FOOTER_PAD}" y="{height + FOOTER_PAD + FOOTER_LINE_HEIGHT * (i + 1) - 4:g}">'
        f"{escape(line)}</text>"
        for i, line in enumerate(text)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{canvas:g}" '
        f'height="{total:g}" viewBox="0 0 {canvas:g} {total:g}">'
        f'<rect width="{canvas:g}" height="{total:g}" fill="white"/>'
        f"{svg}"
        f'<line x1="{FOOTER_PAD}" x2="{canvas - FOOTER_PAD:g}" y1="{height + 3:g}" '
        f'y2="{height + 3:g}" stroke="#bbbbbb" stroke-width="0.75"/>'
        f'<g font-family="{EXPORT_FONT}" font-size="{FOOTER_FONT_SIZE}" fill="{FOOTER_COLOR}">'
        f"{rows}</g></svg>"
    )


def chart_to_svg(
    chart: alt.TopLevelMixin | Mapping[str, Any],
    provenance: Provenance | None = None,
    *,
    with_date: bool = True,
    font: str = EXPORT_FONT,
) -> str:
    """The chart as SVG text, with the provenance footer under it when given."""
    svg = _render_svg(chart_spec(chart, font=font))
    if provenance is None:
        return svg
    return add_footer(svg, provenance.lines(with_date=with_date))


def print_scale(svg: str, dpi: int) -> float:
    """Scale that keeps a print export within `PRINT_MAX_WIDTH_MM` (1 for screen sizes)."""
    if dpi <= SIZE_PPI["screen"]:
        return 1.0
    width_mm = _svg_size(svg)[0] / NOMINAL_PPI * 25.4
    return min(1.0, PRINT_MAX_WIDTH_MM / width_mm)


def svg_to_png(svg: str, size: Size = "screen", *, dpi: int | None = None) -> bytes:
    """Rasterise SVG text at a named size or an explicit dpi (pixels and pHYs tag to match)."""
    if dpi is None:
        if size not in SIZE_PPI:
            raise ValueError(f"size must be one of {sorted(SIZE_PPI)}, not {size!r}")
        dpi = SIZE_PPI[size]
    if not 36 <= dpi <= 1200:
        raise Unavailable(f"dpi must be between 36 and 1200, not {dpi}")
    png: bytes = vlc.svg_to_png(svg, scale=print_scale(svg, dpi), ppi=float(dpi))
    return png


def chart_to_png(
    chart: alt.TopLevelMixin | Mapping[str, Any],
    provenance: Provenance | None = None,
    size: Size = "screen",
    *,
    with_date: bool = True,
) -> bytes:
    """The chart as PNG bytes (screen: 144 dpi, print: 300 dpi), provenance footer drawn in."""
    return svg_to_png(chart_to_svg(chart, provenance, with_date=with_date), size)


def chart_datasets(chart: alt.TopLevelMixin | Mapping[str, Any]) -> dict[str, pl.DataFrame]:
    """Every inline data set of a chart as a frame, keyed by its name in the spec."""
    spec = dict(chart) if isinstance(chart, Mapping) else chart.to_dict()
    frames: dict[str, pl.DataFrame] = {}
    for name, rows in (spec.get("datasets") or {}).items():
        if isinstance(rows, list):
            frames[name] = pl.DataFrame(rows, infer_schema_length=None, strict=False)
    if not frames:
        values = (spec.get("data") or {}).get("values")
        if isinstance(values, list):
            frames["data"] = pl.DataFrame(values, infer_schema_length=None, strict=False)
    return frames


def chart_data_frame(chart: alt.TopLevelMixin | Mapping[str, Any]) -> pl.DataFrame:
    """The data behind a chart: its largest inline data set (pass the analysis frame if known)."""
    frames = chart_datasets(chart)
    if not frames:
        return pl.DataFrame()
    # Ties broken by name so that the choice is deterministic.
    return max(sorted(frames.items()), key=lambda item: item[1].height)[1]
