"""A REDCap export with its data dictionary: decoded, identifiers unread, long tables mapped."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bsab_explorer.data.convert import convert
from bsab_explorer.data.convert.mapping import write_mapping
from bsab_explorer.data.convert.redcap import parse_choices, read_redcap
from bsab_explorer.data.convert.rules import ConvertRule
from tests.data.convert.cohort import assert_no_date

DICTIONARY_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
]
FIELDS = [
    # name, form, type, choices, validation, identifier
    ("record_id", "baseline", "text", "", "", ""),
    ("patient_name", "baseline", "text", "", "", "y"),
    ("dob", "baseline", "text", "", "date_ymd", "y"),
    ("sex", "baseline", "radio", "1, Male | 2, Female", "", ""),
    ("iss", "baseline", "dropdown", "1, I | 2, II | 3, III", "", ""),
    ("emd", "baseline", "yesno", "", "", ""),
    ("emd_site", "baseline", "checkbox", "1, Cerebral | 2, Lung | 3, Liver", "", ""),
    ("bsab", "baseline", "dropdown", "1, Teclistamab | 2, Elranatamab", "", ""),
    ("start_date", "baseline", "text", "", "date_dmy", ""),
    ("pd_date", "follow_up", "text", "", "date_dmy", ""),
    ("death_date", "follow_up", "text", "", "date_dmy", ""),
    ("last_fu_date", "follow_up", "text", "", "date_mdy", ""),
    ("resp_tp", "response_assessment", "dropdown", "1, C1 | 3, C3 | 6, C6", "", ""),
    (
        "resp",
        "response_assessment",
        "radio",
        "1, stringent CR | 2, CR | 3, VGPR | 4, PR | 6, PD",
        "",
        "",
    ),
    ("resp_pet", "response_assessment", "yesno", "", "", ""),
    ("resp_date", "response_assessment", "text", "", "date_dmy", ""),
]
EXPORT_HEADER = [
    "record_id",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "patient_name",
    "dob",
    "sex",
    "iss",
    "emd",
    "emd_site___1",
    "emd_site___2",
    "emd_site___3",
    "bsab",
    "start_date",
    "pd_date",
    "death_date",
    "last_fu_date",
    "resp_tp",
    "resp",
    "resp_pet",
    "resp_date",
]
NAMES = ("Jeanne Martin", "Paul Durand")
# Every day of month is 12 or less: only the dictionary's validation tells the order. The last
# follow-up is validated mdy, the others dmy.
EXPORT_ROWS = [
    ["R1", "", "", NAMES[0], "1950-04-03", "2", "3", "1", "1", "0", "1", "1",
     "02/03/2024", "04/05/2024", "", "12/01/2024"],
    ["R1", "response_assessment", "1", "", "", "", "", "", "", "", "", "", "", "", "", "",
     "1", "4", "0", "01/04/2024"],
    ["R1", "response_assessment", "2", "", "", "", "", "", "", "", "", "", "", "", "", "",
     "3", "1", "1", "01/06/2024"],
    ["R2", "", "", NAMES[1], "1948-11-12", "1", "1", "0", "0", "0", "0", "2",
     "10/01/2024", "", "08/09/2024", ""],
    ["R2", "response_assessment", "1", "", "", "", "", "", "", "", "", "", "", "", "", "",
     "1", "6", "", "09/02/2024"],
]  # fmt: skip
MAPPING = """\
table = "patients"
[columns]
patient_id = "record_id"
sex = "sex"
iss_stage = "iss"
emd = "emd"
emd_cerebral = "emd_site___1"
emd_lung = "emd_site___2"
emd_liver = "emd_site___3"
bsab = "bsab"
[values.sex]
Male = "M"
Female = "F"
[dates]
origin = "start_date"
progression = "pd_date"
death = "death_date"
last_contact = "last_fu_date"

