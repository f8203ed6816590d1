"""Recurrent-CRS charts: the case timeline, the swimmer view and the dose-anchored view."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import polars as pl
import pytest
import vl_convert

from bsab_explorer.analyses.recurrence import crs_episodes
from bsab_explorer.charts.crs_latency import WINDOW_HOURS, crs_latency_chart
from bsab_explorer.charts.swimmer import (
    MAX_ROWS,
    ON_TREATMENT,
    SWIMMER_EVENTS,
    lane_step,
    swimmer_chart,
)
from bsab_explorer.charts.theme import FONT_SIZE
from bsab_explorer.charts.timeline import (
    CHART_WIDTH,
    GRADE_COLORS,
    STEP_UP_LABEL,
    TREATMENT_LABEL,
    timeline_chart,
    timeline_data,
)
from bsab_explorer.dataset import empty_table
from bsab_explorer.reconstruction.recurrent_crs import (
    build_cases,
    build_events,
    simulate_case_series,
)
from bsab_explorer.schema import DAYS_PER_MONTH


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    return build_events()


def _layer(spec: dict[str, Any], kind: str) -> dict[str, Any]:
    """The layer filtered on `datum.kind === kind`."""
    for layer in spec["layer"]:
        filters = [t.get("filter") for t in layer.get("transform", [])]
        if f"(datum.kind === '{kind}')" in filters:
            return layer
    raise AssertionError(kind)


def _spec(chart: Any) -> dict[str, Any]:
    """The chart's Vega-Lite dict, with every named dataset put back where it is used."""
    spec: dict[str, Any] = chart.to_dict()
    datasets = spec.pop("datasets", {})

    def inline(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("data"), dict) and "name" in node["data"]:
                node["data"] = {"values": datasets[node["data"]["name"]]}
            for value in node.values():
                inline(value)
        elif isinstance(node, list):
            for value in node:
                inline(value)

    inline(spec)
    return spec


def _values(spec: dict[str, Any]) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = spec["data"]["values"]
    return values


def _rows(spec: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in _values(spec) if r["kind"] == kind]


def test_timeline_has_one_layer_per_mark_family(events: pl.DataFrame) -> None:
    spec = _spec(timeline_chart(events, "RC1"))
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["rect", "rule", "tick", "bar", "point", "point", "text", "text"]
    assert len(_values(spec)) == events.filter(pl.col("case_id") == "RC1").height
    assert spec["width"] == CHART_WIDTH
    assert spec["config"]["axis"]["labelFontSize"] == FONT_SIZE
    assert spec["title"]["subtitle"] == "Days since the first bispecific dose"
    for layer in spec["layer"]:
        assert "tooltip" in layer["encoding"], layer["mark"]


def test_timeline_zooms_and_pans_on_x_only(events: pl.DataFrame) -> None:
    spec = _spec(timeline_chart(events, "RC2"))
    (param,) = spec["params"]
    assert param["bind"] == "scales"
    assert param["select"] == {"type": "interval", "encodings": ["x"]}


def test_crs_points_are_coloured_by_ordered_astct_grade(events: pl.DataFrame) -> None:
    spec = _spec(timeline_chart(events, "RC1"))
    graded = _layer(spec, "graded")
    color = graded["encoding"]["color"]
    assert color["field"] == "grade_label"
    assert color["scale"]["domain"] == ["Grade 1", "Grade 2", "Grade 3", "Grade 4"]
    assert color["scale"]["range"] == [GRADE_COLORS[g] for g in (1, 2, 3, 4)]
    crs = [r for r in _rows(spec, "graded") if r["event"] == "crs"]
    assert len(crs) == 15
    assert sorted({r["grade"] for r in crs}) == [1, 2, 3]


def test_doses_are_ticks_in_two_kinds(events: pl.DataFrame) -> None:
    spec = _spec(timeline_chart(events, "RC3"))
    doses = _layer(spec, "dose")
    assert doses["mark"]["type"] == "tick"
    assert doses["encoding"]["color"]["scale"]["domain"] == [STEP_UP_LABEL, TREATMENT_LABEL]
    kinds = [r["dose_kind"] for r in _rows(spec, "dose")]
    assert kinds.count(STEP_UP_LABEL) == 3
    assert kinds.count(TREATMENT_LABEL) == 31


