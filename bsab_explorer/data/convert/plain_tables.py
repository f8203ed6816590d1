"""Plain table files (CSV, XLSX, Parquet), read as text by the same reader as any upload.

A file is one source table named by its stem; a workbook whose sheets are named after contract
tables (patients, responses, ...) gives one source table per such sheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bsab_explorer.data.convert.source import SourceSet, SourceTable
from bsab_explorer.data.ingest import ReadResult, read_table_file
from bsab_explorer.data.validation import Problem, Rule
from bsab_explorer.schema import TABLES


def read_plain(paths: Sequence[Path]) -> SourceSet:
    """Plain table files (CSV, XLSX, Parquet) as source tables named by their file stem, or by
    their sheet when a workbook holds one sheet per contract table."""
    tables: dict[str, SourceTable] = {}
    problems: list[Problem] = []
    notices: list[str] = []
    for path in paths:
        name = path.stem.lower()
        table = name if name in TABLES else "patients"
        read = read_table_file(path, table)
        sheets = _table_sheets(path, read) if name not in TABLES else []
        if len(sheets) > 1:
            for sheet in sheets:
                by_sheet = read_table_file(path, sheet)
                problems += by_sheet.problems
                notices += by_sheet.notices
                if by_sheet.raw is not None:
                    file = f"{path.name} [{sheet}]"
                    tables[sheet] = SourceTable(sheet, file, by_sheet.raw.frame)
            continue
        problems += read.problems
        notices += read.notices
        if read.raw is not None:
            tables[name] = SourceTable(name, path.name, read.raw.frame)
    return SourceSet(tables, tuple(problems), tuple(notices), kind="table")


def _table_sheets(path: Path, read: ReadResult) -> list[str]:
    """The sheets of a workbook named after contract tables (opened only once the reader found
    it safe: no zip bomb, no hidden sheet, a real workbook)."""
    if path.suffix.lower() != ".xlsx":
        return []
    unsafe = {Rule.ZIP_BOMB, Rule.XLSX_HIDDEN_SHEET, Rule.WRONG_FORMAT, Rule.FILE_TOO_LARGE}
    if any(p.rule in unsafe or p.rule == Rule.UNREADABLE for p in read.problems):
        return []
    import openpyxl  # deferred: only workbooks need it

    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        names = [ws.title.strip().lower() for ws in workbook.worksheets]
    finally:
        workbook.close()
    return [n for n in names if n in TABLES]