[tables.responses]
source = "response_assessment"
[tables.responses.columns]
patient_id = "record_id"
timepoint = "resp_tp"
response = "resp"
pet_ct = "resp_pet"
[tables.responses.values.response]
"stringent CR" = "sCR"
"""


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@pytest.fixture
def export(tmp_path: Path) -> tuple[Path, Path]:
    dictionary = tmp_path / "dictionary.csv"
    rows = [DICTIONARY_HEADER] + [
        [name, form, "", kind, name.replace("_", " "), choices, "", validation, "", "", ident]
        for name, form, kind, choices, validation, ident in FIELDS
    ]
    dictionary.write_text(_csv(rows), encoding="utf-8-sig")
    data = tmp_path / "export.csv"
    width = len(EXPORT_HEADER)
    body = [(r + [""] * width)[:width] for r in EXPORT_ROWS]
    data.write_text(_csv([EXPORT_HEADER, *body]), encoding="utf-8")
    return data, dictionary


def test_choices_are_parsed_from_the_dictionary() -> None:
    assert parse_choices("1, Yes | 2, No") == {"1": "Yes", "2": "No"}
    assert parse_choices("0, None|1, Grade 1, mild") == {"0": "None", "1": "Grade 1, mild"}


def test_the_export_is_decoded_and_identifiers_are_never_read(export: tuple[Path, Path]) -> None:
    found = read_redcap(*export)
    assert set(found.tables) == {"record", "response_assessment"}
    record = found.tables["record"]
    assert "patient_name" not in record.frame.columns
    assert "dob" not in record.frame.columns
    assert record.frame.select("record_id", "sex", "iss", "emd", "emd_site___1", "bsab").rows() == [
        ("R1", "Female", "III", "true", "true", "Teclistamab"),
        ("R2", "Male", "I", "false", "false", "Elranatamab"),
    ]
    assert found.notices == (
        "export.csv: fields the data dictionary flags as identifiers were not read: dob, "
        "patient_name.",
    )
    responses = found.tables["response_assessment"]
    assert responses.frame.select("__row", "record_id", "resp_tp", "resp").rows() == [
        (3, "R1", "C1", "PR"),
        (4, "R1", "C3", "stringent CR"),
        (6, "R2", "C1", "PD"),
    ]
    assert str(record.date_orders["start_date"]) == "dd/mm/yyyy"
    assert str(record.date_orders["last_fu_date"]) == "mm/dd/yyyy"


def test_the_converted_tables_cell_by_cell(export: tuple[Path, Path], tmp_path: Path) -> None:
    mapping = tmp_path / "redcap.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    result = convert(export[0], mapping=mapping, dictionary=export[1])
    assert result.ok, result.report.to_text()
    patients = result.tables["patients"].select(
        "patient_id", "sex", "iss_stage", "emd", "emd_cerebral", "emd_lung", "emd_liver", "bsab",
        "pfs_days", "pfs_event", "os_days", "os_event",
    )  # fmt: skip
    # R1: origin 2 March 2024, progression 4 May (63 days), last contact 1 December (274 days).
    # R2: origin 10 January 2024, death 8 September (242 days), no progression before it.
    expected = pl.DataFrame(
        {
            "patient_id": ["R1", "R2"],
            "sex": ["F", "M"],
            "iss_stage": ["III", "I"],
            "emd": [True, False],
            "emd_cerebral": [True, False],
            "emd_lung": [False, False],
            "emd_liver": [True, False],
            "bsab": ["teclistamab", "elranatamab"],
            "pfs_days": [63.0, 242.0],
            "pfs_event": [True, True],
            "os_days": [274.0, 242.0],
            "os_event": [False, True],
        }
    )
    assert_frame_equal(patients, expected)
    # Contract 1.1's optional responses columns (day, MRD) are not in this export: all null.
    responses = result.tables["responses"]
    assert responses.select(responses.columns[4:]).null_count().row(0) == (3, 3, 3, 3)
    assert responses.select(responses.columns[:4]).rows() == [
        ("R1", "C1", "PR", False),
        ("R1", "C3", "sCR", True),
        ("R2", "C1", "PD", None),
    ]
    text = "\n".join(
        [
            *(f.write_csv() for f in result.tables.values()),
            result.report.to_text(),
            write_mapping(result.mapping),
            result.report.to_frame().write_csv(),
        ]
    )
    for name in NAMES:
        assert name not in text
    assert "1950" not in text
    assert "1948" not in text
    assert_no_date(text)
    assert "dob, patient_name" in result.report.to_text()


def test_a_file_that_is_not_a_dictionary_is_refused(tmp_path: Path) -> None:
    dictionary = tmp_path / "dictionary.csv"
    dictionary.write_text("name,type\nrecord_id,text\n", encoding="utf-8")
    data = tmp_path / "export.csv"
    data.write_text("record_id\nR1\n", encoding="utf-8")
    result = convert(data, dictionary=dictionary)
    assert not result.ok
    assert result.tables == {}
    assert [p.rule for p in result.report.problems] == [ConvertRule.DICTIONARY_INVALID]


LONGITUDINAL_HEADER = ["record_id", "redcap_event_name", "sex", "resp", "resp_pet"]
LONGITUDINAL_ROWS = [
    ["R1", "baseline_arm_1", "2", "", ""],
    ["R1", "cycle_1_arm_1", "", "4", "0"],
    ["R1", "cycle_3_arm_1", "", "2", "1"],
    ["R2", "baseline_arm_1", "1", "", ""],
    ["R2", "cycle_1_arm_1", "", "6", ""],
]
LONGITUDINAL_MAPPING = """\
[columns]
patient_id = "record_id"
[values.sex]
Male = "M"
Female = "F"

