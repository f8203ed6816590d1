"""The audit of both studies: every published figure reproduced or a paper inconsistency."""

from __future__ import annotations

import polars as pl
import pytest

from bsab_explorer.analyses.case_table import build_case_table
from bsab_explorer.analyses.table1 import build_table1
from bsab_explorer.audit import (
    AUDIT_STATUSES,
    DIFFERS,
    PAPER_INCONSISTENT,
    RECURRENT_CRS,
    REPRODUCED,
    AuditRow,
    audit_dataset,
    audit_debulking,
    audit_frame,
    audit_recurrent_crs,
    load_case_series,
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
    dataset = load_dataset().dataset
    assert dataset is not None
    return dataset


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


# The recurrent-CRS case series (data/recurrent_crs/targets.json).

#: Targets whose published value contradicts another statement of the paper.
CASE_SERIES_INCONSISTENT = {
    "RC1.table1.Bispecific antibody",
    *(f"RC{i}.table1.First CRS (timing, grade)" for i in range(1, 5)),
    "RC2.table1.Recurrent CRS (timing)",
    "RC2.recurrence.rhythm_days_min",
    "RC2.recurrence.rhythm_days_max",
    "RC5.table1.Recurrent CRS (timing)",
    "RC5.recurrence.rhythm_days_min",
    "RC5.recurrence.rhythm_days_max",
}


@pytest.fixture(scope="module")
def case_rows(bundled: Dataset) -> list[AuditRow]:
    return audit_recurrent_crs(bundled)


def _with_events(dataset: Dataset, events: pl.DataFrame) -> Dataset:
    return Dataset("changed", {**dataset.tables, "events": events})


def test_every_case_series_value_is_reproduced_or_a_paper_inconsistency(
    case_rows: list[AuditRow],
) -> None:
    assert len(case_rows) == len(load_case_series()["targets"]) == 85
    assert len({r.target_id for r in case_rows}) == 85
    assert all(r.study == RECURRENT_CRS for r in case_rows)
    assert [r for r in case_rows if r.status == DIFFERS] == []
    inconsistent = {r.target_id for r in case_rows if r.status == PAPER_INCONSISTENT}
    assert inconsistent == CASE_SERIES_INCONSISTENT
    assert sum(r.status == REPRODUCED for r in case_rows) == 85 - 11


def test_every_recorded_inconsistency_is_shown(case_rows: list[AuditRow]) -> None:
    recorded = load_case_series()["inconsistencies"]
    for entry in recorded:
        assert any(entry["statement"] in r.note for r in case_rows), entry["id"]
    contradictions = {e["id"] for e in recorded if e["contradiction"]}
    assert contradictions == {
        "tecelstamab-typo",
        "cycle-day-notation",
        "fortnight-15-days",
        "case2-interval-vs-biweekly",
    }


@pytest.mark.parametrize(
    ("target_id", "published", "recomputed"),
    [
        ("RC1.table1.Bispecific antibody", "Tecelstamab", "Teclistamab"),
        ("RC2.table1.First CRS (timing, grade)", "C1 D2, G2", "C1 D2, G2"),
        (
            "RC2.table1.Recurrent CRS (timing)",
            "Every 35–40 days, 24–48 h post-infusion",
            "Every 35–40 days, 24–48 h post-infusion",
        ),
        (
            "RC3.table1.Recurrent CRS (timing)",
            "Every 30–35 days post-infusion",
            "Every 30–35 days, 24–48 h post-infusion",
        ),
        (
            "RC1.table1.Premedication",
            "Paracetamol Cetirizine Dexamethasone",
            "Paracetamol, Cetirizine, Dexamethasone",
        ),
        (
            "RC5.table1.Impact on treatment",
            "BsAb dose reduced to monthly administration",
            "BsAb dose reduced to monthly administration",
        ),
        (
            "RC5.table1.First CRS (timing, grade)",
            "None during step-up dose",
            "None during step-up dose",
        ),
        ("RC3.recurrence.first_crs_day", "3", "3"),
        ("RC2.recurrence.latency_hours_max", "48", "48"),
        ("RC1.recurrence.max_grade", "3", "3"),
        ("RC4.recurrence.possible_infection_episodes", "2", "2"),
        ("series.n_teclistamab", "1 of 5 cases", "1 of 5 cases"),
        ("series.n_at_least_pr", "5 of 5 cases", "5 of 5 cases"),
        ("series.n_cr_or_better", "at least 3 of 5 cases", "3 of 5 cases"),
        ("RC1.best_response", "sCR", "sCR"),
        ("RC5.follow_up_days", "548", "548"),
        ("RC1.discontinuation_day", "609", "609"),
    ],
)
def test_case_series_values(
    case_rows: list[AuditRow], target_id: str, published: str, recomputed: str
) -> None:
    row = _row(case_rows, target_id)
    assert (row.published, row.recomputed) == (published, recomputed)


def test_case_series_inconsistencies_carry_their_arithmetic(case_rows: list[AuditRow]) -> None:
    biweekly = _row(case_rows, "RC2.recurrence.rhythm_days_min").note
    assert "2 x 14 = 28" in biweekly
    assert "3 x 14 = 42" in biweekly
    assert "Reading:" in biweekly
    cycle_day = _row(case_rows, "RC3.table1.First CRS (timing, grade)").note
    assert "C1 D1" in cycle_day
    fortnight = _row(case_rows, "RC5.table1.Recurrent CRS (timing)").note
    assert "2 x 7 = 14" in fortnight


def test_case_table_cells_are_the_case_pages_table(
    bundled: Dataset, case_rows: list[AuditRow]
) -> None:
    table = build_case_table(bundled.table("cases"), bundled.table("events"))
    for row in case_rows:
        if ".table1." in row.target_id:
            case_id, _, column = row.target_id.split(".", 2)
            cell = table.filter(pl.col("Case") == case_id)[column].item()
            assert row.recomputed == cell, row.target_id


def test_a_moved_first_crs_shows_as_differs(bundled: Dataset) -> None:
    events = bundled.table("events")
    first = (pl.col("case_id") == "RC2") & (pl.col("event") == "crs") & (pl.col("day") == 2.0)
    assert events.filter(first).height == 1
    moved = events.with_columns(day=pl.when(first).then(5.0).otherwise(pl.col("day")))
    changed = audit_recurrent_crs(_with_events(bundled, moved))
    cell = _row(changed, "RC2.table1.First CRS (timing, grade)")
    assert (cell.recomputed, cell.status) == ("C1 D5, G2", DIFFERS)
    day = _row(changed, "RC2.recurrence.first_crs_day")
    assert (day.recomputed, day.status) == ("5", DIFFERS)
    assert {r.target_id for r in changed if r.status == DIFFERS} == {
        "RC2.table1.First CRS (timing, grade)",
        "RC2.recurrence.first_crs_day",
    }


def test_a_changed_case_shows_as_differs(bundled: Dataset) -> None:
    cases = bundled.table("cases").with_columns(
        bsab=pl.when(pl.col("case_id") == "RC1")
        .then(pl.lit("talquetamab"))
        .otherwise(pl.col("bsab"))
    )
    changed = audit_recurrent_crs(Dataset("changed", {**bundled.tables, "cases": cases}))
    assert _row(changed, "RC1.table1.Bispecific antibody").status == DIFFERS
    assert _row(changed, "series.n_teclistamab").recomputed == "0 of 5 cases"
    assert _row(changed, "series.n_teclistamab").status == DIFFERS
    assert _row(changed, "series.n_talquetamab").status == DIFFERS
    assert _row(changed, "RC1.table1.Age/Sex").status == REPRODUCED


def test_a_series_without_events_differs_without_error(bundled: Dataset) -> None:
    result = audit_recurrent_crs(Dataset("cases only", {"cases": bundled.table("cases")}))
    assert len(result) == 85
    assert _row(result, "RC1.table1.Age/Sex").status == REPRODUCED
    assert _row(result, "RC1.best_response").status == DIFFERS
    assert _row(result, "RC2.recurrence.first_crs_day").status == DIFFERS
    assert _row(result, "series.n_cases").status == REPRODUCED


def test_audit_dataset_holds_both_studies(bundled: Dataset) -> None:
    rows = audit_dataset(bundled)
    assert len(rows) == 148 + 85
    assert [r.study for r in rows] == ["debulking"] * 148 + [RECURRENT_CRS] * 85
    assert audit_frame(rows).filter(pl.col("status") == DIFFERS).height == 0
    cases_only = Dataset("series", {"cases": bundled.table("cases")})
    assert {r.study for r in audit_dataset(cases_only)} == {RECURRENT_CRS}
