"""Table 1 of the case series, rebuilt from the reconstructed data, cell by cell."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from bsab_explorer.analyses.case_table import (
    CASE_TABLE_COLUMNS,
    FIRST_CRS,
    IMPACT,
    MANAGEMENT,
    RECURRENT_CRS,
    build_case_table,
)
from bsab_explorer.dataset import empty_table, polars_type
from bsab_explorer.reconstruction.recurrent_crs import build_cases, build_events
from bsab_explorer.schema import EVENTS

TARGETS = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "recurrent_crs" / "targets.json").read_text()
)["targets"]
CELLS = [t for t in TARGETS if t["quantity"].startswith("case_table:")]


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return build_case_table(build_cases(), build_events())


def _every(text: str) -> str:
    found = re.match(r"Every \d+(–\d+)? days", text)
    assert found is not None, text
    return found.group(0)


def test_columns_follow_the_paper(table: pl.DataFrame) -> None:
    assert tuple(table.columns) == CASE_TABLE_COLUMNS
    assert table["Case"].to_list() == ["RC1", "RC2", "RC3", "RC4", "RC5"]


@pytest.mark.parametrize("target", CELLS, ids=[t["id"] for t in CELLS])
def test_cell_matches_the_paper(table: pl.DataFrame, target: dict[str, str]) -> None:
    column = target["quantity"].removeprefix("case_table:")
    ours = table.filter(pl.col("Case") == target["case_id"])[column].item()
    paper = target["value"]
    match target["compare"]:
        case "exact":
            assert ours == paper
        case "reading":
            assert ours == target["reading"]
        case "tokens":
            assert ours.replace(",", "").split() == paper.split()
        case "interval_clause":
            assert _every(ours) == _every(paper)
        case other:
            raise AssertionError(f"unknown comparison {other}")


def test_every_cell_of_table_1_is_checked() -> None:
    assert len(CELLS) == 5 * 9


def test_rendering_of_unusual_cases() -> None:
    schema = {c.name: polars_type(c.kind) for c in EVENTS.columns}
    events = pl.DataFrame(
        {
            "case_id": ["X", "X", "X", "X", "Y"],
            "day": [0.0, 1.0, 30.0, 31.0, 0.0],
            "event": ["bsab_dose", "crs", "bsab_dose", "crs", "bsab_dose"],
            "grade": [None, 2, None, 1, None],
            "end_day": [None, None, None, None, None],
            "detail": ["treatment dose", None, "treatment dose", None, "treatment dose"],
        },
        schema=schema,
    )
    cases = pl.concat(
        [
            empty_table("cases"),
            pl.DataFrame(
                {
                    "case_id": ["X", "Y"],
                    "age_years": [90, 50],
                    "sex": ["M", "F"],
                    "isotype": ["non_secretory", None],
                    "light_chain": [None, "lambda"],
                    "bsab": ["elranatamab", "teclistamab"],
                    "premedication": ["dexamethasone", None],
                    "outcome": ["discontinued", "dose_reduced"],
                }
            ),
        ],
        how="diagonal_relaxed",
    )
    table = build_case_table(cases, events)
    x, y = table.row(0, named=True), table.row(1, named=True)
    assert x["Age/Sex"] == "90+/M"
    assert x["MM subtype"] == "non-secretory"
    assert x[FIRST_CRS] == "C1 D1, G2"  # attributed to the first treatment dose: initial
    assert x[RECURRENT_CRS] == "Single recurrent episode, 24 h post-infusion"
    assert x[MANAGEMENT] == "Supportive care"
    assert x[IMPACT] == "Discontinued"
    assert y["MM subtype"] == "λ"
    assert y[FIRST_CRS] == "None"
    assert y[MANAGEMENT] == "None"
    assert y[IMPACT] == "BsAb dose reduced"
