"""A constructed cohort with assessment days, for the response endpoints (contract 1.1).

R01–R14 are the responders of tests/analyses/reference/endpoints.R (first response day,
pfs_days, pfs_event and emd are that script's data frame). The others are left out of the
duration of response, each for one reason: N01 never responded; X01's response has no day;
X02 has no PFS time; X03's first response comes after its PFS time; X04's emd is not recorded.
"""

from __future__ import annotations

import polars as pl

from tests.fixtures.cohorts import contract_frame

# (patient, emd, pfs_days, pfs_event)
PATIENT_ROWS: list[tuple[str, bool | None, float | None, bool | None]] = [
    ("R01", False, 28, True),
    ("R02", False, 120, True),
    ("R03", False, 200, False),
    ("R04", False, 155, True),
    ("R05", False, 400, True),
    ("R06", False, 330, False),
    ("R07", False, 183, True),
    ("R08", True, 90, True),
    ("R09", True, 88, True),
    ("R10", True, 300, False),
    ("R11", True, 150, True),
    ("R12", True, 97, True),
    ("R13", True, 63, False),
    ("R14", False, 250, True),
    ("N01", False, 60, True),
    ("X01", True, 200, False),
    ("X02", False, None, None),
    ("X03", True, 80, True),
    ("X04", None, 300, True),
]

# (patient, timepoint, response, day)
RESPONSE_ROWS: list[tuple[str, str, str, float | None]] = [
    ("R01", "C1", "PR", 28),
    ("R02", "post_debulking", "PR", None),
    ("R02", "C1", "PR", 21),
    ("R02", "C3", "VGPR", 63),
    ("R03", "C1", "VGPR", 28),
    ("R03", "C3", "CR", 84),
    ("R04", "C1", "SD", 21),
    ("R04", "C3", "PR", 56),
    ("R05", "C1", "PR", 21),
    ("R05", "C3", "CR", 63),
    ("R05", "C6", "sCR", 170),
    ("R06", "C1", "CR", 28),
    ("R07", "C1", "SD", 21),
    ("R07", "C3", "SD", 56),
    ("R07", "C6", "PR", 84),
    ("R08", "C1", "PR", 21),
    ("R09", "C1", "VGPR", 28),
    ("R10", "C1", "MR", 21),
    ("R10", "C3", "VGPR", 56),
    ("R11", "C1", "PR", 21),
    ("R11", "C3", "PR", 63),
    ("R12", "C1", "CR", 28),
    ("R13", "C1", "SD", 21),
    ("R13", "C3", "PR", 63),
    ("R14", "C1", "PR", 21),
    ("R14", "C3", "VGPR", 70),
    ("N01", "C1", "SD", 21),
    ("N01", "C3", "PD", 60),
    ("X01", "C1", "CR", None),
    ("X02", "C1", "PR", 21),
    ("X03", "C1", "SD", 21),
    ("X03", "C3", "PR", 100),
    ("X04", "C1", "VGPR", 21),
]


def endpoint_patients() -> pl.DataFrame:
    """The nineteen patients (contract schema)."""
    ids, emd, pfs_days, pfs_event = (list(c) for c in zip(*PATIENT_ROWS, strict=True))
    return contract_frame(
        "patients",
        {"patient_id": ids, "emd": emd, "pfs_days": pfs_days, "pfs_event": pfs_event},
    )


def endpoint_responses() -> pl.DataFrame:
    """Their assessments with days (contract schema)."""
    ids, timepoints, responses, days = (list(c) for c in zip(*RESPONSE_ROWS, strict=True))
    return contract_frame(
        "responses",
        {"patient_id": ids, "timepoint": timepoints, "response": responses, "day": days},
    )
