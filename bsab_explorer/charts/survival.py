"""Kaplan–Meier figure: step curves, CI bands, censor ticks and a number-at-risk table.

The data sent to the browser are bounded whatever the cohort size: a curve keeps only its step
vertices (at most one per distinct event time) and is thinned to `MAX_CURVE_POINTS` per group
beyond that; censor ticks are thinned to `MAX_CENSOR_MARKS` per group.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import numpy as np
import numpy.typing as npt
import polars as pl

from bsab_explorer.analyses.survival import KaplanMeierCurve, SurvivalSummary
from bsab_explorer.charts import compose
from bsab_explorer.charts.theme import (
    FONT_SIZE,
    LINE_WIDTH,
    apply_theme,
    group_colors,
)
from bsab_explorer.formatting import state_p
from bsab_explorer.schema import DAYS_PER_MONTH

#: Largest number of step vertices drawn per curve (the plot is < 1000 px wide).
MAX_CURVE_POINTS = 1500
#: Largest number of censor ticks drawn per curve.
MAX_CENSOR_MARKS = 400
#: Candidate spacings of the x-axis breaks, in months.
BREAK_STEPS: tuple[float, ...] = (1, 3, 6, 12, 24, 48)
#: At most this many intervals between x-axis breaks.
MAX_BREAKS = 8

CURVE_WIDTH = 820
CURVE_HEIGHT = 420
#: Height of one row of the number-at-risk table.
ROW_HEIGHT = FONT_SIZE + 14
#: Room for the y-axis labels of both panels, so the plot areas line up.
AXIS_EXTENT = 130
#: Gap between the group names and the first column of counts.
RISK_LABEL_PADDING = 28
#: Room under the curves for the time axis (labels and title) before the first table.
X_AXIS_ROOM = 2 * FONT_SIZE + 30
#: Height of a table's heading ("Number at risk") and the gap after a table.
RISK_TITLE_HEIGHT = FONT_SIZE + 10
RISK_GAP = 10
#: Legend entries per line above the plot.
LEGEND_COLUMNS = 2
#: Longest entry (characters) that still shares its line with another.
LEGEND_SHORT_ENTRY = 34
#: The time origin, as survminer and ggsurvfit figures name it.
TIME_AXIS_TITLE = "Months since first bispecific dose"

_TEXT_COLOR = "#222222"
_MEDIAN_COLOR = "#555555"
#: Tooltip title of a curve's name (the name says the variable).
GROUP_TITLE = "Group"
_CENSOR_SHAPE = "M0,-1.6L0,1.6"  # a short vertical stroke


@dataclass(frozen=True)
class KMChartData:
    """The frames a Kaplan–Meier chart draws (all times in months), for tests and downloads."""

    steps: pl.DataFrame  # group, months, surv, lower, upper, band_lower, band_upper
    censors: pl.DataFrame  # group, months, surv
    at_risk: pl.DataFrame  # group, months, n_risk, cum_events, cum_censored
    breaks: tuple[float, ...]
    groups: tuple[str, ...]
    colors: tuple[str, ...]


def choose_breaks(max_months: float) -> tuple[float, ...]:
    """Round x-axis breaks from 0 past `max_months` (every 1, 3, 6, 12 … months)."""
    if max_months <= 0:
        return (0.0, 3.0)
    step = next((s for s in BREAK_STEPS if max_months / s <= MAX_BREAKS), BREAK_STEPS[-1])
    last = math.ceil(max_months / step - 1e-9) * step
    return tuple(float(x) for x in np.arange(0, last + step / 2, step))


def _thin(months: npt.NDArray[np.float64], limit: int, span: float) -> npt.NDArray[np.bool_]:
    """Keep the last point in each of `limit` equal time bins (all points when few)."""
    keep = np.ones(len(months), dtype=np.bool_)
    if len(months) <= limit or span <= 0:
        return keep
    bins = np.minimum((months / span * limit).astype(np.int64), limit - 1)
    keep[:-1] = bins[1:] != bins[:-1]
    return keep


def _curve_steps(curve: KaplanMeierCurve, span: float) -> pl.DataFrame:
    """Step vertices of one curve: time 0, every drop, and the last follow-up time."""
    table = curve.table
    time = table["time"].to_numpy() / DAYS_PER_MONTH
    surv = table["surv"].to_numpy()
    lower = table["lower"].fill_null(float("nan")).to_numpy()
    upper = table["upper"].fill_null(float("nan")).to_numpy()
    drop = table["n_event"].to_numpy() > 0
    drop[-1] = True  # the curve runs on to the last follow-up
    time, surv, lower, upper = time[drop], surv[drop], lower[drop], upper[drop]
    keep = _thin(time, MAX_CURVE_POINTS, span)
    keep[-1] = True
    # R's survfit0 starts every curve at (0, 1) with a CI of [1, 1].
    months = np.concatenate(([0.0], time[keep]))
    return (
        pl.DataFrame(
            {
                "group": curve.group,
                "months": months,
                "surv": np.concatenate(([1.0], surv[keep])),
                "lower": np.concatenate(([1.0], lower[keep])),
                "upper": np.concatenate(([1.0], upper[keep])),
            }
        )
        .with_columns(pl.col("lower", "upper").fill_nan(None))
        .with_columns(
            # Where the curve reaches 0 R has no interval; the band carries the last one to that
            # time so it spans the final step instead of stopping one step early.
            pl.col("lower").forward_fill(limit=1).alias("band_lower"),
            pl.col("upper").forward_fill(limit=1).alias("band_upper"),
        )
    )


def _curve_censors(curve: KaplanMeierCurve, span: float) -> pl.DataFrame:
    table = curve.table.filter(pl.col("n_censor") > 0)
    months = table["time"].to_numpy() / DAYS_PER_MONTH
    keep = _thin(months, MAX_CENSOR_MARKS, span)
    return pl.DataFrame(
        {"group": curve.group, "months": months[keep], "surv": table["surv"].to_numpy()[keep]},
        schema={"group": pl.String, "months": pl.Float64, "surv": pl.Float64},
    )


def km_chart_data(summary: SurvivalSummary, breaks: Sequence[float] | None = None) -> KMChartData:
    """Thinned curve vertices, censor marks and the number-at-risk table of a summary."""
    curves = [g.curve for g in summary.groups]
    last = max((float(c.table["time"].to_numpy()[-1]) for c in curves if c.n), default=0.0)
    chosen = tuple(breaks) if breaks is not None else choose_breaks(last / DAYS_PER_MONTH)
    span = chosen[-1]
    steps = [_curve_steps(c, span) for c in curves]
    censors = [_curve_censors(c, span) for c in curves]
    at_risk = [
        c.at_risk([b * DAYS_PER_MONTH for b in chosen]).select(
            pl.lit(c.group).alias("group"),
            pl.Series("months", chosen),
            "n_risk",
            "cum_events",
            "cum_censored",
        )
        for c in curves
    ]
    labels = tuple(c.group for c in curves)
    return KMChartData(
        steps=pl.concat(steps) if steps else pl.DataFrame(schema=_STEP_SCHEMA),
        censors=pl.concat(censors) if censors else pl.DataFrame(schema=_CENSOR_SCHEMA),
        at_risk=pl.concat(at_risk) if at_risk else pl.DataFrame(schema=_AT_RISK_SCHEMA),
        breaks=chosen,
        groups=labels,
        colors=tuple(group_colors(labels)),
    )


_STEP_SCHEMA = {
    "group": pl.String,
    "months": pl.Float64,
    "surv": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "band_lower": pl.Float64,
    "band_upper": pl.Float64,
}
_CENSOR_SCHEMA = {"group": pl.String, "months": pl.Float64, "surv": pl.Float64}
_AT_RISK_SCHEMA = {
    "group": pl.String,
    "months": pl.Float64,
    "n_risk": pl.Int64,
    "cum_events": pl.Int64,
    "cum_censored": pl.Int64,
}
#: Rows the number-at-risk table can show, and their titles.
RISK_ROWS = {
    "n_risk": "Number at risk",
    "cum_events": "Cumulative events",
    "cum_censored": "Cumulative censored",
}


def _subtitle(
    summary: SurvivalSummary, show_ci: bool, show_p: bool, follow_up: str | None = None
) -> list[str]:
    pct = f"{summary.conf_level:.0%}".replace("%", " %")
    lines = [
        f"{pct} CI: {summary.ci_method.label}" if show_ci else f"CI method: {summary.ci_method}"
    ]
    if follow_up is not None:
        lines.append(follow_up)
    if show_p and summary.logrank is not None:
        lr = summary.logrank
        lines.append(f"Log-rank {state_p(lr.p_value)} (χ² = {lr.chi2:.2f}, df = {lr.df})")
        lines.extend(summary.warnings[:1])
    return lines


def _legend_entries(summary: SurvivalSummary) -> dict[str, str]:
    names = group_names(summary)
    return {g.label: f"{names[g.label]} (n = {g.n}, events = {g.events})" for g in summary.groups}


def _legend_columns(summary: SurvivalSummary) -> int:
    """Entries per line above the plot: one when two long entries would not fit side by side."""
    longest = max(len(entry) for entry in _legend_entries(summary).values())
    return 1 if longest > LEGEND_SHORT_ENTRY else min(len(summary.groups), LEGEND_COLUMNS)


def _legend_labels(summary: SurvivalSummary) -> str:
    """A Vega expression labelling each group with its n and events."""
    return f"{json.dumps(_legend_entries(summary))}[datum.label] || datum.label"


def km_chart(
    summary: SurvivalSummary,
    *,
    show_ci: bool = True,
    show_censors: bool = True,
    risk_rows: Sequence[str] = ("n_risk",),
    show_p: bool = True,
    show_median: bool = False,
    breaks: Sequence[float] | None = None,
    title: str | None = None,
    y_title: str | None = None,
    width: int = CURVE_WIDTH,
    height: int = CURVE_HEIGHT,
    follow_up: str | None = None,
) -> alt.LayerChart:
    """Kaplan–Meier curves of a summary with CI bands, censor ticks and a number-at-risk table.

    `risk_rows` picks the table panels among "n_risk", "cum_events", "cum_censored" (may be
    empty). The CI method is printed in the subtitle; the log-rank p-value, when shown, always
    comes with the small-group warning if one applies; `follow_up` (the median follow-up in
    words), when given, follows the CI method in the subtitle. `show_median` draws dashed reference
    lines from 50 % to each reached median. The curves and the table are one view on one x
    scale, so that a drawing at another width (the page's, `ui.charts`) keeps every count
    under its time; `width` is the plot's width in a file.
    """
    unknown = set(risk_rows) - RISK_ROWS.keys()
    if unknown:
        raise ValueError(f"unknown risk_rows {sorted(unknown)}; use {list(RISK_ROWS)}")
    data = km_chart_data(summary, breaks)
    heading = title or (
        summary.endpoint.label
        if summary.by is None
        else f"{summary.endpoint.label} by {summary.by_label}"
    )
    if not data.groups:
        empty = (
            alt.Chart(
                pl.DataFrame({"text": ["No patients with a recorded time in this selection"]})
            )
            .mark_text(fontSize=FONT_SIZE + 2, color=_TEXT_COLOR)
            .encode(text=alt.Text("text:N"))
        )
        return apply_theme(compose.layer([empty], width=width, height=80, title=heading))
    names = group_names(summary)
    # The curves take what the axis and the tables leave of the view's height, so that a
    # drawing of another height (presentation mode, `ui.charts`) keeps every part in place.
    below = X_AXIS_ROOM + sum(_risk_block_height(data) for _ in risk_rows)
    total_height = height + below
    x_scale = alt.Scale(domain=[data.breaks[0], data.breaks[-1]], nice=False, zero=True)
    x = alt.X(
        "months:Q",
        title=TIME_AXIS_TITLE,
        scale=x_scale,
        axis=alt.Axis(
            values=list(data.breaks),
            format="~g",
            grid=False,
            # The view also holds the table: the axis sits under the curves, not under it.
            offset=-below,
        ),
    )
    color = alt.Color(
        "group:N",
        title=None,
        scale=alt.Scale(domain=list(data.groups), range=list(data.colors)),
        legend=alt.Legend(
            orient="top",
            direction="horizontal",
            columns=_legend_columns(summary),
            labelExpr=_legend_labels(summary),
            labelLimit=480,
            symbolType="stroke",
            symbolStrokeWidth=4,
            symbolOpacity=1,
            columnPadding=24,
        ),
    )
    y_scale = alt.Scale(domain=[0, 1], range=[_from_bottom(below), 0], clamp=True)
    y = alt.Y(
        "surv:Q",
        title=y_title or f"{summary.endpoint.value.upper()} probability",
        scale=y_scale,
        axis=alt.Axis(
            format=".0%",
            values=[0, 0.25, 0.5, 0.75, 1],
            orient="left",
            minExtent=AXIS_EXTENT,
            maxExtent=AXIS_EXTENT,
        ),
    )
    no_tooltip = alt.TooltipValue(None)
    steps = alt.Chart(data.steps)
    layers: list[alt.Chart] = []
    if show_ci:
        # A helper mark: the line's tooltip gives the interval.
        layers.append(
            steps.mark_area(interpolate="step-after", opacity=0.15).encode(
                x=x,
                y=alt.Y("band_lower:Q", scale=y_scale),
                y2=alt.Y2("band_upper:Q"),
                color=color,
                tooltip=no_tooltip,
            )
        )
    if show_median:
        medians = _median_lines(summary)
        if medians.height:
            layers.append(
                alt.Chart(medians)
                .mark_rule(strokeDash=[6, 4], strokeWidth=1.5, color=_MEDIAN_COLOR)
                .encode(
                    x=alt.X("x:Q", scale=x_scale),
                    x2=alt.X2("x2:Q"),
                    y=alt.Y("y:Q", scale=y_scale),
                    y2=alt.Y2("y2:Q"),
                    tooltip=no_tooltip,
                )
            )
    layers.append(
        steps.mark_line(interpolate="step-after", strokeWidth=LINE_WIDTH)
        .encode(
            x=x,
            y=y,
            color=color,
            tooltip=[
                alt.Tooltip("label:N", title=GROUP_TITLE),
                alt.Tooltip("months:Q", title="Months", format=".1f"),
                alt.Tooltip("surv:Q", title="Survival", format=".1%"),
                alt.Tooltip("lower:Q", title="CI lower", format=".1%"),
                alt.Tooltip("upper:Q", title="CI upper", format=".1%"),
            ],
        )
        .transform_calculate(label=_label_expr(names))
    )
    if show_censors and data.censors.height:
        layers.append(
            alt.Chart(data.censors)
            .mark_point(shape=_CENSOR_SHAPE, size=90, strokeWidth=2, filled=False, opacity=1)
            .encode(
                x=x,
                y=alt.Y("surv:Q", scale=y_scale),
                color=alt.Color("group:N", legend=None),
                tooltip=[
                    alt.Tooltip("label:N", title=GROUP_TITLE),
                    alt.Tooltip("months:Q", title="Censored at (months)", format=".1f"),
                ],
            )
            .transform_calculate(label=_label_expr(names))
        )
    # Built with constructors, not chained methods: each Altair method deep-copies the whole
    # chart, which made up most of the time of a filter change on the survival page; and
    # composed without Altair's copies of every part (charts.compose).
    curves = compose.layer(layers)
    tables = [
        _risk_layer(data, row, x_scale, names, below - X_AXIS_ROOM - i * _risk_block_height(data))
        for i, row in enumerate(risk_rows)
    ]
    chart = compose.layer(
        [curves, *tables],
        width=width,
        height=total_height,
        title=alt.TitleParams(
            heading,
            subtitle=_subtitle(summary, show_ci, show_p, follow_up),
            subtitleColor="#444444",
        ),
        # Each table has its own (pixel-placed) row scale; the curves keep theirs.
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(y="independent")),
    )
    return apply_theme(chart)


def group_names(summary: SurvivalSummary) -> dict[str, str]:
    """Each group's name as the figure writes it, naming the variable ("EMD: Yes")."""
    if summary.by is None:
        return {g.label: g.label for g in summary.groups}
    # A label's own abbreviation, where it has one: "Extramedullary disease (EMD)" -> "EMD".
    short = re.search(r"\(([^()]+)\)$", summary.by_label)
    variable = short.group(1) if short else summary.by_label
    return {g.label: f"{variable}: {g.label}" for g in summary.groups}


def _label_expr(names: dict[str, str]) -> str:
    return f"{json.dumps(names)}[datum.group] || datum.group"


def _median_lines(summary: SurvivalSummary) -> pl.DataFrame:
    """Dashed guides of every reached median: along 50 % to it, then down to the time axis."""
    rows = [
        row
        for g in summary.groups
        if (m := g.median.months) is not None
        for row in ((0.0, m, 0.5, 0.5), (m, m, 0.5, 0.0))
    ]
    return pl.DataFrame(rows, schema=["x", "x2", "y", "y2"], orient="row")


def _from_bottom(pixels: int) -> alt.ExprRef:
    """A vertical position `pixels` above the bottom of the view, whatever its height."""
    return alt.ExprRef(f"height - {pixels}")


#: Counts from this size on are shown to 3 significant digits with an SI prefix (550k, 1.00M):
#: a registry's 7-digit counts at month 0 otherwise run into the group names beside them. The
#: tooltip and the CSV keep every digit.
COMPACT_COUNT = 100_000


def _count_format(counts: pl.Series) -> str:
    """d3 format of a number-at-risk row: whole numbers, or 3 significant digits for a registry."""
    largest = counts.max()
    return ".3s" if isinstance(largest, int) and largest >= COMPACT_COUNT else "d"


def _risk_block_height(data: KMChartData) -> int:
    return RISK_TITLE_HEIGHT + ROW_HEIGHT * len(data.groups) + RISK_GAP


def _risk_layer(
    data: KMChartData, row: str, x_scale: alt.Scale, names: dict[str, str], top: int
) -> alt.LayerChart:
    """One row per group of counts at the x-axis breaks, on the curve's x scale, its heading
    `top` pixels above the bottom of the view."""
    rows_top = top - RISK_TITLE_HEIGHT
    y = alt.Y(
        "group:N",
        sort=list(data.groups),
        title=None,
        scale=alt.Scale(
            type="band",
            domain=list(data.groups),
            range=[
                _from_bottom(rows_top),
                _from_bottom(rows_top - ROW_HEIGHT * len(data.groups)),
            ],
            paddingInner=0,
            paddingOuter=0,
        ),
        axis=None,
    )
    color = alt.Color(
        "group:N",
        scale=alt.Scale(domain=list(data.groups), range=list(data.colors)),
        legend=None,
    )
    x = alt.X("months:Q", scale=x_scale)
    counts = (
        alt.Chart(data.at_risk)
        .mark_text(fontWeight="bold")
        .encode(
            x=x,
            y=y,
            text=alt.Text(f"{row}:Q", format=_count_format(data.at_risk[row])),
            color=color,
            tooltip=[
                alt.Tooltip("label:N", title=GROUP_TITLE),
                alt.Tooltip("months:Q", title="Months", format="~g"),
                alt.Tooltip(f"{row}:Q", title=RISK_ROWS[row], format="d"),
            ],
        )
        .transform_calculate(label=_label_expr(names))
    )
    label_rows = pl.DataFrame({"group": list(data.groups), "name": [names[g] for g in data.groups]})
    labels = (
        alt.Chart(label_rows)
        .mark_text(align="right", fontWeight="bold", limit=AXIS_EXTENT * 2)
        .encode(
            x=alt.XValue(-RISK_LABEL_PADDING),
            y=y,
            text=alt.Text("name:N"),
            color=color,
            tooltip=alt.TooltipValue(None),
        )
    )
    heading = (
        alt.Chart(pl.DataFrame({"text": [RISK_ROWS[row]]}))
        .mark_text(
            align="left",
            baseline="top",
            color=_TEXT_COLOR,
            y=_from_bottom(top),
        )
        .encode(
            x=alt.XValue(-AXIS_EXTENT),
            text=alt.Text("text:N"),
            tooltip=alt.TooltipValue(None),
        )
    )
    return compose.layer([heading, labels, counts])
