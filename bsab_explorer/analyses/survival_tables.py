"""Survival results as tables for people: medians with CI text, landmarks, tests in words."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from bsab_explorer.analyses.follow_up import FollowUp
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


def follow_up_text(follow_up: FollowUp) -> str:
    """Median follow-up in months with its CI, e.g. "17.1 months (95 % CI 12.5–21.8)"."""

    def months(value: float | None, missing: str) -> str:
        return missing if value is None else f"{value:.1f}"

    level = f"{round(follow_up.conf_level * 100)} %"
    if follow_up.median_months is None:
        return f"not reached ({follow_up.n} patients, {follow_up.censored} still followed)"
    lower = months(follow_up.lower_months, "NE")
    upper = months(follow_up.upper_months, "NR")
    return f"{follow_up.median_months:.1f} months ({level} CI {lower}–{upper})"


#: The Cox model's estimates: its table's columns a projector shows (the others repeat the
#: model's fit and tests on every row; a screen's grid and the table's file keep them).
COX_ESTIMATES = ("term", "hazard_ratio", "ci_lower", "ci_upper", "p_value", "n", "events")


def cox_estimates(frame: pl.DataFrame) -> pl.DataFrame:
    """The Cox model's table by its estimates alone (`COX_ESTIMATES`, those it has)."""
    return frame.select(c for c in COX_ESTIMATES if c in frame.columns)


def readable_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """A statistic's table with its column names as words (``hazard_ratio`` -> "hazard ratio")
    for the page; files keep the names."""
    return frame.rename({c: c.replace("_", " ") for c in frame.columns})
