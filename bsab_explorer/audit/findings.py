"""An audit finding: a published figure beside its recomputed value and a status, for either
study; the findings as one table, and laid out for the Audit screen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from bsab_explorer.schema import (
    CR_OR_BETTER_CODES,
    ORR_CODES,
    STUDIES,
    VGPR_OR_BETTER_CODES,
)

REPRODUCED = "reproduced"
DIFFERS = "differs"
PAPER_INCONSISTENT = "paper inconsistent"
AUDIT_STATUSES = (REPRODUCED, DIFFERS, PAPER_INCONSISTENT)


#: Named sets of response codes a target may count ("orr", "vgpr", "cr").
_CODE_SETS: dict[str, tuple[str, ...]] = {
    "orr": ORR_CODES,
    "vgpr": VGPR_OR_BETTER_CODES,
    "cr": CR_OR_BETTER_CODES,
}


def response_codes(spec: object) -> tuple[str, ...]:
    """The response codes a target names: a set's name, or the codes themselves."""
    if isinstance(spec, str):
        return _CODE_SETS[spec]
    return tuple(str(c) for c in spec)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AuditRow:
    """One published figure beside its recomputed value (any study)."""

    study: str
    target_id: str
    label: str
    quote: str
    published: str
    recomputed: str
    #: One of AUDIT_STATUSES.
    status: str
    #: Arithmetic and reading for an inconsistency; otherwise a remark (may be empty).
    note: str = ""
    source: str = ""


@dataclass(frozen=True)
class Recomputed:
    """A recomputed figure: its value, its denominator (if a share) and its printed form."""

    value: float | None
    denominator: int | None
    text: str


def audit_frame(rows: Sequence[AuditRow]) -> pl.DataFrame:
    """Audit rows as a table (for pages, exports and the CLI)."""
    columns = ("study", "target_id", "label", "published", "recomputed", "status", "note")
    return pl.DataFrame(
        {c: [getattr(r, c) for r in rows] for c in (*columns, "quote", "source")},
        schema=dict.fromkeys((*columns, "quote", "source"), pl.String),
    )


#: Statuses as a screen lists them: problems first.
STATUS_ORDER = (DIFFERS, PAPER_INCONSISTENT, REPRODUCED)


def audit_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Rows of an `audit_frame` per status, every status present (0 when none)."""
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
    """The studies an `audit_frame` covers, in contract order."""
    present = set(frame.get_column("study").to_list())
    return [study for study in STUDIES if study in present]
