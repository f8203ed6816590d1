"""Kaplan–Meier figure: step curves, CI bands, censor ticks and a number-at-risk table.

The data sent to the browser are bounded whatever the cohort size: a curve keeps only its step
vertices (at most one per distinct event time) and is thinned to `MAX_CURVE_POINTS` per group
beyond that; censor ticks are thinned to `MAX_CENSOR_MARKS` per group.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

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
    theme_config,
)
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

_TEXT_COLOR = "#222222"
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
        p_text = "p < 0.001" if lr.p_value < 0.001 else f"p = {lr.p_value:.3f}"
        lines.append(f"Log-rank {p_text} (χ² = {lr.chi2:.2f}, df = {lr.df})")
        lines.extend(summary.warnings[:1])
    return lines


LegendCorner = Literal["top-right", "bottom-left", "bottom-right"]
#: Where the legend may sit inside the plot, in order of preference.
LEGEND_CORNERS: tuple[LegendCorner, ...] = ("top-right", "bottom-left", "bottom-right")
#: Rough text metrics of the legend at FONT_SIZE (px), to know the area it covers.
_CHAR_WIDTH = 0.55 * FONT_SIZE
_LEGEND_ROW = FONT_SIZE + 6


def legend_corner(
    data: KMChartData, entries: Sequence[str], show_ci: bool, width: int, height: int
) -> LegendCorner:
    """The plot corner whose legend box the curves (and bands) cross least."""
    box_w = min(1.0, (max(len(e) for e in entries) * _CHAR_WIDTH + 60) / width)
    box_h = min(1.0, (len(entries) * _LEGEND_ROW + 30) / height)
    boxes = {
        "top-right": ((1 - box_w, 1.0), (1 - box_h, 1.0)),
        "bottom-left": ((0.0, box_w), (0.0, box_h)),
        "bottom-right": ((1 - box_w, 1.0), (0.0, box_h)),
    }
    span = data.breaks[-1]
    grid = np.linspace(0.0, 1.0, 61)
    hits: dict[LegendCorner, int] = {}
    for corner in LEGEND_CORNERS:
        (x0, x1), (y0, y1) = boxes[corner]
        hits[corner] = 0
        for label in data.groups:
            steps = data.steps.filter(pl.col("group") == label)
            months = steps["months"].to_numpy()
            xs = span * (x0 + (x1 - x0) * grid)
            row = np.searchsorted(months, xs[xs <= months[-1]], side="right") - 1
            surv = steps["surv"].to_numpy()[row]
            low, high = surv, surv
            if show_ci:
                low = np.fmin(steps["band_lower"].fill_null(np.nan).to_numpy()[row], surv)
                high = np.fmax(steps["band_upper"].fill_null(np.nan).to_numpy()[row], surv)
            hits[corner] += int(((high >= y0) & (low <= y1)).sum())
    return min(LEGEND_CORNERS, key=lambda c: hits[c])


def _legend_entries(summary: SurvivalSummary) -> dict[str, str]:
    return {g.label: f"{g.label} (n = {g.n}, events = {g.events})" for g in summary.groups}


def _legend_labels(summary: SurvivalSummary) -> str:
    """A Vega expression labelling each group with its n and events."""
    return f"{json.dumps(_legend_entries(summary))}[datum.label] || datum.label"


def _label_colors(groups: Sequence[str], colors: Sequence[str]) -> str:
    """A Vega expression colouring axis labels as their group's curve."""
    return f"{json.dumps(dict(zip(groups, colors, strict=True)))}[datum.label] || '{_TEXT_COLOR}'"


