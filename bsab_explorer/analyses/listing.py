"""Row listings for display: pseudonyms and clinical fields only, with readable labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from bsab_explorer.formatting import format_proportion
from bsab_explorer.schema import AGE_CAP, DAYS_PER_MONTH, TABLES, column_label

#: Columns of the patient listing, in order (those the data lack are left out).
PATIENT_LISTING_COLUMNS = (
    "patient_id",
    "center",
    "age_years",
    "sex",
    "iss_stage",
    "prior_lines",
    "emd",
    "hrca",
    "bsab",
    "best_response",
    "pfs_days",
    "pfs_event",
    "os_days",
    "os_event",
)
CASE_LISTING_COLUMNS = (
    "case_id",
    "center",
    "age_years",
    "sex",
    "isotype",
    "light_chain",
    "stage",
    "prior_lines",
    "bsab",
    "target",
    "premedication",
    "outcome",
)


def age_text(column: str = "age_years") -> pl.Expr:
    """Age as shown to users: ages of 90 or more read "90+"."""
    age = pl.col(column)
    return (
        pl.when(age >= AGE_CAP)
        .then(pl.lit(f"{AGE_CAP}+"))
        .otherwise(age.cast(pl.String))
        .alias(column)
    )


def listing(frame: pl.DataFrame, table: str, columns: Sequence[str]) -> pl.DataFrame:
    """The chosen columns of a contract table, days shown as months, labelled for display."""
    present = [c for c in columns if c in frame.columns]
    exprs: list[pl.Expr] = []
    for name in present:
        if name == "age_years":
            exprs.append(age_text(name))
        elif name.endswith("_days") and frame.schema[name].is_numeric():
            label = column_label(name).replace("(days)", "(months)")
            exprs.append((pl.col(name) / DAYS_PER_MONTH).round(1).alias(label))
        else:
            exprs.append(pl.col(name))
    out = frame.select(exprs)
    labels = {c: TABLES[table].by_name[c].label for c in out.columns if c in TABLES[table].by_name}
    return out.rename(labels)


@dataclass(frozen=True)
class Headline:
    """One headline number of an overview page."""

    label: str
    value: str
    help: str = ""


def _count(frame: pl.DataFrame, column: str) -> tuple[int, int] | None:
    if column not in frame.columns:
        return None
    values = frame[column]
    return int(values.sum()), int(values.is_not_null().sum())


def cohort_headlines(patients: pl.DataFrame) -> list[Headline]:
    """Headline counts of a cohort: size, EMD, HRCA, progression/death and deaths."""
    out = [Headline("Patients", str(patients.height))]
    for column, label in (
        ("emd", "Extramedullary disease"),
        ("hrca", "High-risk cytogenetics"),
        ("pfs_event", "Progressed or died"),
        ("os_event", "Died"),
    ):
        counted = _count(patients, column)
        if counted is None:
            continue
        n, known = counted
        share = f" ({format_proportion(n, known)} %)" if known else ""
        note = "" if known == patients.height else f"recorded for {known} of {patients.height}"
        out.append(Headline(label, f"{n}{share}", note))
    return out
