"""MRD negativity: counts exact, CIs equal to R's binom.test, sustained negativity by its rule.

binom.test values printed by tests/analyses/reference/endpoints.R (R 4.2):

    for (k in counts) binom.test(k[1], k[2])$conf.int
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from bsab_explorer.analyses.mrd import (
    estimate_proportion,
    summarise_mrd,
    summarise_sustained_mrd,
    sustained_mrd_patients,
)
from bsab_explorer.errors import Unavailable
from tests.fixtures.cohorts import contract_frame

# binom.test(n, total)$conf.int
R_BINOM = {
    (7, 20): (0.153909204784541, 0.592188534532828),
    (4, 20): (0.057333997050033, 0.436614002996668),
    (6, 9): (0.299295056208540, 0.925145368580308),
    (4, 9): (0.136995662265167, 0.787991493221132),
    (2, 20): (0.012348527170295, 0.316982714019082),
    (1, 20): (0.001265089497950, 0.248732762772028),
    (0, 9): (0.000000000000000, 0.336267116879943),
    (9, 9): (0.663732883120057, 1.000000000000000),
}

IDS = [f"M{i:02d}" for i in range(1, 21)]
#: M01–M09 reach CR or better, M10–M14 VGPR, the others less; emd splits them 10/9, M20 unknown.
BEST = ["CR", "sCR", "CR", "CR", "sCR", "CR", "CR", "CR", "CR"] + ["VGPR"] * 5 + ["PR"] * 6
EMD = [True] * 10 + [False] * 9 + [None]

# (patient, timepoint, day, mrd_negative, mrd_sensitivity)
MRD_ROWS: list[tuple[str, str, float | None, bool | None, float | None]] = [
    ("M01", "C3", 90, True, 1e-6),
    ("M01", "C12", 455, True, 1e-6),  # 365 days later: sustained at 1e-6 and 1e-5
    ("M02", "C3", 90, True, 1e-5),
    ("M02", "C6", 180, False, 1e-5),  # a positive in between: not sustained
    ("M02", "C12", 470, True, 1e-5),
    ("M03", "C6", 180, True, 1e-6),
    ("M03", "C12", 400, True, 1e-6),  # 220 days apart: not sustained
    ("M04", "C6", 170, True, 1e-6),
    ("M04", "C12", 540, True, 1e-5),  # sustained at 1e-5 only
    ("M05", "C3", 90, True, 1e-6),
    ("M06", "C3", 90, True, 1e-5),
    ("M06", "C12", 460, False, 1e-6),  # positive at 1e-6 says nothing of 1e-5
    ("M07", "C3", 90, False, 1e-5),
    ("M08", "C3", 90, None, None),
    ("M09", "C3", 90, True, None),  # negative, sensitivity not recorded
    ("M10", "C3", 90, True, 1e-5),
]


def _patients() -> pl.DataFrame:
    return contract_frame("patients", {"patient_id": IDS, "best_response": BEST, "emd": EMD})


def _responses() -> pl.DataFrame:
    columns: dict[str, list[Any]] = {
        name: list(values)
        for name, values in zip(
            ("patient_id", "timepoint", "day", "mrd_negative", "mrd_sensitivity"),
            zip(*MRD_ROWS, strict=True),
            strict=True,
        )
    }
    return contract_frame("responses", columns)


def _matches_r(found: Any) -> None:
    lower, upper = R_BINOM[(found.n, found.total)]
    assert found.lower == pytest.approx(lower, abs=1e-12)
    assert found.upper == pytest.approx(upper, abs=1e-12)


def test_the_pasted_values_are_those_r_printed() -> None:
    printed = (Path(__file__).parent / "reference" / "endpoints.txt").read_text(encoding="utf-8")
    for (n, total), (lower, upper) in R_BINOM.items():
        assert f"binom.test({n}, {total}): {lower:.15f} {upper:.15f}" in printed


@pytest.mark.parametrize(("n", "total"), list(R_BINOM))
def test_exact_ci_equals_binom_test(n: int, total: int) -> None:
    _matches_r(estimate_proportion(n, total))


def test_rates_among_all_treated_and_among_complete_responders_per_sensitivity() -> None:
    summary = summarise_mrd(_patients(), _responses())
    assert summary.sensitivities == (1e-5, 1e-6)
    found = {
        r.sensitivity: (
            (r.all_treated.n, r.all_treated.total),
            (r.complete_responders.n, r.complete_responders.total),
        )
        for r in summary.rates
    }
    # 1e-5: M01–M06 and M10 (a negative at 1e-6 counts at 1e-5); M10 is VGPR.
    assert found == {1e-5: ((7, 20), (6, 9)), 1e-6: ((4, 20), (4, 9))}
    for rate in summary.rates:
        _matches_r(rate.all_treated)
        _matches_r(rate.complete_responders)
    assert summary.negatives_without_sensitivity == 1
    assert summary.rates[0].all_treated.rate == pytest.approx(0.35)


def test_rates_per_group_count_each_group_and_leave_out_unknown_values() -> None:
    summary = summarise_mrd(_patients(), _responses(), by="emd")
    found = {
        (r.group, r.sensitivity): (r.all_treated.n, r.all_treated.total) for r in summary.rates
    }
    assert found == {
        ("No", 1e-5): (0, 9),
        ("No", 1e-6): (0, 9),
        ("Yes", 1e-5): (7, 10),
        ("Yes", 1e-6): (4, 10),
    }
    assert summary.excluded_missing_group == 1


def test_sustained_negativity_needs_two_negatives_a_year_apart_without_a_positive() -> None:
    assert sustained_mrd_patients(_responses(), 1e-5).to_list() == ["M01", "M04"]
    assert sustained_mrd_patients(_responses(), 1e-6).to_list() == ["M01"]
    summary = summarise_sustained_mrd(_patients(), _responses())
    found = {r.sensitivity: (r.all_treated.n, r.all_treated.total) for r in summary.rates}
    assert found == {1e-5: (2, 20), 1e-6: (1, 20)}
    for rate in summary.rates:
        _matches_r(rate.all_treated)


def test_without_mrd_columns_or_days_the_view_names_what_is_missing() -> None:
    no_mrd = _responses().with_columns(pl.lit(None, pl.Float64).alias("mrd_sensitivity"))
    with pytest.raises(Unavailable, match=r"responses\.mrd_sensitivity"):
        summarise_mrd(_patients(), no_mrd)
    no_days = _responses().with_columns(pl.lit(None, pl.Float64).alias("day"))
    assert summarise_mrd(_patients(), no_days).rates  # the rate itself needs no day
    with pytest.raises(Unavailable, match=r"responses\.day"):
        summarise_sustained_mrd(_patients(), no_days)
