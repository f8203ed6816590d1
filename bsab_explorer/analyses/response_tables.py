"""Response results as tables for people: counts, rates with their denominators and CIs."""

from __future__ import annotations

import polars as pl

from bsab_explorer.analyses.response import ResponseSummary
from bsab_explorer.schema import RESPONSE_CODES


def _pct(n: str, pct: str) -> pl.Expr:
    return (
        pl.when(pl.col(pct).is_null())
        .then(pl.lit("—"))
        .otherwise(
            pl.format("{} ({} %)", pl.col(n), pl.col(pct).round(0).cast(pl.Int64).cast(pl.String))
        )
    )


def response_table(summary: ResponseSummary) -> pl.DataFrame:
    """One row per group and timepoint: n assessed, denominator, IMWG counts, ORR (95 % CI),
    ≥VGPR, CR and PET-CT counts."""
    frame = summary.frame
    orr = (
        pl.when(pl.col("orr_pct").is_null())
        .then(pl.lit("—"))
        .otherwise(
            pl.format(
                "{} ({} %; 95 % CI {}–{})",
                pl.col("orr_n"),
                pl.col("orr_pct").round(0).cast(pl.Int64).cast(pl.String),
                pl.col("orr_ci_lower_pct").round(0).cast(pl.Int64).cast(pl.String),
                pl.col("orr_ci_upper_pct").round(0).cast(pl.Int64).cast(pl.String),
            )
        )
    )
    columns: list[pl.Expr] = []
    if summary.by is not None:
        columns.append(pl.col("group").alias("Group"))
    columns += [
        pl.col("timepoint_label").alias("Timepoint"),
        pl.col("n_assessed").alias("Assessed"),
        pl.col("denominator").alias("Denominator"),
        *[pl.col(code) for code in RESPONSE_CODES if code in frame.columns],
        orr.alias("ORR (≥ PR)"),
        _pct("vgpr_n", "vgpr_pct").alias("≥ VGPR"),
        _pct("cr_n", "cr_pct").alias("CR or better"),
        pl.col("pet_ct_n").alias("PET-CT"),
    ]
    return frame.select(columns)


def response_display(summary: ResponseSummary) -> pl.DataFrame:
    """`response_table` as the page shows it: PET-CT is counted per visit, so the best
    response's cell reads "—" (the CSV keeps it empty)."""
    return response_table(summary).with_columns(pl.col("PET-CT").cast(pl.String).fill_null("—"))


#: Pseudonyms a transition table lists on screen in each row (the CSV lists them all).
SHOWN_IDS = 50


def transition_display(transitions: pl.DataFrame) -> pl.DataFrame:
    """A transition table (from, to, n, patient_ids) with the pseudonyms joined as text.

    A row whose ``patient_ids`` holds fewer pseudonyms than its ``n`` patients (see
    ``transition_table(max_ids=...)``) says how many more there are.
    """
    ids = pl.col("patient_ids")
    more = pl.col("n") - ids.list.len()
    listed = ids.list.join(", ")
    return transitions.select(
        pl.col("from").alias("From"),
        pl.col("to").alias("To"),
        pl.col("n").alias("Patients"),
        pl.when(more > 0)
        .then(pl.format("{} … and {} more (all in the CSV)", listed, more))
        .otherwise(listed)
        .alias("Pseudonyms"),
    )
