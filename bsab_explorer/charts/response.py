"""Response by timepoint (Fig. 1A): stacked IMWG bars with n, ORR, ≥VGPR and CR labelled.

The best category sits at the top of every bar and first in the legend (above the groups'
panels, so that a split figure fits a laptop's page); the number assessed is written under each
bar and the rates (each of the summary's denominator) above it.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

from bsab_explorer.analyses.response import CATEGORY_ORDER, NOT_ASSESSED, ResponseSummary
from bsab_explorer.charts import compose
from bsab_explorer.charts.theme import FONT_SIZE, apply_theme
from bsab_explorer.formatting import format_percent
from bsab_explorer.schema import RESPONSE_COLORS, column_label

#: Fill of "Not assessed" (lighter than SD, darker than NE); drawn with a dashed outline.
NOT_ASSESSED_COLOR = "#d9d9d9"
#: Colour of every category, best to worst, then "Not assessed".
CATEGORY_COLORS = {**RESPONSE_COLORS, NOT_ASSESSED: NOT_ASSESSED_COLOR}
#: Width of one bar's slot, in pixels.
STEP_WIDTH = 112
CHART_HEIGHT = 380
#: Room above 100 % for the rate labels (fraction of the axis).
LABEL_HEADROOM = 0.38
_LINE_HEIGHT = FONT_SIZE + 2
#: Lines of rate text above a bar (ORR, its CI, ≥VGPR, CR).
_RATE_LINES = 4
_TEXT_COLOR = "#222222"
#: Vega expression: "Cycle 12 (1 year)" -> two lines, "Cycle 12" over "(1 year)".
_TWO_LINE_LABEL = (
    "indexof(datum.label, ' (') > 0 ? [substring(datum.label, 0, indexof(datum.label, ' (')), "
    "substring(datum.label, indexof(datum.label, ' (') + 1)] : datum.label"
)
#: Narrower slots when groups are side by side.
FACET_STEP_WIDTH = 100


def category_scale(categories: list[str] | tuple[str, ...]) -> alt.Scale:
    """The clinical colour scale of response categories (domain in clinical order)."""
    return alt.Scale(domain=list(categories), range=[CATEGORY_COLORS[c] for c in categories])


def _rate_text(row: dict[str, Any]) -> str:
    """Rates above a bar, one per line, each in % of the bar's denominator."""
    d = int(row["denominator"])
    if d == 0:
        # Four lines like every label, so that all labels share one offset.
        return "\n\n\n–"
    ci = f"({row['orr_ci_lower_pct']:.0f}–{row['orr_ci_upper_pct']:.0f})"
    return "\n".join(
        [
            f"ORR {format_percent(row['orr_n'], d)} %",
            ci,
            f"≥VGPR {format_percent(row['vgpr_n'], d)} %",
            f"CR {format_percent(row['cr_n'], d)} %",
        ]
    )


def response_chart_data(summary: ResponseSummary) -> list[dict[str, Any]]:
    """The chart's rows: ``kind`` "bar" (one per segment) and "label" (one per bar)."""
    rank = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    bars = (
        summary.counts.filter(pl.col("n") > 0)
        .with_columns(
            (pl.col("n") / pl.col("denominator")).alias("share"),
            pl.col("category").replace_strict(rank, return_dtype=pl.Int64).alias("rank"),
            pl.lit("bar").alias("kind"),
        )
        .select("kind", "group", "timepoint", "timepoint_label", "category", "rank", "n",
                "denominator", "share")
    )  # fmt: skip
    rows: list[dict[str, Any]] = bars.to_dicts()
    for row in summary.frame.iter_rows(named=True):
        d = int(row["denominator"])
        ci = (
            f"{row['orr_ci_lower_pct']:.1f}–{row['orr_ci_upper_pct']:.1f} %"
            if d
            else "not estimable"
        )
        rows.append(
            {
                "kind": "label",
                "group": row["group"],
                "timepoint": row["timepoint"],
                "timepoint_label": row["timepoint_label"],
                "n_label": (
                    f"n = {row['n_assessed']}/{d}"
                    if summary.denominator == "all_treated"
                    else f"n = {row['n_assessed']}"
                ),
                "rates": _rate_text(row),
                "top": 1.0 if d and row["n_assessed"] else 0.0,
                "denominator": d,
                "orr": f"{format_percent(row['orr_n'], d)} % ({row['orr_n']}/{d})" if d else "–",
                "orr_ci": ci,
                "pet_ct": row["pet_ct_n"],
            }
        )
    return rows


