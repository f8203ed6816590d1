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


def _split_response() -> alt.FacetChart:
    from bsab_explorer.analyses.response import response_by_timepoint
    from bsab_explorer.charts.response import response_chart
    from bsab_explorer.data.loading import load_dataset

    dataset = load_dataset().dataset
    assert dataset is not None
    summary = response_by_timepoint(dataset.table("patients"), dataset.table("responses"), by="emd")
    chart = response_chart(summary)
    assert isinstance(chart, alt.FacetChart)
    return chart


@pytest.mark.parametrize("present", [False, True], ids=["screen", "present"])
def test_a_split_figure_is_drawn_one_view_per_group_at_the_page_width(
    drawn: list[tuple[dict[str, Any], dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    present: bool,
) -> None:
    monkeypatch.setattr(charts, "presentation_mode", lambda: present)
    columns: list[int] = []
    monkeypatch.setattr(charts.st, "columns", lambda n, **_: columns.append(n) or [charts.st] * n)
    chart = _split_response()
    file_spec = chart.to_dict()
    assert charts.show_chart(chart) is None
    (heading, _), *views = drawn
    # The title and legend once, above the groups; the legend from the figure's own scale.
    assert heading["title"] == file_spec["title"]
    assert heading["encoding"]["color"]["legend"]["title"] == "Response (IMWG)"
    assert heading["transform"] == [{"filter": "false"}]
    assert [v["title"]["text"] for v, _ in views] == ["EMD: Yes", "EMD: No"]
    for (view, options), group in zip(views, ["Yes", "No"], strict=True):
        assert options == {"theme": None, "width": "stretch"}
        assert view["width"] == "container"
        assert view["autosize"] == charts.FIT_WIDTH
        assert view["transform"] == [{"filter": {"field": "group", "equal": group}}]
        assert view["height"] == (charts.PRESENTATION_GROUP_HEIGHT if present else 380)
        bands = view["layer"][0]["encoding"]["x"]["sort"]
        for layer in view["layer"]:
            encoding = layer["encoding"]
            # Every timepoint in every group, as the facet's panels share the axis.
            assert encoding["x"]["scale"]["domain"] == bands
            channels = [c for c in encoding.values() if isinstance(c, dict)]
            assert all(c.get("legend", "absent") in (None, "absent") for c in channels)
        rates = view["layer"][2]["mark"]
        assert rates["lineBreak"] == "\n"
        assert rates["fontSize"] == {
            "expr": f"min({FONT_SIZE - 1}, max(10, width / 6 / {charts.LABEL_EMS}))"
        }
    # Side by side only in presentation mode; one under the other on a screen.
    assert columns == ([2] if present else [])
    config = theme_config(presentation=True) if present else theme_config()
    assert heading["config"] == config
    # The file keeps the facet with its panels' own widths.
    assert "facet" in chart.to_dict()
    assert chart.to_dict() == file_spec


def test_a_chart_that_is_not_split_by_rows_is_drawn_whole(
    drawn: list[tuple[dict[str, Any], dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(charts, "presentation_mode", lambda: False)
    frame = pl.DataFrame({"x": [0.0, 1.0], "g": ["a", "b"]})
    chart = apply_theme(
        alt.Chart(frame).mark_point().encode(x="x:Q").properties(width=200).facet(column="g:N")
    )
    charts.show_chart(chart)
    ((spec, options),) = drawn
    assert "facet" in spec
    assert options["width"] == "stretch"
