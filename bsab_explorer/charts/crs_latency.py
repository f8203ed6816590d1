"""Dose-anchored view of CRS: hours from the attributed dose to onset, and days between episodes.

Top: every episode placed by its latency after the dose it is attributed to (a strip per case
or per antibody, points coloured by ASTCT grade, initial episodes hollow), with the 24–48 h
window shaded, so "24–48 h post-infusion" is visible at a glance. Bottom: the days between
consecutive recurrent episodes (gaps in the rhythm in grey). Input: `crs_episodes(...)`.

Large series stay readable and light: by case, the `MAX_CASES` cases with most episodes are
drawn; above `MAX_POINTS` episodes, each panel counts them in bins (latency: `BIN_HOURS`;
intervals: a log scale) and draws one mark per bin, sized by its count.
"""

from __future__ import annotations

from typing import Any, Literal

import altair as alt
import numpy as np
import polars as pl

from bsab_explorer.analyses.recurrence import INITIAL, RECURRENT
from bsab_explorer.charts.theme import FONT_SIZE, apply_theme
from bsab_explorer.charts.timeline import grade_scale, inline_data

By = Literal["case", "bsab"]

#: The window the case series describes ("24–48 h post-infusion").
WINDOW_HOURS = (24.0, 48.0)
MIN_HOURS_AXIS = 96.0
MIN_STEP, MAX_STEP = 6, 44
HEIGHT_BUDGET = 600
GAP_COLOR = "#9e9e9e"
#: Plot width of both panels: with the lane labels the figure fits a laptop's page beside the
#: sidebar (1280 px screens); its legends sit above it, not beside it.
PLOT_WIDTH = 600
#: Interval axis ticks: weekly, fortnightly, monthly rhythms and longer gaps (log scale).
INTERVAL_TICKS = (1, 2, 3, 5, 7, 14, 21, 28, 35, 42, 56, 90, 180, 365, 730)
INTERVAL_COLOR = "#0072b2"
#: By case, at most this many cases (most episodes first) are drawn: more lanes cannot be read.
MAX_CASES = 100
#: Above this many episodes, episodes are counted in bins (one mark per lane, bin, grade and
#: phase, sized by its count) instead of drawn one by one.
MAX_POINTS = 2_000
#: Bin width of latencies (hours) when binned.
BIN_HOURS = 4.0
#: Ratio between consecutive interval bin edges (log scale) when binned.
INTERVAL_BIN_RATIO = 1.25


