"""Converted tables written as contract CSV files, all of them or none.

The command line writes a conversion into a folder, and both the command line and the Upload
page store a converted table through the store's own upload path, which reads files. Both need
the same text: the contract's column names, `true`/`false`, days as numbers, empty for not
recorded, and never a calendar date (there is none left after conversion). A folder is written
through a temporary folder beside it and moved into place, so a failure leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from bsab_explorer.data.convert.dates import mask_dates
from bsab_explorer.schema import TABLES


def table_csv(table: str, frame: pl.DataFrame) -> bytes:
    """A converted table as contract CSV: required columns and every column holding data."""
    contract = TABLES[table]
    kept = [
        c.name
        for c in contract.columns
        if c.name in frame.columns
        and (c.required or frame.get_column(c.name).null_count() < frame.height)
    ]
    out = frame.select(kept)
    # Whole days read as days (`120`, not `120.0`); a fractional day keeps its fraction.
    whole = [
        name
        for name, dtype in out.schema.items()
        if dtype.is_float() and (out.get_column(name).drop_nulls() % 1 == 0).all()
    ]
    out = out.with_columns(pl.col(whole).cast(pl.Int64))
    return out.write_csv(line_terminator="\n").encode("utf-8")


def converted_name(source_name: str, table: str) -> str:
    """The file name a converted table is stored under (dates in the source's name masked)."""
    stem = Path(source_name).stem or "upload"
    return f"{mask_dates(stem)}-{table}-converted.csv"


def write_tables(tables: Mapping[str, pl.DataFrame], folder: Path) -> list[Path]:
    """Write each table as `<table>.csv` into `folder` (created if missing); the files written.

    The files are written into a temporary folder next to `folder` and only then moved in, so an
    error while writing leaves `folder` as it was.
    """
    parent = folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=parent))
    try:
        for table, frame in tables.items():
            (staging / f"{table}.csv").write_bytes(table_csv(table, frame))
        if not folder.exists():
            os.replace(staging, folder)
            return sorted(folder / f"{t}.csv" for t in tables)
        written = []
        for table in tables:
            target = folder / f"{table}.csv"
            os.replace(staging / f"{table}.csv", target)
            written.append(target)
        return sorted(written)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