[tables.responses]
source = "by_event"
[tables.responses.columns]
patient_id = "record_id"
timepoint = "redcap_event_name"
response = "resp"
pet_ct = "resp_pet"
[tables.responses.values.timepoint]
cycle_1_arm_1 = "C1"
cycle_3_arm_1 = "C3"
"""


def test_longitudinal_event_rows_become_a_long_table(export: tuple[Path, Path]) -> None:
    data, dictionary = export
    data.write_text(_csv([LONGITUDINAL_HEADER, *LONGITUDINAL_ROWS]), encoding="utf-8")
    mapping = data.parent / "longitudinal.toml"
    mapping.write_text(LONGITUDINAL_MAPPING, encoding="utf-8")
    result = convert(data, mapping=mapping, dictionary=dictionary)
    assert result.ok, result.report.to_text()
    # One row per record, its fields gathered across the events.
    assert result.tables["patients"].select("patient_id", "sex").rows() == [
        ("R1", "F"),
        ("R2", "M"),
    ]
    # The baseline events record no response: they are not assessments.
    # Contract 1.1's optional responses columns (day, MRD) are not in this export: all null.
    responses = result.tables["responses"]
    assert responses.select(responses.columns[4:]).null_count().row(0) == (3, 3, 3, 3)
    assert responses.select(responses.columns[:4]).rows() == [
        ("R1", "C1", "PR", False),
        ("R1", "C3", "CR", True),
        ("R2", "C1", "PD", None),
    ]
    assert "2 row(s) with nothing recorded for responses were skipped" in (result.report.to_text())


def test_an_export_named_by_its_date_is_reported_without_it(export: tuple[Path, Path]) -> None:
    data, dictionary = export
    # REDCap names an export by the day it was made.
    dated = data.rename(data.parent / "BSAB_DATA_2024-03-05_1230.csv")
    result = convert(dated, dictionary=dictionary)
    report = result.report.to_text()
    assert "BSAB_DATA_9999-99-99_1230.csv: fields the data dictionary flags" in report
    assert_no_date(report + result.report.to_frame().write_csv())