def response_chart(
    summary: ResponseSummary,
    *,
    title: str = "Response by timepoint",
    note: str | None = None,
) -> alt.FacetChart | alt.LayerChart | alt.Chart:
    """Stacked IMWG bars per timepoint, faceted by group when the summary was split."""
    if summary.frame.height == 0:
        return empty_chart("No patients in this subgroup: nothing to show.")
    labels = list(dict.fromkeys(summary.frame.get_column("timepoint_label").to_list()))
    categories = [c for c in CATEGORY_ORDER if c != NOT_ASSESSED] + (
        [NOT_ASSESSED] if summary.denominator == "all_treated" else []
    )
    # Short lines: the figure is no wider than its bars, on a laptop beside the sidebar.
    subtitle = [
        f"Percent of {summary.denominator_label}; ORR (95 % CI, Clopper–Pearson),",
        "≥VGPR and CR above each bar; n assessed below"
        + (" (of all treated)." if summary.denominator == "all_treated" else "."),
    ]
    if note:
        subtitle.append(note)
    x = alt.X(
        "timepoint_label:N",
        sort=labels,
        title=None,
        axis=alt.Axis(
            labelAngle=0,
            labelPadding=34,
            labelFontSize=FONT_SIZE,
            ticks=False,
            labelExpr=_TWO_LINE_LABEL,
        ),
    )
    y_scale = alt.Scale(domain=[0, 1 + LABEL_HEADROOM], nice=False)
    bars = (
        alt.Chart()
        .mark_bar(strokeWidth=1.5)
        .transform_filter(alt.datum.kind == "bar")
        .encode(
            x=x,
            y=alt.Y(
                "share:Q",
                stack="zero",
                scale=y_scale,
                axis=alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1], title=_y_title(summary)),
            ),
            color=alt.Color(
                "category:N",
                scale=category_scale(categories),
                # Beside one group's bars (the page fits the whole figure to its width); above
                # the groups' stacked panels, whose width is their own.
                legend=alt.Legend(
                    title="Response (IMWG)",
                    orient="right" if summary.by is None else "top",
                    direction="vertical" if summary.by is None else "horizontal",
                ),
            ),
            # Vega-Lite stacks from the bottom in ascending order: worst first puts best on top.
            order=alt.Order("rank:Q", sort="descending"),
            # The two palest categories get a grey outline to stand out from the background.
            stroke=alt.StrokeValue(
                **alt.condition(
                    (alt.datum.category == NOT_ASSESSED) | (alt.datum.category == "NE"),
                    alt.value("#737373"),
                    alt.value("white"),
                )
            ),
            strokeDash=alt.StrokeDashValue(
                **alt.condition(
                    alt.datum.category == NOT_ASSESSED, alt.value([4, 3]), alt.value([1, 0])
                )
            ),
            tooltip=[
                alt.Tooltip("timepoint_label:N", title="Timepoint"),
                alt.Tooltip("category:N", title="Response"),
                alt.Tooltip("n:Q", title="Patients", format="d"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
                alt.Tooltip("denominator:Q", title="Denominator", format="d"),
            ],
        )
    )
    label_base = alt.Chart().transform_filter(alt.datum.kind == "label")
    n_text = label_base.mark_text(baseline="top", dy=8, color=_TEXT_COLOR).encode(
        x=x, y=alt.YDatum(0), text=alt.Text("n_label:N"), tooltip=alt.TooltipValue(None)
    )
    rate_text = label_base.mark_text(
        baseline="bottom", lineBreak="\n", fontSize=FONT_SIZE - 1, color=_TEXT_COLOR,
        lineHeight=_LINE_HEIGHT,
        # Vega anchors the first line of a multi-line text: lift it by the lines below it.
        dy=-6 - (_RATE_LINES - 1) * _LINE_HEIGHT,
    ).encode(
        x=x,
        y=alt.Y("top:Q", scale=y_scale),
        text=alt.Text("rates:N"),
        tooltip=[
            alt.Tooltip("timepoint_label:N", title="Timepoint"),
            alt.Tooltip("orr:N", title="ORR"),
            alt.Tooltip("orr_ci:N", title="ORR 95 % CI (Clopper–Pearson)"),
            alt.Tooltip("denominator:Q", title="Denominator", format="d"),
            alt.Tooltip("pet_ct:Q", title="PET-CT done", format="d"),
        ],
    )  # fmt: skip
    # A plain dict, not alt.Data: Altair validates alt.Data row by row, which is slow.
    data = {"values": response_chart_data(summary)}
    heading = alt.TitleParams(title, subtitle=subtitle)
    # Composed with constructors (charts.compose): each chained method copies the whole chart.
    if summary.by is None:
        return apply_theme(compose.layer(
            [bars, n_text, rate_text], data=data, width=STEP_WIDTH * max(len(labels), 1),
            height=CHART_HEIGHT, title=heading,
        ))  # fmt: skip
    panel = compose.layer(
        [bars, n_text, rate_text], width=FACET_STEP_WIDTH * max(len(labels), 1), height=CHART_HEIGHT
    )
    # One group under the other, each with its name above it: side by side, two or three
    # groups of bars ran past a laptop's page.
    row = alt.Row(
        "group:N",
        sort=list(summary.groups),
        title=column_label(summary.by),
        header=alt.Header(
            labelFontSize=FONT_SIZE + 2,
            titleFontSize=FONT_SIZE + 2,
            labelOrient="top",
            labelAngle=0,
            labelAnchor="start",
            titleOrient="top",
            titleAnchor="start",
            titleAngle=0,
        ),
    )
    return apply_theme(
        compose.facet(panel, data=data, facet=alt.FacetMapping(row=row), title=heading, spacing=24)
    )


def _y_title(summary: ResponseSummary) -> str:
    if summary.denominator == "all_treated":
        return "Patients (% of all treated)"
    return "Patients (% of evaluable)"


def empty_chart(message: str) -> alt.Chart:
    """A chart that says why there is nothing to draw."""
    return apply_theme(
        alt.Chart({"values": [{"message": message}]})
        .mark_text(fontSize=FONT_SIZE + 2, color=_TEXT_COLOR)
        .encode(text=alt.Text("message:N"), tooltip=alt.TooltipValue(None))
        .properties(width=500, height=120)
    )
