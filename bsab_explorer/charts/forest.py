"""Subgroup forest plots: hazard ratios on a log axis, response rates on a percent axis.

One row per subgroup level under its variable's heading, the overall row first; a marker sized
by the level's events (hazards) or patients (response), the confidence interval as a rule, the
line of no effect, and each variable's interaction p-value (or why it was not computed) beside
its heading. Levels without an estimate keep their row, with the reason in the tooltip.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

from bsab_explorer.analyses.forest import SubgroupHazards, SubgroupResponse
from bsab_explorer.charts import compose
from bsab_explorer.charts.theme import FONT_SIZE, GROUP_PALETTE, MISSING_COLOR, apply_theme
from bsab_explorer.formatting import format_p
from bsab_explorer.schema import column_label

#: Height of one row, in pixels.
ROW_HEIGHT = 30
CHART_WIDTH = 460
#: Colour of the estimates (the palette's first) and of the overall row (its black).
ESTIMATE_COLOR = GROUP_PALETTE[0]
OVERALL_COLOR = GROUP_PALETTE[6]
_OVERALL = "All patients"


def _heading(variable: str, p_value: float | None, note: str | None) -> str:
    if p_value is not None:
        return f"{column_label(variable)} (interaction p = {format_p(p_value)})"
    reason = "not computed" if note else "no test"
    return f"{column_label(variable)} (interaction {reason})"


def _rows(entries: list[dict[str, Any]]) -> pl.DataFrame:
    ordered = [{**row, "order": k} for k, row in enumerate(entries)]
    return pl.DataFrame(ordered, infer_schema_length=None)


def _draw(
    rows: pl.DataFrame,
    *,
    scale: alt.Scale,
    title: str,
    x_rule: float,
    size_title: str,
    tooltip: list[alt.Tooltip],
    heading: alt.TitleParams,
) -> alt.LayerChart:
    x = alt.X("lower:Q", scale=scale, title=title)
    labels = [str(v) for v in rows.get_column("row").to_list()]
    y = alt.Y(
        "row:N",
        sort=labels,
        title=None,
        axis=alt.Axis(labelLimit=360, labelFontSize=FONT_SIZE - 2, ticks=False, domain=False),
    )
    base = alt.Chart(rows)
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(
            domain=["Overall", "Subgroup", "Heading"],
            range=[OVERALL_COLOR, ESTIMATE_COLOR, MISSING_COLOR],
        ),
        legend=None,
    )
    estimated = base.transform_filter("isValid(datum.estimate)")
    rule = estimated.mark_rule(strokeWidth=2).encode(
        x=x, x2=alt.X2("upper:Q"), y=y, color=colour, tooltip=tooltip
    )
    points = estimated.mark_square(filled=True, opacity=1).encode(
        x=alt.X("estimate:Q", scale=scale, title=title),
        y=y,
        color=colour,
        size=alt.Size("weight:Q", title=size_title, scale=alt.Scale(range=[40, 400])),
        tooltip=tooltip,
    )
    no_effect = (
        alt.Chart(pl.DataFrame({"at": [x_rule]}))
        .mark_rule(strokeDash=[4, 4], color="#555555")
        .encode(x=alt.X("at:Q", scale=scale, title=title))
    )
    # Headings and levels without an estimate still need their row on the axis.
    placeholders = base.mark_point(opacity=0).encode(y=y)
    return compose.layer(
        [placeholders, no_effect, rule, points],
        width=CHART_WIDTH,
        height=ROW_HEIGHT * max(rows.height, 1),
        title=heading,
    )


def _nothing_to_draw(message: str) -> alt.Chart:
    frame = pl.DataFrame({"text": [message]})
    chart = (
        alt.Chart(frame)
        .mark_text(fontSize=FONT_SIZE, color="#555555")
        .encode(text="text:N")
        .properties(width=CHART_WIDTH, height=ROW_HEIGHT * 3)
    )
    return apply_theme(chart)


def forest_chart(found: SubgroupHazards | None) -> alt.LayerChart | alt.Chart:
    """The hazard-ratio forest plot of a subgroup analysis (log axis, markers sized by events);
    a line saying there is nothing to compare when `found` is None."""
    if found is None:
        return _nothing_to_draw("No comparison of two groups among these patients.")
    o = found.overall
    entries: list[dict[str, Any]] = [
        {
            "row": f"{_OVERALL} (n = {o.n})",
            "kind": "Overall",
            "estimate": o.hazard_ratio,
            "lower": o.lower,
            "upper": o.upper,
            "weight": o.events,
            "events": o.events,
            "n": o.n,
            "p_value": None if o.p_value is None else format_p(o.p_value),
            "note": o.note or "",
        }
    ]
    for variable in found.variables:
        row = _heading(variable.variable, variable.interaction_p, variable.interaction_note)
        entries.append(
            {
                "row": row,
                "kind": "Heading",
                "estimate": None,
                "lower": None,
                "upper": None,
                "weight": None,
                "events": None,
                "n": None,
                "p_value": None,
                "note": variable.interaction_note or "",
            }
        )
        for h in variable.levels:
            entries.append(
                {
                    "row": f"    {h.level} (n = {h.n})",
                    "kind": "Subgroup",
                    "estimate": h.hazard_ratio,
                    "lower": h.lower,
                    "upper": h.upper,
                    "weight": h.events,
                    "events": h.events,
                    "n": h.n,
                    "p_value": None if h.p_value is None else format_p(h.p_value),
                    "note": h.note or "",
                }
            )
    rows = _rows(entries)
    level = f"{round(found.conf_level * 100)} %"
    scale = alt.Scale(type="log", nice=False, zero=False)
    title = f"Hazard ratio, {found.comparison} vs {found.reference} ({level} CI, log scale)"
    tooltip = [
        alt.Tooltip("row:N", title="Subgroup"),
        alt.Tooltip("estimate:Q", title="Hazard ratio", format=".2f"),
        alt.Tooltip("lower:Q", title=f"{level} CI lower", format=".2f"),
        alt.Tooltip("upper:Q", title=f"{level} CI upper", format=".2f"),
        alt.Tooltip("events:Q", title="Events", format="d"),
        alt.Tooltip("p_value:N", title="Wald p"),
        alt.Tooltip("note:N", title="Note"),
    ]
    heading = alt.TitleParams(
        f"Hazard ratio by subgroup: {column_label(found.by)}",
        subtitle=f"{found.comparison} vs {found.reference} (reference); marker size: events",
    )
    chart = _draw(
        rows,
        scale=scale,
        title=title,
        x_rule=1.0,
        size_title="Events",
        tooltip=tooltip,
        heading=heading,
    )
    return apply_theme(chart)


def response_forest_chart(found: SubgroupResponse, timepoint: str) -> alt.LayerChart:
    """The ORR forest plot of a subgroup analysis (percent axis, markers sized by patients)."""
    entries: list[dict[str, Any]] = []
    variable: str | None = None
    for r in found.orr:
        if r.variable is not None and r.variable != variable:
            variable = r.variable
            entries.append(
                {
                    "row": column_label(r.variable),
                    "kind": "Heading",
                    "estimate": None,
                    "lower": None,
                    "upper": None,
                    "weight": None,
                    "responders": None,
                    "n": None,
                }
            )
        is_overall = r.variable is None
        entries.append(
            {
                "row": f"{_OVERALL} (n = {r.n})" if is_overall else f"    {r.level} (n = {r.n})",
                "kind": "Overall" if is_overall else "Subgroup",
                "estimate": None if r.rate is None else 100 * r.rate,
                "lower": None if r.lower is None else 100 * r.lower,
                "upper": None if r.upper is None else 100 * r.upper,
                "weight": r.n,
                "responders": r.responders,
                "n": r.n,
            }
        )
    rows = _rows(entries)
    level = f"{round(found.conf_level * 100)} %"
    scale = alt.Scale(domain=[0, 100])
    title = f"Overall response rate, % ({level} Clopper–Pearson CI)"
    tooltip = [
        alt.Tooltip("row:N", title="Subgroup"),
        alt.Tooltip("estimate:Q", title="ORR, %", format=".1f"),
        alt.Tooltip("lower:Q", title=f"{level} CI lower, %", format=".1f"),
        alt.Tooltip("upper:Q", title=f"{level} CI upper, %", format=".1f"),
        alt.Tooltip("responders:Q", title="Responders", format="d"),
        alt.Tooltip("n:Q", title="Evaluable", format="d"),
    ]
    overall_rate = found.orr[0].rate if found.orr else None
    x_rule = 0.0 if overall_rate is None else 100 * overall_rate
    heading = alt.TitleParams(
        f"Overall response rate by subgroup, {timepoint}",
        subtitle="Dashed line: the overall rate; marker size: evaluable patients",
    )
    chart = _draw(
        rows,
        scale=scale,
        title=title,
        x_rule=x_rule,
        size_title="Patients",
        tooltip=tooltip,
        heading=heading,
    )
    return apply_theme(chart)
