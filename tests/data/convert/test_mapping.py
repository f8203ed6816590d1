"""The mapping file: read and validated, proposed from a header and values, written back."""

from __future__ import annotations

import pytest

from bsab_explorer.data.convert.dates import DateOrder
from bsab_explorer.data.convert.mapping import (
    ConversionMapping,
    TableMapping,
    propose_columns,
    propose_dates,
    propose_mapping,
    propose_values,
    read_mapping,
    write_mapping,
)

ISSUE_EXAMPLE = """\
[columns]            # contract column = source column
patient_id = "Subject"
sex = "Sexe"
[values.sex]         # source value = contract code
"1" = "M"
"2" = "F"
[dates]              # roles of date columns, per table
origin = "bsab_start_date"
progression = "pd_date"
death = "death_date"
last_contact = "last_fu_date"
format = "dd/mm/yyyy"  # when the order is ambiguous
"""


def test_the_minimal_form_is_read() -> None:
    mapping, problems = read_mapping(ISSUE_EXAMPLE)
    assert problems == []
    assert mapping == ConversionMapping(
        {
            "patients": TableMapping(
                columns={"patient_id": "Subject", "sex": "Sexe"},
                values={"sex": {"1": "M", "2": "F"}},
                dates={
                    "origin": "bsab_start_date",
                    "progression": "pd_date",
                    "death": "death_date",
                    "last_contact": "last_fu_date",
                },
                date_order=DateOrder.DMY,
            )
        }
    )


def test_a_mapping_of_several_tables_round_trips() -> None:
    mapping = ConversionMapping(
        {
            "cases": TableMapping(
                source="cases sheet",
                columns={"case_id": "Cas n°"},
                dates={"origin": "C1D1"},
                date_order=DateOrder.MDY,
            ),
            "events": TableMapping(
                source="timeline",
                columns={"case_id": "Cas n°", "event": "Type"},
                values={"event": {"SRC": "crs", "Tocilizumab": "tocilizumab"}},
                dates={"day": "Date", "end_day": "Fin"},
            ),
        },
        main="cases",
    )
    text = write_mapping(mapping)
    assert read_mapping(text) == (mapping, [])
    assert '"Cas n°"' in text
    assert "[tables.events.values.event]" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[columns\n", "The mapping is not valid TOML"),
        ('table = "visits"\n', "table = 'visits' is not a contract table."),
        (
            '[columns]\nsexe = "Sexe"\n',
            "[columns] names 'sexe', which is not a column of patients.",
        ),
        ("[columns]\nsex = 1\n", "[columns] of patients must map column names to text."),
        (
            '[values.gender]\n"1" = "M"\n',
            "[values.gender] names a column that patients does not have.",
        ),
        ('[dates]\nformat = "yyyy/dd/mm"\n', "[dates] format must be one of: yyyy-mm-dd, "),
        ('[dates]\nbirth = "dob"\n', "[dates] role 'birth' is not one of patients's: origin, "),
        ('[tables.visits]\nsource = "x"\n', "[tables.visits] is not a contract table."),
        ('[tables.events.dates]\nprogression = "pd"\n', "[dates] role 'progression' is not one"),
        ('[column]\nsex = "Sexe"\n', "Unknown section or key 'column' for table patients."),
    ],
)
def test_a_mapping_with_a_mistake_is_refused_with_a_clear_message(text: str, message: str) -> None:
    mapping, problems = read_mapping(text, "centre.toml")
    assert mapping is None
    assert len(problems) == 1
    assert problems[0].file == "centre.toml"
    assert problems[0].message.startswith(message), problems[0].message


@pytest.mark.parametrize(
    ("source", "column"),
    [
        ("Sexe", "sex"),
        ("Geschlecht", "sex"),
        ("Sesso", "sex"),
        ("sexo", "sex"),
        ("Gender", "sex"),
        ("extramedullary", "emd"),
        ("EMD", "emd"),
        ("Extramedullär", "emd"),
        ("ISS", "iss_stage"),
        ("ISS Stage", "iss_stage"),
        ("Age", "age_years"),
        ("Âge", "age_years"),
        ("Età", "age_years"),
        ("Edad", "age_years"),
        ("Centre", "center"),
        ("Patient ID", "patient_id"),
        ("patientId", "patient_id"),
        ("  PRIOR LINES ", "prior_lines"),
        ("Cause of death", "death_cause"),
        ("Bispécifique", "bsab"),
        ("Triple-class refractory", "triple_class_refractory"),
    ],
)
def test_source_columns_are_proposed_a_contract_column(source: str, column: str) -> None:
    assert propose_columns("patients", ["Unrelated", source]) == {column: source}


def test_a_contract_name_wins_over_a_synonym() -> None:
    assert propose_columns("patients", ["Gender", "sex"]) == {"sex": "sex"}


def test_date_columns_are_proposed_a_role() -> None:
    header = ["Subject", "bsab_start_date", "PD date", "Date de décès", "last_fu_date", "day"]
    assert propose_dates("patients", header) == {
        "origin": "bsab_start_date",
        "progression": "PD date",
        "death": "Date de décès",
        "last_contact": "last_fu_date",
    }


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("sex", ["1", "2"], {"1": "M", "2": "F"}),
        ("sex", ["male", "Homme", "Femme", "W", "F"],
         {"male": "M", "Homme": "M", "Femme": "F", "W": "F"}),
        (
            "bsab",
            ["Tecvayli", "tec", "Elrexfio", "TALVEY", "teclistamab", "blinatumomab"],
            {"Tecvayli": "teclistamab", "tec": "teclistamab", "Elrexfio": "elranatamab",
             "TALVEY": "talquetamab"},
        ),
        (
            "best_response",
            ["stringent CR", "Complete response", "vgpr", "Partial response", "PD", "Stable"],
            {"stringent CR": "sCR", "Complete response": "CR", "vgpr": "VGPR",
             "Partial response": "PR", "Stable": "SD"},
        ),
        ("emd", ["oui", "non", "ja", "nein", "yes", "1"], {"oui": "true", "non": "false",
                                                           "ja": "true", "nein": "false"}),
        ("iss_stage", ["1", "2", "3", "III"], {"1": "I", "2": "II", "3": "III"}),
    ],
)  # fmt: skip
def test_codes_are_proposed_a_contract_code(
    column: str, values: list[str], expected: dict[str, str]
) -> None:
    assert propose_values("patients", column, values) == expected


def test_visits_are_proposed_a_cycle() -> None:
    values = ["CYCLE 3 DAY 1", "cycle_6_arm_1", "C01", "Zyklus 12", "post_debulking", "Screening"]
    assert propose_values("responses", "timepoint", values) == {
        "CYCLE 3 DAY 1": "C3",
        "cycle_6_arm_1": "C6",
        "C01": "C1",
        "Zyklus 12": "C12",
    }


def test_a_whole_table_is_proposed_with_its_codes() -> None:
    proposal = propose_mapping(
        "patients",
        ["Sujet", "Sexe", "date_debut_bsab", "Notes"],
        {"Sujet": ["A1"], "Sexe": ["homme", "femme"], "Notes": ["x"]},
    )
    assert proposal == TableMapping(
        columns={"patient_id": "Sujet", "sex": "Sexe"},
        values={"sex": {"femme": "F", "homme": "M"}},
        dates={"origin": "date_debut_bsab"},
    )


def test_any_column_name_survives_the_round_trip() -> None:
    odd = 'Sexe "M/F"\t\x01\x7f [1]\\ é'
    mapping = ConversionMapping({"patients": TableMapping(columns={"sex": odd})})
    assert read_mapping(write_mapping(mapping)) == (mapping, [])
