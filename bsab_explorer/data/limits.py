"""Limits checked before a file is decoded whole, so a small hostile file cannot exhaust memory.

A file's size says little about what it holds once decoded: an 8 kB Parquet file can declare a
million copies of a 1 kB string, a zip can unpack a thousand times larger, and one CSV line can
hold a 10 MB "code". Each reader therefore asks this module first, from what can be learnt
cheaply (Parquet metadata, and a streamed pass over its dictionary-encoded values when the
metadata cannot bound them; the zip directory and a streamed pass over the sheet XML; the byte
lengths of CSV lines), and refuses the file with a plain message when it would exceed the
budget below.

The budget: an upload of at most `MAX_FILE_BYTES` (100 MiB) may decode to at most
`MAX_DECODED_BYTES` (400 MiB) of cell text, in at most `MAX_ROWS` rows, `MAX_COLUMNS` columns
and `MAX_CELL_CHARS` characters a cell. `MEMORY_BUDGET_BYTES` (10 times the upload limit,
1000 MiB) is the ceiling stated for checking one file; the test suite measures that a bomb is
refused well under it. Sizes are always given in MiB.

Once a file is read, `text_limit` bounds each text column of the contract (pseudonyms 32, codes
40, free text 200 characters) and an open code column takes at most `MAX_DISTINCT_CODES` codes:
the figures the contract documents per column.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING
from xml.etree import ElementTree

import numpy as np
import polars as pl

from bsab_explorer.data.validation import ROW, Problem, Rule
from bsab_explorer.schema import TABLES, Column, Kind

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

MIB = 1024 * 1024
#: Largest file accepted (bytes).
MAX_FILE_BYTES = 100 * MIB
#: Peak memory one file's check may take (stated, and measured by the test suite).
MEMORY_BUDGET_BYTES = 10 * MAX_FILE_BYTES
#: Most cell text a file may decode to, counted before it is decoded whole.
MAX_DECODED_BYTES = 400 * MIB
#: Most rows and columns a table file may have.
MAX_ROWS = 5_000_000
MAX_COLUMNS = 10_000
#: Longest cell of any file, whatever its column (the contract's per-column limits are lower).
MAX_CELL_CHARS = 4_096
#: Longest CSV line: every cell of the widest accepted row at a modest length.
MAX_LINE_BYTES = 4 * MIB
#: Largest compression ratio of a workbook (a zip); real workbooks stay far below it.
MAX_COMPRESSION_RATIO = 200

_STREAM_ROWS = 65_536
_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]+)?(\d+)?:?([A-Z]+)?(\d+)?"')


@dataclass(frozen=True)
class Refusal:
    """Why a file is refused before it is decoded: its rule, message and line (if known)."""

    rule: str
    message: str
    row: int | None = None


def size_text(size: float) -> str:
    """A size in MiB, the one unit every message uses (100 MiB, 105.9 MiB)."""
    mib = size / MIB
    if mib.is_integer():
        return f"{mib:.0f} MiB"
    return f"{mib:.1f} MiB" if mib >= 0.1 else f"{mib:.2g} MiB"


def _decoded_too_large(what: str, decoded: int) -> Refusal:
    return Refusal(
        Rule.DECODING_LIMIT,
        f"The file would decode to at least {size_text(decoded)} of {what}; the limit is "
        f"{size_text(MAX_DECODED_BYTES)}. It was not opened. Split it by center, or remove "
        "columns outside the contract.",
    )


def _cell_too_long(length: int, where: str) -> Refusal:
    return Refusal(
        Rule.DECODING_LIMIT,
        f"A cell{where} holds {length:,} characters; no cell may hold more than "
        f"{MAX_CELL_CHARS:,}. The file was not opened: keep one short value per cell.",
    )


def _too_many(rows: int, columns: int, what: str = "file") -> Refusal | None:
    if rows > MAX_ROWS:
        return Refusal(
            Rule.FILE_TOO_LARGE,
            f"The {what} declares {rows:,} rows; the limit is {MAX_ROWS:,}. Split it by center.",
        )
    if columns > MAX_COLUMNS:
        return Refusal(
            Rule.FILE_TOO_LARGE,
            f"The {what} declares {columns:,} columns; the limit is {MAX_COLUMNS:,}. Keep the "
            "contract's columns only.",
        )
    return None


# --- Parquet ------------------------------------------------------------------------------------


def check_parquet(data: bytes) -> Refusal | None:
    """Why a Parquet file must not be decoded (None when it fits the budget)."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(io.BytesIO(data))
    meta = parquet.metadata
    refusal = _too_many(meta.num_rows, meta.num_columns)
    if refusal:
        return refusal
    declared = sum(
        meta.row_group(g).column(c).total_uncompressed_size
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    )
    if declared > MAX_DECODED_BYTES:
        return _decoded_too_large("data", declared)
    refusal = _check_nested(meta)
    if refusal:
        return refusal
    texts = [f.name for f in parquet.schema_arrow if _is_text(f.type)]
    if not texts or _fits_by_metadata(data, meta, texts):
        return None
    return _check_text_values(data, texts)


