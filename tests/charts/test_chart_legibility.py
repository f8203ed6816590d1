"""Every chart the app draws reads for everyone: legend colours a deuteranope tells apart, legend
symbols drawn as the marks are, and tooltips that name and format every field.

The charts are the ones pages draw and files hold (`exports.catalogue.build`), on the bundled
data, split and unsplit.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from bsab_explorer.charts.timeline import TICK_SYMBOL
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.exports import ExportRequest
from bsab_explorer.exports.catalogue import build
from tests.charts.colour_vision import ciede2000, deuteranope_distance

#: Least CIEDE2000 difference, as a deuteranope sees them (Machado 2009), between two entries
#: of one legend. Okabe–Ito's closest pair (orange and yellow) is 11.6 apart.
MIN_DEUTERANOPE_DISTANCE = 10.0

REQUESTS = {
    "km": ExportRequest("figure", "km", endpoint="pfs"),
    "km by emd": ExportRequest(
        "figure", "km", endpoint="os", by="emd", options=(("median", "true"),)
    ),
    "km by bsab": ExportRequest("figure", "km", endpoint="pfs", by="bsab"),
    "response": ExportRequest("figure", "response"),
    "response by emd": ExportRequest("figure", "response", by="emd"),
    "conversion": ExportRequest("figure", "conversion"),
    "timeline": ExportRequest("figure", "timeline", case="RC2"),
    "swimmer": ExportRequest("figure", "swimmer"),
    "crs-latency": ExportRequest("figure", "crs-latency"),
    "crs-latency by bsab": ExportRequest("figure", "crs-latency", options=(("by", "bsab"),)),
}


@cache
def chart_spec(name: str) -> dict[str, Any]:
    chart = build(REQUESTS[name], load_dataset().dataset).chart
    assert chart is not None
    spec: dict[str, Any] = chart.to_dict()
    return spec


def views(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every single view (a part with a mark) of a spec, however composed."""
    if "mark" in spec:
        yield spec
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for part in spec.get(key, []):
            yield from views(part)
    if "spec" in spec:
        yield from views(spec["spec"])


def legends(spec: dict[str, Any]) -> Iterator[tuple[str, list[str], list[str]]]:
    """(title, entries, colours) of every categorical colour legend of a spec."""
    for view in views(spec):
        for channel in ("color", "fill", "stroke"):
            enc = view.get("encoding", {}).get(channel)
            if not isinstance(enc, dict) or "field" not in enc or enc.get("legend", {}) is None:
                continue
            scale = enc.get("scale", {})
            if isinstance(scale.get("range"), list) and isinstance(scale.get("domain"), list):
                yield str(enc.get("title")), scale["domain"], scale["range"]


def test_the_colour_difference_is_ciede2000() -> None:
    # Sharma, Wu & Dalal (2005), test data pairs 1, 7, 17 and 34 (published ΔE00).
    assert ciede2000((50, 2.6772, -79.7751), (50, 0, -82.7485)) == pytest.approx(2.0425, abs=1e-4)
    assert ciede2000((50, 0, 0), (50, -1, 2)) == pytest.approx(2.3669, abs=1e-4)
    assert ciede2000((50, 2.5, 0), (73, 25, -18)) == pytest.approx(27.1492, abs=1e-4)
    assert ciede2000((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514)) == pytest.approx(
        0.9082, abs=1e-4
    )
    # The simulation keeps greys grey, and merges what a deuteranope cannot tell apart.
    assert deuteranope_distance("#777777", "#777777") == 0.0
    assert deuteranope_distance("#ff0000", "#9c7f00") < 5  # red and olive: one colour


@pytest.mark.parametrize("name", REQUESTS)
def test_every_legend_entry_looks_different_to_a_deuteranope(name: str) -> None:
    seen = 0
    for title, entries, colours in legends(chart_spec(name)):
        seen += 1
        for (e1, c1), (e2, c2) in itertools.combinations(zip(entries, colours, strict=False), 2):
            distance = deuteranope_distance(c1, c2)
            assert distance >= MIN_DEUTERANOPE_DISTANCE, (title, e1, c1, e2, c2, distance)
    assert seen > 0 or name == "conversion"  # the flows are labelled in place


@pytest.mark.parametrize("name", REQUESTS)
def test_every_tooltip_field_has_a_title_and_a_format(name: str) -> None:
    untitled, unformatted, unsaid = [], [], []
    for view in views(chart_spec(name)):
        encoding = view.get("encoding", {})
        mark = view["mark"]["type"] if isinstance(view["mark"], dict) else view["mark"]
        if "tooltip" not in encoding:
            # A helper mark says it has none, so that no renderer lists its raw fields.
            unsaid.append((mark, sorted(encoding)))
            continue
        tooltip = encoding["tooltip"]
        for field in tooltip if isinstance(tooltip, list) else [tooltip]:
            if "value" in field:
                assert field["value"] is None
                continue
            if not field.get("title"):
                untitled.append(field)
            if field["type"] == "quantitative" and not field.get("format"):
                unformatted.append(field)
    assert (untitled, unformatted, unsaid) == ([], [], [])


#: The legend symbol that draws each kind of mark (a legend's default is a circle).
SYMBOL_OF_MARK = {"line": "stroke", "rule": "stroke", "tick": TICK_SYMBOL}


@pytest.mark.parametrize("name", REQUESTS)
def test_legend_symbols_are_drawn_as_the_marks_are(name: str) -> None:
    checked = []
    for view in views(chart_spec(name)):
        mark = view["mark"]["type"] if isinstance(view["mark"], dict) else view["mark"]
        color = view.get("encoding", {}).get("color", {})
        if mark not in SYMBOL_OF_MARK or "field" not in color or color.get("legend", {}) is None:
            continue
        checked.append((mark, color["legend"].get("symbolType")))
    assert all(symbol == SYMBOL_OF_MARK[mark] for mark, symbol in checked), checked
    if name.startswith("km"):
        assert ("line", "stroke") in checked
    if name in ("timeline", "swimmer"):
        assert ("tick", TICK_SYMBOL) in checked
