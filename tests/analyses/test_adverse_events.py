"""Adverse events by highest grade, from the contract 1.1 table and from the bundled cohort."""

from __future__ import annotations

import polars as pl
import pytest

from bsab_explorer.analyses.adverse_events import (
    FROM_PATIENTS,
    FROM_TABLE,
    tabulate_adverse_events,
)
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.errors import Unavailable
from tests.analyses.paper_quotes import quoted
from tests.fixtures.cohorts import contract_frame

IDS = [f"A{i:02d}" for i in range(1, 9)]
EMD = [True, True, True, False, False, False, False, None]

# (patient, term, grade): A01 has three CRS episodes (highest grade 3), A08's emd is unknown.
AE_ROWS: list[tuple[str, str, int | None]] = [
    ("A01", "CRS", 1),
    ("A01", "CRS", 3),
    ("A01", "CRS", 2),
    ("A02", "CRS", 1),
    ("A04", "CRS", 2),
    ("A05", "CRS", None),
    ("A01", "neutropenia", 4),
    ("A03", "neutropenia", 3),
    ("A06", "neutropenia", 2),
    ("A02", "infection", 5),
    ("A04", "Herpes zoster", 2),
    ("A08", "ICANS", 1),
]


def _patients() -> pl.DataFrame:
    return contract_frame("patients", {"patient_id": IDS, "emd": EMD})


def _events() -> pl.DataFrame:
    ids, terms, grades = (list(c) for c in zip(*AE_ROWS, strict=True))
    return contract_frame("adverse_events", {"patient_id": ids, "term": terms, "grade": grades})


def test_each_patient_counts_once_per_term_at_the_highest_grade() -> None:
    table = tabulate_adverse_events(_patients(), _events())
    assert table.source == FROM_TABLE
    # Contract terms in contract order, free terms after them.
    assert table.terms == ("CRS", "ICANS", "infection", "neutropenia", "Herpes zoster")
    crs = table.row("CRS", "All patients")
    assert (crs.total, crs.any_grade, crs.grade3plus, crs.ungraded) == (8, 4, 1, 1)
    assert crs.by_highest_grade == (1, 1, 1, 0, 0)  # A02 1, A04 2, A01 3; A05 ungraded
    assert crs.any_grade_percent == pytest.approx(50.0)
    assert crs.grade3plus_percent == pytest.approx(12.5)
    neutropenia = table.row("neutropenia", "All patients")
    assert (neutropenia.any_grade, neutropenia.grade3plus) == (3, 2)
    assert table.row("infection", "All patients").by_highest_grade == (0, 0, 0, 0, 1)


def test_per_group_counts_and_denominators() -> None:
    table = tabulate_adverse_events(_patients(), _events(), by="emd")
    assert table.groups == ("No", "Yes")
    found = {
        (r.term, r.group): (r.any_grade, r.grade3plus, r.total)
        for r in table.rows
        if r.term in ("CRS", "neutropenia")
    }
    assert found == {
        ("CRS", "No"): (2, 0, 4),
        ("CRS", "Yes"): (2, 1, 3),
        ("neutropenia", "No"): (1, 0, 4),
        ("neutropenia", "Yes"): (2, 2, 3),
    }
    # A08 (emd not recorded) is left out, so is its ICANS: counted as zero in both groups.
    assert table.excluded_missing_group == 1
    assert [table.row("ICANS", g).any_grade for g in table.groups] == [0, 0]


def test_the_bundled_cohort_uses_the_worst_grades_of_its_patients_table() -> None:
    dataset = load_dataset().dataset
    assert dataset is not None
    assert not dataset.has("adverse_events")
    table = tabulate_adverse_events(dataset.table("patients"), None)
    assert table.source == FROM_PATIENTS
    assert table.terms == ("CRS", "ICANS", "infection", "cytopenia")
    quoted(
        "debulking",
        "Cytokine release syndrome (CRS) rate was 64% (n = 28), with a majority of grade 1 "
        "(75%, n = 21).",
    )
    crs = table.row("CRS", "All patients")
    assert (crs.total, crs.any_grade, crs.by_highest_grade[0]) == (44, 28, 21)
    assert round(crs.any_grade_percent or 0) == 64
    quoted(
        "debulking",
        "The immune effector cell-associated syndrome (ICANS) rate was 7% (n = 3) with two "
        "grade 1 and one grade 4.",
    )
    icans = table.row("ICANS", "All patients")
    assert (icans.any_grade, icans.by_highest_grade) == (3, (2, 0, 0, 1, None))
    quoted("debulking", "Grade ≥3 infections were reported in 35% (n = 15)")
    quoted("debulking", "grade ≥3 cytopenia was reported in 33% (n = 14)")
    infection = table.row("infection", "All patients")
    cytopenia = table.row("cytopenia", "All patients")
    assert (infection.grade3plus, cytopenia.grade3plus) == (15, 14)
    # The patients table cannot say how many had an infection of any grade.
    assert (infection.any_grade, infection.any_grade_percent) == (None, None)
    assert infection.by_highest_grade == (None,) * 5


def test_without_any_safety_data_the_view_names_what_is_missing() -> None:
    with pytest.raises(
        Unavailable, match="adverse_events table or one of the patients columns crs_grade"
    ):
        tabulate_adverse_events(_patients(), None)
