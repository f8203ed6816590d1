"""Small constructed cohorts whose correct Table 1, response and conversion numbers are known."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from bsab_explorer.dataset import empty_table

IDS = [f"P{i:02d}" for i in range(1, 11)]

#: Ten patients. P10 has EMD, HRCA and most things not recorded.
PATIENT_COLUMNS: dict[str, list[Any]] = {
    "patient_id": IDS,
    "age_years": [45, 50, 55, 60, 65, 70, 75, 80, 82, None],
    "sex": ["F", "F", "F", "M", "F", "M", "M", "F", "M", None],
    "prior_lines": [2, 3, 4, 4, 5, 6, 3, 2, 9, 4],
    "triple_class_refractory": [True] * 9 + [False],
    "iss_stage": ["III", "III", "I", "II", "III", None, "I", "II", "III", None],
    "hrca": [True, True, False, False, True, False, False, False, None, None],
    "del17p": [True, False, False, False, True, False, False, False, None, None],
    "emd": [True, True, True, True, False, False, False, False, False, None],
    "emd_sites": [1, 2, 3, 4, 0, 0, 0, 0, 0, None],
    "emd_cutaneous": [True, False, True, False, False, False, False, False, False, None],
    "chemo_cycles": [1, 1, 1, 2, 1, 3, 4, 1, 2, 1],
    "chemo_cyclophosphamide": [True, True, True] + [False] * 7,
    "chemo_bendamustine": [False, False, False, True, False, False, False, False, False, None],
    "chemo_lomustine": [False, False, False, False, True, False, False, False, False, None],
    "bsab": ["teclistamab"] * 6 + ["elranatamab"] * 3 + ["linvoseltamab"],
    "days_chemo_to_bsab": [4, 10, 20, 28, 28, 30, 40, 100, 197, 15],
    "crs_grade": [1, 1, 2, 0, 0, 3, 1, 0, 0, None],
    "icans_grade": [0, 0, 0, 0, 0, 0, 0, 4, 0, 0],
}

#: Assessments: post-debulking for P01–P08, C1 for P01–P09, C3 for five patients.
RESPONSE_ROWS: list[tuple[str, str, str, bool | None]] = [
    ("P01", "post_debulking", "CR", False),
    ("P02", "post_debulking", "VGPR", False),
    ("P03", "post_debulking", "PR", False),
    ("P04", "post_debulking", "PD", False),
    ("P05", "post_debulking", "PD", False),
    ("P06", "post_debulking", "SD", False),
    ("P07", "post_debulking", "PD", False),
    ("P08", "post_debulking", "NE", None),
    ("P01", "C1", "sCR", True),
    ("P02", "C1", "CR", True),
    ("P03", "C1", "VGPR", False),
    ("P04", "C1", "PR", False),
    ("P05", "C1", "SD", False),
    ("P06", "C1", "PD", None),
    ("P07", "C1", "PR", False),
    ("P08", "C1", "NE", False),
    ("P09", "C1", "CR", False),
    ("P01", "C3", "sCR", True),
    ("P02", "C3", "CR", False),
    ("P03", "C3", "PD", False),
    ("P04", "C3", "VGPR", False),
    ("P07", "C3", "CR", False),
]


def contract_frame(table: str, columns: dict[str, list[Any]]) -> pl.DataFrame:
    """A frame with the full contract schema of `table`; columns not given are all null."""
    schema = empty_table(table).schema
    height = len(next(iter(columns.values())))
    return pl.DataFrame(
        {
            name: pl.Series(name, columns.get(name, [None] * height), dtype=dtype)
            for name, dtype in schema.items()
        }
    )


@pytest.fixture
def patients() -> pl.DataFrame:
    """The ten constructed patients (contract schema)."""
    return contract_frame("patients", PATIENT_COLUMNS)


@pytest.fixture
def responses() -> pl.DataFrame:
    """The constructed assessments (contract schema)."""
    ids, timepoints, codes, pet = zip(*RESPONSE_ROWS, strict=True)
    return contract_frame(
        "responses",
        {
            "patient_id": list(ids),
            "timepoint": list(timepoints),
            "response": list(codes),
            "pet_ct": list(pet),
        },
    )