def _step(n_groups: int) -> int:
    return max(MIN_STEP, min(MAX_STEP, HEIGHT_BUDGET // max(n_groups, 1)))


def latency_data(episodes: pl.DataFrame, by: By = "case") -> pl.DataFrame:
    """Rows of both panels: group, latency, interval, grade label, phase and a fixed jitter."""
    group = pl.col("case_id") if by == "case" else pl.col("bsab").fill_null("not recorded")
    # Golden-ratio jitter: deterministic, spread evenly within the lane.
    jitter = ((pl.col("episode").cast(pl.Float64) * 0.6180339887) % 1.0) - 0.5
    return episodes.select(
        group.alias("group"),
        "case_id",
        "episode",
        "day",
        "phase",
        "latency_hours",
        "interval_days",
        "gap",
        "dose_detail",
        pl.format("Grade {}", pl.col("grade")).alias("grade_label"),
        jitter.alias("jitter"),
    )


def binned_latencies(timed: pl.DataFrame) -> pl.DataFrame:
    """Episodes counted per lane, phase, grade and `BIN_HOURS` latency bin (at its centre)."""
    start = (pl.col("latency_hours") / BIN_HOURS).floor() * BIN_HOURS
    return (
        timed.with_columns(start.alias("bin_start"))
        .group_by("group", "phase", "grade_label", "bin_start")
        .agg(pl.len().alias("episodes"))
        # Largest first, so that smaller counts at the same place are drawn on top of them.
        .sort(
            ["episodes", "group", "grade_label", "bin_start"],
            descending=[True, False, False, False],
        )
        .with_columns(
            (pl.col("bin_start") + BIN_HOURS / 2).alias("latency_hours"),
            pl.format(
                "{}–{} h",
                pl.col("bin_start").cast(pl.Int64),
                (pl.col("bin_start") + BIN_HOURS).cast(pl.Int64),
            ).alias("hours"),
        )
    )


def binned_intervals(recurrent: pl.DataFrame) -> pl.DataFrame:
    """Intervals counted per lane, gap or not, and log-scale bin (at its geometric centre)."""
    ratio = np.log(INTERVAL_BIN_RATIO)
    index = (pl.col("interval_days").log() / ratio).floor()
    return (
        recurrent.with_columns(index.alias("bin"))
        .group_by("group", "gap", "bin")
        .agg(pl.len().alias("intervals"))
        .sort(["intervals", "group", "bin"], descending=[True, False, False])
        .with_columns(
            (pl.col("bin") * ratio).exp().alias("low"),
            ((pl.col("bin") + 1) * ratio).exp().alias("high"),
        )
        .with_columns(
            (pl.col("low") * pl.col("high")).sqrt().alias("interval_days"),
            pl.format("{}–{} d", pl.col("low").round(1), pl.col("high").round(1)).alias("days"),
        )
    )


def _summary_text(summary: pl.DataFrame, y: alt.Y, *, log: bool = False) -> alt.Chart:
    """Per-lane 'n = …, median …' at the right edge, so that dense strips still read."""
    scale = alt.Scale(type="log") if log else alt.Scale()
    return (
        alt.Chart(inline_data(summary))
        .mark_text(align="right", dx=-4, fontSize=FONT_SIZE - 2, color="#333333")
        .encode(
            x=alt.X("at:Q", scale=scale),
            y=y,
            text=alt.Text("text:N"),
            tooltip=alt.TooltipValue(None),
        )
    )


def crs_latency_chart(episodes: pl.DataFrame, by: By = "case") -> alt.VConcatChart:
    """Latency after the attributed dose (strip, 24–48 h shaded) over intervals between episodes."""
    total_cases = episodes["case_id"].n_unique()
    # One subtitle line each, so that the figure is no wider than its plots.
    notes: list[str] = []
    if by == "case" and total_cases > MAX_CASES:
        busiest = (
            episodes.group_by("case_id")
            .len()
            .sort(["len", "case_id"], descending=[True, False])
            .head(MAX_CASES)["case_id"]
        )
        episodes = episodes.filter(pl.col("case_id").is_in(busiest.implode()))
        notes += [
            f"The {MAX_CASES} cases with most episodes of {total_cases} are shown;",
            "group by bispecific antibody or filter to see the others.",
        ]
    rows = latency_data(episodes, by)
    groups = sorted(set(rows["group"].to_list())) or ["none"]
    step = _step(len(groups))
    labelled = len(groups) <= 60
    group_title = "Case" if by == "case" else "Bispecific antibody"
    jitter_px = step * 0.6
    y = alt.Y(
        "group:N",
        sort=groups,
        scale=alt.Scale(domain=groups),
        title=group_title if labelled else f"{len(groups)} {group_title.lower()}s",
        axis=alt.Axis(labels=labelled, ticks=False, domain=False, labelFontSize=FONT_SIZE),
    )
    y_offset = alt.YOffset("jitter:Q", scale=alt.Scale(domain=[-0.5, 0.5], range=[0, jitter_px]))
    latency_max = max(
        MIN_HOURS_AXIS, float(rows.select(pl.col("latency_hours").max()).item() or 0.0) * 1.05
    )
    size = float(min(220, max(20, (step * 0.6) ** 2)))
    tooltip = [
        alt.Tooltip("case_id:N", title="Case"),
        alt.Tooltip("episode:Q", title="Episode", format="d"),
        alt.Tooltip("day:Q", title="Onset day", format=".1f"),
        alt.Tooltip("phase:N", title="Phase"),
        alt.Tooltip("dose_detail:N", title="Attributed dose"),
        alt.Tooltip("latency_hours:Q", title="Hours after dose", format=".0f"),
        alt.Tooltip("interval_days:Q", title="Days since previous", format=".1f"),
        alt.Tooltip("grade_label:N", title="Grade"),
    ]
    window = pl.DataFrame({"start": [WINDOW_HOURS[0]], "end": [WINDOW_HOURS[1]]})
    band = (
        alt.Chart(inline_data(window))
        .mark_rect(color="#fdd0a2", opacity=0.45)
        .encode(x=alt.X("start:Q"), x2=alt.X2("end:Q"), tooltip=alt.TooltipValue(None))
    )
    band_label = (
        alt.Chart(inline_data(window))
        .mark_text(text="24–48 h", baseline="top", dy=4, color="#a63603", y=0)
        .encode(x=alt.X("mid:Q"), tooltip=alt.TooltipValue(None))
        .transform_calculate(mid="(datum.start + datum.end) / 2")
    )
    x_latency = alt.X(
        "latency_hours:Q",
        title="Hours from the attributed dose to CRS onset",
        scale=alt.Scale(domain=[0, latency_max], nice=False),
        axis=alt.Axis(values=list(range(0, int(latency_max) + 1, 12))),
    )
    color = alt.Color(
        "grade_label:N",
        title="ASTCT grade",
        scale=grade_scale(),
        legend=alt.Legend(orient="top", symbolType="circle", symbolStrokeColor="#222222"),
    )
    timed = rows.filter(pl.col("latency_hours").is_not_null())

    binned = timed.height > MAX_POINTS
    if binned:
        notes += [
            f"{timed.height:,} episodes, counted in {BIN_HOURS:g}-hour bins:",
            "the larger the mark, the more episodes.",
        ]
    counted = alt.Size(
        "episodes:Q",
        title="Episodes",
        scale=alt.Scale(range=[size * 0.5, size * 6], zero=False),
        legend=alt.Legend(orient="top"),
    )
    binned_tooltip = [
        alt.Tooltip("group:N", title=group_title),
        alt.Tooltip("phase:N", title="Phase"),
        alt.Tooltip("grade_label:N", title="Grade"),
        alt.Tooltip("hours:N", title="Hours after dose"),
        alt.Tooltip("episodes:Q", title="Episodes", format="d"),
    ]

    def strip(phase: str) -> alt.Chart:
        initial = phase == INITIAL
        # Hollow marks take their stroke from the grade colour; filled ones get an outline.
        mark: dict[str, Any] = (
            {"filled": False, "shape": "diamond", "size": size * 1.3, "strokeWidth": 3}
            if initial
            else {"filled": True, "shape": "circle", "size": size, "stroke": "#222222"}
        )
        mark["opacity"] = 0.95
        of_phase = timed.filter(pl.col("phase") == phase)
        if binned:
            return (
                alt.Chart(inline_data(binned_latencies(of_phase)))
                .mark_point(**mark)
                .encode(
                    x=x_latency,
                    y=y,
                    color=color,
                    size=counted,
                    tooltip=binned_tooltip,
                )
            )
        return (
            alt.Chart(inline_data(of_phase))
            .mark_point(**mark)
            .encode(x=x_latency, y=y, yOffset=y_offset, color=color, tooltip=tooltip)
        )

    # The summary describes recurrent episodes, like the recurrence table.
    latency_summary = (
        timed.filter(pl.col("phase") == RECURRENT)
        .group_by("group", maintain_order=True)
        .agg(pl.len().alias("n"), pl.col("latency_hours").median().alias("median"))
    )
    if not labelled:
        # Lanes too thin for a label are too thin for their summary text.
        latency_summary = latency_summary.head(0)
    latency_text = _summary_text(
        latency_summary.with_columns(
            pl.format(
                "recurrent: {}, median {} h", "n", pl.col("median").round(0).cast(pl.Int64)
            ).alias("text"),
            pl.lit(latency_max).alias("at"),
        ),
        y,
    )
    latency = alt.layer(
        band, band_label, strip(RECURRENT), strip(INITIAL), latency_text
    ).properties(
        width=PLOT_WIDTH,
        height=alt.Step(step),
        title=alt.Title(
            "When CRS starts after a dose",
            subtitle=[
                "Each episode at its latency after the latest dose at or before onset:",
                "recurrent episodes filled circles, initial episodes (step-up or first",
                "dose) hollow diamonds.",
                *notes,
            ],
        ),
    )
    recurrent = rows.filter(pl.col("interval_days").is_not_null() & (pl.col("interval_days") > 0))
    low = float(recurrent.select(pl.col("interval_days").min()).item() or 1.0) / 1.25
    high = float(recurrent.select(pl.col("interval_days").max()).item() or 1.0) * 1.25
    ticks = [t for t in INTERVAL_TICKS if low <= t <= high]
    interval_summary = recurrent.group_by("group", maintain_order=True).agg(
        pl.len().alias("n"), pl.col("interval_days").median().alias("median")
    )
    if not labelled:
        interval_summary = interval_summary.head(0)
    interval_text = _summary_text(
        interval_summary.with_columns(
            pl.format("n = {}, median {} d", "n", pl.col("median").round(0).cast(pl.Int64)).alias(
                "text"
            ),
            pl.lit(high).alias("at"),
        ),
        y,
        log=True,
    )
    x_interval = alt.X(
        "interval_days:Q",
        title="Days between consecutive recurrent episodes (log scale)",
        scale=alt.Scale(type="log", domain=[low, high], nice=False),
        axis=alt.Axis(values=ticks, format="d"),
    )
    gap_color = alt.ColorValue(
        **alt.condition(alt.datum.gap, alt.value(GAP_COLOR), alt.value(INTERVAL_COLOR))
    )
    if binned:
        interval_points = (
            alt.Chart(inline_data(binned_intervals(recurrent)))
            .mark_point(filled=True, size=size, opacity=0.85)
            .encode(
                x=x_interval,
                y=y,
                color=gap_color,
                size=alt.Size(
                    "intervals:Q",
                    title="Intervals",
                    scale=alt.Scale(range=[size * 0.5, size * 6], zero=False),
                    legend=alt.Legend(orient="top"),
                ),
                tooltip=[
                    alt.Tooltip("group:N", title=group_title),
                    alt.Tooltip("days:N", title="Days between episodes"),
                    alt.Tooltip("intervals:Q", title="Intervals", format="d"),
                    alt.Tooltip("gap:N", title="Gap"),
                ],
            )
        )
    else:
        interval_points = (
            alt.Chart(inline_data(recurrent))
            .mark_point(filled=True, size=size, opacity=0.85)
            .encode(x=x_interval, y=y, yOffset=y_offset, color=gap_color, tooltip=tooltip)
        )
    intervals = alt.layer(interval_points, interval_text).properties(
        width=PLOT_WIDTH,
        height=alt.Step(step),
        title=alt.Title(
            "How often it recurs",
            subtitle="Grey: a gap longer than twice the case's median interval.",
        ),
    )
    chart = alt.vconcat(latency, intervals, spacing=36).resolve_scale(
        color="independent", shape="independent", size="independent"
    )
    return apply_theme(chart)
