"""One case's timeline: a lane per kind of event, days (or months) since the first dose.

Doses are ticks (step-up and treatment doses in two colours), CRS and ICANS are points coloured
by ASTCT grade, other events have their own legended shapes, courses with an end day are bars,
schedule changes, holds and discontinuation are labelled vertical rules, responses are labels.
The x axis zooms and pans (drag, wheel); every mark has a tooltip with its detail.

The encoding constants here are shared with the swimmer view (`charts.swimmer`).
"""

from __future__ import annotations

from typing import Any, Literal

import altair as alt
import polars as pl

from bsab_explorer.charts.theme import FONT_SIZE, ChartT, apply_theme
from bsab_explorer.schema import DAYS_PER_MONTH, STEP_UP_PREFIX

Unit = Literal["days", "months"]

#: ASTCT grade colours, light to dark (ordered: the darker, the worse), an inferno-like ramp
#: whose neighbours stay apart for deuteranopes (tests/charts/test_chart_legibility.py).
GRADE_COLORS = {1: "#f7d13d", 2: "#f1731d", 3: "#b5367a", 4: "#4a0c6b", 5: "#000000"}
STEP_UP_COLOR = "#7b3294"
TREATMENT_COLOR = "#5a5a5a"
STEP_UP_LABEL = "Step-up dose"
TREATMENT_LABEL = "Treatment dose"

# lane, legend label, colour, shape of each event code (shape None = not a point). The colours of
# the legended events are Okabe–Ito's and Paul Tol's, chosen so that every two of them stay
# apart for deuteranopes (tests/charts/test_chart_legibility.py).
_LANES: dict[str, tuple[str, str, str, str | None]] = {
    "bsab_dose": ("BsAb dose", "BsAb dose", TREATMENT_COLOR, None),
    "crs": ("CRS", "CRS", "#000000", "circle"),
    "icans": ("ICANS", "ICANS", "#000000", "triangle-up"),
    "fever": ("Fever", "Fever", "#d55e00", "triangle-down"),
    "infection": ("Infection", "Infection", "#000000", "diamond"),
    "workup_negative": ("Work-up", "Work-up negative", "#44aa99", "square"),
    "tocilizumab": ("Tocilizumab", "Tocilizumab", "#332288", "circle"),
    "corticosteroid": ("Corticosteroid", "Corticosteroid", "#117733", "circle"),
    "antipyretic": ("Antipyretic", "Antipyretic", "#56b4e9", "circle"),
    "antibiotic": ("Antibiotic", "Antibiotic", "#aa4499", "circle"),
    "ivig": ("IVIG", "IVIG", "#f0e442", "circle"),
    "adverse_event": ("Adverse event", "Adverse event", "#882255", "cross"),
    "response": ("Response", "Response", "#08306b", None),
    "schedule_change": ("Schedule", "Schedule change", "#333333", None),
    "treatment_hold": ("Schedule", "Treatment hold", "#999999", None),
    "discontinuation": ("Schedule", "Discontinuation", "#d7191c", None),
}
#: Lanes from top to bottom (rule labels first, under the title).
LANE_ORDER = (
    "Schedule",
    *dict.fromkeys(lane for lane, *_ in _LANES.values() if lane != "Schedule"),
)
GRADED_POINTS = ("crs", "icans")
RULE_EVENTS = ("schedule_change", "treatment_hold", "discontinuation")
COURSE_EVENTS = ("corticosteroid", "antibiotic", "ivig", "adverse_event")
#: Legend of the shaped, category-coloured events (label -> (colour, shape)).
EVENT_LEGEND = {
    label: (color, shape)
    for code, (_, label, color, shape) in _LANES.items()
    if shape is not None and code not in GRADED_POINTS
}
#: Colour and shape legends of the layers kept apart (grade, event kind, dose kind).
INDEPENDENT_LEGENDS = alt.Resolve(
    scale=alt.ScaleResolveMap(color="independent", shape="independent")
)
LANE_STEP = 44
#: Space between a rule and its label, and the width of one bold character of the label at
#: its largest (presentation mode's text size), in pixels: what the label needs beside its rule.
RULE_LABEL_GAP = 6
RULE_LABEL_CHAR_PX = 13
#: A tall thin bar, the legend symbol of a dose tick.
TICK_SYMBOL = "M-0.2,-1L0.2,-1L0.2,1L-0.2,1Z"
CHART_WIDTH = 960


