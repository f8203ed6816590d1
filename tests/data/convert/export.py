"""A small center export whose slashed dates cannot tell day from month, for the Upload page.

Every day and month is at most 12, so only the user can say which order the file uses. As
day-first dates the three patients have the survival below (typed by hand; computed as
month-first they would differ). The workbook form writes some dates as Excel date cells and one
as a serial number, as real workbooks do.
"""

from __future__ import annotations

import datetime as dt
import io

import openpyxl

HEADER = ["Sujet", "Sexe", "Traitement", "date_debut_bsab", "date_deces", "last_fu_date"]
ROWS = [
    ["P1", "1", "Tecvayli", "03/02/2024", "", "05/08/2024"],
    ["P2", "2", "tec", "04/03/2024", "01/06/2024", ""],
    ["P3", "2", "Elrexfio", "02/01/2024", "", "11/12/2024"],
]
#: The same patients as contract days when the dates are read day first (dd/mm/yyyy):
#: P1 3 Feb -> 5 Aug 2024, P2 4 Mar -> 1 Jun 2024 (death), P3 2 Jan -> 11 Dec 2024.
DAY_FIRST = [
    ("P1", "M", "teclistamab", 184.0, False, 184.0, False),
    ("P2", "F", "teclistamab", 89.0, True, 89.0, True),
    ("P3", "F", "elranatamab", 344.0, False, 344.0, False),
]


def export_csv() -> bytes:
    """The export as CSV text."""
    lines = [",".join(HEADER), *(",".join(row) for row in ROWS)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def export_xlsx() -> bytes:
    """The export as a workbook: P1's dates as Excel date cells, P3's origin as a serial
    number, the rest as day-first text."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in ROWS:
        cells: list[object] = [v or None for v in row]
        if row[0] == "P1":
            cells[3] = dt.datetime(2024, 2, 3)
            cells[5] = dt.datetime(2024, 8, 5)
        if row[0] == "P3":
            cells[3] = (dt.date(2024, 1, 2) - dt.date(1899, 12, 30)).days
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
