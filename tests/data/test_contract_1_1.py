"""Contract 1.1: version 1 files still load, the optional additions load, bad values are located.

The additions are the response-assessment day and the MRD columns of `responses`, and the
cohort table `adverse_events`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from bsab_explorer.data.loading import load_dataset
from bsab_explorer.data.store import open_store
from bsab_explorer.data.validation import Problem, Rule
from bsab_explorer.schema import TABLES
from tests.data.conftest import CASES_CSV, EVENTS_CSV, PATIENTS_CSV, RESPONSES_CSV, Writer

RESPONSES_1_1_CSV = (
    "patient_id,timepoint,response,pet_ct,day,mrd_negative,mrd_sensitivity,mrd_method\n"
    "P001,C1,PR,false,21,,,\n"
    "P001,C3,CR,true,63.5,true,1e-5,NGS\n"
    "P002,C1,SD,false,22,no,0.000001,ngf\n"
)
ADVERSE_EVENTS_CSV = (
    "patient_id,term,grade,onset_day,resolution_day,after_dose,dose_day,management\n"
    "P001,crs,2,2,3,step_up_1,0,tocilizumab;corticosteroid\n"
    "P001,CRS,1,9,10,first_full_dose,7,\n"
    "P002,Herpes zoster,3,40,55,later,35,antiviral\n"
)


def test_a_version_1_file_set_still_loads_with_the_new_columns_empty(
    write_tables: Writer,
) -> None:
    folder = write_tables(
        patients=PATIENTS_CSV, responses=RESPONSES_CSV, cases=CASES_CSV, events=EVENTS_CSV
    )
    result = load_dataset(folder)
    assert result.report.ok, result.report.to_text()
    assert result.dataset is not None
    responses = result.dataset.table("responses")
    assert responses.columns == list(TABLES["responses"].column_names)
    assert responses.get_column("day").null_count() == responses.height == 3
    assert not result.dataset.has("adverse_events")
    assert result.dataset.table("adverse_events").columns == list(
        TABLES["adverse_events"].column_names
    )


def test_a_1_1_file_set_loads_days_mrd_and_adverse_events(write_tables: Writer) -> None:
    folder = write_tables(
        patients=PATIENTS_CSV, responses=RESPONSES_1_1_CSV, adverse_events=ADVERSE_EVENTS_CSV
    )
    result = load_dataset(folder)
    assert result.report.ok, result.report.to_text()
    assert result.dataset is not None
    responses = result.dataset.table("responses")
    assert responses.get_column("day").to_list() == [21.0, 63.5, 22.0]
    assert responses.get_column("mrd_negative").to_list() == [None, True, False]
    assert responses.get_column("mrd_sensitivity").to_list() == [None, 1e-5, 1e-6]
    assert responses.get_column("mrd_method").to_list() == [None, "NGS", "NGF"]
    events = result.dataset.table("adverse_events")
    assert events.schema["grade"] == pl.Int64
    assert events.schema["onset_day"] == pl.Float64
    # Listed terms are normalised to the contract's spelling; free terms are kept as written.
    assert events.get_column("term").to_list() == ["CRS", "CRS", "Herpes zoster"]
    assert events.get_column("after_dose").to_list() == ["step_up_1", "first_full_dose", "later"]
    assert events.get_column("management").to_list() == [
        "tocilizumab;corticosteroid",
        None,
        "antiviral",
    ]


def _located(problems: tuple[Problem, ...]) -> set[tuple[str, int | None, str | None, str]]:
    return {(p.table, p.row, p.column, p.rule) for p in problems}


def test_bad_values_in_the_new_responses_columns_are_reported_with_row_and_column(
    write_tables: Writer,
) -> None:
    csv = (
        "patient_id,timepoint,response,day,mrd_negative,mrd_sensitivity,mrd_method\n"
        "P001,C1,PR,-3,maybe,1e-5,NGS\n"
        "P001,C3,CR,63,true,5,PCR\n"
        "P002,C1,SD,twenty,false,1e-6,NGF\n"
    )
    result = load_dataset(write_tables(patients=PATIENTS_CSV, responses=csv))
    assert _located(result.report.problems) == {
        ("responses", 2, "day", Rule.NEGATIVE_TIME),
        ("responses", 2, "mrd_negative", Rule.NOT_BOOLEAN),
        ("responses", 3, "mrd_sensitivity", Rule.OUT_OF_RANGE),
        ("responses", 3, "mrd_method", Rule.UNKNOWN_CODE),
        ("responses", 4, "day", Rule.NOT_NUMBER),
    }
    assert result.dataset is not None
    # Rejected cells are loaded as not recorded; the rest of each row stays.
    responses = result.dataset.table("responses")
    assert responses.get_column("day").to_list() == [None, 63.0, None]
    assert responses.get_column("mrd_method").to_list() == ["NGS", None, "NGF"]


def test_bad_values_in_adverse_events_are_reported_with_row_and_column(
    write_tables: Writer,
) -> None:
    csv = (
        "patient_id,term,grade,onset_day,resolution_day,after_dose,dose_day,management\n"
        "P001,CRS,6,2,3,step_up_1,0,tocilizumab\n"
        "P001,CRS,2,9,4,step-up 9,7,\n"
        "P009,ICANS,1,5,6,later,1,\n"
        "P002,infection,3,40,45,later,41,antibiotic\n"
        "P002,neutropenia,4,-1,,later,,\n"
    )
    result = load_dataset(write_tables(patients=PATIENTS_CSV, adverse_events=csv))
    assert _located(result.report.problems) == {
        ("adverse_events", 2, "grade", Rule.OUT_OF_RANGE),
        ("adverse_events", 3, "resolution_day", Rule.END_BEFORE_START),
        ("adverse_events", 3, "after_dose", Rule.UNKNOWN_CODE),
        ("adverse_events", 4, "patient_id", Rule.UNKNOWN_PATIENT),
        ("adverse_events", 5, "onset_day", Rule.END_BEFORE_START),
        ("adverse_events", 6, "onset_day", Rule.NEGATIVE_TIME),
    }
    messages = {p.row: p.message for p in result.report.problems if p.column == "onset_day"}
    assert messages[5] == (
        "onset_day (40) is before dose_day (41): an event attributed to a dose cannot begin "
        "before it. Check both values."
    )
    assert result.dataset is not None
    # The row of an unknown patient is left out; the others load.
    assert result.dataset.table("adverse_events").height == 4


@pytest.mark.parametrize("table", ["responses", "adverse_events"])
def test_every_new_column_is_optional(table: str) -> None:
    added = {
        "responses": {"day", "mrd_negative", "mrd_sensitivity", "mrd_method"},
        "adverse_events": set(TABLES["adverse_events"].column_names) - {"patient_id"},
    }[table]
    assert {c.name for c in TABLES[table].columns if c.name in added and c.required} == set()
    assert added <= set(TABLES[table].column_names)


def test_a_store_created_under_contract_1_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    open_store(path, seed=False).close()
    # Make it look like a store written before contract 1.1.
    connection = duckdb.connect(str(path))
    for column in ("day", "mrd_negative", "mrd_sensitivity", "mrd_method"):
        connection.execute(f'ALTER TABLE store_responses DROP COLUMN "{column}"')
    connection.execute("DROP TABLE store_adverse_events")
    connection.close()
    store = open_store(path)
    try:
        result = store.load_dataset("bundled")
        assert result.dataset is not None
        responses = result.dataset.table("responses")
        assert responses.columns == list(TABLES["responses"].column_names)
        assert responses.height > 0
        assert responses.get_column("day").null_count() == responses.height
    finally:
        store.close()
