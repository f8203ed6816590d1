"""The mapping step's pure parts: choices, the mapping made of them, what each column became,
problems located by column or row, and the contract files written from a conversion."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest

from bsab_explorer.data.convert.contract_files import converted_name, table_csv, write_tables
from bsab_explorer.data.convert.dates import DateOrder
from bsab_explorer.data.convert.mapping import (
    ConversionMapping,
    TableMapping,
    read_mapping,
    write_mapping,
)
from bsab_explorer.data.convert.review import (
    choice_label,
    chosen_twice,
    initial_choices,
    mapping_from_choices,
    problems_table,
    values_to_map,
    what_became,
)
from bsab_explorer.data.convert.rules import ConvertRule
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.data.templates import contract_columns, template_csv, template_xlsx
from bsab_explorer.data.validation import Problem, ValidationReport
from bsab_explorer.schema import TABLES

CHOICES = {
    "Subject": "column:patient_id",
    "Sexe": "column:sex",
    "start": "date:origin",
    "dod": "date:death",
    "fu": "date:last_contact",
    "notes": "",
}


def test_choices_make_the_mapping_a_file_would_hold() -> None:
    mapping = mapping_from_choices(
        CHOICES, {"sex": {"1": "M", "2": "F"}}, source="centre", date_order=DateOrder.DMY
    )
    assert mapping == TableMapping(
        "centre",
        {"patient_id": "Subject", "sex": "Sexe"},
        {"sex": {"1": "M", "2": "F"}},
        {"origin": "start", "death": "dod", "last_contact": "fu"},
        DateOrder.DMY,
    )
    assert initial_choices(mapping, list(CHOICES)) == CHOICES

    text = write_mapping(ConversionMapping({"patients": mapping}))
    parsed, problems = read_mapping(text)
    assert problems == []
    assert parsed is not None
    assert parsed.tables["patients"] == mapping


def test_no_date_order_without_a_date_column() -> None:
    mapping = mapping_from_choices(
        {"Subject": "column:patient_id"}, {}, source=None, date_order=DateOrder.MDY
    )
    assert mapping.date_order is None


def test_a_choice_made_twice_is_found() -> None:
    assert chosen_twice({"a": "column:sex", "b": "column:sex", "c": "", "d": ""}) == {
        "column:sex": ["a", "b"]
    }


def test_labels_are_short() -> None:
    assert choice_label("patients", "") == "— not used —"
    assert choice_label("patients", "column:sex") == "sex"
    assert choice_label("patients", "date:origin") == "origin (first dose)"
    assert choice_label("responses", "date:day") == "assessment date"
    assert choice_label("events", "date:day") == "event date"


def test_only_values_not_spelled_as_the_contract_are_offered() -> None:
    assert values_to_map("patients", "sex", ["1", "2", "f", "M"]) == ["1", "2"]
    assert values_to_map("patients", "emd", ["oui", "non", "1", "Yes"]) == ["oui", "non"]
    assert values_to_map("patients", "sex", [str(n) for n in range(41)]) == []


def test_what_each_column_became() -> None:
    mapping = mapping_from_choices(
        CHOICES, {"sex": {"1": "M", "2": "F"}}, source=None, date_order=None
    )
    became = what_became(
        "patients",
        mapping,
        [*CHOICES, "emd"],
        ["patient_id", "sex", "emd", "pfs_days", "pfs_event", "os_days", "os_event"],
    )
    assert became.rows() == [
        ("Subject", "patient_id (Patient)"),
        ("Sexe", "sex (Sex), 2 value(s) recoded"),
        (
            "start",
            "origin: pfs_days, pfs_event, os_days, os_event counted from it "
            "(the date itself is dropped)",
        ),
        (
            "dod",
            "death date: used for pfs_days, pfs_event, os_days, os_event "
            "(the date itself is dropped)",
        ),
        (
            "fu",
            "last contact date: used for pfs_days, pfs_event, os_days, os_event "
            "(the date itself is dropped)",
        ),
        ("notes", "not used"),
        ("emd", "emd (Extramedullary disease (EMD))"),
    ]


def test_a_column_problem_says_column_not_an_empty_row() -> None:
    report = ValidationReport(
        (
            Problem(
                "patients", "centre.csv", None, "dod", None, ConvertRule.AMBIGUOUS_DATE_ORDER, "m1"
            ),
            Problem("patients", "centre.csv", 4, "dod", "99/99/9999", ConvertRule.NOT_A_DATE, "m2"),
            Problem("mapping", "map.toml", None, None, None, ConvertRule.MAPPING_INVALID, "m3"),
        )
    )  # fmt: skip
    assert problems_table(report).rows() == [
        ("centre.csv, column dod", None, "ambiguous_date_order", "m1"),
        ("centre.csv, row 4, column dod", "99/99/9999", "not_a_date", "m2"),
        ("map.toml", None, "mapping_invalid", "m3"),
    ]


def test_contract_csv_keeps_the_columns_with_data_and_whole_days() -> None:
    frame = pl.DataFrame(
        {name: [None, None] for name in TABLES["patients"].column_names}
    ).with_columns(
        pl.Series("patient_id", ["P1", "P2"]),
        pl.Series("pfs_days", [120.0, 30.5]),
        pl.Series("os_days", [200.0, 40.0]),
        pl.Series("os_event", [True, False]),
    )
    assert table_csv("patients", frame).decode() == (
        "patient_id,pfs_days,os_days,os_event\nP1,120.0,200,true\nP2,30.5,40,false\n"
    )


def test_a_converted_name_masks_the_dates_of_an_export_name() -> None:
    assert converted_name("STUDY_DATA_2024-03-05_1200.csv", "patients") == (
        "STUDY_DATA_9999-99-99_1200-patients-converted.csv"
    )


def test_tables_are_written_whole_or_not_at_all(tmp_path: Path) -> None:
    frame = pl.DataFrame({"patient_id": ["P1"], "sex": ["F"]})
    folder = tmp_path / "out"
    write_tables({"patients": frame}, folder)
    assert (folder / "patients.csv").read_text() == "patient_id,sex\nP1,F\n"
    # The second table fails while being written: the first is not left behind either.
    with pytest.raises(KeyError):
        write_tables({"patients": frame, "not_a_table": frame}, tmp_path / "other")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("table", list(TABLES))
def test_each_template_passes_the_contract(table: str, tmp_path: Path) -> None:
    (tmp_path / f"{table}.csv").write_bytes(template_csv(table))
    parent = TABLES[table].parent
    if parent is not None:
        (tmp_path / f"{parent[0]}.csv").write_bytes(template_csv(parent[0]))
    loaded = load_dataset(tmp_path)
    assert loaded.report.ok, loaded.report.to_text()
    assert loaded.dataset is not None
    assert loaded.dataset.table(table).height == 1


def test_the_workbook_template_has_a_sheet_of_codes(tmp_path: Path) -> None:
    path = tmp_path / "responses.xlsx"
    path.write_bytes(template_xlsx("responses"))
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["responses", "codes"]
    rows = [list(r) for r in workbook["responses"].iter_rows(values_only=True)]
    assert rows[0] == list(TABLES["responses"].column_names)
    assert rows[1][:3] == ["P001", "post_debulking", "sCR"]
    codes = [list(r) for r in workbook["codes"].iter_rows(values_only=True)]
    assert codes[0] == ["column", "type", "required", "codes", "meaning"]
    assert codes[3] == [
        "response",
        "code",
        None,
        "sCR, CR, VGPR, PR, MR, SD, PD, NE",
        "Response (IMWG)",
    ]
    assert contract_columns("responses").height == len(codes) - 1
