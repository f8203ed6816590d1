"""How a page draws a chart: at the container's width, and larger in presentation mode."""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl
import pytest

from bsab_explorer.charts.theme import FONT_SIZE, apply_theme, theme_config
from bsab_explorer.ui import charts


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The specs and options `show_chart` hands to Streamlit."""
    calls: list[tuple[dict[str, Any], dict[str, Any]]] = []
    monkeypatch.setattr(
        charts.st, "vega_lite_chart", lambda spec, **options: calls.append((spec, options))
    )
    return calls


def _view(height: int = 500) -> alt.Chart:
    frame = pl.DataFrame({"x": [0.0, 1.0], "y": [0.2, 0.8]})
    return apply_theme(
        alt.Chart(frame).mark_line().encode(x="x:Q", y="y:Q").properties(width=820, height=height)
    )


def test_a_view_takes_the_container_width_with_axes_and_legend_inside(
    drawn: list[tuple[dict[str, Any], dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(charts, "presentation_mode", lambda: False)
    chart = _view()
    charts.show_chart(chart)
    ((spec, options),) = drawn
    assert options == {"theme": None, "width": "stretch"}
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
    assert spec["height"] == 500
    assert spec["config"] == theme_config()
    # The chart (cached, exported) keeps its own width.
    assert chart.to_dict()["width"] == 820
    assert "autosize" not in chart.to_dict()


def test_concatenated_charts_keep_their_widths(
    drawn: list[tuple[dict[str, Any], dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(charts, "presentation_mode", lambda: False)
    frame = pl.DataFrame({"x": [0.0, 1.0]})
    part = alt.Chart(frame).mark_point().encode(x="x:Q").properties(width=300)
    charts.show_chart(apply_theme(alt.vconcat(part, part)))
    ((spec, options),) = drawn
    assert options["width"] == "content"
    assert "autosize" not in spec


def test_presentation_mode_enlarges_labels_and_bounds_the_height(
    drawn: list[tuple[dict[str, Any], dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(charts, "presentation_mode", lambda: True)
    chart = _view(height=578)
    charts.show_chart(chart)
    ((spec, _),) = drawn
    assert spec["height"] == charts.PRESENTATION_MAX_HEIGHT == 340
    assert spec["config"] == theme_config(presentation=True)
    assert spec["config"]["axis"]["labelFontSize"] == round(FONT_SIZE * 1.3) == 21
    assert spec["config"]["text"]["fontSize"] == 21
    assert theme_config()["axis"]["labelFontSize"] == FONT_SIZE == 16
    assert chart.to_dict()["height"] == 578
