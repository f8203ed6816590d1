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

The file is UTF-8 with a byte-order mark (so spreadsheets read "≥" and "–" correctly), text
cells are quoted, and the provenance follows the data as ``# `` comment lines, which
``pl.read_csv(..., comment_prefix="#")`` skips.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

import polars as pl

from bsab_explorer.exports.provenance import Provenance

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: Written before a text cell that would otherwise run as a formula.
ESCAPE = "'"
COMMENT_PREFIX = "#"

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


def _comment_line(text: str) -> str:
    # A spreadsheet splits comment lines at commas too: neutralise every piece, drop quotes
    # (which would open a quoted field) and line breaks (which would end the comment).
    flat = " ".join(text.replace('"', "'").splitlines())
    pieces = flat.split(",")
    safe = [pieces[0], *(_neutralise_piece(p) for p in pieces[1:])]
    return f"{COMMENT_PREFIX} {','.join(safe)}"


def _neutralise_piece(piece: str) -> str:
    stripped = piece.lstrip()
    lead = piece[: len(piece) - len(stripped)]
    return lead + neutralise_text(stripped) if stripped else piece


def provenance_comment(provenance: Provenance, *, with_date: bool = True) -> str:
    """The provenance as CSV comment lines (each ending in a newline)."""
    return "".join(f"{_comment_line(line)}\n" for line in provenance.lines(with_date=with_date))


def table_to_csv(frame: pl.DataFrame, provenance: Provenance | None = None) -> bytes:
    """A frame as UTF-8 CSV bytes: neutralised text cells, provenance as trailing comments."""
    text = neutralise_frame(frame).write_csv(quote_style="non_numeric")
    if provenance is not None:
        text += provenance_comment(provenance)
    return ("\ufeff" + text).encode("utf-8")


def read_table_csv(
    data: bytes, schema: Mapping[str, pl.DataType | type[pl.DataType]] | None = None
) -> pl.DataFrame:
    """Read an exported CSV back into the exported frame (types inferred unless `schema`)."""
    frame = pl.read_csv(
        io.BytesIO(data),
        comment_prefix=COMMENT_PREFIX,
        schema_overrides=None
        if schema is None
        else {neutralise_text(k): v for k, v in schema.items()},
    )
    return restore_frame(frame)