def test_event_shapes_and_lanes_of_case_5(events: pl.DataFrame) -> None:
    spec = _spec(timeline_chart(events, "RC5"))
    points = _layer(spec, "point")
    shape = points["encoding"]["shape"]["scale"]
    assert dict(zip(shape["domain"], shape["range"], strict=True)) == {
        "Fever": "triangle-down",
        "Infection": "diamond",
        "Work-up negative": "square",
        "Corticosteroid": "circle",
        "Antibiotic": "circle",
        "IVIG": "circle",
        "Adverse event": "cross",
    }
    lanes = _layer(spec, "dose")["encoding"]["y"]["scale"]["domain"]
    assert lanes == [
        "Schedule",
        "BsAb dose",
        "CRS",
        "Fever",
        "Infection",
        "Work-up",
        "Corticosteroid",
        "Antibiotic",
        "IVIG",
        "Adverse event",
        "Response",
    ]
    rules = _rows(spec, "rule")
    assert [(r["day"], r["rule_label"]) for r in rules] == [
        (61.0, "hold"),
        (183.0, "hold"),
        (365.0, "biweekly → monthly"),
    ]
    assert [r["detail"] for r in _rows(spec, "response")] == ["CR", "sCR", "sCR"]


def test_courses_with_an_end_day_are_bars(events: pl.DataFrame) -> None:
    rows = timeline_data(events, "RC1")
    courses = rows.filter(pl.col("kind") == "course")
    assert set(courses["event"]) == {"corticosteroid", "adverse_event"}
    nephritis_course = courses.filter(pl.col("detail").str.starts_with("prednisone"))
    assert nephritis_course.select("x", "x2").row(0) == (609.0, 700.0)


def test_months_unit_divides_days(events: pl.DataFrame) -> None:
    spec = _spec(timeline_chart(events, "RC1", unit="months"))
    stop = next(r for r in _rows(spec, "rule") if r["event"] == "discontinuation")
    assert stop["x"] == pytest.approx(609 / DAYS_PER_MONTH)
    assert _layer(spec, "dose")["encoding"]["x"]["title"] == "Months since first dose"


def _rule_labels_in_svg(events: pl.DataFrame, case_id: str, width: int) -> dict[str, str]:
    """Each rule label of the case's timeline drawn `width` pixels wide (SVG, by vl-convert's
    Vega), with how it is anchored: start (right of its rule) or end (left of it)."""
    chart = timeline_chart(events, case_id)
    chart.width = width
    svg = vl_convert.vegalite_to_svg(chart.to_json())
    anchors: dict[str, str] = {}
    for match in re.finditer(r"<text ([^>]*)>([^<]*)</text>", svg):
        attributes, text = match.groups()
        if text in {"hold", "stop"} or "→" in text:
            anchor = re.search(r'text-anchor="(\w+)"', attributes)
            anchors[text] = anchor.group(1) if anchor else "start"
    return anchors


def test_a_late_rule_is_labelled_left_of_it_when_its_label_would_leave_the_plot(
    events: pl.DataFrame,
) -> None:
    late = pl.DataFrame(
        {
            "case_id": ["RC1"],
            "event": ["schedule_change"],
            "day": [699.0],
            "detail": ["biweekly -> monthly"],
        }
    )
    with_late = pl.concat([events, late], how="diagonal_relaxed")
    anchors = _rule_labels_in_svg(with_late, "RC1", 500)
    # The late change's label would run past the plot's right edge: it ends at its rule.
    assert anchors["biweekly → monthly"] == "end"
    # The first change, far from the edge, starts at its rule as every label did.
    assert anchors["weekly → biweekly"] == "start"
    # Discontinuation is "stop", short enough to stand right of its rule at day 609.
    assert anchors["stop"] == "start"


def test_discontinuation_is_labelled_in_the_colour_of_its_rule(events: pl.DataFrame) -> None:
    spec = _spec(timeline_chart(events, "RC1"))
    labels = next(
        layer
        for layer in spec["layer"]
        if layer["mark"]["type"] == "text" and "rule_label" in json.dumps(layer["encoding"])
    )
    rule = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rule")
    assert labels["encoding"]["color"] == rule["encoding"]["color"]
    assert "discontinuation" in json.dumps(rule["encoding"]["color"])