def event_label(code: str) -> str:
    """Legend label of an event code."""
    return _LANES[code][1] if code in _LANES else code


def grade_scale() -> alt.Scale:
    """Ordered ASTCT grade colour scale (domain "Grade 1" … "Grade 4", the CRS/ICANS grades)."""
    grades = [g for g in GRADE_COLORS if g <= 4]
    return alt.Scale(domain=[f"Grade {g}" for g in grades], range=[GRADE_COLORS[g] for g in grades])


def event_scales(present: set[str] | None = None) -> tuple[alt.Scale, alt.Scale]:
    """Colour and shape scales of the category-coloured event points (present labels only)."""
    labels = [k for k in EVENT_LEGEND if present is None or k in present] or list(EVENT_LEGEND)
    return (
        alt.Scale(domain=labels, range=[EVENT_LEGEND[k][0] for k in labels]),
        alt.Scale(domain=labels, range=[EVENT_LEGEND[k][1] for k in labels]),
    )


def _short_rule_label(code: str, detail: str | None) -> str:
    if code == "schedule_change":
        return (detail or "schedule change").replace("->", "→")
    if code == "treatment_hold":
        return "hold"
    # Short, as "hold": a label that must be written left of a late rule stays clear of its
    # neighbours' (the tooltip and the case table say "discontinuation").
    return "stop"


def _x(unit: Unit) -> tuple[pl.Expr, pl.Expr, str]:
    scale = DAYS_PER_MONTH if unit == "months" else 1.0
    title = "Months since first dose" if unit == "months" else "Days since first dose"
    return (pl.col("day") / scale).alias("x"), (pl.col("end_day") / scale).alias("x2"), title


def _layer_kind() -> pl.Expr:
    event = pl.col("event")
    has_end = pl.col("end_day").is_not_null() & (pl.col("end_day") > pl.col("day"))
    return (
        pl.when(event == "bsab_dose")
        .then(pl.lit("dose"))
        .when(event.is_in(GRADED_POINTS))
        .then(pl.lit("graded"))
        .when(event == "response")
        .then(pl.lit("response"))
        .when(event.is_in(RULE_EVENTS))
        .then(pl.lit("rule"))
        .when(event.is_in(COURSE_EVENTS) & has_end)
        .then(pl.lit("course"))
        .otherwise(pl.lit("point"))
    )


def timeline_data(events: pl.DataFrame, case_id: str, unit: Unit = "days") -> pl.DataFrame:
    """The chart's rows for one case: lane, layer kind, x, x2, labels and tooltip fields."""
    x, x2, _ = _x(unit)
    lanes = {code: lane for code, (lane, *_) in _LANES.items()}
    labels = {code: label for code, (_, label, *_) in _LANES.items()}
    step_up = pl.col("detail").fill_null("").str.starts_with(STEP_UP_PREFIX)
    frame = (
        events.filter(pl.col("case_id") == case_id)
        .filter(pl.col("event").is_in(list(_LANES)) & pl.col("day").is_not_null())
        .sort("day", maintain_order=True)
        .with_columns(
            x,
            x2,
            pl.col("event").replace_strict(lanes, return_dtype=pl.String).alias("lane"),
            pl.col("event").replace_strict(labels, return_dtype=pl.String).alias("label"),
            _layer_kind().alias("kind"),
            pl.when(pl.col("grade").is_not_null())
            .then(pl.format("Grade {}", pl.col("grade")))
            .alias("grade_label"),
            pl.when(pl.col("event") != "bsab_dose")
            .then(None)
            .when(step_up)
            .then(pl.lit(STEP_UP_LABEL))
            .otherwise(pl.lit(TREATMENT_LABEL))
            .alias("dose_kind"),
            (pl.col("day") / DAYS_PER_MONTH).round(1).alias("month"),
        )
    )
    rules = frame.filter(pl.col("kind") == "rule")
    rule_text = [
        _short_rule_label(code, detail)
        for code, detail in zip(rules["event"], rules["detail"], strict=True)
    ]
    # Alternate rule labels up and down so that neighbours do not overprint (the offset counts
    # from the top of the lane).
    rules = rules.with_columns(
        pl.Series("rule_label", rule_text, dtype=pl.String),
        (pl.int_range(pl.len()) % 2 * 16 + LANE_STEP / 2 - 8).alias("stagger"),
    )
    frame = pl.concat([frame.filter(pl.col("kind") != "rule"), rules], how="diagonal_relaxed").sort(
        "day", maintain_order=True
    )
    return frame.select(
        "case_id",
        "event",
        "label",
        "lane",
        "kind",
        "x",
        "x2",
        "day",
        "end_day",
        "month",
        "grade",
        "grade_label",
        "dose_kind",
        "detail",
        *(["rule_label", "stagger"] if "rule_label" in frame.columns else []),
    )