#: Encodings whose decoded text is no larger than the encoded pages (the levels' encodings,
#: plain values, values after their lengths); anything else (prefix-shared values) can grow.
_UNGROWING_ENCODINGS = frozenset({"PLAIN", "RLE", "BIT_PACKED", "DELTA_LENGTH_BYTE_ARRAY"})
_DICTIONARY_ENCODINGS = frozenset({"PLAIN_DICTIONARY", "RLE_DICTIONARY"})


def _text_bound(meta: pq.FileMetaData, texts: list[str]) -> int | None:
    """The most bytes the text columns can decode to, from the metadata alone (None: unknown).

    A plain column chunk decodes to at most its uncompressed pages. A dictionary-encoded chunk
    repeats dictionary values, each no longer than the chunk's uncompressed pages (which hold
    the dictionary page), once a value: at most values times that size. That is loose, but a
    real file's bound stays far under the budget, while a bomb's does not and is counted.
    """
    wanted = set(texts)
    bound = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(meta.num_columns):
            chunk = group.column(c)
            if chunk.path_in_schema not in wanted:
                continue
            encodings = set(chunk.encodings)
            if encodings <= _UNGROWING_ENCODINGS:
                bound += chunk.total_uncompressed_size
            elif encodings <= _UNGROWING_ENCODINGS | _DICTIONARY_ENCODINGS:
                bound += chunk.num_values * chunk.total_uncompressed_size
            else:
                return None
    return bound


def _fits_by_metadata(data: bytes, meta: pq.FileMetaData, texts: list[str]) -> bool:
    """Whether the text columns provably fit the budget, so that the counting pass that gives
    the refusal's figures (`_check_text_values`) is not needed.

    True only when that pass would find nothing: the metadata bound the decoded text within
    `MAX_DECODED_BYTES`, so the text columns are safe to read at once, and no cell of them is
    longer than `MAX_CELL_CHARS` (measured on the columns as read, in Rust, not a batch at a
    time in Python).
    """
    bound = _text_bound(meta, texts)
    if bound is None or bound > MAX_DECODED_BYTES:
        return False
    # Polars reads and measures them (pyarrow.compute alone takes a tenth of a second to import).
    columns = pl.read_parquet(io.BytesIO(data), columns=texts).iter_columns()
    return all(_longest(column) <= MAX_CELL_CHARS for column in columns)


def _longest(column: pl.Series) -> int:
    """The longest value of a text (or binary) column, in bytes (0 when every value is null)."""
    if column.dtype == pl.Binary:
        sizes = column.bin.size()
    else:
        sizes = column.cast(pl.String).str.len_bytes()
    longest = sizes.max()
    return longest if isinstance(longest, int) else 0


