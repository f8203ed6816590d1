"""One case at a glance: its summary card and its recurrence summary, as label/value pairs."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bsab_explorer.analyses.listing import age_text
from bsab_explorer.formatting import format_proportion
from bsab_explorer.schema import CASES


@dataclass(frozen=True)
class CardLine:
    """One line of a card."""

    label: str
    value: str


def _text(value: object) -> str:
    return "not recorded" if value is None or value == "" else str(value)


def case_card(cases: pl.DataFrame, case_id: str) -> list[CardLine]:
    """Age/sex, isotype, stage, prior lines, bispecific and target, premedication, outcome."""
    rows = cases.filter(pl.col(CASES.key) == case_id)
    if rows.height == 0:
        return []
    shown = rows.with_columns(age_text("age_years")) if "age_years" in rows.columns else rows
    row = shown.row(0, named=True)
    subtype = " ".join(
        str(row[c]).replace("_", "-")
        for c in ("isotype", "light_chain")
        if row.get(c) not in (None, "")
    )
    premedication = row.get("premedication")
    return [
        CardLine("Age / sex", f"{_text(row.get('age_years'))} / {_text(row.get('sex'))}"),
        CardLine("Myeloma subtype", _text(subtype or None)),
        CardLine("Stage", _text(row.get("stage"))),
        CardLine("Prior lines", _text(row.get("prior_lines"))),
        CardLine("Bispecific (target)", f"{_text(row.get('bsab'))} ({_text(row.get('target'))})"),
        CardLine(
            "Premedication",
            ", ".join(p.strip() for p in str(premedication).split(";") if p.strip())
            if premedication
            else "not recorded",
        ),
        CardLine("Impact on treatment", _text(row.get("outcome")).replace("_", " ")),
    ]


def _range(row: dict[str, object], stem: str, unit: str) -> str:
    median, low, high = (row.get(f"{stem}_{k}") for k in ("median", "min", "max"))
    if median is None:
        return "—"
    return f"{median:g} {unit} (range {low:g}–{high:g})"


def recurrence_card(recurrence: pl.DataFrame, case_id: str) -> list[CardLine]:
    """The recurrence summary of one case (from `analyse_recurrence`) as readable lines."""
    rows = recurrence.filter(pl.col("case_id") == case_id)
    if rows.height == 0:
        return [CardLine("CRS episodes", "none recorded")]
    row = rows.row(0, named=True)
    first = (
        f"day {row['first_crs_day']:g}, grade {row['first_crs_grade']}"
        if row.get("first_crs_day") is not None
        else "none"
    )
    lines = [
        CardLine("Pattern", _text(row.get("pattern"))),
        CardLine(
            "CRS episodes",
            f"{row['n_episodes']} ({row.get('n_recurrent', 0)} recurrent)",
        ),
        CardLine("First CRS", first),
        CardLine("Interval between episodes", _range(row, "interval_days", "days")),
        CardLine("Latency after the dose", _range(row, "latency_hours", "h")),
        CardLine(
            "Worst grade, trend",
            f"{_text(row.get('max_grade'))}, {_text(row.get('grade_trend'))}",
        ),
    ]
    share = row.get("dose_crs_share")
    if share is not None:
        lines.append(
            CardLine(
                "Treatment doses followed by CRS within 72 h",
                f"{row.get('n_doses_followed_by_crs')} of {row.get('n_treatment_doses')} "
                f"({format_proportion(float(str(share)))} %)",
            )
        )
    lines.append(
        CardLine("Episodes near a documented infection", str(row["possible_infection_episodes"]))
    )
    management = [
        f"{row[k]} {name}"
        for k, name in (
            ("n_tocilizumab", "tocilizumab"),
            ("n_corticosteroid", "corticosteroid"),
            ("n_antipyretic", "antipyretic"),
        )
        if row.get(k)
    ]
    lines.append(CardLine("Episodes managed with", ", ".join(management) or "none recorded"))
    return lines


def recurrence_display(recurrence: pl.DataFrame) -> pl.DataFrame:
    """The recurrence table with readable headers (fields as the CLI prints them)."""
    return recurrence.select(
        pl.col("case_id").alias("Case"),
        pl.col("pattern").alias("Pattern"),
        pl.col("n_episodes").alias("Episodes"),
        pl.col("n_recurrent").alias("Recurrent"),
        pl.col("first_crs_day").alias("First CRS (day)"),
        pl.col("first_crs_grade").alias("First grade"),
        pl.col("interval_days_median").alias("Interval, median (days)"),
        pl.col("latency_hours_median").alias("Latency, median (h)"),
        pl.col("max_grade").alias("Worst grade"),
        pl.col("possible_infection_episodes").alias("Possible infection"),
    )