def test_timeline_renders_to_png(events: pl.DataFrame) -> None:
    png = vl_convert.vegalite_to_png(timeline_chart(events, "RC4").to_json(), scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width > CHART_WIDTH


@pytest.mark.parametrize(
    ("sort_by", "order"),
    [
        ("follow_up", ["RC2", "RC1", "RC4", "RC5", "RC3"]),
        ("episodes", ["RC2", "RC4", "RC3", "RC1", "RC5"]),
    ],
)
def test_swimmer_sorts_lanes(events: pl.DataFrame, sort_by: str, order: list[str]) -> None:
    spec = _spec(swimmer_chart(build_cases(), events, sort_by))  # type: ignore[arg-type]
    y = spec["layer"][0]["encoding"]["y"]
    assert y["sort"] == order
    assert spec["height"] == {"step": lane_step(5)}
    assert any(layer["mark"]["type"] == "text" for layer in spec["layer"])


def test_swimmer_with_five_cases_keeps_every_key_event(events: pl.DataFrame) -> None:
    spec = _spec(swimmer_chart(build_cases(), events))
    values = _values(spec)
    kept = events.filter(pl.col("event").is_in(SWIMMER_EVENTS)).height
    assert len(values) == kept + 5
    spans = {r["case_id"]: r["x2"] for r in values if r["kind"] == "follow_up"}
    assert spans == {"RC1": 700.0, "RC2": 822.0, "RC3": 517.0, "RC4": 639.0, "RC5": 548.0}
    assert sum(r["kind"] == "graded" for r in values) == 15 + 22 + 16 + 21 + 11


def test_swimmer_with_200_generated_cases_stays_small_and_unlabelled() -> None:
    cases, events = simulate_case_series(200, seed=7)
    spec = _spec(swimmer_chart(cases, events, "episodes"))
    values = _values(spec)
    kinds = Counter(r["kind"] for r in values)
    # Treatment doses collapse into one bar per case; every CRS episode stays a point.
    assert kinds["follow_up"] == 200
    assert (
        kinds[ON_TREATMENT]
        == events.filter(pl.col("detail") == "treatment dose")["case_id"].n_unique()
    )
    assert kinds["graded"] == events.filter(pl.col("event") == "crs").height
    assert all(r.get("dose_kind") != TREATMENT_LABEL for r in values)
    assert len(values) <= MAX_ROWS
    assert len(json.dumps(spec, separators=(",", ":"))) < min(128 * len(values), 500_000)
    assert spec["height"] == {"step": 5}
    y = spec["layer"][0]["encoding"]["y"]
    assert len(y["sort"]) == 200
    assert y["axis"]["labels"] is False
    assert not any(layer["mark"]["type"] == "text" for layer in spec["layer"])


def test_latency_chart_places_every_episode_after_its_dose(events: pl.DataFrame) -> None:
    episodes = crs_episodes(build_cases(), events)
    spec = _spec(crs_latency_chart(episodes, "case"))
    latency, intervals = spec["vconcat"]
    band, label, recurrent, initial, summary = latency["layer"]
    assert _values(band) == [{"start": WINDOW_HOURS[0], "end": WINDOW_HOURS[1]}]
    assert label["mark"]["text"] == "24–48 h"
    assert len(_values(recurrent)) == 80
    assert len(_values(initial)) == 5
    assert {r["latency_hours"] for r in _values(recurrent)} == {24.0, 48.0}
    assert recurrent["encoding"]["y"]["sort"] == ["RC1", "RC2", "RC3", "RC4", "RC5"]
    texts = {r["group"]: r["text"] for r in _values(summary)}
    assert texts["RC2"] == "recurrent: 21, median 48 h"
    assert texts["RC5"] == "recurrent: 11, median 24 h"
    points, interval_text = intervals["layer"]
    gaps = [r for r in _values(points) if r["gap"]]
    assert [(r["case_id"], r["interval_days"]) for r in gaps] == [("RC1", 316.0)]
    assert len(_values(points)) == 80 - 5
    assert points["encoding"]["x"]["scale"]["type"] == "log"
    assert {r["group"]: r["text"] for r in _values(interval_text)}["RC4"] == "n = 19, median 30 d"


def test_latency_chart_by_antibody(events: pl.DataFrame) -> None:
    spec = _spec(crs_latency_chart(crs_episodes(build_cases(), events), "bsab"))
    y = spec["vconcat"][0]["layer"][2]["encoding"]["y"]
    assert y["sort"] == ["talquetamab", "teclistamab"]
    assert y["title"] == "Bispecific antibody"


def test_charts_of_empty_data_have_no_marks(events: pl.DataFrame) -> None:
    spec = _spec(timeline_chart(events, "not-a-case"))
    assert _values(spec) == []
    assert _layer(spec, "dose")["encoding"]["y"]["scale"]["domain"] == ["BsAb dose"]
    swimmer = _spec(swimmer_chart(empty_table("cases"), empty_table("events")))
    assert _values(swimmer) == []
    assert swimmer["layer"][0]["encoding"]["y"]["sort"] == []
    no_episodes = crs_episodes(empty_table("cases"), empty_table("events"))
    latency = _spec(crs_latency_chart(no_episodes))
    assert _values(latency["vconcat"][0]["layer"][2]) == []
    assert _values(latency["vconcat"][1]["layer"][0]) == []


def test_swimmer_draws_at_most_max_lanes_and_says_so() -> None:
    from bsab_explorer.charts.swimmer import MAX_LANES, case_order

    cases, events = simulate_case_series(MAX_LANES + 50, seed=11)
    spec = _spec(swimmer_chart(cases, events, "follow_up"))
    y = spec["layer"][0]["encoding"]["y"]
    assert y["sort"] == case_order(events, cases, "follow_up")[:MAX_LANES]
    assert {r["case_id"] for r in _values(spec)} == set(y["sort"])
    assert len(_values(spec)) <= MAX_ROWS
    assert (
        f"The first {MAX_LANES} of {MAX_LANES + 50} cases are shown"
        in (spec["title"]["subtitle"][0])
    )


def test_latency_by_case_draws_at_most_max_cases() -> None:
    from bsab_explorer.analyses.recurrence import crs_episodes
    from bsab_explorer.charts.crs_latency import MAX_CASES, crs_latency_chart

    cases, events = simulate_case_series(MAX_CASES + 40, seed=5)
    episodes = crs_episodes(cases, events)
    spec = crs_latency_chart(episodes, "case").to_dict()
    shown = {
        row["group"]
        for rows in spec["datasets"].values()
        for row in rows
        if isinstance(row, dict) and "group" in row
    }
    assert episodes["case_id"].n_unique() > MAX_CASES
    assert len(shown) == MAX_CASES
    assert f"The {MAX_CASES} cases with most episodes" in str(spec["vconcat"][0]["title"])


def test_latency_chart_counts_episodes_in_bins_above_max_points() -> None:
    from bsab_explorer.charts import crs_latency

    cases, events = simulate_case_series(400, seed=3)
    episodes = crs_episodes(cases, events)
    timed = episodes.filter(pl.col("latency_hours").is_not_null())
    assert timed.height > crs_latency.MAX_POINTS
    spec = _spec(crs_latency_chart(episodes, "bsab"))
    latency, intervals = spec["vconcat"]
    _, _, recurrent, initial, _ = latency["layer"]
    counted = _values(recurrent) + _values(initial)
    # Every timed episode is in exactly one bin, and each bin is one mark sized by its count.
    assert sum(r["episodes"] for r in counted) == timed.height
    assert len(counted) < 400
    assert recurrent["encoding"]["size"]["field"] == "episodes"
    for row in counted:
        low, high = (int(v) for v in row["hours"].removesuffix(" h").split("–"))
        assert high - low == crs_latency.BIN_HOURS
        assert low <= row["latency_hours"] <= high
    assert f"{timed.height:,} episodes, counted in 4-hour bins" in json.dumps(
        latency["title"], ensure_ascii=False
    )
    points = intervals["layer"][0]
    spaced = episodes.filter(pl.col("interval_days") > 0).height
    assert sum(r["intervals"] for r in _values(points)) == spaced
    assert points["encoding"]["size"]["field"] == "intervals"


def test_latency_chart_below_max_points_draws_every_episode(events: pl.DataFrame) -> None:
    from bsab_explorer.charts import crs_latency

    episodes = crs_episodes(build_cases(), events)
    assert episodes.height < crs_latency.MAX_POINTS
    spec = _spec(crs_latency_chart(episodes, "bsab"))
    recurrent = spec["vconcat"][0]["layer"][2]
    assert "size" not in recurrent["encoding"]
    assert "episodes" not in _values(recurrent)[0]