def _check_text_values(data: bytes, texts: list[str]) -> Refusal | None:
    """Count what the text columns decode to, a batch at a time (None when within budget)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    # Dictionary encoding makes a repeated long string nearly free on disk: read the text
    # columns as dictionaries (never expanded) and count what they would decode to.
    reader = pq.ParquetFile(io.BytesIO(data), read_dictionary=texts)
    decoded = 0
    for batch in reader.iter_batches(batch_size=_STREAM_ROWS, columns=texts):
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            if pa.types.is_dictionary(array.type) and len(array.dictionary) == 0:
                continue  # every value null: nothing to decode (and nothing to index)
            # Null cells decode to nothing: max and sum skip nulls (None when all are null).
            if pa.types.is_dictionary(array.type):
                lengths = pc.binary_length(array.dictionary)
                longest = pc.max(lengths).as_py() or 0
                # (An all-null column has an empty dictionary: skipped above.)
                counted = pc.sum(pc.take(lengths, array.indices.drop_null())).as_py() or 0
            else:
                lengths = pc.binary_length(array)
                longest = pc.max(lengths).as_py() or 0
                counted = pc.sum(lengths).as_py() or 0
            if longest > MAX_CELL_CHARS:
                return _cell_too_long(longest, f" of column {name}")
            decoded += counted
        if decoded > MAX_DECODED_BYTES:
            return _decoded_too_large("text", decoded)
    return None


def _check_nested(meta: pq.FileMetaData) -> Refusal | None:
    """Lists and structs are refused after reading, but reading them must be safe too: their
    values are counted from the metadata, and their text bounded by its longest value."""
    values = 0
    decoded = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(meta.num_columns):
            chunk = group.column(c)
            if "." not in chunk.path_in_schema:
                continue  # a plain column: the rows bound it
            values += chunk.num_values
            if chunk.physical_type == "BYTE_ARRAY":
                stats = chunk.statistics
                if stats is not None and stats.has_min_max:
                    longest = max(len(stats.min), len(stats.max))
                else:
                    longest = chunk.total_uncompressed_size
                decoded += chunk.num_values * longest
    if values > MAX_ROWS:
        return Refusal(
            Rule.FILE_TOO_LARGE,
            f"The file's list or nested columns declare {values:,} values; the limit is "
            f"{MAX_ROWS:,}. Store one plain value per cell.",
        )
    if decoded > MAX_DECODED_BYTES:
        return _decoded_too_large("text", decoded)
    return None


def _is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


# --- XLSX ---------------------------------------------------------------------------------------


def check_workbook(data: bytes) -> Refusal | None:
    """Why a workbook must not be opened (None when it fits the budget)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    infos = archive.infolist()
    unpacked = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if unpacked > MAX_DECODED_BYTES or unpacked / packed > MAX_COMPRESSION_RATIO:
        return Refusal(
            Rule.ZIP_BOMB,
            f"The workbook would unpack to {size_text(unpacked)} ({unpacked / packed:.0f} "
            "times its size), which looks like a zip bomb, so it was not opened. Save the "
            "table as CSV instead.",
        )
    sheets = [
        i for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")
    ]
    for info in sheets:
        with archive.open(info) as handle:
            head = handle.read(4096)
        match = _DIMENSION.search(head)
        if match and match.group(2) and match.group(4):
            rows = int(match.group(4)) - int(match.group(2)) + 1
            columns = _column_number(match.group(3) or b"A") - _column_number(
                match.group(1) or b"A"
            )
            refusal = _too_many(rows, columns + 1, "sheet")
            if refusal:
                return refusal
    return _check_sheet_text(archive, sheets)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _check_sheet_text(archive: zipfile.ZipFile, sheets: list[zipfile.ZipInfo]) -> Refusal | None:
    """Stream the sheets' XML, counting the text each cell would decode to (shared strings
    are counted once per cell that refers to them, as a reader would expand them)."""
    shared: list[int] = []
    names = set(archive.namelist())
    if "xl/sharedStrings.xml" in names:
        with archive.open("xl/sharedStrings.xml") as handle:
            length = 0
            # The standard parser, as openpyxl's: it resolves no external entity and expat
            # refuses entity-expansion bombs.
            for _, element in ElementTree.iterparse(handle, events=("end",)):  # noqa: S314
                tag = element.tag.rsplit("}", 1)[-1]
                if tag == "t":
                    length += len(element.text or "")
                elif tag == "si":
                    if length > MAX_CELL_CHARS:
                        return _cell_too_long(length, " of the workbook")
                    shared.append(length)
                    length = 0
                    element.clear()
    decoded = 0
    for info in sheets:
        with archive.open(info) as handle:
            for attributes, value in _cell_values(handle):
                shared_cell = b't="s"' in attributes or b"t='s'" in attributes
                index = int(value) if shared_cell and value.isdigit() else -1
                length = shared[index] if 0 <= index < len(shared) else len(value)
                if length > MAX_CELL_CHARS:
                    return _cell_too_long(length, " of the workbook")
                decoded += length
                if decoded > MAX_DECODED_BYTES:
                    return _decoded_too_large("text", decoded)
    return None


