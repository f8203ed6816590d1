"""The Kaplan–Meier chart spec: layers, scales, data and the bounded number of marks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from bsab_explorer.analyses.survival import CIMethod, SurvivalSummary, summarise_survival
from bsab_explorer.charts.survival import (
    MAX_CENSOR_MARKS,
    MAX_CURVE_POINTS,
    RISK_TITLE_HEIGHT,
    ROW_HEIGHT,
    X_AXIS_ROOM,
    choose_breaks,
    km_chart,
    km_chart_data,
)
from bsab_explorer.charts.theme import GROUP_PALETTE
from bsab_explorer.schema import DAYS_PER_MONTH

REFERENCE = Path(__file__).parent.parent / "reference" / "survival"


def lung(ci: CIMethod = CIMethod.LOG, by: str | None = "sex") -> SurvivalSummary:
    raw = pl.read_csv(REFERENCE / "lung.csv")
    frame = raw.with_columns(
        pl.col("time").cast(pl.Float64).alias("pfs_days"),
        (pl.col("event").cast(pl.String).str.to_uppercase() == "TRUE").alias("pfs_event"),
    )
    return summarise_survival(frame, "pfs", by=by, ci=ci)


def spec(summary: SurvivalSummary, **options: Any) -> dict[str, Any]:
    return km_chart(summary, **options).to_dict()


def curves(chart_spec: dict[str, Any]) -> dict[str, Any]:
    """The curves' layers of a Kaplan–Meier spec (the first layer of its one view)."""
    part: dict[str, Any] = chart_spec["layer"][0]
    return part


