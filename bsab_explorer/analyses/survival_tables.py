"""Survival results as tables for people: medians with CI text, landmarks, tests in words."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from bsab_explorer.analyses.survival import SurvivalSummary
from bsab_explorer.formatting import format_proportion, state_p
from bsab_explorer.schema import GROUPING_COLUMNS, column_label


def grouping_options(columns: Sequence[str]) -> list[str | None]:
    """None (overall) and the grouping columns a frame has."""
    return [None, *[c for c in GROUPING_COLUMNS if c in columns]]


def grouping_label(column: str | None) -> str:
    """Label of a grouping choice."""
    return "Overall (no split)" if column is None else column_label(column)


def median_table(summary: SurvivalSummary) -> pl.DataFrame:
    """Per group: n, events, median (95 % CI) in months, and survival at each landmark."""
    rows: list[dict[str, object]] = []
    level = f"{round(summary.conf_level * 100):d} %"
    for group in summary.groups:
        row: dict[str, object] = {
            "Group": group.label,
            "n": group.n,
            "Events": group.events,
            f"Median, months ({level} CI)": group.median.text(1),
        }
        for landmark in group.landmarks:
            key = f"{landmark.months:g} months ({level} CI)"
            if landmark.surv is None:
                row[key] = "—"
            else:
                lower = "NE" if landmark.lower is None else format_proportion(landmark.lower)
                upper = "NE" if landmark.upper is None else format_proportion(landmark.upper)
                row[key] = f"{format_proportion(landmark.surv)} % ({lower}–{upper})"
        rows.append(row)
    return pl.DataFrame(rows)


def comparison_lines(summary: SurvivalSummary) -> list[str]:
    """The log-rank test and Cox hazard ratios in words (empty without a comparison)."""
    lines: list[str] = []
    if summary.logrank is not None:
        lr = summary.logrank
        lines.append(f"Log-rank test: χ² = {lr.chi2:.2f}, df = {lr.df}, {state_p(lr.p_value)}")
    if summary.cox is not None:
        for ratio in summary.cox.ratios:
            lines.append(
                f"Cox hazard ratio, {ratio.group} vs {ratio.reference} (reference): "
                f"{ratio.hazard_ratio:.2f} (95 % CI {ratio.lower:.2f}–{ratio.upper:.2f}), "
                f"Wald {state_p(ratio.p_value)}"
            )
    return lines


#: Why a landmark reads "100 % (100–100)": R's summary.survfit gives the same.
NO_EVENTS_NOTE = (
    "A landmark at 100 % (100–100) had no event before it: survival is 1 with standard error 0, "
    "so the interval has no width (R's summary.survfit gives lower = upper = 1 as well)."
)


def landmark_notes(summary: SurvivalSummary) -> tuple[str, ...]:
    """Why a landmark interval has no width, when one has (else nothing)."""
    no_events = any(
        lm.surv == 1.0 and lm.std_err == 0.0 for g in summary.groups for lm in g.landmarks
    )
    return (NO_EVENTS_NOTE,) if no_events else ()


def method_note(summary: SurvivalSummary) -> str:
    """How the numbers were computed, for captions (and why an interval has no width)."""
    note = (
        f"Kaplan–Meier estimates; pointwise {round(summary.conf_level * 100)} % confidence "
        f"intervals by the {summary.ci_method.label}; medians as R's print.survfit (NR: not "
        "reached; NE: bound not estimable); log-rank as survdiff; Cox model with Efron ties."
    )
    return " ".join((note, *landmark_notes(summary)))
