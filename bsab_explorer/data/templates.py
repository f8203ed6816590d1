"""Files to start a contract table from, and the contract's columns and codes as a table.

A center that has no export to convert starts from a template: the table's header, one example
row that passes the contract, and (in the workbook) a sheet listing every column's type and
codes. The example row is built from the schema, so a new column or code appears in the
templates without anyone editing a file.
"""

from __future__ import annotations

import io

import polars as pl

from bsab_explorer.schema import TABLES, Column, Kind

#: Example values where the schema's range alone would give an odd one.
_EXAMPLES = {
    "patient_id": "P001",
    "case_id": "C001",
    "center": "C01",
    "age_years": "65",
    "prior_lines": "4",
    "emd_sites": "1",
    "chemo_cycles": "2",
    "days_chemo_to_bsab": "21",
    "pfs_days": "180",
    "os_days": "240",
    "death_cause": "",
    "grade": "1",
    "mrd_sensitivity": "0.00001",
}


def _example(column: Column) -> str:
    if column.name in _EXAMPLES:
        return _EXAMPLES[column.name]
    if column.kind == Kind.CODE:
        return column.codes[0] if column.codes else ""
    if column.kind == Kind.BOOL:
        return "false"
    if column.kind in (Kind.INT, Kind.NUMBER):
        low = column.minimum if column.minimum is not None else 0
        high = column.maximum if column.maximum is not None else low + 60
        middle = (low + high) / 2
        return str(int(middle)) if column.kind == Kind.INT or middle == int(middle) else str(middle)
    return ""


def example_row(table: str) -> dict[str, str | None]:
    """One example value per contract column of `table` (a row that passes the contract; None
    where the column is best left empty)."""
    return {c.name: _example(c) or None for c in TABLES[table].columns}


def contract_columns(table: str) -> pl.DataFrame:
    """The contract's columns of `table`: name, type, required, codes and what it holds."""
    columns = TABLES[table].columns
    return pl.DataFrame(
        {
            "column": [c.name for c in columns],
            "type": [c.kind.value for c in columns],
            "required": [c.required for c in columns],
            "codes": [
                ", ".join(c.codes) + (" or other text" if c.open_codes else "") for c in columns
            ],
            "meaning": [c.description or c.label for c in columns],
        }
    )


def template_csv(table: str) -> bytes:
    """A CSV template of `table`: the header and one example row."""
    row = example_row(table)
    return pl.DataFrame([row]).write_csv(line_terminator="\n").encode("utf-8")


def template_xlsx(table: str) -> bytes:
    """An XLSX template of `table`: a sheet named after it (header, one example row) and a
    `codes` sheet with every column's type and codes."""
    import openpyxl  # deferred: only the template download needs it

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = table
    row = example_row(table)
    sheet.append(list(row))
    sheet.append(list(row.values()))
    codes = workbook.create_sheet("codes")
    described = contract_columns(table)
    codes.append(described.columns)
    for values in described.iter_rows():
        codes.append(["yes" if v is True else "" if v is False else v for v in values])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
