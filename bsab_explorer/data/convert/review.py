"""What the Upload page's mapping step shows and builds: the choice offered for each source
column, the mapping made from the user's choices, and the result in the user's own terms.

The page offers every source column one choice (a contract column, a date role, or nothing);
`mapping_from_choices` turns those choices into the same `TableMapping` a mapping file holds,
so what the user confirmed is what the command line replays. The preview speaks of the user's
columns and what each became, not of the contract's many columns, and a problem says where it
is (file, row, column) without a row number for a problem of a whole column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from bsab_explorer.data.convert.dates import ROLE_LABELS, DateOrder
from bsab_explorer.data.convert.mapping import DATE_ROLES, TableMapping
from bsab_explorer.data.normalise import header_key
from bsab_explorer.data.validation import ValidationReport
from bsab_explorer.schema import TABLES, Kind

#: The choice of a source column that feeds nothing.
NOT_USED = ""
_COLUMN = "column:"
_DATE = "date:"
#: Most distinct values a column may have for the page to offer a code for each.
MAX_CODED_VALUES = 40


def column_choices(table: str) -> list[str]:
    """Every choice for a source column of `table`: nothing, a contract column, a date role."""
    contract = TABLES[table]
    return [
        NOT_USED,
        *(_COLUMN + c for c in contract.column_names),
        *(_DATE + role for role in DATE_ROLES[table]),
    ]


#: Short names of date roles, to fit a select box at 1280 pixels.
_ROLE_SHORT = {
    "origin": "origin (first dose)",
    "progression": "progression date",
    "death": "death date",
    "last_contact": "last contact date",
    "last_assessment": "last assessment date",
    "last_chemo": "last chemo date",
    "day": "event date",
    "end_day": "event end date",
}


def choice_label(table: str, choice: str) -> str:
    """How a choice reads in the page's select boxes (short: four fit a row)."""
    if choice == NOT_USED:
        return "— not used —"
    if choice.startswith(_COLUMN):
        return choice.removeprefix(_COLUMN)
    role = choice.removeprefix(_DATE)
    if table == "responses" and role == "day":
        return "assessment date"
    return _ROLE_SHORT.get(role, f"{role} date")


def initial_choices(mapping: TableMapping, source_columns: Sequence[str]) -> dict[str, str]:
    """The choice for each source column a mapping (given or proposed) makes."""
    by_source = {s: _COLUMN + t for t, s in mapping.columns.items()}
    by_source.update({s: _DATE + r for r, s in mapping.dates.items()})
    return {c: by_source.get(c, NOT_USED) for c in source_columns}


def mapping_from_choices(
    choices: Mapping[str, str],
    values: Mapping[str, Mapping[str, str]],
    *,
    source: str | None,
    date_order: DateOrder | None,
) -> TableMapping:
    """The mapping the user confirmed: source column -> choice, contract column -> codes."""
    columns = {c.removeprefix(_COLUMN): s for s, c in choices.items() if c.startswith(_COLUMN)}
    dates = {c.removeprefix(_DATE): s for s, c in choices.items() if c.startswith(_DATE)}
    kept = {t: dict(v) for t, v in values.items() if t in columns and v}
    return TableMapping(source, columns, kept, dates, date_order if dates else None)


def coded_target(table: str, choice: str) -> str | None:
    """The contract column a choice names when its values are codes (or true/false)."""
    if not choice.startswith(_COLUMN):
        return None
    name = choice.removeprefix(_COLUMN)
    kind = TABLES[table].column(name).kind
    return name if kind in (Kind.CODE, Kind.BOOL) else None


def code_choices(table: str, column: str) -> list[str]:
    """The codes a source value of `column` may become (first: keep it as written)."""
    contract = TABLES[table].column(column)
    codes = ["true", "false"] if contract.kind == Kind.BOOL else list(contract.codes)
    return [NOT_USED, *codes]


def values_to_map(table: str, column: str, values: Sequence[str]) -> list[str]:
    """The source values of `column` that are not already written as the contract spells
    them (case-insensitively), when there are few enough to map one by one."""
    contract = TABLES[table].column(column)
    if contract.kind == Kind.BOOL:
        spelled = {"true", "false", "1", "0", "yes", "no", "y", "n"}
    else:
        spelled = {c.lower() for c in contract.codes}
    left = [v for v in values if v.strip().lower() not in spelled]
    return left if len(left) <= MAX_CODED_VALUES else []


def what_became(
    table: str, mapping: TableMapping, source_columns: Sequence[str], result_columns: Sequence[str]
) -> pl.DataFrame:
    """One row per source column: what it became in the contract table."""
    derived = [c for c in ("pfs_days", "pfs_event", "os_days", "os_event") if c in result_columns]
    became: list[str] = []
    for column in source_columns:
        target = next((t for t, s in mapping.columns.items() if s == column), None)
        role = next((r for r, s in mapping.dates.items() if s == column), None)
        if target is None and role is None and header_key(column) in TABLES[table].by_name:
            target = header_key(column)
        if target is not None:
            recoded = len(mapping.values.get(target, {}))
            text = f"{target} ({TABLES[table].column(target).label})"
            became.append(text + (f", {recoded} value(s) recoded" if recoded else ""))
        elif role == "origin":
            counted = ", ".join(derived) if table == "patients" and derived else "the days"
            became.append(f"origin: {counted} counted from it (the date itself is dropped)")
        elif role == "last_chemo":
            became.append("days_chemo_to_bsab (the date itself is dropped)")
        elif role is not None:
            what = {"day": "day", "end_day": "end_day"}.get(role)
            if what is not None:
                became.append(f"{what}: days since the first dose (the date itself is dropped)")
            else:
                used = ", ".join(derived) or "survival"
                label = ROLE_LABELS.get(role, role)
                became.append(f"{label} date: used for {used} (the date itself is dropped)")
        else:
            became.append("not used")
    return pl.DataFrame(
        {"Your column": list(source_columns), "Became": became},
        schema={"Your column": pl.String, "Became": pl.String},
    )


def recorded_columns(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """A converted table without the contract columns that hold nothing (the key stays)."""
    key = TABLES[table].key
    kept = [c for c in frame.columns if c == key or frame.get_column(c).null_count() < frame.height]
    return frame.select(kept)


def problems_table(report: ValidationReport) -> pl.DataFrame:
    """The problems as the page lists them: where (file, row, column), value, rule, what to do.

    A problem of a whole column says "column X", never an empty row number.
    """
    where = []
    for problem in report.problems:
        parts = [problem.file or problem.table]
        if problem.row is not None:
            parts.append(f"row {problem.row}")
        if problem.column:
            parts.append(f"column {problem.column}")
        where.append(", ".join(parts))
    return pl.DataFrame(
        {
            "Where": where,
            "Value": [p.value for p in report.problems],
            "Rule": [p.rule for p in report.problems],
            "What to do": [p.message for p in report.problems],
        },
        schema={"Where": pl.String, "Value": pl.String, "Rule": pl.String, "What to do": pl.String},
    )


def chosen_twice(choices: Mapping[str, str]) -> dict[str, list[str]]:
    """Choices (other than nothing) that more than one source column made, with those columns."""
    by_choice: dict[str, list[str]] = {}
    for source, choice in choices.items():
        if choice != NOT_USED:
            by_choice.setdefault(choice, []).append(source)
    return {c: s for c, s in by_choice.items() if len(s) > 1}
