"""The counting engine behind Table 1: every cell's aggregate, for all patients and each group.

A million patients split by a variable must not be grouped once per characteristic. Each
row-level condition is evaluated once for every patient and kept as a bitmap (the column's own
Arrow bitmaps, read without unpacking); a group's count is the number of bits set in
(condition AND group). Medians, minima and maxima of whole numbers come from one histogram per
group. The results equal Polars' own aggregates (tests/analyses/test_table1.py checks them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa

#: The kinds of aggregate a cell may need (see `Aggregates`).
KINDS = ("count", "recorded", "missing", "size", "zero", "median", "min", "max")
#: The kinds summarised from each group's values (histograms for whole numbers).
NUMBER_KINDS = ("median", "min", "max")


@dataclass
class Aggregates:
    """The aggregates Table 1's cells need, each a kind and a row-level expression: "count"
    (rows where a condition is true), "recorded" / "missing" (rows with / without a value),
    "median", "min", "max", "size" (rows) and "zero"."""

    items: list[tuple[str, str, pl.Expr | None]] = field(default_factory=list)

    def add(self, kind: str, expr: pl.Expr | None = None) -> str:
        """Ask for an aggregate of `kind` of `expr`; returns the name its value will have."""
        name = f"a{len(self.items)}"
        self.items.append((name, kind, expr))
        return name

    def exprs(self, kinds: Sequence[str] = KINDS) -> list[pl.Expr]:
        """Polars aggregate expressions of the items of `kinds`, named by item."""
        out = []
        for name, kind, expr in self.items:
            if kind not in kinds:
                continue
            if kind in ("size", "zero"):
                agg = pl.len() if kind == "size" else pl.lit(0)
            else:
                assert expr is not None
                agg = {
                    "count": lambda e: e.sum(),
                    "recorded": lambda e: pl.len() - e.null_count(),
                    "missing": lambda e: e.null_count(),
                    "median": lambda e: e.median(),
                    "min": lambda e: e.min(),
                    "max": lambda e: e.max(),
                }[kind](expr)
            out.append(agg.alias(name))
        return out

    def by_group(
        self, frame: pl.DataFrame, codes: np.ndarray, n_groups: int
    ) -> list[dict[str, object]]:
        """The aggregates of all patients, then of each group (rows of `frame` whose code is
        the group's; the groups partition the patients).

        Counts are taken on bitmaps: each condition is evaluated once for every patient, and a
        group's count is the number of bits set in (condition AND group). Medians, minima and
        maxima of whole numbers come from each group's histogram (see `summarise_numbers`).
        """
        keys: dict[str, str] = {}  # item -> the row-level boolean it counts
        rows: dict[str, pl.Expr] = {}
        for name, kind, expr in self.items:
            if kind in ("count", "recorded", "missing"):
                assert expr is not None
                key = str(expr) if kind == "count" else f"recorded:{expr}"
                keys[name] = key
                if key not in rows:
                    rows[key] = expr if kind == "count" else expr.is_not_null()
        table = frame.select([e.alias(f"b{i}") for i, e in enumerate(rows.values())])
        group_bits = [pack_bits(codes == group) for group in range(n_groups)]
        counts: dict[str, list[int]] = {}
        for i, key in enumerate(rows):
            bits = column_bits(table.to_series(i))
            counts[key] = [int(np.bitwise_count(bits & g).sum()) for g in group_bits]
        sizes = np.bincount(codes, minlength=n_groups)[:n_groups].tolist()
        numbers = {
            column: summarise_numbers(frame.get_column(column), codes, n_groups)
            for column in {
                n for _, kind, e in self.items if kind in NUMBER_KINDS and e is not None
                for n in e.meta.root_names()
            }
        }  # fmt: skip
        stats: list[dict[str, object]] = [{} for _ in range(n_groups + 1)]
        values: Sequence[object]
        for name, kind, expr in self.items:
            if kind in NUMBER_KINDS:
                assert expr is not None
                (column,) = expr.meta.root_names()
                values = numbers[column][NUMBER_KINDS.index(kind)]
            else:
                counted: list[int]
                if kind == "size":
                    counted = sizes
                elif kind == "zero":
                    counted = [0] * n_groups
                elif kind == "missing":
                    counted = [size - n for size, n in zip(sizes, counts[keys[name]], strict=True)]
                else:
                    counted = counts[keys[name]]
                # The groups partition the patients: all patients' counts are their sums.
                values = [*counted, sum(counted)]
            for found, value in zip(stats, values, strict=True):
                found[name] = value
        *groups, overall = stats
        return [overall, *groups]


#: Whole numbers spanning at most this many values are summarised from histograms.
HISTOGRAM_SPAN = 1 << 16


def summarise_numbers(
    values: pl.Series, codes: np.ndarray, n_groups: int
) -> tuple[list[float | None], list[float | None], list[float | None]]:
    """Median, minimum and maximum of `values` in each group and then for all patients (None
    where there is no value), as Polars computes them (the median of an even count is the mean
    of the middle two)."""
    bounds = values.to_frame().select(pl.first().min().alias("low"), pl.first().max().alias("high"))
    low, high = bounds.row(0)
    summaries: tuple[list[float | None], list[float | None], list[float | None]] = ([], [], [])
    medians, lows, highs = summaries
    if not values.dtype.is_integer() or low is None or high - low >= HISTOGRAM_SPAN:
        for rows in [*(values.filter(pl.Series(codes == g)) for g in range(n_groups)), values]:
            row = rows.to_frame().select(
                pl.first().median().alias("median"),
                pl.first().min().alias("min"),
                pl.first().max().alias("max"),
            )
            for found, value in zip(summaries, row.row(0), strict=True):
                found.append(None if value is None else float(value))
        return summaries
    # Each group's histogram over the span of values: one bincount for every group (rows
    # without a value are counted in an extra group, dropped).
    span = high - low + 1
    cells = values.fill_null(low).to_numpy().astype(np.int64) - low
    group = (
        codes
        if values.null_count() == 0
        else np.where(values.is_null().to_numpy(), n_groups, codes)
    )
    cells += group * span
    histograms = np.bincount(cells, minlength=(n_groups + 1) * span).reshape(n_groups + 1, span)
    histograms[n_groups] = histograms[:n_groups].sum(axis=0)  # all patients
    for histogram in histograms:
        total = int(histogram.sum())
        if total == 0:
            for found in summaries:
                found.append(None)
            continue
        cumulative = np.cumsum(histogram)
        # The values at (1-based) ranks ceil(total / 2) and floor(total / 2) + 1.
        lower = int(np.searchsorted(cumulative, (total + 1) // 2))
        upper = int(np.searchsorted(cumulative, total // 2 + 1))
        seen = np.flatnonzero(histogram)
        medians.append(low + (lower + upper) / 2)
        lows.append(float(low + seen[0]))
        highs.append(float(low + seen[-1]))
    return summaries


def pack_bits(rows: np.ndarray) -> np.ndarray:
    """Booleans as little-endian bit words (uint64; the padding bits are 0)."""
    packed = np.packbits(rows, bitorder="little")
    padded = np.zeros(-(-packed.size // 8) * 8, dtype=np.uint8)
    padded[: packed.size] = packed
    return padded.view(np.uint64)


def column_bits(values: pl.Series) -> np.ndarray:
    """The rows where a boolean column is true (missing counts as not true), as `pack_bits` words.

    Read from the column's own Arrow bitmaps (values AND validity) without unpacking them.
    """
    n = values.len()
    array = values.cast(pl.Boolean).rechunk().to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    validity, data = array.buffers()[:2]
    if n == 0 or data is None or array.offset % 8:
        return pack_bits(values.cast(pl.Boolean).fill_null(False).to_numpy())
    start, size = array.offset // 8, -(-n // 8)
    padded = np.zeros(-(-size // 8) * 8, dtype=np.uint8)
    padded[:size] = np.frombuffer(data, dtype=np.uint8, count=size, offset=start)
    if validity is not None:
        padded[:size] &= np.frombuffer(validity, dtype=np.uint8, count=size, offset=start)
    if n % 8:
        padded[size - 1] &= (1 << (n % 8)) - 1  # bits past the last row are not rows
    return padded.view(np.uint64)
