"""Response conversion (Fig. 1B): an alluvial diagram of response categories across timepoints.

The geometry is computed here (Vega-Lite has no Sankey layout): each timepoint is a column of
stacked nodes (best category on top, "Not assessed" at the bottom) and each flow is a band
whose edges follow a cosine ease between the two columns, drawn as an area.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import numpy as np
import polars as pl

from bsab_explorer.analyses.response import CATEGORY_ORDER
from bsab_explorer.charts import compose
from bsab_explorer.charts.response import category_scale, empty_chart
from bsab_explorer.charts.theme import FONT_SIZE, apply_theme
from bsab_explorer.schema import timepoint_label

#: Node width, as a fraction of the distance between two columns.
NODE_WIDTH = 0.08
#: Gap between two nodes of a column, as a fraction of the number of patients.
NODE_GAP = 0.035
#: Smallest gap, in patients (keeps small cohorts' nodes apart).
MIN_NODE_GAP = 0.5
#: Points along each band edge.
BAND_STEPS = 16
#: Pseudonyms listed in a tooltip before "and n more".
TOOLTIP_IDS = 25
COLUMN_WIDTH = 230
CHART_HEIGHT = 460

_RANK = {c: i for i, c in enumerate(CATEGORY_ORDER)}


@dataclass(frozen=True)
class AlluvialLayout:
    """Node rectangles and band outlines of an alluvial diagram, in data units.

    x: one unit between consecutive timepoints; y: patients from the top of the diagram.
    """

    nodes: pl.DataFrame
    bands: pl.DataFrame
    timepoints: tuple[str, ...]
    total: int


def _rank(column: str) -> pl.Expr:
    return pl.col(column).replace_strict(_RANK, return_dtype=pl.Int64)


def _id_text(ids: list[str], n: int) -> str:
    """The first `TOOLTIP_IDS` pseudonyms of a flow of `n` patients (`ids` may hold only those)."""
    shown = ", ".join(ids[:TOOLTIP_IDS])
    more = n - min(len(ids), TOOLTIP_IDS)
    return f"{shown} … and {more} more" if more > 0 else shown


def alluvial_layout(flows: pl.DataFrame) -> AlluvialLayout:
    """Stacked node positions per timepoint and band polygons of `flows` (see alluvial_flows)."""
    steps = flows.select("step", "from_timepoint", "to_timepoint").unique().sort("step")
    timepoints = (*steps.get_column("from_timepoint").to_list(), *steps["to_timepoint"][-1:])
    total = int(flows.filter(pl.col("step") == 0).get_column("n").sum()) if flows.height else 0
    gap = max(total * NODE_GAP, MIN_NODE_GAP)

    # Node sizes: column k is the "from" side of step k, the last column the "to" side.
    sides = pl.concat(
        [
            flows.select(pl.col("step").alias("column"), pl.col("from").alias("category"), "n"),
            flows.filter(pl.col("step") == pl.col("step").max()).select(
                (pl.col("step") + 1).alias("column"), pl.col("to").alias("category"), "n"
            ),
        ]
    )
    nodes = (
        sides.group_by("column", "category")
        .agg(pl.col("n").sum())
        .with_columns(_rank("category").alias("rank"))
        .sort("column", "rank")
        .with_columns(
            (
                pl.col("n").cum_sum().over("column")
                - pl.col("n")
                + pl.int_range(pl.len()).over("column") * gap
            ).alias("y0")
        )
        .with_columns(
            (pl.col("y0") + pl.col("n")).alias("y1"),
            (pl.col("column") - NODE_WIDTH / 2).alias("x0"),
            (pl.col("column") + NODE_WIDTH / 2).alias("x1"),
            pl.col("column")
            .replace_strict(dict(enumerate(timepoints)), return_dtype=pl.String)
            .alias("timepoint"),
        )
        .with_columns(
            pl.col("timepoint")
            .map_elements(timepoint_label, return_dtype=pl.String)
            .alias("timepoint_label"),
            (pl.col("category") + " (" + pl.col("n").cast(pl.String) + ")").alias("label"),
        )
    )

    # Band ends: stacked within the source node by target order, within the target by source.
    ends = (
        flows.with_columns(
            _rank("from").alias("from_rank"),
            _rank("to").alias("to_rank"),
            pl.int_range(pl.len()).alias("flow"),
        )
        .join(
            nodes.select(
                pl.col("column").alias("step"), pl.col("category").alias("from"),
                pl.col("y0").alias("source_y0"),
            ),
            on=["step", "from"],
        )
        .join(
            nodes.select(
                (pl.col("column") - 1).alias("step"), pl.col("category").alias("to"),
                pl.col("y0").alias("target_y0"),
            ),
            on=["step", "to"],
        )
        .sort("step", "from_rank", "to_rank")
        .with_columns(
            (pl.col("source_y0") + pl.col("n").cum_sum().over("step", "from") - pl.col("n"))
            .alias("source_top")
        )
        .sort("step", "to_rank", "from_rank")
        .with_columns(
            (pl.col("target_y0") + pl.col("n").cum_sum().over("step", "to") - pl.col("n"))
            .alias("target_top")
        )
        .with_columns(
            pl.struct("patient_ids", "n")
            .map_elements(lambda f: _id_text(f["patient_ids"], f["n"]), return_dtype=pl.String)
            .alias("patients"),
            pl.col("from_timepoint").map_elements(timepoint_label, return_dtype=pl.String),
            pl.col("to_timepoint").map_elements(timepoint_label, return_dtype=pl.String),
        )
        .drop("patient_ids")
    )  # fmt: skip
    t = np.linspace(0.0, 1.0, BAND_STEPS)
    ease = pl.DataFrame({"t": t, "ease": (1 - np.cos(np.pi * t)) / 2})
    start = pl.col("step") + NODE_WIDTH / 2
    bands = (
        ends.join(ease, how="cross")
        .with_columns(
            (start + pl.col("t") * (1 - NODE_WIDTH)).alias("x"),
            (
                pl.col("source_top")
                + pl.col("ease") * (pl.col("target_top") - pl.col("source_top"))
            ).alias("y_top"),
        )
        .with_columns((pl.col("y_top") + pl.col("n")).alias("y_bottom"))
        .sort("flow", "x")
        .select("flow", "step", "from_timepoint", "to_timepoint", "from", "to", "n", "patients",
                "x", "y_top", "y_bottom")
    )  # fmt: skip
    return AlluvialLayout(nodes, bands, tuple(timepoints), total)


def alluvial_chart(
    flows: pl.DataFrame,
    *,
    title: str = "Response conversion across timepoints",
    note: str | None = None,
) -> alt.LayerChart | alt.FacetChart | alt.Chart:
    """Alluvial diagram of `flows`: bands sized by patients and coloured by the source category."""
    if flows.height == 0:
        return empty_chart("Choose at least two timepoints with patients to see conversions.")
    layout = alluvial_layout(flows)
    columns = len(layout.timepoints)
    height = layout.nodes.get_column("y1").max()
    assert isinstance(height, float | int)
    header_room = layout.total * 0.09 + 1
    x_scale = alt.Scale(domain=[-0.3, columns - 1 + 0.75], nice=False, zero=False)
    y_scale = alt.Scale(domain=[-header_room, float(height)], reverse=True, nice=False, zero=False)
    categories = [c for c in CATEGORY_ORDER if c in set(layout.nodes.get_column("category"))]
    # Every node is labelled with its category, so no legend is needed.
    color = alt.Color("category:N", scale=category_scale(categories), legend=None)
    no_axis = None
    # The band outlines carry geometry only; each flow's tooltip (with up to TOOLTIP_IDS
    # pseudonyms) is looked up once per flow instead of repeated at every vertex.
    described = ["from_timepoint", "to_timepoint", "to", "n", "patients"]
    per_flow = layout.bands.unique("flow", keep="first", maintain_order=True)
    bands = (
        alt.Chart(
            {"values": layout.bands.select("flow", "from", "x", "y_top", "y_bottom").to_dicts()}
        )
        .transform_lookup(
            lookup="flow",
            from_=alt.LookupData(
                data={"values": per_flow.select("flow", *described).to_dicts()},
                key="flow",
                fields=described,
            ),
        )
        .mark_area(opacity=0.5, interpolate="monotone")
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=no_axis),
            y=alt.Y("y_top:Q", scale=y_scale, axis=no_axis),
            y2=alt.Y2("y_bottom:Q"),
            color=alt.Color("from:N", scale=category_scale(categories), legend=None),
            detail=alt.Detail("flow:N"),
            tooltip=[
                alt.Tooltip("from_timepoint:N", title="From timepoint"),
                alt.Tooltip("from:N", title="From response"),
                alt.Tooltip("to_timepoint:N", title="To timepoint"),
                alt.Tooltip("to:N", title="To response"),
                alt.Tooltip("n:Q", title="Patients", format="d"),
                alt.Tooltip("patients:N", title="Pseudonyms"),
            ],
        )
    )
    node_data = {"values": layout.nodes.to_dicts()}
    nodes = (
        alt.Chart(node_data)
        .mark_rect(stroke="#4d4d4d", strokeWidth=0.8)
        .encode(
            x=alt.X("x0:Q", scale=x_scale, axis=no_axis),
            x2=alt.X2("x1:Q"),
            y=alt.Y("y0:Q", scale=y_scale, axis=no_axis),
            y2=alt.Y2("y1:Q"),
            color=color,
            tooltip=[
                alt.Tooltip("timepoint_label:N", title="Timepoint"),
                alt.Tooltip("category:N", title="Response"),
                alt.Tooltip("n:Q", title="Patients", format="d"),
            ],
        )
    )
    # Label a node only where its height leaves room for one line of text.
    min_n = layout.total * (FONT_SIZE + 1) / CHART_HEIGHT
    labels = (
        alt.Chart(node_data)
        .transform_filter(alt.datum.n >= min_n)
        .transform_calculate(x_label=alt.datum.x1 + 0.02, y_mid=(alt.datum.y0 + alt.datum.y1) / 2)
        .mark_text(align="left", baseline="middle", fontSize=FONT_SIZE - 1, fontWeight="bold",
                   color="#222222")
        .encode(
            x=alt.X("x_label:Q", scale=x_scale, axis=no_axis),
            y=alt.Y("y_mid:Q", scale=y_scale, axis=no_axis),
            text=alt.Text("label:N"), tooltip=alt.TooltipValue(None),
        )
    )  # fmt: skip
    header_rows = [
        {"column": i, "timepoint_label": timepoint_label(tp), "y": -header_room / 2}
        for i, tp in enumerate(layout.timepoints)
    ]
    headers = (
        alt.Chart({"values": header_rows})
        .mark_text(baseline="middle", fontSize=FONT_SIZE + 1, fontWeight="bold", color="#222222")
        .encode(
            x=alt.X("column:Q", scale=x_scale, axis=no_axis),
            y=alt.Y("y:Q", scale=y_scale, axis=no_axis),
            text=alt.Text("timepoint_label:N"),
            tooltip=alt.TooltipValue(None),
        )
    )
    subtitle = [
        f"{layout.total} patients at every timepoint; bands sized by patients and coloured by "
        "the response they leave. Hover a band for its patients."
    ]
    if note:
        subtitle.append(note)
    chart = compose.layer(
        [bands, nodes, labels, headers],
        width=COLUMN_WIDTH * columns,
        height=CHART_HEIGHT,
        title=alt.TitleParams(title, subtitle=subtitle),
    )
    return apply_theme(chart)
