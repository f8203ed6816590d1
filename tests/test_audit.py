"""The audit of the debulking cohort: every published figure reproduced or a paper inconsistency."""

from __future__ import annotations

import polars as pl
import pytest

from bsab_explorer.analyses.table1 import build_table1
from bsab_explorer.audit import (
    AUDIT_STATUSES,
    DIFFERS,
    PAPER_INCONSISTENT,
    REPRODUCED,
    AuditRow,
    audit_dataset,
    audit_debulking,
    audit_frame,
    load_targets,
)
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.dataset import Dataset

#: The paper's contradictions, each kept with one reading (data/debulking/PROVENANCE.md).
INCONSISTENT = {
    "age_median",
    "iss_iii",
    "emd_sites_counted",
    "emd_localisations_total",
    "emd_cerebral",
    "t_14_16",
    "del_1p32",
    "high_pc_infiltration",
    "hrca_definition",
    "hrca_untested",
    "tocilizumab",
    "infection_grade3plus",
    "infection_table",
    "infection_documented",
    "cytopenia_grade3plus",
    "pjp_prophylaxis",
    "delay_inclusion_window",
    "cr_vgpr_post_debulking_split",
    "orr_c3",
    "orr_c6",
    "orr_c1_hrca",
    "orr_c3_hrca",
}


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    return load_dataset().dataset


@pytest.fixture(scope="module")
def rows(bundled: Dataset) -> list[AuditRow]:
    return audit_debulking(bundled)


def _row(rows: list[AuditRow], target_id: str) -> AuditRow:
    return next(r for r in rows if r.target_id == target_id)


def _with_patients(dataset: Dataset, patients: pl.DataFrame) -> Dataset:
    return Dataset("changed", {**dataset.tables, "patients": patients})


def test_every_published_figure_is_reproduced_or_a_paper_inconsistency(
    rows: list[AuditRow],
) -> None:
    assert len(rows) == len(load_targets()) == 148
    assert {r.status for r in rows} == {REPRODUCED, PAPER_INCONSISTENT}
    assert {r.target_id for r in rows if r.status == PAPER_INCONSISTENT} == INCONSISTENT
    assert all(r.status in AUDIT_STATUSES and r.study == "debulking" for r in rows)


def test_inconsistencies_carry_their_arithmetic(rows: list[AuditRow]) -> None:
    row = _row(rows, "orr_c6")
    assert row.published == "87% (n = 21)"
    assert row.recomputed == "18/21 (86 %)"
    assert "85.7 %" in row.note
    assert "Reading:" in row.note


@pytest.mark.parametrize(
    ("target_id", "recomputed"),
    [
        ("pfs_median_all", "10.2"),
        ("pfs_lower_all", "6.87"),
        ("pfs_upper_all", "18.6"),
        ("pfs_median_emd", "9.3"),
        ("pfs_lower_emd", "3.7"),
        ("os_median_no_emd", "NR"),
        ("os_lower_no_hrca", "7.45"),
        ("pfs_logrank_emd", "0.05"),
        ("os_logrank_hrca", "0.8"),
        ("orr_c1", "25/39 (64 %)"),
        ("orr_c1_emd", "9/17 (53 %)"),
        ("best_cr", "17/44 (39 %)"),
        ("conversion_progression", "4/8 (50 %)"),
        ("pet_ct_c3", "7"),
        ("age_median", "66.5"),
        ("follow_up_median", "12"),
        ("iss_iii", "20/42 (48 %)"),
    ],
)
def test_recomputed_values(rows: list[AuditRow], target_id: str, recomputed: str) -> None:
    assert _row(rows, target_id).recomputed == recomputed


def test_counts_agree_with_table1(bundled: Dataset, rows: list[AuditRow]) -> None:
    table = build_table1(bundled.table("patients"))
    column = table.columns[0].label
    assert table.cell("Female", column) == "22 (50 %)"
    assert _row(rows, "female").recomputed == "22/44 (50 %)"
    assert table.cell("Marrow plasma cells > 60 %", column) == "12/43 (28 %)"
    assert _row(rows, "high_pc_infiltration").recomputed == "12/43 (28 %)"


def test_a_changed_patient_shows_as_differs(bundled: Dataset) -> None:
    patients = bundled.table("patients").with_columns(
        sex=pl.when(pl.col("patient_id") == "D001")
        .then(pl.when(pl.col("sex") == "F").then(pl.lit("M")).otherwise(pl.lit("F")))
        .otherwise(pl.col("sex")),
        pfs_days=pl.col("pfs_days") * 1.2,
    )
    changed = audit_debulking(_with_patients(bundled, patients))
    assert _row(changed, "female").status == DIFFERS
    assert _row(changed, "pfs_median_all").status == DIFFERS
    assert _row(changed, "os_median_all").status == REPRODUCED


def test_missing_tables_do_not_break_the_audit(bundled: Dataset) -> None:
    patients_only = Dataset("no responses", {"patients": bundled.table("patients")})
    result = audit_debulking(patients_only)
    assert _row(result, "orr_c1").status == DIFFERS
    assert _row(result, "female").status == REPRODUCED


def test_an_empty_dataset_differs_everywhere_without_error() -> None:
    result = audit_debulking(Dataset("empty", {}))
    assert len(result) == 148
    # only the figure the contract cannot hold keeps its explanation
    assert {r.target_id for r in result if r.status != DIFFERS} == {"infection_documented"}
    assert audit_dataset(Dataset("empty", {})) == []


def test_audit_frame_has_one_row_per_figure(rows: list[AuditRow]) -> None:
    frame = audit_frame(rows)
    assert frame.height == 148
    assert frame.columns[:7] == [
        "study",
        "target_id",
        "label",
        "published",
        "recomputed",
        "status",
        "note",
    ]
