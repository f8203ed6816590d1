"""Response-assessment dates become `responses.day`: days since the patient's first full dose."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bsab_explorer.data.convert import convert
from bsab_explorer.data.convert.mapping import propose_dates, read_mapping
from bsab_explorer.data.convert.rules import ConvertRule
from tests.data.convert.cohort import MAPPING_TOML, RECORDS, assert_no_date, csv_text, rows

RESPONSES_TOML = """
[tables.responses]
source = "assessments"
[tables.responses.columns]
patient_id = "Sujet"
timepoint = "Visite"
response = "Reponse"
[tables.responses.dates]
day = "date_evaluation"
"""


def _assessments(folder: Path, lines: list[str]) -> Path:
    path = folder / "assessments.csv"
    path.write_text("Sujet,Visite,Reponse,date_evaluation\n" + "".join(lines), encoding="utf-8")
    return path


def _patients(folder: Path) -> Path:
    path = folder / "patients.csv"
    path.write_text(csv_text(rows(lambda d: d.isoformat())), encoding="utf-8")
    return path


def _mapping(folder: Path) -> Path:
    path = folder / "centre.toml"
    path.write_text(MAPPING_TOML + RESPONSES_TOML, encoding="utf-8")
    return path


def _date(patient: int, days: int) -> str:
    return (RECORDS[patient].origin + dt.timedelta(days=days)).strftime("%d/%m/%Y")


def test_assessment_dates_become_days_since_the_patients_origin(tmp_path: Path) -> None:
    lines = [
        f"P01,C1,PR,{_date(0, 28)}\n",
        f"P01,C3,VGPR,{_date(0, 84)}\n",
        f"P03,C1,SD,{_date(2, 30)}\n",
        "P04,C1,PD,\n",
    ]
    files = [_patients(tmp_path), _assessments(tmp_path, lines)]
    result = convert(files, mapping=_mapping(tmp_path))
    assert result.ok, result.report.to_text()
    responses = result.tables["responses"]
    assert responses.select("patient_id", "timepoint", "response", "day").rows() == [
        ("P01", "C1", "PR", 28.0),
        ("P01", "C3", "VGPR", 84.0),
        ("P03", "C1", "SD", 30.0),
        ("P04", "C1", "PD", None),
    ]
    assert_no_date(result.report.to_text() + result.tables["responses"].write_csv())


def test_an_assessment_before_the_first_dose_is_listed_by_row(tmp_path: Path) -> None:
    lines = [f"P01,C1,PR,{_date(0, 28)}\n", f"P02,C1,PR,{_date(1, -3)}\n"]
    files = [_patients(tmp_path), _assessments(tmp_path, lines)]
    result = convert(files, mapping=_mapping(tmp_path))
    [problem] = [p for p in result.report.problems if p.table == "responses"]
    assert (problem.file, problem.row, problem.column, problem.rule) == (
        "assessments.csv",
        3,
        "date_evaluation",
        ConvertRule.DATE_SEQUENCE,
    )
    assert problem.message == (
        "The assessment date is before the patient's first bispecific dose. Check the date."
    )
    assert_no_date(result.report.to_text())


def test_assessment_dates_without_any_origin_are_refused(tmp_path: Path) -> None:
    path = _assessments(tmp_path, [f"P01,C1,PR,{_date(0, 28)}\n"])
    mapping = tmp_path / "responses.toml"
    mapping.write_text(
        'table = "responses"\nsource = "assessments"\n[columns]\npatient_id = "Sujet"\n'
        '[dates]\nday = "date_evaluation"\n',
        encoding="utf-8",
    )
    result = convert(path, mapping=mapping)
    assert not result.ok
    [problem] = [p for p in result.report.problems if p.rule == ConvertRule.MISSING_ORIGIN]
    assert (problem.table, problem.column) == ("responses", "date_evaluation")
    assert problem.message.startswith("Assessment dates need each patient's first-dose date")


def test_the_day_role_of_responses_is_read_and_proposed() -> None:
    mapping, problems = read_mapping('table = "responses"\n[dates]\nday = "visit_date"\n')
    assert problems == []
    assert mapping is not None
    assert mapping.tables["responses"].dates == {"day": "visit_date"}
    assert propose_dates("responses", ["Subject", "Assessment date", "Response"]) == {
        "day": "Assessment date"
    }
