"""Row listings for display: pseudonyms and clinical fields only, with readable labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from bsab_explorer.analyses.recurrence import analyse_recurrence
from bsab_explorer.formatting import format_proportion
from bsab_explorer.schema import (
    AGE_CAP,
    DAYS_PER_MONTH,
    TABLES,
    Kind,
    code_label,
    code_list_label,
    column_label,
)

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


#: Text columns that hold a `;`-separated list (shown as "Paracetamol, cetirizine").
LIST_COLUMNS = ("premedication", "management")


def listing(
    frame: pl.DataFrame, table: str, columns: Sequence[str], *, readable: bool = False
) -> pl.DataFrame:
    """The chosen columns of a contract table, days shown as months, labelled for display
    (with `readable`, codes and lists as clinicians read them: "Dose reduced")."""
    present = [c for c in columns if c in frame.columns]
    by_name = TABLES[table].by_name
    exprs: list[pl.Expr] = []
    for name in present:
        column = by_name.get(name)
        coded = column is not None and column.kind == Kind.CODE
        if readable and (coded or name in LIST_COLUMNS) and frame.schema[name] == pl.String:
            readable_text = code_label if coded else code_list_label
            # Each distinct value once (a case series has few), not a Python call per row.
            shown = {v: readable_text(v) for v in frame[name].drop_nulls().unique()}
            exprs.append(pl.col(name).replace(shown))
        elif name == "age_years":
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


def case_headlines(cases: pl.DataFrame, events: pl.DataFrame) -> list[Headline]:
    """Headline counts of a case series: cases, CRS episodes, cases with recurrent CRS and
    treatment discontinued."""
    out = [Headline("Cases", str(cases.height))]
    if cases.height == 0:
        return out
    per_case = analyse_recurrence(cases, events)
    out.append(Headline("CRS episodes", str(int(per_case["n_episodes"].sum()))))
    recurrent = int((per_case["n_recurrent"] > 0).sum())
    out.append(Headline("Cases with recurrent CRS", f"{recurrent} of {cases.height}"))
    if "outcome" in cases.columns:
        stopped = int((cases["outcome"] == "discontinued").sum())
        out.append(Headline("Treatment discontinued", f"{stopped} of {cases.height}"))
    return out
