"""A case series kept with dates: each event's day counts from its case's first dose."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsab_explorer.data.convert import convert
from bsab_explorer.data.convert.rules import ConvertRule
from tests.data.convert.cohort import assert_no_date

CASES = "Case,C1D1,Drug\nRC1,27/02/2024,Talvey\nRC2,30/12/2023,tec\n"
MAPPING = """\
table = "cases"
[columns]
case_id = "Case"
bsab = "Drug"
[values.bsab]
Talvey = "talquetamab"
tec = "teclistamab"
[dates]
origin = "C1D1"
format = "dd/mm/yyyy"

[tables.events]
source = "timeline"
[tables.events.columns]
case_id = "Case"
event = "Type"
grade = "Grade"
detail = "Detail"
[tables.events.values.event]
SRC = "crs"
Dose = "bsab_dose"
[tables.events.dates]
day = "Date"
end_day = "Fin"
format = "dd/mm/yyyy"
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "series"
    folder.mkdir()
    (folder / "cases.csv").write_text(CASES, encoding="utf-8")
    (folder / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    return folder


def _timeline(folder: Path, rows: str) -> None:
    (folder / "timeline.csv").write_text("Case,Type,Grade,Date,Fin,Detail\n" + rows, "utf-8")


def test_event_dates_become_days_since_the_case_first_dose(folder: Path) -> None:
    _timeline(
        folder,
        "RC1,Dose,,27/02/2024,,step-up 1\n"
        "RC1,SRC,1,28/02/2024,01/03/2024,\n"  # over 29 February: days 1 to 3
        "RC1,Dose,,05/03/2024,,treatment dose\n"
        "RC2,SRC,2,02/01/2024,,\n",  # across the new year: day 3
    )
    result = convert(
        [folder / "cases.csv", folder / "timeline.csv"], mapping=folder / "mapping.toml"
    )
    assert result.ok, result.report.to_text()
    assert result.tables["cases"].select("case_id", "bsab").rows() == [
        ("RC1", "talquetamab"),
        ("RC2", "teclistamab"),
    ]
    events = result.tables["events"].select("case_id", "day", "event", "grade", "end_day")
    assert events.rows() == [
        ("RC1", 0.0, "bsab_dose", None, None),
        ("RC1", 1.0, "crs", 1, 3.0),
        ("RC1", 7.0, "bsab_dose", None, None),
        ("RC2", 3.0, "crs", 2, None),
    ]
    assert_no_date(result.report.to_text() + "".join(f.write_csv() for f in result.tables.values()))


def test_an_event_before_the_first_dose_is_listed(folder: Path) -> None:
    _timeline(folder, "RC2,SRC,2,25/12/2023,,\nRC9,SRC,1,02/01/2024,,\n")
    result = convert(
        [folder / "cases.csv", folder / "timeline.csv"], mapping=folder / "mapping.toml"
    )
    found = sorted((p.row, p.column, p.rule) for p in result.report.problems)
    assert found == [
        (2, "Date", ConvertRule.DATE_SEQUENCE),
        (3, "Date", ConvertRule.MISSING_ORIGIN),
        (3, "case_id", "unknown_case"),
    ]
    assert_no_date(result.report.to_text())
