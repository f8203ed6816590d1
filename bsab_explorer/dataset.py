"""The loaded, validated data as one immutable value, with its fingerprint.

The fingerprint (sha256 of the tables' CSV text) costs a third of a second at a million
patients, and a command that prints a table never shows it: it is computed when first read
(`Dataset.fingerprint`), once, and equals what computing it at construction gave. A source
that already knows it (the store memoises it) passes it in.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import polars as pl

from bsab_explorer.schema import TABLES, Kind

_POLARS_TYPES: dict[Kind, type[pl.DataType]] = {
    Kind.STRING: pl.String,
    Kind.CODE: pl.String,
    Kind.INT: pl.Int64,
    Kind.NUMBER: pl.Float64,
    Kind.BOOL: pl.Boolean,
}


def polars_type(kind: Kind) -> type[pl.DataType]:
    """The Polars dtype a contract column of this kind is loaded as."""
    return _POLARS_TYPES[kind]


def empty_table(name: str) -> pl.DataFrame:
    """An empty frame with the full contract schema of table `name`."""
    table = TABLES[name]
    return pl.DataFrame(schema={c.name: polars_type(c.kind) for c in table.columns})


#: Rows written and hashed at a time: a million patients' CSV text (275 MB) is never held whole.
FINGERPRINT_ROWS = 100_000


def fingerprint_tables(tables: Mapping[str, pl.DataFrame]) -> str:
    """sha256 over the tables' canonical CSV text, in table-name order (order of rows kept)."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        frame = tables[name]
        digest.update(f"\x00table:{name}\x00".encode())
        ordered = frame.select(sorted(frame.columns))
        for start in range(0, max(ordered.height, 1), FINGERPRINT_ROWS):
            text = io.BytesIO()
            ordered.slice(start, FINGERPRINT_ROWS).write_csv(text, include_header=start == 0)
            digest.update(text.getbuffer())
    return digest.hexdigest()


@dataclass(frozen=True, init=False)
class Dataset:
    """Normalised contract tables (typed as `polars_type`), plus where they came from."""

    name: str
    tables: Mapping[str, pl.DataFrame]
    source: str = ""
    reconstructed: bool = False

    def __init__(
        self,
        name: str,
        tables: Mapping[str, pl.DataFrame],
        source: str = "",
        reconstructed: bool = False,
        fingerprint: str = "",
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "tables", MappingProxyType(dict(tables)))
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "reconstructed", reconstructed)
        if fingerprint:
            # Where `cached_property` keeps its value: the known fingerprint is never recomputed.
            self.__dict__["fingerprint"] = fingerprint

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the tables (`fingerprint_tables`), computed on first use."""
        return fingerprint_tables(self.tables)

    def table(self, name: str) -> pl.DataFrame:
        """Table `name`, or an empty frame with the contract schema when it was not loaded."""
        frame = self.tables.get(name)
        return frame if frame is not None else empty_table(name)

    def has(self, name: str) -> bool:
        """Whether table `name` was loaded with at least one row."""
        frame = self.tables.get(name)
        return frame is not None and frame.height > 0

    @property
    def short_fingerprint(self) -> str:
        """The first 12 hex digits of the fingerprint, for labels."""
        return self.fingerprint[:12]
