"""Spreadsheets with dates in every format a center uses become the same contract days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bsab_explorer.analyses.survival import summarise_survival
from bsab_explorer.data.convert import ConversionResult, convert
from bsab_explorer.data.convert.mapping import read_mapping, write_mapping
from bsab_explorer.data.convert.rules import ConvertRule
from bsab_explorer.data.loading import load_dataset
from tests.data.convert.cohort import (
    CONTRACT_CSV,
    MAPPING_TOML,
    assert_no_date,
    csv_text,
    rows,
)

COLUMNS = ["patient_id", "sex", "bsab", "emd", "pfs_days", "pfs_event", "os_days", "os_event"]


def _hand_made(tmp_path: Path) -> pl.DataFrame:
    folder = tmp_path / "contract"
    folder.mkdir()
    (folder / "patients.csv").write_text(CONTRACT_CSV, encoding="utf-8")
    loaded = load_dataset(folder)
    assert loaded.report.ok, loaded.report.to_text()
    assert loaded.dataset is not None
    return loaded.dataset.table("patients")


def _mapping(path: Path, date_format: str | None = None) -> Path:
    text = MAPPING_TOML + (f'format = "{date_format}"\n' if date_format else "")
    path.write_text(text, encoding="utf-8")
    return path


def _write_csv(folder: Path, write_date: Callable[[dt.date], object]) -> Path:
    path = folder / "centre.csv"
    path.write_text(csv_text(rows(write_date)), encoding="utf-8")
    return path


def _write_xlsx(folder: Path, write_date: Callable[[dt.date], object]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows(write_date):
        sheet.append(row)
    path = folder / "centre.xlsx"
    workbook.save(path)
    return path


def _everything(result: ConversionResult) -> str:
    """Every text the conversion produced: tables, report, problem table and mapping."""
    parts = [frame.write_csv() for frame in result.tables.values()]
    parts += [result.report.to_text(), result.report.to_frame().write_csv()]
    parts.append(write_mapping(result.mapping))
    return "\n".join(parts)


FORMATS: dict[
    str, tuple[Callable[[Path, Callable[[dt.date], object]], Path], object, str | None]
] = {
    "iso": (_write_csv, dt.date.isoformat, None),
    "dd/mm/yyyy": (_write_csv, lambda d: d.strftime("%d/%m/%Y"), None),
    "mm/dd/yyyy given": (_write_csv, lambda d: d.strftime("%m/%d/%Y"), "mm/dd/yyyy"),
    "dd/mm/yyyy given": (_write_csv, lambda d: d.strftime("%d/%m/%Y"), "dd/mm/yyyy"),
    "dd.mm.yyyy": (_write_csv, lambda d: d.strftime("%d.%m.%Y"), None),
    "excel date cells": (_write_xlsx, lambda d: dt.datetime(d.year, d.month, d.day), None),
    "excel serial numbers": (_write_xlsx, lambda d: (d - dt.date(1899, 12, 30)).days, None),
    "excel text dates": (_write_xlsx, lambda d: d.strftime("%d/%m/%Y"), None),
}


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_date_format_gives_the_hand_made_contract_days(tmp_path: Path, name: str) -> None:
    write, write_date, date_format = FORMATS[name]
    assert callable(write_date)
    source = write(tmp_path, write_date)
    result = convert(source, mapping=_mapping(tmp_path / "centre.toml", date_format))
    assert result.ok, result.report.to_text()
    converted = result.tables["patients"].select(COLUMNS)
    assert_frame_equal(converted, _hand_made(tmp_path).select(COLUMNS))
    assert_no_date(_everything(result))


def test_analyses_on_converted_tables_equal_those_on_hand_made_ones(tmp_path: Path) -> None:
    source = _write_csv(tmp_path, lambda d: d.strftime("%d/%m/%Y"))
    result = convert(source, mapping=_mapping(tmp_path / "centre.toml"))
    converted = result.tables["patients"]
    hand_made = _hand_made(tmp_path)
    for endpoint in ("pfs", "os"):
        for by in (None, "emd", "bsab"):
            ours = summarise_survival(converted, endpoint, by)
            theirs = summarise_survival(hand_made, endpoint, by)
            assert [g.label for g in ours.groups] == [g.label for g in theirs.groups]
            assert [g.median for g in ours.groups] == [g.median for g in theirs.groups]
            assert [g.landmarks for g in ours.groups] == [g.landmarks for g in theirs.groups]
            assert ours.logrank == theirs.logrank
    # The survival itself, checked against the records: P02 died at day 90 before progressing.
    pfs = summarise_survival(converted, "pfs")
    assert pfs.groups[0].curve.table.get_column("time").to_list()[:3] == [3.0, 60.0, 90.0]


def test_an_ambiguous_file_without_a_format_names_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "centre.csv"
    path.write_text(
        "Sujet,date_debut_bsab,date_deces,last_fu_date\n"
        "P01,05/03/2024,,07/09/2024\n"
        "P02,01/02/2024,11/12/2024,\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[columns]\npatient_id = "Sujet"\n[dates]\norigin = "date_debut_bsab"\n'
        'death = "date_deces"\nlast_contact = "last_fu_date"\n',
        encoding="utf-8",
    )
    result = convert(path, mapping=mapping)
    ambiguous = [p for p in result.report.problems if p.rule == ConvertRule.AMBIGUOUS_DATE_ORDER]
    assert sorted(p.column for p in ambiguous) == ["date_debut_bsab", "date_deces", "last_fu_date"]
    assert all(p.row is None for p in ambiguous)
    assert "dd/mm/yyyy or mm/dd/yyyy" in ambiguous[0].message
    assert_no_date(_everything(result))

    mapping.write_text(mapping.read_text() + 'format = "mm/dd/yyyy"\n', encoding="utf-8")
    answered = convert(path, mapping=mapping)
    assert answered.ok, answered.report.to_text()
    frame = answered.tables["patients"]
    # mm/dd: P01 from 2024-05-03 to 2024-07-09 (67 days); P02 from 2024-01-02 to 2024-11-12.
    assert frame.select("patient_id", "os_days", "os_event").rows() == [
        ("P01", 67.0, False),
        ("P02", 315.0, True),
    ]


def test_impossible_sequences_are_listed_by_row_and_column_without_dates(tmp_path: Path) -> None:
    path = tmp_path / "centre.csv"
    path.write_text(
        "Sujet,date_debut_bsab,pd_date,date_deces,last_fu_date\n"
        "P01,2024-03-15,2024-05-01,2024-04-20,\n"  # progression after death
        "P02,2024-03-15,,2024-02-01,\n"  # death before origin
        "P03,2024-03-15,,,2024-01-31\n"  # last contact before origin
        "P04,,,,2024-06-30\n"  # no origin
        "P05,2024-02-30,,,2024-06-30\n"  # not a date
        "P06,2024-03-15,,,\n",  # neither death nor last contact
        encoding="utf-8",
    )
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[columns]\npatient_id = "Sujet"\n[dates]\norigin = "date_debut_bsab"\n'
        'progression = "pd_date"\ndeath = "date_deces"\nlast_contact = "last_fu_date"\n',
        encoding="utf-8",
    )
    result = convert(path, mapping=mapping)
    found = sorted((p.row, p.column, p.rule) for p in result.report.problems)
    assert found == [
        (2, "pd_date", ConvertRule.DATE_SEQUENCE),
        (3, "date_deces", ConvertRule.DATE_SEQUENCE),
        (4, "last_fu_date", ConvertRule.DATE_SEQUENCE),
        (5, "date_debut_bsab", ConvertRule.MISSING_ORIGIN),
        (6, "date_debut_bsab", ConvertRule.MISSING_ORIGIN),
        (6, "date_debut_bsab", ConvertRule.NOT_A_DATE),
        (7, "last_fu_date", ConvertRule.MISSING_FOLLOW_UP),
    ]
    by_row = {p.row: p for p in result.report.problems}
    assert by_row[2].message.startswith("The progression date is after the death date")
    assert by_row[3].message.startswith("The death date is before the origin date")
    not_a_date = next(p for p in result.report.problems if p.rule == ConvertRule.NOT_A_DATE)
    assert not_a_date.value == "9999-99-99"
    assert_no_date(_everything(result))
    # The rows with an impossible sequence get no survival at all, never a wrong one.
    frame = result.tables["patients"]
    assert frame.filter(pl.col("patient_id").is_in(["P01", "P02", "P03"])).get_column(
        "os_days"
    ).to_list() == [None, None, None]


def test_the_proposed_mapping_round_trips_through_toml(tmp_path: Path) -> None:
    source = _write_csv(tmp_path, dt.date.isoformat)
    proposed = convert(source)
    text = write_mapping(proposed.mapping)
    again, problems = read_mapping(text)
    assert problems == []
    assert again == proposed.mapping
    patients = proposed.mapping.tables["patients"]
    assert patients.columns == {
        "patient_id": "Sujet",
        "sex": "Sexe",
        "bsab": "Traitement",
        "emd": "EMD",
    }
    assert patients.dates == {
        "origin": "date_debut_bsab",
        "progression": "pd_date",
        "death": "date_deces",
        "last_contact": "last_fu_date",
        "last_assessment": "last_assessment_date",
    }
    assert patients.values == {
        "sex": {"1": "M", "2": "F"},
        "bsab": {"Elrexfio": "elranatamab", "Tecvayli": "teclistamab", "talvey": "talquetamab"},
        "emd": {"non": "false", "oui": "true"},
    }
    # Used as proposed, it gives the hand-made contract days too.
    converted = proposed.tables["patients"].select(COLUMNS)
    assert_frame_equal(converted, _hand_made(tmp_path).select(COLUMNS))


def test_one_file_without_a_mapping_feeds_one_table(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text("patient_id,sex,os_days,os_event\nP1,F,30,true\n", encoding="utf-8")
    result = convert(source)
    assert result.ok, result.report.to_text()
    assert list(result.tables) == ["patients"]
    assert "responses" not in result.report.to_text()
    named = tmp_path / "responses.csv"
    named.write_text("patient_id,timepoint,response\nP1,C1,PR\n", encoding="utf-8")
    assert list(convert(named).tables) == ["responses"]


def test_a_workbook_with_a_sheet_per_table(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    patients = workbook.active
    assert patients is not None
    patients.title = "Patients"
    for row in rows(lambda d: dt.datetime(d.year, d.month, d.day)):
        patients.append(row)
    responses = workbook.create_sheet("responses")
    for row in (["Sujet", "Visite", "Réponse"], ["P01", "Cycle 1", "Partial response"]):
        responses.append(row)
    codes = workbook.create_sheet("codes")
    codes.append(["sex", "1 = M, 2 = F"])
    path = tmp_path / "centre.xlsx"
    workbook.save(path)
    mapping = _mapping(tmp_path / "centre.toml")
    mapping.write_text(
        mapping.read_text()
        + '\n[tables.responses.columns]\npatient_id = "Sujet"\ntimepoint = "Visite"\n'
        'response = "Réponse"\n[tables.responses.values.timepoint]\n"Cycle 1" = "C1"\n'
        '[tables.responses.values.response]\n"Partial response" = "PR"\n',
        encoding="utf-8",
    )
    result = convert(path, mapping=mapping)
    assert result.ok, result.report.to_text()
    assert_frame_equal(
        result.tables["patients"].select(COLUMNS), _hand_made(tmp_path).select(COLUMNS)
    )
    assert result.tables["responses"].select("patient_id", "timepoint", "response").rows() == [
        ("P01", "C1", "PR")
    ]
    assert_no_date(_everything(result))
