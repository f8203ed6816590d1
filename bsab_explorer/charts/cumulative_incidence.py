"""Cumulative incidence of progression beside that of the competing event, per group.

Two panels side by side, progression and the competing event named in its title (death without
progression), each a step curve per group in the house palette from 0 to the group's last
follow-up: the two incidences and the probability of being alive without progression add to
one, which a stacked or 1 − KM picture would hide.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from bsab_explorer.analyses.competing_risks import CompetingEvent, CompetingRisks
from bsab_explorer.charts.theme import LINE_WIDTH, apply_theme, group_colors
from bsab_explorer.formatting import format_p
from bsab_explorer.schema import DAYS_PER_MONTH

PANEL_WIDTH = 360
PANEL_HEIGHT = 300


def incidence_steps(risks: CompetingRisks) -> pl.DataFrame:
    """event, group, months, incidence: every curve's steps up to its last follow-up."""
    parts = []
    for curve in risks.curves:
        table = curve.table.select("time", "estimate")
        last = table.get_column("estimate")[-1] if table.height else 0.0
        ends = pl.DataFrame(
            {"time": [0.0, curve.last_follow_up], "estimate": [0.0, last]},
            schema={"time": pl.Float64, "estimate": pl.Float64},
        )
        steps = pl.concat([ends.head(1), table.cast(pl.Float64), ends.tail(1)])
        parts.append(
            steps.with_columns(
                pl.lit(curve.event.label).alias("event"),
                pl.lit(curve.group).alias("group"),
                (pl.col("time") / DAYS_PER_MONTH).alias("months"),
            ).select("event", "group", "months", pl.col("estimate").alias("incidence"))
        )
    schema = {"event": pl.String, "group": pl.String, "months": pl.Float64, "incidence": pl.Float64}
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def cumulative_incidence_chart(risks: CompetingRisks, competing: str) -> alt.HConcatChart:
    """Progression and the competing event (named `competing`), one curve per group each."""
    steps = incidence_steps(risks)
    groups = list(risks.groups)
    colour = alt.Color(
        "group:N",
        title="Group",
        scale=alt.Scale(domain=groups, range=group_colors(groups)),
        sort=groups,
    )
    panels = []
    for event, title in (
        (CompetingEvent.PROGRESSION, "Progression"),
        (CompetingEvent.DEATH_WITHOUT_PROGRESSION, f"Competing event: {competing.lower()}"),
    ):
        test = risks.test(event)
        subtitle = ""
        if test is not None:
            subtitle = (
                f"Gray's test p = {format_p(test.p_value)}"
                if test.p_value is not None
                else f"Gray's test {test.not_computed}"
            )
        panel = (
            alt.Chart(steps.filter(pl.col("event") == event.label))
            .mark_line(interpolate="step-after", strokeWidth=LINE_WIDTH)
            .encode(
                x=alt.X("months:Q", title="Months since the first bispecific dose"),
                y=alt.Y(
                    "incidence:Q",
                    title="Cumulative incidence",
                    scale=alt.Scale(domain=[0, 1]),
                    axis=alt.Axis(format="%"),
                ),
                color=colour,
                tooltip=[
                    alt.Tooltip("group:N", title="Group"),
                    alt.Tooltip("months:Q", title="Months", format=".1f"),
                    alt.Tooltip("incidence:Q", title="Cumulative incidence", format=".1%"),
                ],
            )
            .properties(
                width=PANEL_WIDTH,
                height=PANEL_HEIGHT,
                title=alt.TitleParams(title, subtitle=subtitle),
            )
        )
        panels.append(panel)
    chart = alt.hconcat(*panels).properties(
        title=alt.TitleParams(
            "Cumulative incidence of progression",
            subtitle=f"Aalen–Johansen estimates; {competing.lower()} is the competing event",
        )
    )
    return apply_theme(chart)