def km_chart(
    summary: SurvivalSummary,
    *,
    show_ci: bool = True,
    show_censors: bool = True,
    risk_rows: Sequence[str] = ("n_risk",),
    show_p: bool = True,
    breaks: Sequence[float] | None = None,
    title: str | None = None,
    width: int = CURVE_WIDTH,
    height: int = CURVE_HEIGHT,
    follow_up: str | None = None,
) -> alt.VConcatChart:
    """Kaplan–Meier curves of a summary with CI bands, censor ticks and a number-at-risk table.

    `risk_rows` picks the table panels among "n_risk", "cum_events", "cum_censored" (may be
    empty). The CI method is printed in the subtitle, then `follow_up` (the median follow-up in
    words) when given; the log-rank p-value, when shown, always comes with the small-group
    warning if one applies.
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
            .properties(width=width, height=80, title=heading)
        )
        return apply_theme(alt.vconcat(empty))
    x_scale = alt.Scale(domain=[data.breaks[0], data.breaks[-1]], nice=False, zero=True)
    x = alt.X(
        "months:Q",
        title="Months",
        scale=x_scale,
        axis=alt.Axis(values=list(data.breaks), format="~g", grid=False),
    )
    legend_title = "" if summary.by is None else summary.by_label
    color = alt.Color(
        "group:N",
        title=legend_title or None,
        scale=alt.Scale(domain=list(data.groups), range=list(data.colors)),
        legend=alt.Legend(
            orient=legend_corner(
                data,
                [legend_title, *_legend_entries(summary).values()],
                show_ci,
                width,
                height,
            ),
            labelExpr=_legend_labels(summary),
            labelLimit=420,
            titleLimit=420,
            symbolType="stroke",
            symbolStrokeWidth=4,
            symbolOpacity=1,
            fillColor="rgba(255,255,255,0.85)",
            padding=8,
        ),
    )
    y = alt.Y(
        "surv:Q",
        title=f"{summary.endpoint.value.upper()} probability",
        scale=alt.Scale(domain=[0, 1], clamp=True),
        axis=alt.Axis(
            format=".0%",
            values=[0, 0.25, 0.5, 0.75, 1],
            minExtent=AXIS_EXTENT,
            maxExtent=AXIS_EXTENT,
        ),
    )
    steps = alt.Chart(data.steps)
    layers: list[alt.Chart] = []
    if show_ci:
        layers.append(
            steps.mark_area(interpolate="step-after", opacity=0.15).encode(
                x=x,
                y=alt.Y("band_lower:Q", scale=alt.Scale(domain=[0, 1])),
                y2=alt.Y2("band_upper:Q"),
                color=color,
            )
        )
    layers.append(
        steps.mark_line(interpolate="step-after", strokeWidth=LINE_WIDTH).encode(
            x=x,
            y=y,
            color=color,
            tooltip=[
                alt.Tooltip("group:N", title=summary.by_label),
                alt.Tooltip("months:Q", title="Months", format=".1f"),
                alt.Tooltip("surv:Q", title="Survival", format=".1%"),
                alt.Tooltip("lower:Q", title="CI lower", format=".1%"),
                alt.Tooltip("upper:Q", title="CI upper", format=".1%"),
            ],
        )
    )
    if show_censors and data.censors.height:
        layers.append(
            alt.Chart(data.censors)
            .mark_point(shape=_CENSOR_SHAPE, size=90, strokeWidth=2, filled=False, opacity=1)
            .encode(x=x, y=alt.Y("surv:Q"), color=alt.Color("group:N", legend=None))
        )
    # Built with constructors, not chained methods: each Altair method deep-copies the whole
    # chart, which made up most of the time of a filter change on the survival page; and
    # composed without Altair's copies of every part (charts.compose).
    curve_panel = compose.layer(
        layers,
        width=width,
        height=height,
        title=alt.TitleParams(
            heading,
            subtitle=_subtitle(summary, show_ci, show_p, follow_up),
            subtitleColor="#444444",
        ),
    )
    panels: list[alt.Chart | alt.LayerChart] = [curve_panel]
    for row in risk_rows:
        panels.append(_risk_panel(data, row, x_scale, width))
    # Independent legends: the curve panel's legend stays inside its own plot area.
    return compose.vconcat(
        panels,
        spacing=12,
        resolve=alt.Resolve(legend=alt.LegendResolveMap(color="independent")),
        config=alt.Config(**theme_config()),
    )


def _risk_panel(data: KMChartData, row: str, x_scale: alt.Scale, width: int) -> alt.Chart:
    """One row per group of counts at the x-axis breaks, on the curve's x scale."""
    label_color = _label_colors(data.groups, data.colors)
    return (
        alt.Chart(data.at_risk)
        .mark_text(fontSize=FONT_SIZE, fontWeight="bold")
        .encode(
            x=alt.X(
                "months:Q",
                scale=x_scale,
                axis=alt.Axis(
                    values=list(data.breaks), labels=False, ticks=False, domain=False, grid=False
                ),
                title=None,
            ),
            y=alt.Y(
                "group:N",
                sort=list(data.groups),
                title=None,
                axis=alt.Axis(
                    ticks=False,
                    domain=False,
                    labelFontWeight="bold",
                    labelColor=alt.ExprRef(label_color),
                    labelPadding=RISK_LABEL_PADDING,
                    minExtent=AXIS_EXTENT,
                    maxExtent=AXIS_EXTENT,
                    labelLimit=AXIS_EXTENT - RISK_LABEL_PADDING,
                ),
            ),
            text=alt.Text(f"{row}:Q", format="d"),
            color=alt.Color(
                "group:N",
                scale=alt.Scale(domain=list(data.groups), range=list(data.colors)),
                legend=None,
            ),
        )
        .properties(
            width=width,
            height=ROW_HEIGHT * len(data.groups),
            title=alt.TitleParams(RISK_ROWS[row], fontSize=FONT_SIZE, anchor="start"),
        )
    )
