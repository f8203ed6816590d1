"""Composing charts without Altair's copies gives the spec Altair's constructors give."""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl
import pytest
from altair.utils import Undefined, schemapi

from bsab_explorer.analyses.conversion import alluvial_flows
from bsab_explorer.analyses.response import response_by_timepoint
from bsab_explorer.analyses.survival import CIMethod
from bsab_explorer.charts import compose
from bsab_explorer.charts.conversion import alluvial_chart
from bsab_explorer.charts.response import response_chart
from bsab_explorer.charts.survival import km_chart
from bsab_explorer.charts.theme import apply_theme, theme_config
from tests.charts.test_survival_chart import lung
from tests.fixtures.cohorts import constructed_patients, constructed_responses

FRAME = pl.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, 1.0, 2.0], "g": ["a", "b", "a"]})
OTHER = pl.DataFrame({"x": [1.0], "y": [2.0], "g": ["a"]})


def _line(data: Any = FRAME, **properties: Any) -> alt.Chart:
    return alt.Chart(data, **properties).mark_line().encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))


def _with_altair(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make compose always use Altair's constructors (the reference)."""
    monkeypatch.setattr(compose, "_needs_altair", lambda *args: True)


KM_OPTIONS: list[tuple[str | None, CIMethod, dict[str, Any]]] = [
    (None, CIMethod.LOG, {}),
    ("sex", CIMethod.LOG_LOG, {}),
    ("sex", CIMethod.PLAIN, {"show_ci": False, "risk_rows": ()}),
    ("sex", CIMethod.LOG, {"risk_rows": ("n_risk", "cum_events", "cum_censored")}),
    (None, CIMethod.LOG, {"show_censors": False, "show_p": False, "title": "PFS"}),
]


@pytest.mark.parametrize(("by", "ci", "options"), KM_OPTIONS)
def test_the_km_chart_is_the_chart_altair_composes(
    monkeypatch: pytest.MonkeyPatch, by: str | None, ci: CIMethod, options: dict[str, Any]
) -> None:
    summary = lung(ci, by=by)
    ours = km_chart(summary, **options).to_dict()
    _with_altair(monkeypatch)
    assert km_chart(summary, **options).to_dict() == ours


PAGE_CHARTS = {
    "response": lambda: response_chart(
        response_by_timepoint(constructed_patients(), constructed_responses(), "evaluable")
    ),
    "response by emd": lambda: response_chart(
        response_by_timepoint(constructed_patients(), constructed_responses(), "all_treated", "emd")
    ),
    "conversion": lambda: alluvial_chart(
        alluvial_flows(constructed_patients(), constructed_responses())
    ),
}


@pytest.mark.parametrize("name", PAGE_CHARTS)
def test_the_page_charts_are_the_charts_altair_composes(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    ours = PAGE_CHARTS[name]().to_dict()
    _with_altair(monkeypatch)
    assert PAGE_CHARTS[name]().to_dict() == ours


def test_parts_that_altair_would_change_are_left_to_altair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    brush = alt.selection_interval(bind="scales", encodings=["x"])
    cases = {
        # a selection parameter is lifted to the top
        "params": lambda: compose.layer([_line().add_params(brush), _line(OTHER)]),
        # one data shared by every part moves to the top
        "shared data": lambda: compose.layer([_line(), _line().mark_point()]),
        # the top's data is removed from the parts that repeat it
        "top data": lambda: compose.layer([_line(), _line(OTHER)], data=FRAME),
        # sizes move from layers to the layer chart
        "sizes": lambda: compose.layer([_line(width=300), _line(OTHER, width=300)]),
        "concat params": lambda: compose.vconcat([_line().add_params(brush), _line(OTHER)]),
        "concat shared data": lambda: compose.vconcat([_line(), _line()]),
        "concat named layers": lambda: compose.vconcat(
            [compose.layer([_line(name="a"), _line(OTHER)]), _line(OTHER)]
        ),
        "empty": lambda: compose.vconcat([]),
        "facet params": lambda: compose.facet(
            _line(Undefined).add_params(brush), data=FRAME, facet=alt.FacetMapping(column="g:N")
        ),
        "facet": lambda: compose.facet(
            compose.layer([_line(Undefined), _line(Undefined).mark_point()]),
            data=FRAME,
            facet=alt.FacetMapping(column=alt.Column("g:N")),
        ),
    }
    ours = {name: make().to_dict() for name, make in cases.items()}
    _with_altair(monkeypatch)
    theirs = {name: make().to_dict() for name, make in cases.items()}
    assert ours == theirs
    # The selection really was lifted (the comparison is not between two unlifted specs).
    assert [p["name"] for p in ours["params"]["params"]] == [brush.name]
    assert "data" in ours["shared data"]
    assert "data" not in ours["shared data"]["layer"][0]
    assert [p["name"] for p in ours["facet params"]["params"]] == [brush.name]


def test_parts_are_attached_without_copies_when_nothing_is_lifted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copies: list[type] = []
    copy = schemapi.SchemaBase.copy

    def counted(self: schemapi.SchemaBase, *args: Any, **kwargs: Any) -> Any:
        copies.append(type(self))
        return copy(self, *args, **kwargs)

    parts = [_line(), _line(OTHER).mark_point()]
    below = _line(OTHER)
    monkeypatch.setattr(schemapi.SchemaBase, "copy", counted)
    chart = compose.vconcat([compose.layer(parts, width=200), below], spacing=4)
    assert copies == []
    assert chart.vconcat[0].layer == parts
    alt.vconcat(alt.LayerChart(layer=parts, width=200), below, spacing=4)
    assert copies, "Altair's constructors copy their parts (the reason for compose)"


def test_the_theme_is_the_config_altair_would_attach() -> None:
    layered = compose.layer([_line(), _line(OTHER)], width=100)
    expected = layered.configure(**theme_config()).to_dict()
    assert apply_theme(layered).to_dict() == expected
    assert apply_theme(_line()).to_dict() == _line().configure(**theme_config()).to_dict()


def test_to_dict_and_copies_of_a_composed_chart_copy_no_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Altair copies a chart by calling its constructor again (to_dict does so at every level):
    # a composed chart's constructor must not deep-copy its parts then either.
    deep: list[type] = []
    deep_copy = schemapi._deep_copy

    def counted(obj: Any, *args: Any, **kwargs: Any) -> Any:
        deep.append(type(obj))
        return deep_copy(obj, *args, **kwargs)

    summary = lung(CIMethod.LOG, by="sex")
    chart = km_chart(summary)
    reference = alt.vconcat(alt.LayerChart(layer=[_line(), _line(OTHER)]), _line(OTHER))
    monkeypatch.setattr(schemapi, "_deep_copy", counted)
    spec = chart.to_dict()
    chart.copy(deep=False).properties(title="copied").to_dict()
    assert deep == []
    reference.to_dict()
    assert deep, "Altair's own charts deep-copy their parts in to_dict (the reason for compose)"
    _with_altair(monkeypatch)
    assert km_chart(summary).to_dict() == spec
