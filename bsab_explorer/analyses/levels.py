"""Grouping a million patients by a column: which values are present, and each row's level.

Both are written to avoid a hash of every value: a coded column is checked code by code (one
comparison each), and rows are numbered by a chain of comparisons, which Polars evaluates far
faster than a dictionary lookup of strings (numbers and booleans by a binary search).

>>> values = pl.Series(["II", None, "I", "II", "IV?"])
>>> present_values(values, ("I", "II", "III"))
['I', 'II', 'IV?']
>>> level_codes(values, ["I", "II", "IV?"]).tolist()
[1, 3, 0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from bsab_explorer.schema import PATIENTS


def present_values(values: pl.Series, codes: Sequence[str] = ()) -> list[Any]:
    """The distinct non-null values: the `codes` present, in code order, then any other value
    sorted (all values sorted when there are no codes)."""
    if not codes or values.dtype != pl.String:
        return sorted(values.drop_nulls().unique().to_list())
    column = pl.col(values.name)
    # (A chain of != is several times faster than is_in on strings.)
    other = pl.all_horizontal([column != code for code in codes])
    found = values.to_frame().select(
        *[(column == code).any().alias(f"c{i}") for i, code in enumerate(codes)],
        other.any().alias("other"),
    )
    flags = found.row(0)
    present: list[Any] = [code for code, flag in zip(codes, flags[:-1], strict=True) if flag]
    if flags[-1]:
        others = values.filter(~values.is_in(list(codes))).drop_nulls().unique()
        present += sorted(others.to_list())
    return present


def level_codes(values: pl.Series, levels: Sequence[Any]) -> np.ndarray:
    """Each row's position among `levels` (int64); missing or other values get len(levels)."""
    numeric = values.dtype == pl.Boolean or values.dtype.is_numeric()
    if numeric and len(levels) and list(levels) == sorted(levels):
        raw = values.cast(pl.Float64).fill_null(np.nan).to_numpy()
        grid = np.asarray(levels, dtype=np.float64)
        at = np.searchsorted(grid, raw)
        found = grid[np.minimum(at, grid.size - 1)] == raw  # (NaN, a missing value, never is)
        return np.where(found, at, grid.size).astype(np.int64)
    column = pl.col(values.name)
    expr: pl.Expr = pl.lit(len(levels), dtype=pl.Int64)
    for i in reversed(range(len(levels))):
        expr = pl.when(column == pl.lit(levels[i], dtype=values.dtype)).then(i).otherwise(expr)
    codes = values.to_frame().select(expr.cast(pl.Int64).alias("code")).to_series()
    if codes.len() != values.len():  # a chain of literals (no level) is a single value
        return np.full(values.len(), len(levels), dtype=np.int64)
    return codes.to_numpy()


def column_levels(
    frame: pl.DataFrame, column: str, codes: Sequence[str] = ()
) -> tuple[list[Any], np.ndarray]:
    """`present_values` of a column of `frame` and every row's `level_codes` among them.

    >>> frame = pl.DataFrame({"stage": ["II", None, "I"]})
    >>> column_levels(frame, "stage", ("I", "II", "III"))
    (['I', 'II'], array([1, 2, 0]))
    """
    values = _values(frame, column)
    present = present_values(values, codes)
    return present, level_codes(values, present)


def _values(frame: pl.DataFrame, column: str) -> pl.Series:
    values = frame.get_column(column)
    return values.cast(pl.String) if values.dtype in (pl.Categorical, pl.Enum) else values


@dataclass(frozen=True, eq=False)
class Levels:
    """A grouping column of a patients frame: its present values in level order (`values`) and
    each row's position among them (`rows`; missing or other values: ``len(values)``).

    Survival, response and Table 1 split a cohort by the same column: computed once
    (`patient_levels`) and passed to each, the cohort's rows are numbered once.
    """

    column: str
    values: tuple[Any, ...]
    rows: np.ndarray


def patient_levels(patients: pl.DataFrame, by: str) -> Levels:
    """The levels of column `by` of a patients frame (contract codes in contract order)."""
    values, rows = column_levels(patients, by, PATIENTS.codes_of(by))
    return Levels(by, tuple(values), rows)


def levels_of(patients: pl.DataFrame, by: str, levels: Levels | None) -> Levels:
    """`levels` when given (they must be of column `by`), else `patient_levels(patients, by)`."""
    if levels is None:
        return patient_levels(patients, by)
    if levels.column != by or levels.rows.size != patients.height:
        raise ValueError(f"the levels given are not those of column {by!r} of these patients")
    return levels