def _tooltip() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("label:N", title="Event"),
        alt.Tooltip("day:Q", title="Day", format=".1f"),
        alt.Tooltip("month:Q", title="Month", format=".1f"),
        alt.Tooltip("grade:Q", title="Grade", format="d"),
        alt.Tooltip("end_day:Q", title="Until day", format=".1f"),
        alt.Tooltip("detail:N", title="Detail"),
    ]


def timeline_layers(
    x_title: str,
    lanes: list[str],
    *,
    x_max: float,
    present: set[str] | None = None,
    zoom: bool = True,
    y_field: str = "lane",
) -> list[alt.Chart]:
    """The layers of a timeline (data supplied by the caller at the top level)."""
    # A little room left of day 0 so that marks on day 0 are not cut by the axis.
    x_scale = alt.Scale(domain=[-0.012 * x_max, x_max], nice=False)
    x = alt.X("x:Q", title=x_title, scale=x_scale, axis=alt.Axis(tickCount=12, labelOverlap=True))
    y = alt.Y(
        f"{y_field}:N",
        sort=lanes,
        title=None,
        scale=alt.Scale(domain=lanes),
        axis=alt.Axis(labelFontSize=FONT_SIZE, labelLimit=240, ticks=False, domain=False),
    )
    color, shape = event_scales(present)
    graded_codes = [c for c in GRADED_POINTS if present is None or event_label(c) in present]
    graded_codes = graded_codes or list(GRADED_POINTS)
    graded_labels = [event_label(c) for c in graded_codes]
    graded_shapes = [str(_LANES[c][3]) for c in graded_codes]
    tooltip = _tooltip()
    kind = alt.datum.kind

    def base(kind_name: str) -> alt.Chart:
        return alt.Chart().transform_filter(kind == kind_name)

    holds = (
        base("rule")
        .transform_filter(alt.datum.event == "treatment_hold")
        .mark_rect(color="#bdbdbd", opacity=0.28)
        .encode(x=x, x2=alt.X2("x2:Q"), tooltip=tooltip)
    )
    # Discontinuation in its own colour, its rule and its label alike.
    rule_color = alt.ColorValue(
        **alt.condition(
            alt.datum.event == "discontinuation",
            alt.value(_LANES["discontinuation"][2]),
            alt.value("#333333"),
        )
    )
    rules = (
        base("rule")
        .mark_rule(strokeWidth=2.5, strokeDash=[6, 4])
        .encode(x=x, color=rule_color, tooltip=tooltip)
    )
    # A label that would run past the plot's right edge (and under the legend) is written to
    # the left of its rule instead, whatever the zoom.
    overflows = (
        f"scale('x', datum.x) + {RULE_LABEL_GAP} + {RULE_LABEL_CHAR_PX} * length(datum.rule_label)"
        " > width"
    )
    rule_text = (
        base("rule")
        .mark_text(
            align=alt.ExprRef(expr=f"{overflows} ? 'right' : 'left'"),
            dx=alt.ExprRef(expr=f"{overflows} ? -{RULE_LABEL_GAP} : {RULE_LABEL_GAP}"),
            fontWeight="bold",
        )
        .encode(
            x=x,
            y=y,
            yOffset=alt.YOffset("stagger:Q", scale=None),
            text=alt.Text("rule_label:N"),
            color=rule_color,
        )
        .encode(tooltip=tooltip)
    )
    doses = (
        base("dose")
        .mark_tick(thickness=2.5)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "dose_kind:N",
                title="BsAb dose",
                legend=alt.Legend(symbolType=TICK_SYMBOL),
                scale=alt.Scale(
                    domain=[STEP_UP_LABEL, TREATMENT_LABEL], range=[STEP_UP_COLOR, TREATMENT_COLOR]
                ),
            ),
            size=alt.SizeValue(
                **alt.condition(alt.datum.dose_kind == STEP_UP_LABEL, alt.value(34), alt.value(22))
            ),
            tooltip=tooltip,
        )
    )
    if zoom:
        doses = doses.add_params(alt.selection_interval(bind="scales", encodings=["x"]))
    courses = (
        base("course")
        .mark_bar(size=14, cornerRadius=3, opacity=0.85)
        .encode(
            x=x,
            x2=alt.X2("x2:Q"),
            y=y,
            color=alt.Color("label:N", title="Event", scale=color, legend=None),
            tooltip=tooltip,
        )
    )
    points = (
        base("point")
        .mark_point(filled=True, size=190, opacity=0.95, strokeWidth=2.5)
        .encode(
            x=x,
            y=y,
            color=alt.Color("label:N", title="Event", scale=color),
            shape=alt.Shape("label:N", title="Event", scale=shape),
            tooltip=tooltip,
        )
    )
    graded = (
        base("graded")
        .mark_point(filled=True, size=240, stroke="#222222", strokeWidth=1.2, opacity=1)
        .encode(
            x=x,
            y=y,
            color=alt.Color("grade_label:N", title="ASTCT grade", scale=grade_scale()),
            shape=alt.Shape(
                "label:N",
                title="CRS / ICANS",
                scale=alt.Scale(domain=graded_labels, range=graded_shapes),
            ),
            tooltip=tooltip,
        )
    )
    responses = (
        base("response")
        .mark_text(fontSize=FONT_SIZE + 1, fontWeight="bold", color=_LANES["response"][2])
        .encode(x=x, y=y, text=alt.Text("detail:N"), tooltip=tooltip)
    )
    return [holds, rules, doses, courses, points, graded, responses, rule_text]


