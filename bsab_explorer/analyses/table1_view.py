"""Table 1 laid out for a screen or a CSV: indented characteristics, one column per group."""

from __future__ import annotations

import polars as pl

from bsab_explorer.analyses.groups import NOT_RECORDED, OVERALL
from bsab_explorer.analyses.table1 import Table1, Table1Column
from bsab_explorer.formatting import format_p
from bsab_explorer.schema import column_short_label

_INDENT = "\u2003"  # an em space: survives in data grids, unlike leading spaces


def table1_rows(table: Table1) -> pl.DataFrame:
    """Characteristic (indented by level) and the group columns; p-value and test when asked."""
    frame = table.frame
    characteristic = (
        pl.lit(_INDENT).repeat_by(pl.col("indent").clip(0, None)).list.join("")
        + pl.col("characteristic")
    ).alias("Characteristic")
    columns: list[pl.Expr | pl.Series | str] = [
        characteristic,
        *[pl.col(c.header).alias(column_header(table, c)) for c in table.columns],
    ]
    if table.p_values and "p_value" in frame.columns:
        columns += [
            pl.Series("p", [format_p(p, missing="") for p in frame["p_value"]], pl.String),
            pl.col("test").fill_null("").alias("Test"),
        ]
    return frame.select(columns)


def column_header(table: Table1, column: Table1Column) -> str:
    """A group column's header naming the split variable, e.g. ``EMD: yes (N = 22)``."""
    if table.by is None or column.label == OVERALL:
        return column.header
    value = column.label.lower() if column.label in ("Yes", "No", NOT_RECORDED) else column.label
    return f"{column_short_label(table.by)}: {value} (N = {column.n})"
