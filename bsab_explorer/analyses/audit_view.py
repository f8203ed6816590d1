"""The audit laid out for a screen: counts by status, rows of one study or status."""

from __future__ import annotations

import polars as pl

from bsab_explorer.schema import STUDIES

STATUS_ORDER = ("differs", "paper inconsistent", "reproduced")


def audit_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Rows per status, every status present (0 when none)."""
    counted = dict(frame.group_by("status").len().iter_rows())
    return {status: int(counted.get(status, 0)) for status in STATUS_ORDER}


def audit_rows(frame: pl.DataFrame, study: str | None, statuses: list[str]) -> pl.DataFrame:
    """The rows of one study (or all) with the chosen statuses, problems first, readable headers."""
    chosen = frame.filter(pl.col("status").is_in(pl.Series(statuses, dtype=pl.String).implode()))
    if study is not None:
        chosen = chosen.filter(pl.col("study") == study)
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    return (
        chosen.with_columns(
            pl.col("status").replace_strict(rank, return_dtype=pl.Int64).alias("_r")
        )
        .sort("_r", maintain_order=True)
        .select(
            pl.col("status").alias("Status"),
            pl.col("study").alias("Study"),
            pl.col("label").alias("Published figure"),
            pl.col("published").alias("Published"),
            pl.col("recomputed").alias("Recomputed"),
            pl.col("note").alias("Arithmetic / reading"),
            pl.col("quote").alias("Paper says"),
        )
    )


def audit_studies(frame: pl.DataFrame) -> list[str]:
    """The studies the audit rows cover, in contract order."""
    present = set(frame.get_column("study").to_list())
    return [study for study in STUDIES if study in present]
