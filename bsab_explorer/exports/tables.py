"""Tables as CSV files that are safe to open in a spreadsheet and read back unchanged.

Formula-injection rule (OWASP's "CSV injection"): a spreadsheet runs a cell that begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula. Every *text* cell (and
column name) that begins with one of these is written with a single quote in front, which
spreadsheets show as text. Two exceptions keep the file faithful:

- cells of number, boolean and date columns are never touched, so ``-2`` stays a number;
- a text cell that is a plain decimal number (``-2``, ``+3.5``, ``-1e-3``) is left alone,
  since no formula can hide in it.

A text cell that itself begins with a single quote gets one more, so the rule is reversible:
`read_table_csv` removes exactly one leading quote from every text cell that has one and gives
back the original frame.

The file is UTF-8 with a byte-order mark (so spreadsheets read "≥" and "–" correctly; pandas'
and R's readers skip it), text cells are quoted, and it holds the header and the rows, nothing
else: ``pandas.read_csv(path)`` and R's ``read.csv(path)`` give exactly the rows shown, numeric
columns numeric, an empty cell as NaN/NA. The provenance travels beside the data: the download
is a ZIP of the CSV and a ``_provenance.txt`` file (`table_to_zip`), which also says what the
columns hold (`bsab_explorer.exports.columns`).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence

import polars as pl

from bsab_explorer.exports.columns import column_notes
from bsab_explorer.exports.provenance import Provenance

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: Written before a text cell that would otherwise run as a formula.
ESCAPE = "'"
#: Spreadsheets read UTF-8 only after this mark; pandas and R skip it.
BOM = "\ufeff"
#: The time of every ZIP entry (the earliest a ZIP can hold).
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_NEEDS_ESCAPE = r"^[=+\-@\t\r']"
_PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_PLAIN_NUMBER_RE = re.compile(_PLAIN_NUMBER)


def neutralise_text(text: str) -> str:
    """One text cell made safe for spreadsheets (see the module docstring for the rule)."""
    if text[:1] in (*FORMULA_TRIGGERS, ESCAPE) and not _PLAIN_NUMBER_RE.match(text):
        return ESCAPE + text
    return text


def restore_text(text: str) -> str:
    """The inverse of `neutralise_text`."""
    return text[1:] if text.startswith(ESCAPE) else text


def _text_columns(frame: pl.DataFrame) -> pl.DataFrame:
    # Lists and categoricals become text so that they can be written and neutralised too.
    casts: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List):
            casts.append(pl.col(name).list.eval(pl.element().cast(pl.String)).list.join("; "))
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            casts.append(pl.col(name).cast(pl.String))
    return frame.with_columns(casts) if casts else frame


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every text cell and column name neutralised against formula injection."""
    frame = _text_columns(frame)
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.String:
            risky = col.str.contains(_NEEDS_ESCAPE) & ~col.str.contains(_PLAIN_NUMBER)
            col = pl.when(risky).then(pl.lit(ESCAPE) + col).otherwise(col)
        exprs.append(col.alias(neutralise_text(name)))
    return frame.select(exprs)


def restore_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The inverse of `neutralise_frame` for a frame read back from CSV."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.String:
            col = pl.when(col.str.starts_with(ESCAPE)).then(col.str.slice(1)).otherwise(col)
        exprs.append(col.alias(restore_text(name)))
    return frame.select(exprs)


def provenance_text(
    provenance: Provenance, notes: Sequence[str] = (), columns: Sequence[str] = ()
) -> str:
    """The provenance file beside a CSV: provenance lines, then notes and column meanings."""
    parts = ["\n".join(provenance.lines())]
    if notes:
        parts.append("Notes:\n" + "\n".join(f"- {_one_line(n)}" for n in notes))
    if columns:
        parts.append("Columns:\n" + "\n".join(f"- {_one_line(c)}" for c in columns))
    return "\n\n".join(parts) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def table_to_csv(frame: pl.DataFrame) -> bytes:
    """A frame as UTF-8 CSV bytes: a header and one line a row, text cells neutralised."""
    text = neutralise_frame(frame).write_csv(quote_style="non_numeric")
    return (BOM + text).encode("utf-8")


def table_to_zip(
    frame: pl.DataFrame, provenance: Provenance, csv_name: str, notes: Sequence[str] = ()
) -> bytes:
    """A ZIP of the CSV (`csv_name`) and its provenance file (`<stem>_provenance.txt`)."""
    stem = csv_name.removesuffix(".csv")
    text = provenance_text(provenance, notes, column_notes(frame))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # A fixed entry time: the same table gives the same bytes (the date is in the text).
        for name, data in (
            (f"{stem}.csv", table_to_csv(frame)),
            (f"{stem}_provenance.txt", text.encode("utf-8")),
        ):
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.external_attr = 0o644 << 16  # readable once unpacked
            archive.writestr(entry, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def read_table_zip(data: bytes) -> tuple[bytes, str]:
    """The CSV bytes and the provenance text of a ZIP made by `table_to_zip`."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        csv = next(n for n in names if n.endswith(".csv"))
        text = next(n for n in names if n.endswith("_provenance.txt"))
        return archive.read(csv), archive.read(text).decode("utf-8")


def read_table_csv(
    data: bytes, schema: Mapping[str, pl.DataType | type[pl.DataType]] | None = None
) -> pl.DataFrame:
    """Read an exported CSV back into the exported frame (types inferred unless `schema`)."""
    frame = pl.read_csv(
        io.BytesIO(data),
        schema_overrides=None
        if schema is None
        else {neutralise_text(k): v for k, v in schema.items()},
    )
    return restore_frame(frame)
