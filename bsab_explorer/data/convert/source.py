"""The tables a source was read into, before any of them is mapped to the contract.

A plain file is one source table; a REDCap export is its record-level table plus one long
table per repeating instrument (and per event in a longitudinal project); an ADaM set is the
contract's tables with its datasets' other columns beside them. Every cell is text (or null) and
`ROW` keeps the row a user sees in the original file, so a problem found later points there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from bsab_explorer.data.convert.dates import DateOrder
from bsab_explorer.data.validation import ROW, Problem


@dataclass(frozen=True)
class SourceTable:
    """One table of a source: text cells, the file row (`ROW`) and what is known of its dates."""

    name: str
    file: str
    frame: pl.DataFrame
    #: Day/month order of date columns the source itself declares (REDCap validations).
    date_orders: Mapping[str, DateOrder] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """The source's column names (without `ROW`)."""
        return [c for c in self.frame.columns if c != ROW]

    def values(self, column: str) -> list[str]:
        """The distinct non-empty values of `column`, sorted."""
        series = self.frame.get_column(column).drop_nulls().str.strip_chars()
        return sorted(v for v in series.unique().to_list() if v)


@dataclass(frozen=True)
class SourceSet:
    """Every table read from a source, with what reading it found and did."""

    tables: Mapping[str, SourceTable] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    notices: tuple[str, ...] = ()
    #: The kind of source, for the report: "table", "redcap" or "adam".
    kind: str = "table"
    #: The table that feeds the mapping's main table when the mapping names no source.
    main: str | None = None
