"""Spec and layout tests of the alluvial chart (Fig. 1B) on the constructed cohort."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from bsab_explorer.analyses.conversion import alluvial_flows
from bsab_explorer.charts.conversion import (
    BAND_STEPS,
    MIN_NODE_GAP,
    NODE_GAP,
    TOOLTIP_IDS,
    alluvial_chart,
    alluvial_layout,
)
from bsab_explorer.schema import RESPONSE_COLORS
from tests.fixtures.cohorts import constructed_patients, constructed_responses


def _rows(spec: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
    """Inline rows of `data`, whether kept inline or moved to the spec's named datasets."""
    return data["values"] if "values" in data else spec["datasets"][data["name"]]


def _flows() -> pl.DataFrame:
    return alluvial_flows(constructed_patients(), constructed_responses())


def test_nodes_are_stacked_best_first_with_gaps() -> None:
    layout = alluvial_layout(_flows())
    assert layout.timepoints == ("post_debulking", "C1", "C3")
    assert layout.total == 10
    first = layout.nodes.filter(pl.col("column") == 0)
    assert first.get_column("category").to_list() == [
        "CR", "VGPR", "PR", "SD", "PD", "NE", "Not assessed",
    ]  # fmt: skip
    assert first.get_column("n").to_list() == [1, 1, 1, 1, 3, 1, 2]
    gap = max(10 * NODE_GAP, MIN_NODE_GAP)
    assert first.get_column("y0").to_list() == pytest.approx([i + i * gap for i in range(5)] + [
        7 + 5 * gap, 8 + 6 * gap,
    ])  # fmt: skip
    # Every column holds all ten patients.
    assert layout.nodes.group_by("column").agg(pl.col("n").sum()).get_column("n").to_list() == [
        10, 10, 10,
    ]  # fmt: skip


def test_bands_join_their_nodes() -> None:
    layout = alluvial_layout(_flows())
    bands = layout.bands
    assert bands.height == _flows().height * BAND_STEPS
    # PD (3) after debulking splits into PR (P04, P07) above SD (P05).
    pd_pr = bands.filter((pl.col("from") == "PD") & (pl.col("to") == "PR") & (pl.col("step") == 0))
    pd_sd = bands.filter((pl.col("from") == "PD") & (pl.col("to") == "SD") & (pl.col("step") == 0))
    pd_node = layout.nodes.filter((pl.col("column") == 0) & (pl.col("category") == "PD")).row(
        0, named=True
    )
    assert pd_pr["y_top"][0] == pytest.approx(pd_node["y0"])
    assert pd_sd["y_top"][0] == pytest.approx(pd_node["y0"] + 2)
    assert pd_sd["y_bottom"][0] == pytest.approx(pd_node["y1"])
    # PD is the only source of PR at cycle 1, so the band ends at the top of that node.
    pr_c1 = layout.nodes.filter((pl.col("column") == 1) & (pl.col("category") == "PR")).row(
        0, named=True
    )
    assert pd_pr["y_top"][-1] == pytest.approx(pr_c1["y0"])
    assert pd_pr["patients"][0] == "P04, P07"


def test_chart_layers_colours_and_tooltips() -> None:
    spec = alluvial_chart(_flows()).to_dict()
    bands, nodes, labels, headers = spec["layer"]
    assert bands["mark"]["type"] == "area"
    assert bands["mark"]["interpolate"] == "monotone"
    assert bands["encoding"]["color"]["field"] == "from"
    assert bands["encoding"]["detail"]["field"] == "flow"
    domain = bands["encoding"]["color"]["scale"]["domain"]
    assert domain == ["sCR", "CR", "VGPR", "PR", "SD", "PD", "NE", "Not assessed"]
    assert bands["encoding"]["color"]["scale"]["range"][:2] == [
        RESPONSE_COLORS["sCR"],
        RESPONSE_COLORS["CR"],
    ]
    tooltip_fields = [t["field"] for t in bands["encoding"]["tooltip"]]
    assert "patients" in tooltip_fields
    assert "n" in tooltip_fields
    # Vertices carry geometry only; each flow's tooltip is looked up once per flow.
    assert set(_rows(spec, bands["data"])[0]) == {"flow", "from", "x", "y_top", "y_bottom"}
    (lookup,) = bands["transform"]
    assert lookup["lookup"] == "flow"
    described = _rows(spec, lookup["from"]["data"])
    assert len(described) == len({r["flow"] for r in _rows(spec, bands["data"])})
    assert {"patients", "n", "to", "from_timepoint", "to_timepoint"} <= set(described[0])
    assert nodes["mark"]["type"] == "rect"
    assert labels["mark"]["type"] == "text"
    assert [h["timepoint_label"] for h in _rows(spec, headers["data"])] == [
        "After debulking", "Cycle 1", "Cycle 3",
    ]  # fmt: skip
    assert bands["encoding"]["y"]["scale"]["reverse"] is True


def test_long_pseudonym_lists_are_shortened() -> None:
    flows = pl.DataFrame(
        {
            "step": [0],
            "from_timepoint": ["C1"],
            "to_timepoint": ["C3"],
            "from": ["CR"],
            "to": ["CR"],
            "n": [30],
            "patient_ids": [[f"D{i:03d}" for i in range(30)]],
        }
    )
    layout = alluvial_layout(flows)
    assert layout.bands.get_column("patients")[0].endswith("D024 … and 5 more")
    # Flows carrying only the pseudonyms a tooltip shows (as the page asks for them) draw
    # the same chart: the count of the rest comes from n.
    short = flows.with_columns(pl.col("patient_ids").list.head(TOOLTIP_IDS))
    assert alluvial_layout(short).bands.equals(layout.bands)
    assert alluvial_chart(short).to_dict() == alluvial_chart(flows).to_dict()


def test_no_flows_gives_a_message() -> None:
    flows = alluvial_flows(constructed_patients(), constructed_responses(), timepoints=["C1"])
    spec = alluvial_chart(flows).to_dict()
    assert spec["mark"]["type"] == "text"