def tables(chart_spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The count layer of each table under the curves, in order."""
    return [table["layer"][2] for table in chart_spec["layer"][1:]]


def table_titles(chart_spec: dict[str, Any]) -> list[str]:
    return [
        dataset_rows(chart_spec, table["layer"][0])[0]["text"] for table in chart_spec["layer"][1:]
    ]


def dataset_rows(chart_spec: dict[str, Any], panel: dict[str, Any]) -> list[dict[str, Any]]:
    data = panel.get("data") or chart_spec["data"]
    rows: list[dict[str, Any]] = chart_spec["datasets"][data["name"]]
    return rows


def test_curve_panel_has_band_step_line_and_censor_ticks() -> None:
    chart = spec(lung())
    curve = curves(chart)
    marks = [layer["mark"] for layer in curve["layer"]]
    assert [m["type"] for m in marks] == ["area", "line", "point"]
    assert marks[0]["interpolate"] == marks[1]["interpolate"] == "step-after"
    assert marks[2]["shape"].startswith("M0,")
    line = curve["layer"][1]["encoding"]
    # The curves end where the axis and the table begin, counted from the view's bottom.
    below = X_AXIS_ROOM + RISK_TITLE_HEIGHT + 2 * ROW_HEIGHT + 10
    assert chart["height"] == 420 + below
    assert line["y"]["scale"] == {
        "domain": [0, 1],
        "range": [{"expr": f"height - {below}"}, 0],
        "clamp": True,
    }
    assert line["y"]["axis"]["format"] == ".0%"
    assert line["x"]["scale"]["domain"] == [0.0, 36.0]
    assert line["x"]["axis"]["values"] == [0.0, 6.0, 12.0, 18.0, 24.0, 30.0, 36.0]
    assert line["color"]["scale"] == {"domain": ["1", "2"], "range": list(GROUP_PALETTE[:2])}


def test_ci_method_and_logrank_are_printed_on_the_figure() -> None:
    title = spec(lung(CIMethod.LOG_LOG))["title"]
    assert title["text"] == "Progression-free survival by Sex"
    assert title["subtitle"][0] == "95 % CI: log-log transformation"
    assert title["subtitle"][1] == "Log-rank p = 0.001 (χ² = 10.33, df = 1)"


def test_p_value_never_appears_without_the_small_group_warning() -> None:
    summary = lung(by="ph_ecog")
    subtitle = spec(summary)["title"]["subtitle"]
    assert subtitle[1].startswith("Log-rank p < 0.001")
    assert (
        subtitle[2]
        == "Fewer than 10 patients in 3 (n = 1): tests and hazard ratios are unreliable."
    )


def test_ci_band_and_censor_ticks_can_be_turned_off() -> None:
    curve = curves(spec(lung(), show_ci=False, show_censors=False))
    assert [layer["mark"]["type"] for layer in curve["layer"]] == ["line"]


def test_number_at_risk_equals_summary_survfit_and_shares_the_x_scale() -> None:
    chart = spec(lung(), breaks=[0, 6, 12, 24])
    curve_x = curves(chart)["layer"][1]["encoding"]["x"]["scale"]
    (risk,) = tables(chart)
    assert risk["mark"]["type"] == "text"
    assert risk["encoding"]["x"]["scale"] == curve_x
    assert table_titles(chart) == ["Number at risk"]
    rows = dataset_rows(chart, risk)
    # R: summary(survfit(Surv(time, status) ~ sex, lung), times = c(6, 12, 24) * 30.4375)$n.risk
    reference = json.loads((REFERENCE / "reference.json").read_text())
    landmarks = reference["datasets"]["lung"]["groupings"]["sex"]["ci"]["log"]["landmarks"]
    for group in ("1", "2"):
        at = {r["months"]: r["n_risk"] for r in rows if r["group"] == group}
        assert [at[6.0], at[12.0], at[24.0]] == landmarks[group]["n_risk"]
    assert {r["months"]: r["n_risk"] for r in rows if r["group"] == "1"}[0.0] == 138
    assert risk["encoding"]["text"]["format"] == "d"  # every digit of a cohort's counts


def test_cumulative_rows_are_optional_panels() -> None:
    chart = spec(lung(), risk_rows=("n_risk", "cum_events", "cum_censored"))
    titles = table_titles(chart)
    assert titles == ["Number at risk", "Cumulative events", "Cumulative censored"]
    assert [p["encoding"]["text"]["field"] for p in tables(chart)] == [
        "n_risk",
        "cum_events",
        "cum_censored",
    ]
    assert len(spec(lung(), risk_rows=())["layer"]) == 1
    with pytest.raises(ValueError, match="unknown risk_rows"):
        km_chart(lung(), risk_rows=("deaths",))


def test_curve_starts_at_one_and_keeps_only_step_vertices() -> None:
    summary = lung()
    data = km_chart_data(summary)
    first = data.steps.group_by("group", maintain_order=True).first()
    assert first["months"].to_list() == [0.0, 0.0]
    assert first["surv"].to_list() == [1.0, 1.0]
    for group in summary.groups:
        table = group.curve.table
        steps = data.steps.filter(pl.col("group") == group.label)
        # time 0, each distinct event time, and the last follow-up when it is a censoring
        expected = 1 + table.filter(pl.col("n_event") > 0).height + int(table["n_event"][-1] == 0)
        assert steps.height == expected
        assert steps["months"][-1] == pytest.approx(table["time"][-1] / DAYS_PER_MONTH)
    censored = data.censors.filter(pl.col("group") == "1")
    assert censored.height == summary.groups[0].curve.table.filter(pl.col("n_censor") > 0).height


def test_a_million_patients_send_a_bounded_number_of_points() -> None:
    rng = np.random.default_rng(3)
    n = 1_000_000
    frame = pl.DataFrame(
        {
            "os_days": rng.exponential(500.0, n),
            "os_event": rng.random(n) < 0.5,
            "emd": rng.random(n) < 0.3,
        }
    )
    summary = summarise_survival(frame, "os", by="emd")
    data = km_chart_data(summary)
    for label in ("No", "Yes"):
        assert data.steps.filter(pl.col("group") == label).height <= MAX_CURVE_POINTS + 2
        assert data.censors.filter(pl.col("group") == label).height <= MAX_CENSOR_MARKS
    chart = km_chart(summary)
    assert len(chart.to_json()) < 600_000
    # A registry's counts in 3 significant digits (549,851 -> "550k"): 7 digits at month 0 ran
    # into the group names; the tooltip keeps every digit.
    (risk,) = tables(chart.to_dict())
    assert risk["encoding"]["text"]["format"] == ".3s"
    assert {t["format"] for t in risk["encoding"]["tooltip"][2:]} == {"d"}


@pytest.mark.parametrize(
    ("max_months", "breaks"),
    [
        (33.8, (0, 6, 12, 18, 24, 30, 36)),
        (5.3, (0, 1, 2, 3, 4, 5, 6)),
        (12.0, (0, 3, 6, 9, 12)),
        (0.0, (0, 3)),
    ],
)
def test_breaks_are_round_month_steps(max_months: float, breaks: tuple[float, ...]) -> None:
    assert choose_breaks(max_months) == breaks


def test_an_empty_selection_draws_a_message() -> None:
    empty = pl.DataFrame(schema={"pfs_days": pl.Float64, "pfs_event": pl.Boolean})
    chart = spec(summarise_survival(empty, "pfs"))
    (panel,) = chart["layer"]
    assert panel["mark"]["type"] == "text"
    assert dataset_rows(chart, panel) == [
        {"text": "No patients with a recorded time in this selection"}
    ]


def test_band_spans_the_last_step_of_a_curve_that_reaches_zero() -> None:
    frame = pl.DataFrame(
        {"pfs_days": [30.0, 60.0, 60.0, 90.0, 120.0], "pfs_event": [True, True, False, True, True]}
    )
    summary = summarise_survival(frame, "pfs")
    # R: lower/upper are NA where surv is 0; the band keeps the previous step's interval there.
    assert summary.groups[0].curve.table["lower"].to_list()[-1] is None
    steps = km_chart_data(summary).steps
    assert steps["surv"].to_list()[-1] == 0.0
    assert steps["lower"].to_list()[-1] is None  # the tooltip says what R says
    assert steps["band_lower"].to_list()[-1] == steps["lower"].to_list()[-2]
    assert steps["band_upper"].to_list()[-1] == steps["upper"].to_list()[-2]


def test_legend_sits_above_the_plot_and_names_the_variable() -> None:
    chart = spec(lung())
    legend = curves(chart)["layer"][0]["encoding"]["color"]["legend"]
    assert legend["orient"] == "top"
    assert legend["labelExpr"].startswith(
        '{"1": "Sex: 1 (n = 138, events = 112)", "2": "Sex: 2 (n = 90, events = 53)"}'
    )
    labels = chart["layer"][1]["layer"][1]
    assert dataset_rows(chart, labels) == [
        {"group": "1", "name": "Sex: 1"},
        {"group": "2", "name": "Sex: 2"},
    ]
    # The overall curve keeps its own name.
    overall = spec(lung(by=None))
    assert dataset_rows(overall, overall["layer"][1]["layer"][1])[0]["name"] == "All patients"


def test_the_time_axis_names_its_origin_and_sits_under_the_curves() -> None:
    chart = spec(lung(), risk_rows=("n_risk", "cum_events"))
    x = curves(chart)["layer"][1]["encoding"]["x"]
    assert x["title"] == "Months since first bispecific dose"
    # The view is the curves (420 px), the axis room and two tables of two rows.
    assert chart["height"] == 420 + X_AXIS_ROOM + 2 * (RISK_TITLE_HEIGHT + 2 * ROW_HEIGHT + 10)
    assert x["axis"]["offset"] == 420 - chart["height"]
    # A drawing of another height moves the tables with the bottom of the view.
    heading, _, counts = chart["layer"][2]["layer"]
    assert heading["mark"]["y"] == {"expr": f"height - {RISK_TITLE_HEIGHT + 2 * ROW_HEIGHT + 10}"}
    assert counts["encoding"]["y"]["scale"]["range"] == [
        {"expr": f"height - {2 * ROW_HEIGHT + 10}"},
        {"expr": "height - 10"},
    ]


def test_median_reference_lines_are_an_option() -> None:
    summary = lung()
    assert [layer["mark"]["type"] for layer in curves(spec(summary))["layer"]] == [
        "area",
        "line",
        "point",
    ]
    chart = spec(summary, show_median=True)
    rule = curves(chart)["layer"][1]
    assert rule["mark"]["type"] == "rule"
    assert rule["encoding"]["tooltip"] == {"value": None}
    medians = [g.median.months for g in summary.groups]
    # R: summary(survfit(Surv(time, status) ~ sex, lung))$table[, "median"] / 30.4375
    assert medians == pytest.approx([270 / DAYS_PER_MONTH, 426 / DAYS_PER_MONTH])
    rows = dataset_rows(chart, rule)
    assert rows == [
        {"x": 0.0, "x2": medians[0], "y": 0.5, "y2": 0.5},
        {"x": medians[0], "x2": medians[0], "y": 0.5, "y2": 0.0},
        {"x": 0.0, "x2": medians[1], "y": 0.5, "y2": 0.5},
        {"x": medians[1], "x2": medians[1], "y": 0.5, "y2": 0.0},
    ]
