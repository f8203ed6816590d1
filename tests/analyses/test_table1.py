"""Table 1 on a constructed ten-patient cohort (see conftest.py) whose numbers are known."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bsab_explorer.analyses.counts import format_count
from bsab_explorer.analyses.groups import NOT_RECORDED, OVERALL, cohort_group_codes
from bsab_explorer.analyses.significance import CHI_SQUARED, FISHER, KRUSKAL, WILCOXON
from bsab_explorer.analyses.table1 import Table1, build_table1
from bsab_explorer.formatting import format_percent
from tests.fixtures.cohorts import contract_frame


def _p(table: Table1, characteristic: str) -> tuple[float, str]:
    row = table.frame.filter(pl.col("characteristic") == characteristic).row(0, named=True)
    return row["p_value"], row["test"]


def _not_recorded_after(table: Table1, characteristic: str) -> list[str]:
    """The cells of the "Not recorded" row that follows `characteristic`."""
    frame = table.frame.with_row_index("i")
    i = frame.filter(pl.col("characteristic") == characteristic).get_column("i")[0]
    row = frame.row(i + 1, named=True)
    assert row["characteristic"] == NOT_RECORDED
    return [row[c.header] for c in table.columns]


def test_overall_column_counts_medians_and_denominators(patients: pl.DataFrame) -> None:
    table = build_table1(patients)
    assert [c.header for c in table.columns] == ["All patients (N = 10)"]
    assert table.cell("Age (years), median (min–max)", OVERALL) == "65 (45–82)"
    assert _not_recorded_after(table, "Age (years), median (min–max)") == ["1"]
    # One sex missing: the denominator (9) differs from N (10) and is stated.
    assert table.cell("Female", OVERALL) == "5/9 (56 %)"
    assert table.cell("Triple-class refractory", OVERALL) == "9 (90 %)"
    assert table.cell("ISS stage III", OVERALL) == "4/8 (50 %)"
    assert table.cell("High-risk cytogenetics (HRCA)", OVERALL) == "3/8 (38 %)"
    assert table.cell("del(17p)", OVERALL) == "2/8 (25 %)"
    assert table.cell("Extramedullary disease (EMD)", OVERALL) == "4/9 (44 %)"
    assert table.cell("Chemotherapy to bispecific (days), median (min–max)", OVERALL) == (
        "28 (4–197)"
    )
    assert "p_value" not in table.frame.columns


def test_binned_rows_and_alkylating_any(patients: pl.DataFrame) -> None:
    table = build_table1(patients)
    sites = "Disease characteristics"
    assert table.cell("1", OVERALL, sites) == "1/9 (11 %)"
    assert table.cell("≥ 3", OVERALL, sites) == "2/9 (22 %)"
    cycles = "Debulking chemotherapy and bispecific antibody"
    assert table.cell("1", OVERALL, cycles) == "6 (60 %)"
    assert table.cell("≥ 3", OVERALL, cycles) == "2 (20 %)"
    # P01–P05 had an alkylating agent; P06–P09 none recorded as given; P10 unknown.
    assert table.cell("Alkylating agent (any)", OVERALL) == "5/9 (56 %)"
    assert _not_recorded_after(table, "Alkylating agent (any)") == ["1"]
    assert table.cell("Cyclophosphamide", OVERALL) == "3 (30 %)"
    assert table.cell("Teclistamab", OVERALL) == "6 (60 %)"
    # An open code (not in the contract's list) still gets its own row.
    assert table.cell("Linvoseltamab", OVERALL) == "1 (10 %)"


def test_grades_are_shares_of_patients_with_the_event(patients: pl.DataFrame) -> None:
    table = build_table1(patients)
    assert table.cell("CRS (any grade)", OVERALL) == "5/9 (56 %)"
    frame = table.frame.filter(pl.col("section") == "Safety")
    grades = frame.filter(pl.col("characteristic").str.contains(r"^Grade \d$"))
    # CRS grades 1–4 then ICANS grades 1–4.
    assert grades.get_column("All patients (N = 10)").to_list() == [
        "3/5 (60 %)",
        "1/5 (20 %)",
        "1/5 (20 %)",
        "0/5 (0 %)",
        "0/1 (0 %)",
        "0/1 (0 %)",
        "0/1 (0 %)",
        "1/1 (100 %)",
    ]


def test_absent_or_empty_columns_read_not_recorded(patients: pl.DataFrame) -> None:
    table = build_table1(patients.drop("anakinra", "bsab"))
    assert table.cell("Anakinra", OVERALL) == "not recorded"
    assert table.cell("Bispecific antibody", OVERALL) == "not recorded"
    # All null in the fixture.
    assert table.cell("Hypercalcemia", OVERALL) == "not recorded"
    assert table.cell("Lung", OVERALL) == "not recorded"


def test_split_by_emd_has_a_not_recorded_column(patients: pl.DataFrame) -> None:
    table = build_table1(patients, by="emd")
    assert [c.header for c in table.columns] == [
        "All patients (N = 10)",
        "Yes (N = 4)",
        "No (N = 5)",
        "Not recorded (N = 1)",
    ]
    assert table.by_label == "Extramedullary disease (EMD)"
    assert table.cell("Female", "Yes") == "3 (75 %)"
    assert table.cell("Female", "No") == "2 (40 %)"
    assert table.cell("Female", NOT_RECORDED) == "not recorded"
    assert _not_recorded_after(table, "Female") == ["1", "0", "0", "1"]
    assert table.cell("Age (years), median (min–max)", "Yes") == "52.5 (45–60)"
    # No ICANS in the EMD group: its grade shares have no denominator.
    icans = table.frame.filter(pl.col("section") == "Safety").slice(8, 4)
    assert icans.get_column("Yes (N = 4)").to_list() == ["–"] * 4


def test_p_values_match_r(patients: pl.DataFrame) -> None:
    table = build_table1(patients, by="emd", p_values=True)
    # R: fisher.test(matrix(c(3,2,1,3), nrow=2))$p.value  -> 0.5238095
    assert _p(table, "Female") == (pytest.approx(0.5238095, abs=5e-8), FISHER)
    # R: wilcox.test(c(45,50,55,60), c(65,70,75,80,82))$p.value  -> 0.01587302 (exact)
    assert _p(table, "Age (years), median (min–max)") == (
        pytest.approx(0.01587302, abs=5e-9),
        WILCOXON,
    )
    # Ties (28 in both groups): normal approximation with continuity correction, as R.
    # R: wilcox.test(c(4,10,20,28), c(28,30,40,100,197))$p.value  -> 0.02684363
    assert _p(table, "Chemotherapy to bispecific (days), median (min–max)") == (
        pytest.approx(0.02684363, abs=5e-9),
        WILCOXON,
    )
    # Sites 0 / 1 / 2 / >=3 by EMD yes / no.
    # R: chisq.test(matrix(c(0,5,1,0,1,0,2,0), nrow=2))$p.value  -> 0.02929089
    assert _p(table, "Extramedullary sites (n)") == (
        pytest.approx(0.02929089, abs=5e-9),
        CHI_SQUARED,
    )
    # Sub-rows (levels, grades, "Not recorded") carry no test.
    level_rows = table.frame.filter(pl.col("characteristic") == "Grade 1")
    assert level_rows.get_column("p_value").null_count() == level_rows.height


def test_more_than_two_groups_use_kruskal_and_chi_squared(patients: pl.DataFrame) -> None:
    table = build_table1(patients, by="iss_stage", p_values=True)
    assert [c.label for c in table.columns] == [OVERALL, "I", "II", "III", NOT_RECORDED]
    # R: kruskal.test(list(c(45,50,65,82), c(55,75), c(60,80)))$p.value  -> 0.7788008
    assert _p(table, "Age (years), median (min–max)") == (
        pytest.approx(0.7788008, abs=5e-8),
        KRUSKAL,
    )
    # Female (yes/no) by ISS I / II / III.
    # R: chisq.test(matrix(c(1,1,1,1,3,1), nrow=2))$p.value  -> 0.7659283384
    assert _p(table, "Female") == (pytest.approx(0.7659283384, abs=5e-11), CHI_SQUARED)


def test_groups_follow_contract_order_and_label_booleans(patients: pl.DataFrame) -> None:
    _, groups = cohort_group_codes(patients, "sex")
    assert groups == ("Female", "Male", NOT_RECORDED)
    _, groups = cohort_group_codes(patients, "bsab")
    assert groups == ("teclistamab", "elranatamab", "linvoseltamab")
    many = pl.DataFrame({"patient_id": [f"X{i}" for i in range(20)]})
    with pytest.raises(ValueError, match="at most 12 groups"):
        cohort_group_codes(many, "patient_id")


def _level_rows(table: Table1, header: str) -> list[tuple[str, str]]:
    """(label, overall cell) of the level rows under a header row."""
    frame = table.frame.with_row_index("i")
    start = frame.filter(pl.col("characteristic") == header).get_column("i")[0]
    rows = []
    for row in frame.slice(start + 1).iter_rows(named=True):
        if row["indent"] <= frame.row(start, named=True)["indent"]:
            break
        rows.append((row["characteristic"], row[table.columns[0].header]))
    return rows


def test_antibody_rows_list_the_antibodies_present(patients: pl.DataFrame) -> None:
    # Codes without a patient are not shown; values beyond the contract's codes are.
    n = patients.height
    values = ["teclistamab"] * 6 + ["linvoseltamab"] * 2 + [None] * (n - 8)
    table = build_table1(patients.with_columns(pl.Series("bsab", values, dtype=pl.String)))
    assert _level_rows(table, "Bispecific antibody") == [
        ("Teclistamab", "6/8 (75 %)"),
        ("Linvoseltamab", "2/8 (25 %)"),
        (NOT_RECORDED, str(n - 8)),
    ]
    only_codes = ["elranatamab", "teclistamab"] * (n // 2) + ["teclistamab"] * (n % 2)
    table = build_table1(patients.with_columns(pl.Series("bsab", only_codes)))
    labels = [label for label, _ in _level_rows(table, "Bispecific antibody")]
    assert labels == ["Teclistamab", "Elranatamab"]


def test_empty_cohort_gives_a_table_not_an_error(patients: pl.DataFrame) -> None:
    table = build_table1(patients.clear(), by="emd", p_values=True)
    assert [c.header for c in table.columns] == ["All patients (N = 0)"]
    assert table.cell("Female", OVERALL) == "not recorded"


@pytest.mark.parametrize(
    ("n", "d", "column_n", "text"),
    [
        (22, 44, 44, "22 (50 %)"),
        (20, 42, 44, "20/42 (48 %)"),
        (1, 44, 44, "1 (2.3 %)"),
        (4, 44, 44, "4 (9.1 %)"),
        (1, 8, 8, "1 (13 %)"),  # 12.5 rounds half up
        (0, 0, 44, "not recorded"),
    ],
)
def test_format_count(n: int, d: int, column_n: int, text: str) -> None:
    assert format_count(n, d, column_n) == text


def test_format_percent_rounds_half_up() -> None:
    assert format_percent(1, 40) == "2.5"
    assert format_percent(1, 200) == "0.5"
    assert format_percent(0, 5) == "0"


def test_notes_name_the_tests_used(patients: pl.DataFrame) -> None:
    plain = build_table1(patients)
    assert len(plain.notes) == 3
    assert plain.notes[1].startswith("CRS and ICANS grades: share of the patients with CRS")
    table = build_table1(patients, by="emd", p_values=True)
    assert table.notes[-1] == (
        "p-values (Fisher's exact test, Pearson's chi-squared test, Wilcoxon rank-sum test) "
        "compare the recorded groups of Extramedullary disease (EMD); patients with it not "
        "recorded are not compared."
    )


def test_capped_ages_read_90_plus(patients: pl.DataFrame) -> None:
    old = patients.with_columns(
        pl.when(pl.col("patient_id") == "P09")
        .then(90)
        .otherwise(pl.col("age_years"))
        .alias("age_years")
    )
    assert build_table1(old).cell("Age (years), median (min–max)", OVERALL) == "65 (45–90+)"


def test_constant_outcomes_follow_r(patients: pl.DataFrame) -> None:
    everyone = patients.with_columns(pl.lit(True).alias("tocilizumab"))
    two = build_table1(everyone, by="emd", p_values=True)
    # R: fisher.test(matrix(c(4,0,5,0), nrow=2))$p.value  -> 1
    assert _p(two, "Tocilizumab") == (1.0, FISHER)
    three = build_table1(everyone, by="iss_stage", p_values=True)
    # R: chisq.test(matrix(c(2,0,2,0,4,0), nrow=2))$p.value  -> NaN (no test)
    assert _p(three, "Tocilizumab") == (None, None)
    # R: wilcox.test(c(3,3,3,3), c(3,3,3,3,3))$p.value  -> NaN (no test)
    same = patients.with_columns(pl.lit(5).alias("prior_lines"))
    assert _p(
        build_table1(same, by="emd", p_values=True), "Prior lines of therapy, median (min–max)"
    ) == (None, None)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(st.sampled_from([True, False, None]), st.sampled_from([True, False, None])),
        min_size=1,
        max_size=40,
    )
)
def test_flag_cells_equal_a_plain_python_count(
    pairs: list[tuple[bool | None, bool | None]],
) -> None:
    emd = [e for e, _ in pairs]
    hrca = [h for _, h in pairs]
    ids = [f"Q{i:02d}" for i in range(len(pairs))]
    table = build_table1(
        contract_frame("patients", {"patient_id": ids, "emd": emd, "hrca": hrca}), by="emd"
    )
    for column in table.columns:
        members = [
            h
            for e, h in pairs
            if column.label == OVERALL
            or (column.label == "Yes" and e is True)
            or (column.label == "No" and e is False)
            or (column.label == NOT_RECORDED and e is None)
        ]
        assert column.n == len(members)
        recorded = [h for h in members if h is not None]
        expected = format_count(sum(recorded), len(recorded), len(members))
        assert table.cell("High-risk cytogenetics (HRCA)", column.label) == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-5, 40)), max_size=60),
    st.integers(1, 4),
    st.integers(0, 9),
)
def test_group_numbers_from_histograms_equal_polars(
    values: list[int | None], n_groups: int, seed: int
) -> None:
    from bsab_explorer.analyses.aggregates import summarise_numbers

    codes = np.random.default_rng(seed).integers(0, n_groups, len(values))
    series = pl.Series("x", values, dtype=pl.Int64)
    medians, lows, highs = summarise_numbers(series, codes, n_groups)
    for group, rows in enumerate([*(codes == g for g in range(n_groups)), None]):
        part = series if rows is None else series.filter(pl.Series(rows))
        expected = part.to_frame().select(
            pl.first().median().alias("m"), pl.first().min().alias("lo"), pl.first().max()
        )
        median, low, high = expected.row(0)
        assert medians[group] == median
        assert lows[group] == low
        assert highs[group] == high


@pytest.mark.parametrize("offset", [0, 1, 8, 13])
def test_bitmaps_count_true_values_only(offset: int) -> None:
    from bsab_explorer.analyses.aggregates import column_bits, pack_bits

    raw = [True, None, False, True] * 50 + [True, None, True]
    column = pl.Series("b", raw).slice(offset)  # a slice keeps an offset into the buffers
    expected = [v is True for v in raw[offset:]]
    assert np.array_equal(column_bits(column), pack_bits(np.array(expected)))
    chunked = pl.concat([column, pl.Series("b", [True, None])], rechunk=False)
    assert np.array_equal(column_bits(chunked), pack_bits(np.array([*expected, True, False])))
