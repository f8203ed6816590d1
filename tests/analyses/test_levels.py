"""Present values and level codes of a grouping column (what every by-variable split uses)."""

from __future__ import annotations

import numpy as np
import polars as pl

from bsab_explorer.analyses.levels import level_codes, present_values


def test_codes_come_in_contract_order_then_other_values_sorted() -> None:
    values = pl.Series("s", ["III", "zz", None, "I", "aa", "III"])
    assert present_values(values, ("I", "II", "III")) == ["I", "III", "aa", "zz"]


def test_without_codes_or_for_non_strings_values_are_sorted() -> None:
    assert present_values(pl.Series("s", ["b", None, "a", "b"])) == ["a", "b"]
    assert present_values(pl.Series("b", [True, None, False])) == [False, True]
    assert present_values(pl.Series("x", [3.5, 1.0, None, 3.5]), ("1",)) == [1.0, 3.5]


def test_all_missing_has_no_values() -> None:
    assert present_values(pl.Series("s", [None, None], dtype=pl.String), ("I",)) == []


def test_level_codes_number_rows_and_put_the_rest_last() -> None:
    values = pl.Series("s", ["II", None, "I", "x"])
    assert level_codes(values, ["I", "II"]).tolist() == [1, 2, 0, 2]
    assert level_codes(pl.Series("b", [True, None, False]), [False, True]).tolist() == [1, 2, 0]


def test_level_codes_without_levels_put_every_row_last() -> None:
    codes = level_codes(pl.Series("s", ["a", "b", None]), [])
    assert codes.dtype == np.int64
    assert codes.tolist() == [0, 0, 0]


def test_level_codes_agree_with_a_dictionary_lookup() -> None:
    rng = np.random.default_rng(5)
    levels = ["I", "II", "III"]
    raw = rng.choice([*levels, None], size=2_000).tolist()
    codes = level_codes(pl.Series("s", raw, dtype=pl.String), levels)
    lookup = {v: i for i, v in enumerate(levels)}
    assert codes.tolist() == [lookup.get(v, 3) for v in raw]
