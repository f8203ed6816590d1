"""All cases at once: one lane per case, the timeline's encoding condensed into each lane.

A grey bar spans each case's follow-up; doses are ticks, CRS and ICANS points coloured by
ASTCT grade, infections and fevers keep their shapes, holds are shaded, schedule changes
(weekly to every two weeks, to monthly) are short black rules and a discontinuation a red
cross. As in the trials' swimmer plots, the response assessments mark the first response, the
best response and progression, and an arrow ends the lane of a case still on treatment (its
outcome is not "discontinued" and no discontinuation is recorded). Lanes shrink with the number
of cases (5 or 200 stay readable); response labels are written only while there is room for
them. Management events and work-ups are left to the single-case timeline.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import polars as pl

from bsab_explorer.charts.theme import FONT_SIZE, apply_theme
from bsab_explorer.charts.timeline import (
    CHART_WIDTH,
    INDEPENDENT_LEGENDS,
    STEP_UP_COLOR,
    STEP_UP_LABEL,
    TICK_SYMBOL,
    TREATMENT_COLOR,
    TREATMENT_LABEL,
    event_label,
    event_scales,
    grade_scale,
    with_data,
)
from bsab_explorer.schema import DAYS_PER_MONTH, ORR_CODES, RESPONSE_CODES, STEP_UP_PREFIX

SortBy = Literal["follow_up", "episodes"]
Unit = Literal["days", "months"]

#: Events drawn in the swimmer view (management and work-ups stay on the timeline).
SWIMMER_EVENTS = (
    "bsab_dose",
    "crs",
    "icans",
    "fever",
    "infection",
    "treatment_hold",
    "schedule_change",
    "discontinuation",
    "response",
)
#: Up to this many cases, lanes carry their case label and response labels.
LABELLED_CASES = 30
#: Total height budget of the lanes, in pixels.
HEIGHT_BUDGET = 900
MIN_STEP, MAX_STEP = 5, 48
DISCONTINUATION_COLOR = "#d7191c"
#: Rows above which treatment doses are drawn as one bar per case instead of ticks.
MAX_ROWS = 4500
ON_TREATMENT = "on_treatment"
#: At most this many lanes are drawn (first in the chosen order): more cannot be read on a
#: screen, and a registry of thousands of cases would send the browser ~10 rows per case.
MAX_LANES = 200
GRADED_SHAPES = {"CRS": "circle", "ICANS": "triangle-up"}
#: Milestones a response assessment can mark, with their shape and colour.
FIRST_RESPONSE = "First response"
BEST_RESPONSE = "Best response"
FIRST_AND_BEST = "First and best response"
PROGRESSION = "Progression"
MILESTONES = {
    FIRST_RESPONSE: ("diamond", "#6baed6"),
    BEST_RESPONSE: ("diamond", "#08306b"),
    FIRST_AND_BEST: ("diamond", "#CC79A7"),
    PROGRESSION: ("triangle-down", DISCONTINUATION_COLOR),
}
#: Outcomes of a case that leave it on treatment (unless a discontinuation is recorded).
ONGOING_OUTCOMES = ("continued", "dose_reduced")
ONGOING_COLOR = "#525252"


def _milestones(rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` with `milestone` set on the response assessments that mark one (else null)."""
    is_response = pl.col("kind") == "response"
    rank = pl.col("detail").replace_strict(
        {code: i for i, code in enumerate(RESPONSE_CODES)}, default=None, return_dtype=pl.Int64
    )
    responding = is_response & pl.col("detail").is_in(ORR_CODES)
    progressed = is_response & (pl.col("detail") == "PD")
    ranked = rows.with_columns(
        rank.alias("_rank"),
        pl.col("x").filter(responding).min().over("case_id").alias("_first"),
        pl.col("x").filter(progressed).min().over("case_id").alias("_progression"),
        rank.filter(responding).min().over("case_id").alias("_best_rank"),
    ).with_columns(
        pl.col("x")
        .filter(responding & (pl.col("_rank") == pl.col("_best_rank")))
        .min()
        .over("case_id")
        .alias("_best")
    )
    first = responding & (pl.col("x") == pl.col("_first"))
    best = responding & (pl.col("_rank") == pl.col("_best_rank")) & (pl.col("x") == pl.col("_best"))
    milestone = (
        pl.when(first & best)
        .then(pl.lit(FIRST_AND_BEST))
        .when(first)
        .then(pl.lit(FIRST_RESPONSE))
        .when(best)
        .then(pl.lit(BEST_RESPONSE))
        .when(progressed & (pl.col("x") == pl.col("_progression")))
        .then(pl.lit(PROGRESSION))
    )
    return ranked.with_columns(milestone.alias("milestone")).drop(
        "_rank", "_first", "_progression", "_best_rank", "_best"
    )


