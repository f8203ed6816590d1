"""Bad uploads: each one ends as a specific problem, and the store stays exactly as it was."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bsab_explorer.data.store import Store, open_store, store_table
from bsab_explorer.data.validation import Rule
from bsab_explorer.schema import TABLES

PATIENTS = b"patient_id,center,age_years,sex,pfs_days,pfs_event,os_days,os_event\n"
EVENTS = b"case_id,day,event,grade,end_day,detail\n"
CASES = b"case_id,age_years,stage\n"


def snapshot(store: Store) -> tuple[Any, ...]:
    """Everything the store holds: batches with their state, and row counts of every table."""
    with store.reading() as cursor:
        counts = tuple(
            cursor.execute(f"SELECT count(*) FROM {store_table(t)}").fetchall()[0][0]
            for t in TABLES
        )
        log = cursor.execute("SELECT count(*) FROM store_retractions").fetchall()[0][0]
    return store.batches(), counts, log


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """A store where center C01 has uploaded patients P001-P002 and case RC1 (a DuckDB file,
    then a PostgreSQL database: every rule holds for both)."""
    if request.param == "duckdb":
        location: Path | str = tmp_path_factory.mktemp("upload") / "store.duckdb"
    else:
        location = request.getfixturevalue("postgres").new_database()
    opened = open_store(location, seed=False)
    for data, table in (
        (
            PATIENTS + b"P001,C01,60,F,100,true,200,false\nP002,C01,70,M,50,false,50,false\n",
            "patients",
        ),
        (CASES + b"RC1,60,ISS I\n", "cases"),
        (b"patient_id,timepoint,response\nP001,C1,PR\n", "responses"),
    ):
        assert opened.ingest_bytes(data, f"{table}.csv", table, "C01").stored
    yield opened
    opened.close()


def xlsx(rows: list[list[object]], *, hidden: bool = False) -> bytes:
    """A workbook with one sheet of `rows` (and a hidden second sheet when asked)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    if hidden:
        workbook.create_sheet("secret").sheet_state = "hidden"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """A small .xlsx-named zip that would unpack to 50 MB of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * 50_000_000)
    return buffer.getvalue()


@dataclass(frozen=True)
class Bad:
    """One bad upload and the problem it must produce."""

    label: str
    table: str
    data: bytes
    rule: str
    message: str
    row: int | None = None
    column: str | None = None
    file_name: str = "upload.csv"
    center: str = "C01"


CASES_BAD = [
    Bad("empty file", "patients", b"", Rule.FILE_EMPTY, "The file is empty."),
    Bad("only blank lines", "patients", b"\r\n\r\n", Rule.FILE_EMPTY, "only empty lines"),
    Bad("header only", "patients", PATIENTS, Rule.HEADER_ONLY, "a header row but no data rows"),
    Bad(
        "duplicate headers", "patients", b"patient_id,sex,Sex\nP9,F,M\n",
        Rule.DUPLICATE_COLUMN, "The column 'Sex' appears twice in the header.", column="sex",
    ),
    Bad(
        "missing id column", "patients", b"sex,age_years\nF,60\n",
        Rule.MISSING_ID_COLUMN, "The file has no patient_id column", column="patient_id",
    ),
    Bad(
        "unnamed column with values", "patients", b"patient_id,,sex\nP9,x,F\n",
        Rule.UNNAMED_COLUMN, "Column 2 has values but no header.",
    ),
    Bad(
        "ragged row", "patients", b"patient_id,sex\nP9,F\nP10,M,extra\n",
        Rule.RAGGED_ROW, "This row has 3 value(s) but the header has 2 columns.", row=3,
    ),
    Bad(
        "NUL bytes", "patients", b"patient_id,sex\nP9,F\nP1\x000,M\n",
        Rule.NUL_BYTES, "The file contains NUL bytes", row=3,
    ),
    Bad(
        "unclosed quote", "patients", b'patient_id,sex\nP9,"F\n',
        Rule.UNREADABLE, "Check for an unclosed quote",
    ),
    Bad(
        "quoted newline keeps spreadsheet row numbers", "cases",
        CASES + b'RC7,60,"ISS\nI"\nRC8,101,ISS II\n',
        Rule.AGE_OVER_90, "Age 101 is over 90", row=3, column="age_years",
    ),
    Bad(
        "UTF-16 file with an unknown code", "patients",
        "patient_id\tsex\nP9\tF\nP10\tQ\n".encode("utf-16"),
        Rule.UNKNOWN_CODE, "'Q' is not a known code for sex (Sex). Use one of: F, M.", row=3,
    ),
    Bad(
        "Latin-1 file with an unknown code", "cases",
        "case_id;sex\nRC7;féminin\n".encode("cp1252"),
        Rule.UNKNOWN_CODE, "'féminin' is not a known code for sex (Sex).", row=2,
    ),
    Bad(
        "BOM file with a negative time", "patients",
        b"\xef\xbb\xbfpatient_id,pfs_days\nP9,-3\n",
        Rule.NEGATIVE_TIME, "PFS (days) is -3: times are days since the origin", row=2,
    ),
    Bad(
        "tab file with a decimal-comma fraction in an int column", "patients",
        b"patient_id\tprior_lines\nP9\t2,5\n",
        Rule.NOT_INTEGER, "'2,5' is not a whole number", row=2,
    ),
    Bad(
        "semicolon file with text in a number column", "patients",
        b"patient_id;os_days\nP9;12,5\nP10;douze\n",
        Rule.NOT_NUMBER, "'douze' is not a number", row=3,
    ),
    Bad(
        "string after row 100 in a number column", "patients",
        b"patient_id,pfs_days\n"
        + b"".join(f"Q{i:03d},{i}\n".encode() for i in range(130)).replace(b",110", b",n/d"),
        Rule.NOT_NUMBER, "'n/d' is not a number", row=112,
    ),
    Bad(
        "duplicate ids within the file", "patients", b"patient_id,sex\nP9,F\nP9,M\n",
        Rule.DUPLICATE_ID, "patient_id 'P9' appears more than once (first on row 2).", row=3,
    ),
    Bad(
        "id already stored for this center", "patients", b"patient_id,sex\nP002,F\n",
        Rule.DUPLICATE_IN_STORE, "patient_id 'P002' is already stored for center C01 (batch 1).",
        row=2,
    ),
    Bad(
        "infinite time", "events", EVENTS + b"RC1,inf,fever,,,\n",
        Rule.NOT_NUMBER, "'inf' is not a finite number", row=2, column="day",
    ),
    Bad(
        "overflowing time", "events", EVENTS + b"RC1,1e999,fever,,,\n",
        Rule.NOT_NUMBER, "'1e999' is not a finite number", row=2,
    ),
    Bad(
        "unknown event code", "events", EVENTS + b"RC1,3,cytokine_storm,2,,\n",
        Rule.UNKNOWN_CODE, "'cytokine_storm' is not a known code for event (Event).", row=2,
    ),
    Bad(
        "grade out of range", "events", EVENTS + b"RC1,3,crs,7,,\n",
        Rule.OUT_OF_RANGE, "Grade is 7, outside the allowed range (from 1 to 5).", row=2,
    ),
    Bad(
        "timeline row for an unknown case", "events", EVENTS + b"RC9,3,fever,,,\n",
        Rule.UNKNOWN_CASE, "case_id 'RC9' has no row in the stored cases of center C01.", row=2,
    ),
    Bad(
        "CRS without grade", "events", EVENTS + b"RC1,3,crs,,,\n",
        Rule.GRADE_REQUIRED, "A 'crs' event needs a grade (1 to 5), but grade is empty.", row=2,
    ),
    Bad(
        "response for an unknown patient", "responses", b"patient_id,timepoint\nP404,C1\n",
        Rule.UNKNOWN_PATIENT, "patient_id 'P404' has no row in the stored patients of center C01",
    ),
    Bad(
        "assessment already stored", "responses", b"patient_id,timepoint,response\nP001,c1,CR\n",
        Rule.DUPLICATE_ASSESSMENT, "patient 'P001' already has an assessment at C1", row=2,
    ),
    Bad(
        "os shorter than pfs", "patients", PATIENTS + b"P9,C01,60,F,300,true,200,true\n",
        Rule.OS_BEFORE_PFS, "os_days (200) is shorter than pfs_days (300)", row=2,
    ),
    Bad(
        "age over 90", "patients", b"patient_id,age_years\nP9,95\n",
        Rule.AGE_OVER_90, "Change it to 90, or accept the offer to code all ages over 90 as 90.",
    ),
    Bad(
        "identifier column: name", "patients", b"patient_id,Last Name\nP9,Smith\n",
        Rule.IDENTIFIER_COLUMN, "Column 'Last Name' looks like it holds identifying data",
    ),
    Bad(
        "identifier column: date of birth", "patients", b"patient_id,date_of_birth\nP9,x\n",
        Rule.IDENTIFIER_COLUMN, "Column 'date_of_birth' looks like it holds identifying data",
    ),
    Bad(
        "identifier column: MRN", "patients", b"patient_id,MRN\nP9,x\n",
        Rule.IDENTIFIER_COLUMN, "Column 'MRN' looks like it holds identifying data ('mrn')",
    ),
    Bad(
        "identifier column: free-text notes", "cases", b"case_id,clinical_notes\nRC7,x\n",
        Rule.IDENTIFIER_COLUMN, "Column 'clinical_notes' looks like it holds identifying data",
    ),
    Bad(
        "identifier column: postal code", "cases", b"case_id,Postal code\nRC7,x\n",
        Rule.IDENTIFIER_COLUMN, "Column 'Postal code' looks like it holds identifying data",
    ),
    Bad(
        "ISO date", "cases", CASES + b"RC7,60,2021-03-04\n",
        Rule.CALENDAR_DATE, "The value looks like a calendar date.", row=2, column="stage",
    ),
    Bad(
        "day/month/year date", "cases", CASES + b"RC7,60,25/12/2020\n",
        Rule.CALENDAR_DATE, "give the time as days since the study origin", row=2,
    ),
    Bad(
        "month/day/year date in a number column", "events", EVENTS + b"RC1,12/25/2020,fever,,,\n",
        Rule.CALENDAR_DATE, "The value looks like a calendar date.", row=2, column="day",
    ),
    Bad(
        "written-out date", "events", EVENTS + b"RC1,3,fever,,,seen 4 March 2021\n",
        Rule.CALENDAR_DATE, "The value looks like a calendar date.", column="detail",
    ),
    Bad(
        "Excel serial in a day column", "events", EVENTS + b"RC1,44197,fever,,,\n",
        Rule.EXCEL_DATE, "looks like an Excel date serial number", row=2, column="day",
    ),
    Bad(
        "e-mail", "cases", CASES + b"RC7,60,dr.house@hospital.org\n",
        Rule.EMAIL, "The value looks like an e-mail address.", column="stage",
    ),
    Bad(
        "phone number", "events", EVENTS + b"RC1,3,fever,,,call +33 1 23 45 67 89\n",
        Rule.PHONE, "The value looks like a phone number.", column="detail",
    ),
    Bad(
        "URL", "cases", CASES + b"RC7,60,see https://example.org/p/1\n",
        Rule.URL, "The value looks like a web address (URL).",
    ),
    Bad(
        "markdown link", "events", EVENTS + b"RC1,3,fever,,,[click](javascript:alert(1))\n",
        Rule.URL, "The value looks like a web address (URL).", column="detail",
    ),
    Bad(
        "IP address", "cases", CASES + b"RC7,60,10.0.12.7\n",
        Rule.IP_ADDRESS, "The value looks like an IP address.",
    ),
    Bad(
        "SSN", "cases", CASES + b"RC7,60,078-05-1120\n",
        Rule.SSN, "The value looks like a social security number.",
    ),
    Bad(
        "5-digit ZIP code as id", "cases", CASES + b"75013,60,ISS I\n",
        Rule.ZIP_CODE, "The value looks like a ZIP code.", column="case_id",
    ),
    Bad(
        "MRN-like all-digit id", "patients", b"patient_id,sex\n004481923,F\n",
        Rule.MRN_LIKE, "looks like a medical record number (6 to 10 digits)", column="patient_id",
    ),
    Bad(
        "formula-like cell", "cases", CASES + b'RC7,60,"=HYPERLINK(""http://x"")"\n',
        Rule.FORMULA, "Cells starting with =, +, - or @ are run as formulas", column="stage",
    ),
    Bad(
        "HTML in a cell", "cases", CASES + b"RC7,60,<img src=x onerror=alert(1)>\n",
        Rule.HTML, "The value looks like HTML markup.", column="stage",
    ),
    Bad(
        "a .csv that is really a zip", "patients", zip_bomb()[:2000],
        Rule.WRONG_FORMAT, "This '.csv' file is really a zip archive or an Excel workbook",
    ),
    Bad(
        "zip bomb", "patients", zip_bomb(), Rule.ZIP_BOMB, "which looks like a zip bomb",
        file_name="patients.xlsx",
    ),
    Bad(
        "legacy .xls", "patients", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
        Rule.WRONG_FORMAT, "old-style Excel (.xls)", file_name="patients.xls",
    ),
    Bad(
        "xlsx with a hidden sheet", "patients", xlsx([["patient_id"], ["P9"]], hidden=True),
        Rule.XLSX_HIDDEN_SHEET, "The workbook has hidden sheets (secret).",
        file_name="patients.xlsx",
    ),
    Bad(
        "xlsx with a formula", "patients", xlsx([["patient_id", "age_years"], ["P9", "=40+20"]]),
        Rule.XLSX_FORMULA, "Cell B2 holds a formula.", row=2, file_name="patients.xlsx",
    ),
    Bad(
        "xlsx with a real date cell", "cases",
        xlsx([["case_id", "stage"], ["RC7", dt.date(2021, 3, 4)]]),
        Rule.CALENDAR_DATE, "The value looks like a calendar date.", row=2,
        file_name="cases.xlsx",
    ),
    Bad(
        "damaged parquet", "patients", b"PAR1garbagePAR1", Rule.UNREADABLE,
        "The file could not be read", file_name="patients.parquet",
    ),
    Bad(
        "center column naming another center", "patients", b"patient_id,center\nP9,C02\n",
        Rule.CENTER_MISMATCH, "This row names center 'C02' but the file is being stored for "
        "center 'C01'.", row=2,
    ),
    Bad(
        "center that is not a pseudonym", "patients", b"patient_id\nP9\n", Rule.BAD_CENTER,
        "is not a usable center pseudonym", center="Hôpital Saint-Louis",
    ),
]  # fmt: skip


@pytest.mark.parametrize("bad", CASES_BAD, ids=[c.label for c in CASES_BAD])
def test_bad_upload_is_refused_with_its_message(store: Store, bad: Bad) -> None:
    before = snapshot(store)
    result = store.ingest_bytes(bad.data, bad.file_name, bad.table, bad.center)
    assert not result.stored
    found = [p for p in result.report.problems if p.rule == bad.rule]
    assert found, result.report.to_text()
    problem = found[0]
    assert bad.message in problem.message, problem.message
    if bad.row is not None:
        assert problem.row == bad.row
    if bad.column is not None:
        assert problem.column == bad.column
    assert snapshot(store) == before


def test_oversized_file_is_refused(store: Store, tmp_path: Path) -> None:
    before = snapshot(store)
    path = tmp_path / "patients.csv"
    path.write_bytes(b"patient_id\n" + b"P1\n" * 1000)
    result = store.ingest_file(path, "patients", "C01", max_bytes=1000)
    assert [p.rule for p in result.report.problems] == [Rule.FILE_TOO_LARGE]
    assert result.report.problems[0].message.startswith(
        "The file is 0.0029 MiB; the limit is 0.00095 MiB."
    )
    assert snapshot(store) == before


def test_unknown_table_is_refused(store: Store) -> None:
    result = store.ingest_bytes(b"x\n1\n", "x.csv", "visits", "C01")
    assert result.report.problems[0].message.startswith("'visits' is not a contract table.")


def test_identifying_values_are_masked_in_the_report_and_preview(store: Store) -> None:
    data = CASES + b"RC7,60,dr.house@hospital.org\nRC8,61,ISS II\n"
    check = store.check_upload(data, "cases.csv", "cases", "C01")
    problem = check.report.problems[0]
    assert (problem.rule, problem.value) == (Rule.EMAIL, "xx.xxxxx@xxxxxxxx.xxx")
    assert "house" not in check.report.to_text()
    assert check.rows is not None
    assert check.rows.get_column("stage").to_list() == [None, "ISS II"]
    assert not check.storable


@pytest.mark.parametrize(
    "header", ["Nom", "Prénom", "Date de naissance", "Téléphone", "Cognome", "Codice fiscale"]
)
def test_identifier_columns_in_the_studies_languages(store: Store, header: str) -> None:
    data = f"patient_id,{header}\nP9,x\n".encode()
    result = store.ingest_bytes(data, "p.csv", "patients", "C01")
    assert [p.rule for p in result.report.problems] == [Rule.IDENTIFIER_COLUMN]
    assert result.report.problems[0].column == header


def test_parquet_date_column_is_a_calendar_date(store: Store) -> None:
    import polars as pl

    buffer = io.BytesIO()
    pl.DataFrame({"case_id": ["RC7"], "stage": [dt.date(2021, 3, 4)]}).write_parquet(buffer)
    result = store.ingest_bytes(buffer.getvalue(), "cases.parquet", "cases", "C01")
    assert [(p.rule, p.row, p.column, p.value) for p in result.report.problems] == [
        (Rule.CALENDAR_DATE, 1, "stage", "9999-99-99")
    ]