def inline_data(frame: pl.DataFrame) -> dict[str, Any]:
    """Rows as a plain inline-data dict (nulls dropped).

    A plain dict, not `alt.Data`: Altair validates `alt.Data` values row by row (seconds for
    thousands of rows) and caps data frames at 5000 rows; a dict is neither validated nor capped,
    and Streamlit still ships it as Arrow.
    """
    return {
        "values": [
            {k: v for k, v in row.items() if v is not None} for row in frame.iter_rows(named=True)
        ]
    }


def with_data(chart: ChartT, frame: pl.DataFrame) -> ChartT:
    """`chart` with `frame` as its top-level inline data, attached last.

    Altair deep-copies inline data on every chart method (`properties`, `configure`, ...), so
    the rows are attached once, after every other step.
    """
    chart.data = inline_data(frame)
    return chart


def timeline_chart(
    events: pl.DataFrame,
    case_id: str,
    unit: Unit = "days",
    *,
    title: str | None = None,
) -> alt.LayerChart:
    """One case's timeline, a lane per kind of event; the x axis zooms and pans."""
    rows = timeline_data(events, case_id, unit)
    _, _, x_title = _x(unit)
    present = set(rows["lane"].to_list())
    lanes = [lane for lane in LANE_ORDER if lane in present] or ["BsAb dose"]
    ends = rows.select(pl.max_horizontal(pl.col("x").max(), pl.col("x2").max())).item()
    # Room on the right for the last label.
    x_max = float(ends or 1.0) * 1.06
    # Everything in one constructor: each Altair chart method deep-copies every layer.
    chart = alt.LayerChart(
        layer=timeline_layers(x_title, lanes, x_max=x_max, present=set(rows["label"].to_list())),
        resolve=INDEPENDENT_LEGENDS,
        width=CHART_WIDTH,
        height=alt.Step(LANE_STEP),
        title=alt.Title(
            title or f"Case {case_id}: timeline",
            # Which data these are is said by the page banner and the export footer.
            subtitle="Days since the first bispecific dose"
            if unit == "days"
            else "Months since the first bispecific dose",
        ),
    )
    return with_data(apply_theme(chart), rows)
