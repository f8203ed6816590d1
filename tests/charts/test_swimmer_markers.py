"""The swimmer plot's response milestones and its arrow for cases still on treatment."""

from __future__ import annotations

from typing import Any

import polars as pl

from bsab_explorer.charts.swimmer import (
    BEST_RESPONSE,
    FIRST_AND_BEST,
    FIRST_RESPONSE,
    PROGRESSION,
    swimmer_chart,
    swimmer_data,
)
from bsab_explorer.reconstruction.recurrent_crs import build_cases, build_events
from tests.fixtures.cohorts import contract_frame


def _marks(rows: pl.DataFrame) -> list[tuple[str, float, str]]:
    found = rows.filter(pl.col("milestone").is_not_null())
    return list(found.select("case_id", "x", "milestone").iter_rows())


def test_the_case_series_marks_first_and_best_response_and_ongoing_treatment() -> None:
    rows = swimmer_data(build_cases(), build_events())
    # Responses of the case series (events.csv): RC1 CR at 91, CR 365, sCR 609, sCR 700;
    # RC5 CR at 30, sCR 274, sCR 548; RC2 CR, RC3 VGPR, RC4 PR from day 91 on.
    assert _marks(rows) == [
        ("RC1", 91.0, FIRST_RESPONSE),
        ("RC1", 609.0, BEST_RESPONSE),
        ("RC2", 91.0, FIRST_AND_BEST),
        ("RC3", 91.0, FIRST_AND_BEST),
        ("RC4", 91.0, FIRST_AND_BEST),
        ("RC5", 30.0, FIRST_RESPONSE),
        ("RC5", 274.0, BEST_RESPONSE),
    ]
    ongoing = rows.filter(pl.col("ongoing").fill_null(False))
    # RC1 was discontinued (outcome and event); the others continued (RC5 at a reduced dose).
    assert ongoing.select("case_id", "x2").rows() == [
        ("RC2", 822.0),
        ("RC3", 517.0),
        ("RC4", 639.0),
        ("RC5", 548.0),
    ]


def _events(rows: list[tuple[str, float, str, str | None]]) -> pl.DataFrame:
    ids, days, kinds, details = (list(c) for c in zip(*rows, strict=True))
    return contract_frame(
        "events", {"case_id": ids, "day": days, "event": kinds, "detail": details}
    )


def test_progression_is_marked_and_a_recorded_discontinuation_stops_the_arrow() -> None:
    cases = contract_frame("cases", {"case_id": ["A", "B"], "outcome": ["continued", "continued"]})
    events = _events(
        [
            ("A", 0, "bsab_dose", "step-up 1"),
            ("A", 30, "response", "SD"),
            ("A", 60, "response", "PR"),
            ("A", 90, "response", "VGPR"),
            ("A", 120, "response", "VGPR"),
            ("A", 150, "response", "PD"),
            ("A", 160, "response", "PD"),
            ("B", 0, "bsab_dose", "step-up 1"),
            ("B", 40, "response", "SD"),
            ("B", 50, "discontinuation", "toxicity"),
        ]
    )
    rows = swimmer_data(cases, events)
    assert _marks(rows) == [
        ("A", 60.0, FIRST_RESPONSE),
        ("A", 90.0, BEST_RESPONSE),
        ("A", 150.0, PROGRESSION),
    ]
    assert rows.filter(pl.col("ongoing").fill_null(False))["case_id"].to_list() == ["A"]


def _layer(spec: dict[str, Any], text: str) -> dict[str, Any]:
    for layer in spec["layer"]:
        filters = [t.get("filter") for t in layer.get("transform", [])]
        if any(text in str(f) for f in filters):
            return layer
    raise AssertionError(text)


def test_the_chart_draws_milestones_below_the_lane_and_arrows_at_its_end() -> None:
    spec = swimmer_chart(build_cases(), build_events()).to_dict()
    marks = _layer(spec, "datum.milestone")
    assert marks["encoding"]["shape"]["scale"]["domain"] == [
        FIRST_RESPONSE,
        BEST_RESPONSE,
        FIRST_AND_BEST,
    ]
    assert marks["mark"]["yOffset"] > 0
    arrow = _layer(spec, "datum.ongoing")
    assert arrow["mark"]["shape"] == "triangle-right"
    assert arrow["encoding"]["x"]["field"] == "x2"
    assert "arrow: on treatment at last follow-up" in spec["title"]["subtitle"][1]
