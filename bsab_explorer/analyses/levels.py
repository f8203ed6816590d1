"""Grouping a million patients by a column: which values are present, and each row's level.

Both are written to avoid a hash of every value: a coded column is checked code by code (one
comparison each), and rows are numbered by a chain of comparisons, which Polars evaluates far
faster than a dictionary lookup of strings (numbers and booleans by a binary search).

`column_levels` keeps both with the frame while it lives, so that the survival, response and
Table 1 analyses of one cohort group its patients once. Frames are never changed in place in
this project (Polars frames are immutable unless asked otherwise), which is what makes keeping
results with a frame safe.

>>> values = pl.Series(["II", None, "I", "II", "IV?"])
>>> present_values(values, ("I", "II", "III"))
['I', 'II', 'IV?']
>>> level_codes(values, ["I", "II", "IV?"]).tolist()
[1, 3, 0, 1, 2]
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl


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


_KEPT: dict[int, tuple[weakref.ref[pl.DataFrame], dict[Any, Any]]] = {}
_KEPT_LOCK = threading.Lock()


def _kept_with(frame: pl.DataFrame) -> dict[Any, Any]:
    """A dict that lives as long as `frame` (dropped when the frame is)."""
    key = id(frame)
    with _KEPT_LOCK:
        found = _KEPT.get(key)
        if found is not None and found[0]() is frame:
            return found[1]
        memo: dict[Any, Any] = {}

        def forget(_: object, key: int = key) -> None:
            with _KEPT_LOCK:
                _KEPT.pop(key, None)

        _KEPT[key] = (weakref.ref(frame, forget), memo)
        return memo


def kept_present_values(frame: pl.DataFrame, column: str, codes: Sequence[str] = ()) -> list[Any]:
    """`present_values` of a column of `frame`, computed once per frame and column."""
    memo = _kept_with(frame)
    key = ("present", column, tuple(codes))
    if key not in memo:
        memo[key] = present_values(_values(frame, column), codes)
    found: list[Any] = memo[key]
    return list(found)


def column_levels(
    frame: pl.DataFrame, column: str, codes: Sequence[str] = ()
) -> tuple[list[Any], np.ndarray]:
    """`present_values` of a column of `frame` and every row's `level_codes` among them
    (read-only), computed once per frame and column.

    >>> frame = pl.DataFrame({"stage": ["II", None, "I"]})
    >>> stages = ("I", "II", "III")
    >>> column_levels(frame, "stage", stages)
    (['I', 'II'], array([1, 2, 0]))
    >>> column_levels(frame, "stage", stages)[1] is column_levels(frame, "stage", stages)[1]
    True
    """
    present = kept_present_values(frame, column, codes)
    memo = _kept_with(frame)
    key = ("rows", column, tuple(codes))
    if key not in memo:
        rows = level_codes(_values(frame, column), present)
        rows.flags.writeable = False
        memo[key] = rows
    found: np.ndarray = memo[key]
    return present, found


def _values(frame: pl.DataFrame, column: str) -> pl.Series:
    values = frame.get_column(column)
    return values.cast(pl.String) if values.dtype in (pl.Categorical, pl.Enum) else values