def _ongoing(cases: pl.DataFrame, events: pl.DataFrame) -> pl.Series:
    """Ids of the cases still on treatment at their last follow-up."""
    stopped = events.filter(pl.col("event") == "discontinuation").get_column("case_id")
    return cases.filter(
        pl.col("outcome").is_in(ONGOING_OUTCOMES) & ~pl.col("case_id").is_in(stopped.implode())
    ).get_column("case_id")


def lane_step(n_cases: int) -> int:
    """Pixel height of one case's lane: 48 for a handful of cases, down to 5 for hundreds."""
    return max(MIN_STEP, min(MAX_STEP, HEIGHT_BUDGET // max(n_cases, 1)))


def case_order(events: pl.DataFrame, cases: pl.DataFrame, sort_by: SortBy) -> list[str]:
    """Case ids, top to bottom: longest follow-up first, or most CRS episodes first."""
    ids = pl.concat(
        [cases.select("case_id"), events.select("case_id")], how="vertical_relaxed"
    ).unique(maintain_order=True)
    stats = ids.join(
        events.group_by("case_id").agg(
            pl.max_horizontal(pl.col("day").max(), pl.col("end_day").max()).alias("follow_up"),
            (pl.col("event") == "crs").sum().alias("episodes"),
        ),
        on="case_id",
        how="left",
    ).with_columns(pl.col("follow_up", "episodes").fill_null(0))
    keys = ["follow_up", "episodes"] if sort_by == "follow_up" else ["episodes", "follow_up"]
    return stats.sort([*keys, "case_id"], descending=[True, True, False])["case_id"].to_list()


def swimmer_data(cases: pl.DataFrame, events: pl.DataFrame, unit: Unit = "days") -> pl.DataFrame:
    """The swimmer's rows: a follow-up span per case, then its key events.

    Treatment doses are ticks while the rows stay within `MAX_ROWS`; beyond that each case's
    treatment doses become one "on treatment" bar (first to last dose), which keeps hundreds of
    cases small and reads better than ticks in lanes a few pixels high.
    """
    scale = DAYS_PER_MONTH if unit == "months" else 1.0
    kept = events.filter(pl.col("event").is_in(SWIMMER_EVENTS) & pl.col("day").is_not_null())
    step_up = pl.col("detail").fill_null("").str.starts_with(STEP_UP_PREFIX)
    labels = {code: event_label(code) for code in SWIMMER_EVENTS}
    kind = (
        pl.when(pl.col("event") == "bsab_dose")
        .then(pl.lit("dose"))
        .when(pl.col("event").is_in(["crs", "icans"]))
        .then(pl.lit("graded"))
        .when(pl.col("event") == "treatment_hold")
        .then(pl.lit("hold"))
        .when(pl.col("event").is_in(["schedule_change", "discontinuation", "response"]))
        .then(pl.col("event"))
        .otherwise(pl.lit("point"))
    )
    is_dose = pl.col("event") == "bsab_dose"
    rows = kept.select(
        "case_id",
        kind.alias("kind"),
        # Doses are most of the rows: they carry only what their tooltip shows.
        pl.when(~is_dose)
        .then(pl.col("event").replace_strict(labels, return_dtype=pl.String))
        .alias("label"),
        (pl.col("day") / scale).round(3).alias("x"),
        (pl.col("end_day") / scale).round(3).alias("x2"),
        pl.when(pl.col("grade").is_not_null()).then(pl.format("Grade {}", pl.col("grade")))
        .alias("grade_label"),
        pl.when(is_dose)
        .then(pl.when(step_up).then(pl.lit(STEP_UP_LABEL)).otherwise(pl.lit(TREATMENT_LABEL)))
        .alias("dose_kind"),
        pl.when(~is_dose).then(pl.col("detail")).alias("detail"),
    )  # fmt: skip
    ongoing = _ongoing(cases, events).implode()
    spans = (
        events.group_by("case_id")
        .agg(pl.max_horizontal(pl.col("day").max(), pl.col("end_day").max()).alias("day"))
        .select(
            "case_id",
            pl.lit("follow_up").alias("kind"),
            pl.lit("Follow-up").alias("label"),
            pl.lit(0.0).alias("x"),
            (pl.col("day") / scale).round(3).alias("x2"),
            # Only true is written: a null costs no bytes in the chart's data.
            pl.when(pl.col("case_id").is_in(ongoing)).then(pl.lit(True)).alias("ongoing"),
        )
    )
    rows = _milestones(rows)
    treatment = pl.col("dose_kind") == TREATMENT_LABEL
    if rows.height + spans.height > MAX_ROWS:
        on_treatment = (
            rows.filter(treatment)
            .group_by("case_id")
            .agg(pl.col("x").min().alias("x"), pl.col("x").max().alias("x2"))
            .with_columns(
                pl.lit(ON_TREATMENT).alias("kind"), pl.lit("On treatment (doses)").alias("label")
            )
        )
        rows = pl.concat([rows.filter(~treatment.fill_null(False)), on_treatment], how="diagonal")
    return pl.concat([spans, rows], how="diagonal_relaxed").sort("case_id", maintain_order=True)


def swimmer_chart(
    cases: pl.DataFrame,
    events: pl.DataFrame,
    sort_by: SortBy = "follow_up",
    unit: Unit = "days",
    *,
    title: str = "All cases: doses, CRS and key events",
) -> alt.LayerChart:
    """One lane per case, sorted by follow-up or by number of CRS episodes; timeline marks."""
    order = case_order(events, cases, sort_by)
    total = len(order)
    if total > MAX_LANES:
        order = order[:MAX_LANES]
        kept = pl.Series(order, dtype=pl.String).implode()
        cases = cases.filter(pl.col("case_id").is_in(kept))
        events = events.filter(pl.col("case_id").is_in(kept))
    n = len(order)
    step = lane_step(n)
    labelled = n <= LABELLED_CASES
    point_size = float(min(200, max(14, (step * 0.75) ** 2)))
    x_title = "Months since first dose" if unit == "months" else "Days since first dose"
    time_title = "Month" if unit == "months" else "Day"
    sort_text = "longest follow-up" if sort_by == "follow_up" else "most CRS episodes"
    sort_title = "Longest follow-up" if sort_by == "follow_up" else "Most CRS episodes"
    x = alt.X("x:Q", title=x_title, axis=alt.Axis(tickCount=12, labelOverlap=True))
    y = alt.Y(
        "case_id:N",
        sort=order,
        scale=alt.Scale(domain=order),
        title=None if labelled else f"{n} cases, {sort_text} first",
        axis=alt.Axis(labels=labelled, ticks=False, domain=False, labelFontSize=FONT_SIZE),
    )
    tooltip = [
        alt.Tooltip("case_id:N", title="Case"),
        alt.Tooltip("label:N", title="Event"),
        alt.Tooltip("x:Q", title=time_title, format=".1f"),
        alt.Tooltip("grade_label:N", title="Grade"),
        alt.Tooltip("detail:N", title="Detail"),
    ]
    dose_tooltip = [tooltip[0], alt.Tooltip("dose_kind:N", title="Event"), tooltip[2]]
    rows = swimmer_data(cases, events, unit)
    present = set(rows.filter(pl.col("kind") == "point")["label"].to_list())
    graded_present = set(rows.filter(pl.col("kind") == "graded")["label"].to_list())
    graded = [g for g in GRADED_SHAPES if g in graded_present] or ["CRS"]
    collapsed = rows.filter(pl.col("kind") == ON_TREATMENT).height > 0
    marked = set(rows.get_column("milestone").drop_nulls().to_list())
    milestones = [m for m in MILESTONES if m in marked] or [FIRST_RESPONSE]
    doses_text = "dark bar: on treatment (first to last dose) · " if collapsed else ""
    color, shape = event_scales(present)

    def base(kind: str) -> alt.Chart:
        return alt.Chart().transform_filter(alt.datum.kind == kind)

    band = max(2.0, step * 0.35)
    layers: list[alt.Chart] = [
        base("follow_up")
        .mark_bar(size=band, color="#d9d9d9")
        .encode(x=x, x2=alt.X2("x2:Q"), y=y, tooltip=tooltip),
        base(ON_TREATMENT)
        .mark_bar(size=max(2.0, step * 0.5), color=TREATMENT_COLOR, opacity=0.55)
        .encode(x=x, x2=alt.X2("x2:Q"), y=y, tooltip=tooltip),
        base("hold")
        .mark_bar(size=max(3.0, step * 0.7), color="#bdbdbd", opacity=0.6)
        .encode(x=x, x2=alt.X2("x2:Q"), y=y, tooltip=tooltip),
        base("dose")
        .mark_tick(thickness=1 if n > LABELLED_CASES else 2, size=max(3.0, step * 0.7))
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "dose_kind:N",
                title="BsAb dose",
                scale=alt.Scale(
                    domain=[STEP_UP_LABEL, TREATMENT_LABEL], range=[STEP_UP_COLOR, TREATMENT_COLOR]
                ),
                legend=alt.Legend(symbolType=TICK_SYMBOL),
            ),
            tooltip=dose_tooltip,
        )
        .add_params(alt.selection_interval(bind="scales", encodings=["x"])),
        base("schedule_change")
        .mark_tick(thickness=3, size=max(4.0, step * 0.95), color="#000000")
        .encode(x=x, y=y, tooltip=tooltip),
        base("graded")
        .mark_point(
            filled=True,
            size=point_size,
            stroke="#222222",
            strokeWidth=1 if n <= LABELLED_CASES else 0,
            opacity=1,
        )
        .encode(
            x=x,
            y=y,
            color=alt.Color("grade_label:N", title="ASTCT grade", scale=grade_scale()),
            shape=alt.Shape(
                "label:N",
                title="CRS / ICANS",
                scale=alt.Scale(domain=graded, range=[GRADED_SHAPES[g] for g in graded]),
            ),
            tooltip=tooltip,
        ),
        base("point")
        .mark_point(filled=True, size=point_size, opacity=0.95)
        .encode(
            x=x,
            y=y,
            color=alt.Color("label:N", title="Event", scale=color),
            shape=alt.Shape("label:N", title="Event", scale=shape),
            tooltip=tooltip,
        ),
        base("discontinuation")
        .mark_point(shape="cross", filled=True, size=point_size * 1.6, color=DISCONTINUATION_COLOR)
        .encode(x=x, y=y, tooltip=tooltip),
        alt.Chart()
        .transform_filter((alt.datum.kind == "follow_up") & alt.datum.ongoing)
        .mark_point(shape="triangle-right", filled=True, size=point_size, color=ONGOING_COLOR)
        .encode(
            x=alt.X("x2:Q"),
            y=y,
            tooltip=[
                tooltip[0],
                alt.Tooltip("x2:Q", title=f"{time_title} (last follow-up)", format=".1f"),
            ],
        ),
        alt.Chart()
        .transform_filter((alt.datum.kind == "response") & alt.datum.milestone)
        .mark_point(filled=True, size=point_size, opacity=1, yOffset=step * 0.3)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "milestone:N",
                title="Response",
                scale=alt.Scale(domain=milestones, range=[MILESTONES[m][1] for m in milestones]),
                legend=alt.Legend(labelLimit=240),
            ),
            shape=alt.Shape(
                "milestone:N",
                title="Response",
                scale=alt.Scale(domain=milestones, range=[MILESTONES[m][0] for m in milestones]),
            ),
            tooltip=[*tooltip[:3], alt.Tooltip("milestone:N", title="Marks"), tooltip[4]],
        ),
    ]
    if labelled:
        layers.append(
            base("response")
            .mark_text(dy=-step * 0.36, fontSize=FONT_SIZE - 3, fontWeight="bold", color="#08306b")
            .encode(x=x, y=y, text=alt.Text("detail:N"), tooltip=tooltip)
        )
    # Everything in one constructor: each Altair chart method deep-copies every layer.
    chart = alt.LayerChart(
        layer=layers,
        resolve=INDEPENDENT_LEGENDS,
        width=CHART_WIDTH,
        height=alt.Step(step),
        title=alt.Title(
            title,
            subtitle=[
                f"{sort_title} first."
                + (
                    f" The first {n} of {total} cases are shown; filter to see others."
                    if total > n
                    else ""
                ),
                f"Grey bar: follow-up · {doses_text}shaded: hold · black bar: schedule change · "
                "red cross: discontinuation · diamonds: first and best response · arrow: on "
                "treatment at last follow-up.",
            ],
        ),
    )
    return with_data(apply_theme(chart), rows)
