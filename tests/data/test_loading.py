"""Loading and validating folders of contract tables: every bad input ends as a clear problem."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bsab_explorer.data.loading import BUNDLED_NAME, LoadResult, load_dataset
from bsab_explorer.data.validation import Problem, Rule, ValidationReport
from tests.data.conftest import CASES_CSV, EVENTS_CSV, PATIENTS_CSV, RESPONSES_CSV, Writer


def only(report: ValidationReport, rule: str) -> Problem:
    """The single problem with `rule` (fails when there are none or several)."""
    found = [p for p in report.problems if p.rule == rule]
    assert len(found) == 1, report.to_text()
    return found[0]


def test_valid_folder_loads_every_table(write_tables: Writer) -> None:
    folder = write_tables(
        patients=PATIENTS_CSV, responses=RESPONSES_CSV, cases=CASES_CSV, events=EVENTS_CSV
    )
    result = load_dataset(folder)
    assert result.report.ok, result.report.to_text()
    assert result.dataset is not None
    patients = result.dataset.table("patients")
    assert patients.get_column("patient_id").to_list() == ["P001", "P002", "P003"]
    assert patients.get_column("emd").to_list() == [True, False, False]
    assert patients.get_column("os_event").to_list() == [True, False, False]
    assert patients.schema["age_years"] == pl.Int64
    assert patients.schema["pfs_days"] == pl.Float64
    assert patients.get_column("death_cause").to_list() == ["progression", None, None]
    events = result.dataset.table("events")
    assert events.get_column("day").to_list() == [0.0, 1.5, 2.0]
    assert result.dataset.has("cases")
    assert len(result.dataset.fingerprint) == 64


def test_study_without_tables_is_absent(write_tables: Writer) -> None:
    result = load_dataset(write_tables(patients=PATIENTS_CSV))
    assert result.report.ok
    assert result.dataset is not None
    assert result.dataset.has("patients")
    assert not result.dataset.has("cases")
    assert result.dataset.table("events").height == 0


def test_duplicate_patient_id(write_tables: Writer) -> None:
    csv = PATIENTS_CSV + "P002,C01,50,M,I,false,10,false,10,false,\n"
    result = load_dataset(write_tables(patients=csv))
    problem = only(result.report, Rule.DUPLICATE_ID)
    assert (problem.row, problem.column, problem.value) == (5, "patient_id", "P002")
    assert problem.message == (
        "patient_id 'P002' appears more than once (first on row 3). Each patient needs exactly "
        "one row: remove or merge the duplicate."
    )
    assert result.dataset is not None
    assert result.dataset.table("patients").height == 3  # the first P002 is kept


def test_unknown_code(write_tables: Writer) -> None:
    csv = PATIENTS_CSV.replace("P003,C01,71,F,", "P003,C01,71,X,")
    problem = only(load_dataset(write_tables(patients=csv)).report, Rule.UNKNOWN_CODE)
    assert (problem.row, problem.column, problem.value) == (4, "sex", "X")
    assert problem.message == "'X' is not a known code for sex (Sex). Use one of: F, M."


def test_codes_are_case_insensitive(write_tables: Writer) -> None:
    csv = (
        "patient_id,sex,iss_stage,best_response,bsab\n"
        "P1,f,iii,scr,TECLISTAMAB\nP2,m,ii,vgpr,newmab\n"
    )
    result = load_dataset(write_tables(patients=csv))
    assert result.report.ok, result.report.to_text()
    assert result.dataset is not None
    frame = result.dataset.table("patients")
    assert frame.get_column("sex").to_list() == ["F", "M"]
    assert frame.get_column("iss_stage").to_list() == ["III", "II"]
    assert frame.get_column("best_response").to_list() == ["sCR", "VGPR"]
    # bsab is an open code: known names are normalised, any other text is kept.
    assert frame.get_column("bsab").to_list() == ["teclistamab", "newmab"]


def test_negative_time(write_tables: Writer) -> None:
    csv = PATIENTS_CSV.replace("423.0,true,490.0", "-5,true,490.0")
    problem = only(load_dataset(write_tables(patients=csv)).report, Rule.NEGATIVE_TIME)
    assert (problem.row, problem.column, problem.value) == (3, "pfs_days", "-5")
    assert problem.message == (
        "PFS (days) is -5: times are days since the origin and cannot be negative. Correct the "
        "value or leave it empty if unknown."
    )


def test_os_shorter_than_pfs(write_tables: Writer) -> None:
    csv = PATIENTS_CSV.replace("423.0,true,490.0", "423.0,true,400")
    problem = only(load_dataset(write_tables(patients=csv)).report, Rule.OS_BEFORE_PFS)
    assert (problem.row, problem.column, problem.value) == (3, "os_days", "400")
    assert problem.message == (
        "os_days (400) is shorter than pfs_days (423): overall survival cannot end before "
        "progression-free survival. Check both values."
    )


def test_death_cause_without_death(write_tables: Writer) -> None:
    csv = PATIENTS_CSV.replace("490.0,false,\n", "490.0,false,infection\n")
    problem = only(load_dataset(write_tables(patients=csv)).report, Rule.DEATH_CAUSE_WITHOUT_DEATH)
    assert (problem.row, problem.column, problem.value) == (3, "death_cause", "infection")
    assert problem.message.startswith("death_cause is 'infection' but os_event is not true")


def test_death_without_cause_is_fine(write_tables: Writer) -> None:
    csv = PATIENTS_CSV.replace("263.0,true,progression", "263.0,true,")
    assert load_dataset(write_tables(patients=csv)).report.ok


def test_death_needs_pfs_event(write_tables: Writer) -> None:
    # The death coincides with the PFS time, so it must have ended PFS.
    csv = PATIENTS_CSV.replace("186.0,true,263.0,true", "263.0,false,263.0,true")
    problem = only(load_dataset(write_tables(patients=csv)).report, Rule.DEATH_WITHOUT_PFS_EVENT)
    assert (problem.row, problem.column) == (2, "pfs_event")
    assert "death ends progression-free survival" in problem.message


def test_death_after_censored_pfs_is_a_warning(write_tables: Writer) -> None:
    # PFS censored at the last adequate assessment (day 186), death later (day 263): legitimate.
    csv = PATIENTS_CSV.replace("186.0,true,263.0,true", "186.0,false,263.0,true")
    result = load_dataset(write_tables(patients=csv))
    assert result.report.ok
    assert result.dataset is not None
    assert result.dataset.table("patients").get_column("pfs_event").to_list()[0] is False
    assert (
        "patients.csv, row 2: os_event is true but pfs_event is false, with the death (day 263) "
        "after the censored PFS time (day 186). Accepted as PFS censored before the death"
    ) in "\n".join(result.report.notices)


def test_responses_for_unknown_patient(write_tables: Writer) -> None:
    folder = write_tables(patients=PATIENTS_CSV, responses=RESPONSES_CSV + "P099,C1,PR,false\n")
    result = load_dataset(folder)
    problem = only(result.report, Rule.UNKNOWN_PATIENT)
    assert (problem.row, problem.column, problem.value) == (5, "patient_id", "P099")
    assert problem.message == (
        "patient_id 'P099' has no row in patients. Add the patient to patients first, or "
        "correct the id."
    )
    assert result.dataset is not None
    assert "P099" not in result.dataset.table("responses").get_column("patient_id").to_list()


def test_events_for_unknown_case(write_tables: Writer) -> None:
    folder = write_tables(cases=CASES_CSV, events=EVENTS_CSV + "RC9,3,fever,,,\n")
    problem = only(load_dataset(folder).report, Rule.UNKNOWN_CASE)
    assert (problem.row, problem.value) == (5, "RC9")
    assert problem.message.startswith("case_id 'RC9' has no row in cases.")


def test_crs_event_without_grade(write_tables: Writer) -> None:
    folder = write_tables(cases=CASES_CSV, events=EVENTS_CSV + "RC1,8,crs,,,\n")
    problem = only(load_dataset(folder).report, Rule.GRADE_REQUIRED)
    assert (problem.row, problem.column) == (5, "grade")
    assert problem.message == (
        "A 'crs' event needs a grade (1 to 5), but grade is empty. Add the grade (ASTCT for "
        "CRS/ICANS, CTCAE otherwise)."
    )


def test_end_day_before_day(write_tables: Writer) -> None:
    folder = write_tables(cases=CASES_CSV, events=EVENTS_CSV + "RC1,8,corticosteroid,,6,\n")
    problem = only(load_dataset(folder).report, Rule.END_BEFORE_START)
    assert (problem.row, problem.value) == (5, "6")
    assert problem.message.startswith("end_day (6) is before day (8)")


def test_leading_zero_ids_kept_as_text(write_tables: Writer) -> None:
    csv = "patient_id,age_years\n007,60\n0012,70\n"
    result = load_dataset(write_tables(patients=csv))
    assert result.report.ok
    assert result.dataset is not None
    assert result.dataset.table("patients").get_column("patient_id").to_list() == ["007", "0012"]


def test_semicolon_csv_with_decimal_commas(write_tables: Writer) -> None:
    csv = "patient_id;pfs_days;os_days;emd\nP1;12,5;30,25;Yes\nP2;7;8;N\n"
    result = load_dataset(write_tables(patients=csv))
    assert result.report.ok, result.report.to_text()
    assert result.dataset is not None
    frame = result.dataset.table("patients")
    assert frame.get_column("pfs_days").to_list() == [12.5, 7.0]
    assert frame.get_column("os_days").to_list() == [30.25, 8.0]
    assert frame.get_column("emd").to_list() == [True, False]
    assert "patients.csv: columns are separated by semicolons." in result.report.notices


def test_decimal_comma_in_comma_file(write_tables: Writer) -> None:
    csv = 'patient_id,pfs_days\nP1,"12,5"\n'
    problem = only(load_dataset(write_tables(patients=csv)).report, Rule.NOT_NUMBER)
    assert problem.message == (
        "'12,5' uses a decimal comma, which is only read in semicolon-separated files. Write "
        "it with a decimal point (12.5)."
    )


def test_utf8_bom(write_tables: Writer) -> None:
    data = "\ufeffpatient_id,sex\nP1,F\n".encode()
    result = load_dataset(write_tables(patients=data))
    assert result.report.ok
    assert result.dataset is not None
    assert result.dataset.table("patients").get_column("patient_id").to_list() == ["P1"]
    assert "patients.csv: read as UTF-8 with BOM text." in result.report.notices


def test_latin1(write_tables: Writer) -> None:
    data = "patient_id,bsab\nP1,élranatamab-like\n".encode("latin-1")
    result = load_dataset(write_tables(patients=data))
    assert result.report.ok
    assert result.dataset is not None
    assert result.dataset.table("patients").get_column("bsab").to_list() == ["élranatamab-like"]
    assert "patients.csv: read as Latin-1 (Windows-1252) text." in result.report.notices


def test_utf16(write_tables: Writer) -> None:
    data = "patient_id\tsex\nP1\tM\n".encode("utf-16")
    result = load_dataset(write_tables(patients=data))
    assert result.report.ok
    assert result.dataset is not None
    assert result.dataset.table("patients").get_column("sex").to_list() == ["M"]


def test_empty_file(write_tables: Writer) -> None:
    result = load_dataset(write_tables(patients=b""))
    problem = only(result.report, Rule.FILE_EMPTY)
    assert problem.message.startswith("The file is empty.")
    assert result.dataset is None


def test_header_only(write_tables: Writer) -> None:
    result = load_dataset(write_tables(patients="patient_id,sex\n"))
    problem = only(result.report, Rule.HEADER_ONLY)
    assert problem.message == (
        "The file has a header row but no data rows. Export the table again with its rows."
    )


def test_int_rejects_fraction(write_tables: Writer) -> None:
    result = load_dataset(write_tables(patients="patient_id,prior_lines\nP1,3.5\nP2,4\n"))
    problem = only(result.report, Rule.NOT_INTEGER)
    assert (problem.row, problem.value) == (2, "3.5")
    assert problem.message == (
        "'3.5' is not a whole number; prior_lines (Prior lines of therapy) takes whole numbers "
        "such as 3."
    )
    assert result.dataset is not None
    assert result.dataset.table("patients").get_column("prior_lines").to_list() == [None, 4]


def test_missing_tokens_are_null_never_false(write_tables: Writer) -> None:
    csv = "patient_id,emd,del17p,pmd,hrca,tocilizumab\nP1,NA,n/a,.,Unknown,\n"
    result = load_dataset(write_tables(patients=csv))
    assert result.report.ok
    assert result.dataset is not None
    row = result.dataset.table("patients").row(0, named=True)
    assert [row[c] for c in ("emd", "del17p", "pmd", "hrca", "tocilizumab")] == [None] * 5


def test_boolean_spellings(write_tables: Writer) -> None:
    csv = "patient_id,emd\nA,TRUE\nB,False\nC,1\nD,0\nE,yes\nF,NO\nG,y\nH,n\nI,maybe\n"
    result = load_dataset(write_tables(patients=csv))
    problem = only(result.report, Rule.NOT_BOOLEAN)
    assert (problem.row, problem.value) == (10, "maybe")
    assert result.dataset is not None
    assert result.dataset.table("patients").get_column("emd").to_list() == [
        True, False, True, False, True, False, True, False, None,
    ]  # fmt: skip


def test_string_after_row_100_in_number_column(write_tables: Writer) -> None:
    rows = "".join(f"P{i:03d},{i}\n" for i in range(150)).replace("P120,120", "P120,soon")
    problem = only(
        load_dataset(write_tables(patients="patient_id,pfs_days\n" + rows)).report, Rule.NOT_NUMBER
    )
    assert (problem.row, problem.value) == (122, "soon")
    assert (
        problem.message
        == "'soon' is not a number; pfs_days (PFS (days)) takes numbers such as 12.5."
    )


def test_timepoints(write_tables: Writer) -> None:
    folder = write_tables(
        patients="patient_id\nP1\n",
        responses=(
            "patient_id,timepoint,response\n"
            "P1,c24,cr\nP1,Post_Debulking,pd\nP1,week 3,PR\nP1,C06,VGPR\n"
        ),
    )
    result = load_dataset(folder)
    problem = only(result.report, Rule.UNKNOWN_CODE)
    assert problem.value == "week 3"
    assert "post_debulking, C1, C3, C6, C12 (or another cycle C<n>)" in problem.message
    assert result.dataset is not None
    frame = result.dataset.table("responses")
    assert frame.get_column("timepoint").to_list() == ["C24", "post_debulking", None, "C6"]


def test_age_over_90(write_tables: Writer) -> None:
    result = load_dataset(write_tables(patients="patient_id,age_years\nP1,93\n"))
    problem = only(result.report, Rule.AGE_OVER_90)
    assert problem.message.startswith("Age 93 is over 90: ages over 90 can identify a person")
    capped = load_dataset(write_tables(patients="patient_id,age_years\nP1,93\n"), cap_ages=True)
    assert capped.report.ok
    assert capped.dataset is not None
    assert capped.dataset.table("patients").get_column("age_years").to_list() == [90]


def test_out_of_range_grade(write_tables: Writer) -> None:
    problem = only(
        load_dataset(write_tables(patients="patient_id,crs_grade\nP1,7\n")).report,
        Rule.OUT_OF_RANGE,
    )
    assert problem.message == (
        "Worst CRS grade is 7, outside the allowed range (from 0 to 4). Correct the value or "
        "leave it empty if unknown."
    )


def test_missing_id_column_and_empty_id(write_tables: Writer) -> None:
    report = load_dataset(write_tables(patients="sex\nF\n")).report
    problem = only(report, Rule.MISSING_ID_COLUMN)
    assert problem.message.startswith("The file has no patient_id column")
    report = load_dataset(write_tables(patients="patient_id,sex\n,F\nP2,M\n")).report
    assert only(report, Rule.MISSING_ID).row == 2


def test_unknown_and_all_null_columns_are_notices(write_tables: Writer) -> None:
    csv = "Patient ID,favourite_colour,emd\nP1,blue,\nP2,red,NA\n"
    result = load_dataset(write_tables(patients=csv))
    assert result.report.ok
    notices = " ".join(result.report.notices)
    assert "columns outside the contract were not kept: favourite_colour." in notices
    assert "read column 'Patient ID' as patient_id." in notices
    assert "column(s) with no recorded value: emd." in notices


def test_every_problem_is_listed(write_tables: Writer) -> None:
    csv = "patient_id,sex,crs_grade,pfs_days\nP1,X,9,-1\nP1,Y,,abc\n"
    report = load_dataset(write_tables(patients=csv)).report
    assert sorted(p.rule for p in report.problems) == sorted(
        [
            Rule.UNKNOWN_CODE,
            Rule.UNKNOWN_CODE,
            Rule.OUT_OF_RANGE,
            Rule.NEGATIVE_TIME,
            Rule.NOT_NUMBER,
            Rule.DUPLICATE_ID,
        ]
    )
    frame = report.to_frame()
    assert frame.columns == ["table", "file", "row", "column", "value", "rule", "message"]
    assert frame.height == 6
    assert "patients.csv, row 2, column sex: 'X' is not a known code" in report.to_text()


def test_two_files_for_one_table(write_tables: Writer) -> None:
    folder = write_tables(patients=PATIENTS_CSV)
    (folder / "sub").mkdir()
    (folder / "sub" / "patients.csv").write_text(PATIENTS_CSV)
    problem = only(load_dataset(folder).report, Rule.AMBIGUOUS_FILES)
    assert "There are 2 files for the patients table" in problem.message


def test_nothing_found(tmp_path: Path) -> None:
    result = load_dataset(tmp_path)
    assert result.dataset is None
    assert only(result.report, Rule.NO_TABLES).message.startswith("No contract tables were found")
    missing = load_dataset(tmp_path / "nope")
    assert missing.dataset is None
    assert not missing.report.ok


def test_subfolders_are_searched(write_tables: Writer) -> None:
    folder = write_tables()
    (folder / "debulking").mkdir()
    (folder / "debulking" / "patients.csv").write_text(PATIENTS_CSV)
    result = load_dataset(folder)
    assert result.dataset is not None
    assert result.dataset.table("patients").height == 3


def test_duckdb_file(tmp_path: Path) -> None:
    path = tmp_path / "center.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "CREATE TABLE patients AS SELECT * FROM (VALUES ('007', 63, true, 12.5)) "
            "t(patient_id, age_years, emd, pfs_days)"
        ).fetchall()
    result = load_dataset(path)
    assert result.report.ok, result.report.to_text()
    assert result.dataset is not None
    row = result.dataset.table("patients").row(0, named=True)
    assert (row["patient_id"], row["age_years"], row["emd"], row["pfs_days"]) == (
        "007", 63, True, 12.5,
    )  # fmt: skip


def test_parquet_and_xlsx_tables(tmp_path: Path) -> None:
    import openpyxl

    folder = tmp_path / "mixed"
    folder.mkdir()
    pl.DataFrame(
        {"patient_id": ["P1", "P2"], "age_years": [60, 70], "emd": [True, None]}
    ).write_parquet(folder / "patients.parquet")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["patient_id", "timepoint", "response"])
    sheet.append(["P1", "C1", "PR"])
    sheet.append(["P2", "C1", "VGPR"])
    workbook.save(folder / "responses.xlsx")
    result = load_dataset(folder)
    assert result.report.ok, result.report.to_text()
    assert result.dataset is not None
    assert result.dataset.table("patients").get_column("emd").to_list() == [True, None]
    assert result.dataset.table("responses").get_column("response").to_list() == ["PR", "VGPR"]


def test_bundled_data_load_valid() -> None:
    result: LoadResult = load_dataset()
    assert result.report.ok, result.report.to_text()
    assert result.dataset is not None
    assert result.dataset.name == BUNDLED_NAME
    assert result.dataset.reconstructed
    assert result.dataset.table("patients").height == 44
    assert result.dataset.table("cases").height == 5


def test_text_report_counts_repeated_problems(write_tables: Writer) -> None:
    rows = "".join(f"P{i},Z\n" for i in range(30))
    report = load_dataset(write_tables(patients="patient_id,sex\n" + rows)).report
    assert len(report.problems) == 30
    lines = report.to_text().splitlines()
    assert lines[0] == "30 problems found:"
    assert sum("is not a known code for sex" in line for line in lines) == 20
    assert "  - ... and 10 more of the same kind [unknown_code] in column sex." in lines


def test_absent_optional_columns_are_a_notice(write_tables: Writer) -> None:
    result = load_dataset(write_tables(cases="case_id,sex,stage,outcome\nRC1,F,ISS I,continued\n"))
    assert result.report.ok
    assert (
        "cases.csv: 8 optional column(s) not in the file (center, age_years, isotype, "
        "light_chain, prior_lines, bsab, target, premedication). Analyses that need them will "
        "say so." in result.report.notices
    )
    assert result.dataset is not None
    assert result.dataset.table("cases").get_column("target").null_count() == 1


def test_quoted_and_plain_csv_read_alike() -> None:
    from bsab_explorer.data.ingest import read_table_bytes

    plain = b"patient_id;sex;pfs_days\r\nP1;F;1,5\r\n\r\nP2;M\r\n;;\r\nP3;m;2\r\n\r\n"
    quoted = plain.replace(b"P3;", b'"P3";')
    a = read_table_bytes(plain, "p.csv", "patients")
    b = read_table_bytes(quoted, "p.csv", "patients")
    assert a.raw is not None
    assert b.raw is not None
    assert a.raw.frame.equals(b.raw.frame)
    assert a.raw.frame.rows() == [("P1", "F", "1,5", 2), ("P3", "m", "2", 6)]
    assert a.problems == b.problems
    assert [(p.rule, p.row) for p in a.problems] == [(Rule.RAGGED_ROW, 4)]


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".xlsx", ".parquet"]))
def test_random_bytes_in_a_folder_end_as_a_report(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / f"events{suffix}").write_bytes(data)
        result = load_dataset(folder)
    assert isinstance(result.report, ValidationReport)
    assert result.dataset is not None or not result.report.ok


def test_repeated_values_parsed_once_each_read_as_every_cell_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large text column is parsed once per distinct value; the result is the row-by-row one."""
    from bsab_explorer.data import normalise

    rows = 12_000
    values = {
        "patient_id": [f"P{i:05d}" for i in range(rows)],
        "sex": [["F", " m ", "x", "NA", "", "f"][i % 6] for i in range(rows)],
        "iss_stage": [["I", "ii", "IV", "III", "unknown"][i % 5] for i in range(rows)],
        "emd": [["yes", "No", "maybe", "1", "0", "."][i % 6] for i in range(rows)],
        "age_years": [["60", "61.0", "6x", "95", ""][i % 5] for i in range(rows)],
        "pfs_days": [["10.5", "-1", "1e400", "nan", "20"][i % 5] for i in range(rows)],
    }
    folder = tmp_path / "big"
    folder.mkdir()
    pl.DataFrame(values).write_csv(folder / "patients.csv")
    once = load_dataset(folder)
    monkeypatch.setattr(normalise, "_LOOKUP_FROM_ROWS", 10**9)
    every = load_dataset(folder)
    assert once.report == every.report
    assert once.dataset is not None
    assert every.dataset is not None
    assert once.dataset.table("patients").write_csv() == every.dataset.table("patients").write_csv()
    assert {Rule.NOT_BOOLEAN, Rule.NOT_INTEGER, Rule.NOT_NUMBER, Rule.UNKNOWN_CODE} <= (
        once.report.rules()
    )
    assert once.dataset.table("patients").get_column("sex").head(3).to_list() == ["F", "M", None]