_CELL_VALUE = re.compile(rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?v>([^<]*)</")
_CHUNK = 16 * MIB
#: A run of text with no markup longer than a cell may be: an inline string over the limit.
_LONG_TEXT = re.compile(rb"[^<]{%d}" % (MAX_CELL_CHARS + 1))


def _cell_values(handle: IO[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """(attributes, value) of every cell with a value, read in chunks (a regular expression
    is ten times faster than an XML parser here, and the values are plain text)."""
    tail = b""
    while chunk := handle.read(_CHUNK):
        buffer = tail + chunk
        cut = buffer.rfind(b"</")
        cut = 0 if cut < 0 else buffer.rfind(b"<", 0, cut)
        cut = max(cut, 0)
        long = _LONG_TEXT.search(buffer)
        if long is not None:
            yield b"", long.group()  # a cell (inline text) over the limit: reported by the caller
            return
        for match in _CELL_VALUE.finditer(buffer, 0, cut):
            yield match.group(1), match.group(2)
        tail = buffer[cut:]
    for match in _CELL_VALUE.finditer(tail):
        yield match.group(1), match.group(2)


# --- CSV ----------------------------------------------------------------------------------------


#: Bytes compared at a time by `line_breaks` (a megabyte of scratch, never a copy of the file).
_COUNT_BLOCK = 1 << 20


def line_breaks(data: bytes) -> int:
    """The number of line breaks (\\n) in `data`, as `data.count(b"\\n")` says.

    Counted a block at a time by NumPy, which compares the bytes in vector registers and lets
    go of the interpreter meanwhile: 5 to 6 times faster than `bytes.count` (a byte-by-byte
    loop that holds the interpreter), and two files are counted at once rather than in turn.
    """
    view = np.frombuffer(data, dtype=np.uint8)
    return sum(
        int(np.count_nonzero(view[start : start + _COUNT_BLOCK] == ord("\n")))
        for start in range(0, view.size, _COUNT_BLOCK)
    )


def check_text(data: bytes, *, breaks: int | None = None) -> Refusal | None:
    """Why a text file must not be decoded, with the line at fault (None when it fits).

    `breaks` is the number of line breaks in `data` when the caller has counted them.
    """
    if breaks is None:
        breaks = line_breaks(data)
    if breaks > MAX_ROWS + 1:
        return Refusal(
            Rule.FILE_TOO_LARGE,
            f"The file has {breaks:,} lines; the limit is {MAX_ROWS:,} rows. Split it by center.",
        )
    header = data[: data.find(b"\n")] if b"\n" in data else data
    columns = max(header.count(d) for d in (b",", b";", b"\t")) + 1
    if columns > MAX_COLUMNS:
        return Refusal(
            Rule.FILE_TOO_LARGE,
            f"The header has {columns:,} columns; the limit is {MAX_COLUMNS:,}. Keep the "
            "contract's columns only.",
            1,
        )
    long = long_line(data, MAX_LINE_BYTES)
    if long is None:
        return None
    start, end = long
    return Refusal(
        Rule.DECODING_LIMIT,
        f"This line is {size_text(end - start)} long; the limit is {size_text(MAX_LINE_BYTES)} a "
        "line. The file was not read: keep one short value per cell.",
        data.count(b"\n", 0, start) + 1,
    )


def long_line(data: bytes, limit: int) -> tuple[int, int] | None:
    """(start, end) of the first line of `data` longer than `limit` bytes, or None.

    A line that long holds a whole aligned block of limit // 2 bytes with no line break, so
    only such blocks are looked at: a few hundred `bytes.find` calls (C) over 100 MiB, rather
    than splitting a million lines in Python.
    """
    if len(data) <= limit:
        return None
    block = max(1, limit // 2)
    checked = 0  # the end of the last line measured
    for block_start in range(0, len(data), block):
        block_end = block_start + block
        if block_start < checked or data.find(b"\n", block_start, block_end) >= 0:
            continue
        start = data.rfind(b"\n", 0, block_start) + 1
        end = data.find(b"\n", block_end)
        end = len(data) if end < 0 else end
        if end - start > limit:
            return start, end
        checked = end
    return None


_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def check_encoding(data: bytes) -> Refusal | None:
    """A text file mixing UTF-8 with another encoding (it would be garbled), else None."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        return None  # UTF-16, read as such
    if data.isascii():
        return None  # the usual case, settled in one pass in C
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = error.start
    else:
        return None
    # Valid multi-byte UTF-8 elsewhere in a file that is not wholly UTF-8: two encodings mixed.
    for match in _UTF8_SEQUENCE.finditer(data):
        try:
            match.group().decode("utf-8")
        except UnicodeDecodeError:
            continue
        return Refusal(
            Rule.MIXED_ENCODING,
            "The file mixes two text encodings: some lines are UTF-8, this one is not (Latin-1 "
            "or Windows-1252), so accented letters would be garbled. Save the whole file again "
            "as CSV UTF-8 and upload that.",
            data[:bad].count(b"\n") + 1,
        )
    return None


# --- text cells of the contract (after reading) -------------------------------------------------

#: Longest value of each kind of text column (characters): pseudonyms, codes, free text. The
#: contract documents these per column (see `text_limit`).
PSEUDONYM_CHARS = 32
#: Columns holding a pseudonym (their shape is checked by the identifier guard).
PSEUDONYM_COLUMNS = frozenset({"patient_id", "case_id", "center"})
CODE_CHARS = 40
FREE_TEXT_CHARS = 200
#: Most distinct values of a code column that accepts new codes (`bsab`, `target`).
MAX_DISTINCT_CODES = 50


def text_limit(column: Column) -> int | None:
    """The longest value `column` accepts, in characters (None for numbers and booleans)."""
    if column.kind == Kind.CODE:
        return CODE_CHARS
    if column.kind != Kind.STRING:
        return None
    return PSEUDONYM_CHARS if column.name in PSEUDONYM_COLUMNS else FREE_TEXT_CHARS


def check_text_cells(table: str, file: str, frame: pl.DataFrame) -> list[Problem]:
    """Text cells longer than their column allows, and open code columns with too many codes."""
    problems: list[Problem] = []
    for column in TABLES[table].columns:
        limit = text_limit(column)
        if limit is None or column.name not in frame.columns:
            continue
        lengths = pl.col(column.name).str.strip_chars().str.len_chars()
        long = frame.select(ROW, lengths.alias("__length")).filter(pl.col("__length") > limit)
        problems.extend(
            Problem(
                table,
                file,
                row,
                column.name,
                None,
                Rule.TEXT_TOO_LONG,
                f"The value holds {length:,} characters; {column.name} takes at most {limit}. "
                "Shorten it (one value per cell, no pasted notes).",
            )
            for row, length in long.iter_rows()
        )
        if column.kind == Kind.CODE and column.open_codes:
            distinct = frame.get_column(column.name).drop_nulls().str.to_lowercase().n_unique()
            if distinct > MAX_DISTINCT_CODES:
                problems.append(
                    Problem(
                        table,
                        file,
                        None,
                        column.name,
                        None,
                        Rule.TOO_MANY_CODES,
                        f"{column.name} holds {distinct:,} different codes; it takes at most "
                        f"{MAX_DISTINCT_CODES} (each code is a group in every analysis). Check "
                        "that the column holds codes, and spell each code one way.",
                    )
                )
    return problems
