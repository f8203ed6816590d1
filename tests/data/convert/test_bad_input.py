"""Bad input to the conversion: every problem listed, no table made, no traceback."""

from __future__ import annotations

from pathlib import Path

from bsab_explorer.data.convert import ConversionResult, convert
from bsab_explorer.data.convert.rules import ConvertRule


def _rules(result: ConversionResult) -> list[str]:
    return [p.rule for p in result.report.problems]


def test_a_missing_mapping_file(tmp_path: Path) -> None:
    source = tmp_path / "patients.csv"
    source.write_text("patient_id\nP1\n", encoding="utf-8")
    result = convert(source, mapping=tmp_path / "absent.toml")
    assert result.tables == {}
    assert _rules(result) == [ConvertRule.MAPPING_INVALID]
    assert result.report.problems[0].message == (
        "The mapping file could not be read (No such file or directory)."
    )


def test_a_missing_source(tmp_path: Path) -> None:
    result = convert(tmp_path / "absent.csv")
    assert result.tables == {}
    assert _rules(result) == ["unreadable"]


def test_a_damaged_sas_file(tmp_path: Path) -> None:
    (tmp_path / "adsl.xpt").write_bytes(b"HEADER RECORD*******garbage" * 10)
    result = convert(tmp_path)
    assert result.tables == {}
    assert result.report.problems[0].file == "adsl.xpt"
    assert result.report.problems[0].message.startswith("The dataset could not be read (")


def test_a_redcap_export_with_a_repeated_column(tmp_path: Path) -> None:
    dictionary = tmp_path / "dictionary.csv"
    dictionary.write_text(
        "Variable / Field Name,Form Name,Field Type\nrecord_id,base,text\n", encoding="utf-8"
    )
    export = tmp_path / "export.csv"
    export.write_text("record_id,age,age\nR1,60,61\n", encoding="utf-8")
    result = convert(export, dictionary=dictionary)
    assert result.tables == {}
    assert [(p.row, p.column) for p in result.report.problems] == [(1, "age")]


def test_a_column_mapped_and_derived_from_dates(tmp_path: Path) -> None:
    source = tmp_path / "centre.csv"
    source.write_text("id,start,death,os\nP1,2024-01-01,2024-02-01,31\n", encoding="utf-8")
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[columns]\npatient_id = "id"\nos_days = "os"\n'
        '[dates]\norigin = "start"\ndeath = "death"\n',
        encoding="utf-8",
    )
    result = convert(source, mapping=mapping)
    derived = [p for p in result.report.problems if p.rule == ConvertRule.DERIVED_TWICE]
    assert [p.column for p in derived] == ["os_days"]


def test_a_mapping_naming_a_column_the_file_does_not_have(tmp_path: Path) -> None:
    source = tmp_path / "centre.csv"
    source.write_text("id,sex\nP1,F\n", encoding="utf-8")
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[columns]\npatient_id = "id"\nage_years = "Age"\n[dates]\norigin = "start"\n',
        encoding="utf-8",
    )
    result = convert(source, mapping=mapping)
    missing = [
        (p.column, p.message)
        for p in result.report.problems
        if p.rule == ConvertRule.SOURCE_COLUMN_MISSING
    ]
    assert missing == [
        (
            "Age",
            "The mapping's [columns] age_years names column 'Age', which the file does not "
            "have. Correct the mapping or the header.",
        ),
        (
            "start",
            "The mapping's [dates] origin names column 'start', which the file does not have. "
            "Correct the mapping or the header.",
        ),
    ]


def test_a_file_nothing_can_be_made_of(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text("foo,bar\n1,2\n", encoding="utf-8")
    result = convert(source)
    assert result.tables == {}
    assert _rules(result) == [ConvertRule.UNKNOWN_SOURCE]
