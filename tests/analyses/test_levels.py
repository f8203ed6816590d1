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


def test_number_levels_are_found_by_binary_search() -> None:
    values = pl.Series("x", [3, None, 1, 7, 3, 2])
    # 7 and 2 are not levels: they go last, with the missing value.
    assert level_codes(values, [1, 3]).tolist() == [1, 2, 0, 2, 1, 2]
    assert level_codes(pl.Series("f", [0.5, 1.5, None]), [0.5, 1.5]).tolist() == [0, 1, 2]


def test_column_levels_are_a_plain_function_of_the_frame() -> None:
    from bsab_explorer.analyses import levels

    frame = pl.DataFrame({"stage": ["II", None, "I", "II"], "flag": [True, None, False, True]})
    first = levels.column_levels(frame, "stage", ("I", "II", "III"))
    assert first[0] == ["I", "II"]
    assert first[1].tolist() == [1, 2, 0, 1]
    again = levels.column_levels(frame, "stage", ("I", "II", "III"))
    assert again[0] == first[0]
    assert again[1].tolist() == first[1].tolist()
    assert levels.column_levels(frame, "flag")[1].tolist() == [1, 2, 0, 1]
    # Nothing is kept anywhere: the module holds no state besides its functions.
    kept = [n for n, v in vars(levels).items() if isinstance(v, dict) and not n.startswith("__")]
    assert kept == []


def test_levels_computed_once_give_every_analysis_the_same_result() -> None:
    from bench import registry
    from bsab_explorer.analyses.levels import patient_levels
    from bsab_explorer.analyses.response import response_by_timepoint
    from bsab_explorer.analyses.survival import summarise_survival
    from bsab_explorer.analyses.table1 import build_table1

    tables = registry.generate(300, seed=4).tables
    patients, responses = tables["patients"], tables["responses"]
    for by in ("iss_stage", "emd", "sex"):
        shared = patient_levels(patients, by)
        with_levels = summarise_survival(patients, "os", by, levels=shared)
        plain = summarise_survival(patients, "os", by)
        assert with_levels.medians_frame().equals(plain.medians_frame())
        assert with_levels.logrank == plain.logrank
        assert with_levels.cox == plain.cox
        response = response_by_timepoint(patients, responses, "evaluable", by, levels=shared)
        assert response.frame.equals(
            response_by_timepoint(patients, responses, "evaluable", by).frame
        )
        assert build_table1(patients, by, levels=shared).frame.equals(
            build_table1(patients, by).frame
        )


def test_levels_of_another_column_or_frame_are_refused() -> None:
    import pytest

    from bsab_explorer.analyses.levels import patient_levels
    from bsab_explorer.analyses.survival import summarise_survival

    frame = pl.DataFrame(
        {"pfs_days": [1.0, 2.0, 3.0], "pfs_event": [True, False, True], "emd": [True, False, None]}
    )
    with pytest.raises(ValueError, match="not those of column 'sex'"):
        summarise_survival(
            frame.with_columns(sex=pl.lit("F")), "pfs", "sex", levels=patient_levels(frame, "emd")
        )
    with pytest.raises(ValueError, match="not those of column 'emd'"):
        summarise_survival(frame.head(2), "pfs", "emd", levels=patient_levels(frame, "emd"))
