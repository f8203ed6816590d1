"""Reading one table file: CSV (any common encoding and delimiter) and XLSX as text, Parquet typed.

Nothing here guesses types: every cell of a text file comes out as a string (or null for an
empty cell), so leading zeros survive and a stray word after row 100 cannot change a column's
type. A typed file (Parquet) keeps its booleans and numbers as typed columns: turning a million
numbers into text only to parse them back is what made large registries slow to load. The file
itself is checked first (size, disguised archives, NUL bytes, zip bombs, hidden sheets,
formulas); every finding becomes a `Problem` or a notice, never an exception.

(Over 500 lines: the three readers, CSV, XLSX and Parquet, return the same `ReadResult` through
the same checks and failures; kept together, a reader sees how one file type differs from the
others without opening three modules.)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from bsab_explorer.data import limits
from bsab_explorer.data.validation import ROW, Problem, Rule

#: Largest file accepted (bytes). Large enough for a multi-center cohort, small enough to refuse
#: a mistaken upload of an unrelated export.
MAX_FILE_BYTES = limits.MAX_FILE_BYTES
#: Most rows accepted from a compressed format (Parquet), checked before decompressing.
MAX_ROWS = 5_000_000
#: What a file may decode to (workbooks, Parquet, CSV lines) is checked in `limits`.

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
TABLE_SUFFIXES = (*CSV_SUFFIXES, ".parquet", ".xlsx")

_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls and other OLE compound files
_DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class RawTable:
    """One table as read from a file: text cells (or typed booleans and numbers from a typed
    source), plus the file row (`ROW`)."""

    table: str
    file: str
    frame: pl.DataFrame
    #: Whether numbers may use a decimal comma (semicolon- or tab-delimited text).
    decimal_comma: bool = False


@dataclass(frozen=True)
class ReadResult:
    """A file read as text, or the problems that prevented it, plus notices."""

    raw: RawTable | None
    problems: tuple[Problem, ...] = ()
    notices: tuple[str, ...] = ()


def _fail(table: str, file: str, rule: str, message: str, row: int | None = None) -> ReadResult:
    return ReadResult(None, (Problem(table, file, row, None, None, rule, message),))


def read_table_file(path: Path | str, table: str, *, max_bytes: int = MAX_FILE_BYTES) -> ReadResult:
    """Read the file at `path` as contract table `table` (text only; never raises)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return too_large(table, path.name, size, max_bytes)
        data = path.read_bytes()
    except OSError as error:
        return _fail(
            table, path.name, Rule.UNREADABLE, f"The file could not be opened ({error.strerror})."
        )
    return read_table_bytes(data, path.name, table, max_bytes=max_bytes)


def too_large(table: str, file: str, size: int, max_bytes: int) -> ReadResult:
    """The refusal of a file above the size limit."""
    return _fail(
        table,
        file,
        Rule.FILE_TOO_LARGE,
        f"The file is {limits.size_text(size)}; the limit is {limits.size_text(max_bytes)}. "
        "Split it by center or remove columns outside the contract.",
    )


def read_table_bytes(
    data: bytes, file_name: str, table: str, *, max_bytes: int = MAX_FILE_BYTES
) -> ReadResult:
    """Read uploaded bytes named `file_name` as contract table `table` (never raises)."""
    if len(data) > max_bytes:
        return too_large(table, file_name, len(data), max_bytes)
    if not data:
        return _fail(
            table,
            file_name,
            Rule.FILE_EMPTY,
            "The file is empty. Export the table again with a header row and one row per record.",
        )
    suffix = Path(file_name).suffix.lower()
    try:
        if data.startswith(_OLE_MAGIC):
            return _fail(
                table,
                file_name,
                Rule.WRONG_FORMAT,
                "This is an old-style Excel (.xls) or other binary office file. Save it as "
                ".xlsx or as CSV and upload that.",
            )
        if data.startswith(_ZIP_MAGIC):
            if suffix != ".xlsx":
                return _fail(
                    table,
                    file_name,
                    Rule.WRONG_FORMAT,
                    f"This '{suffix or 'unnamed'}' file is really a zip archive or an Excel "
                    "workbook, not text. Upload the workbook as .xlsx, or save it as CSV.",
                )
            return _read_xlsx(data, file_name, table)
        if suffix == ".xlsx":
            return _fail(
                table,
                file_name,
                Rule.WRONG_FORMAT,
                "This file is named .xlsx but is not an Excel workbook. Save it again from "
                "Excel as .xlsx, or as CSV.",
            )
        if data.startswith(_PARQUET_MAGIC) or suffix == ".parquet":
            if not (data.startswith(_PARQUET_MAGIC) and data.endswith(_PARQUET_MAGIC)):
                return _fail(
                    table,
                    file_name,
                    Rule.WRONG_FORMAT,
                    "This file is not a complete Parquet file (named .parquet but its content "
                    "does not match, or the other way round). Export it again.",
                )
            return _read_parquet(data, file_name, table)
        return _read_csv(data, file_name, table)
    except Exception as error:  # a user's file must never produce a traceback
        return _fail(
            table,
            file_name,
            Rule.UNREADABLE,
            f"The file could not be read ({type(error).__name__}). Export it again as CSV "
            "(UTF-8, comma-separated) and retry.",
        )


# --- CSV ----------------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[bytes | None, str, int | None]:
    """(the text as UTF-8 bytes, encoding description, row of the first NUL byte if the text is
    not UTF-16). UTF-8 files, the usual case, are validated in place and never copied."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _valid_utf8(data[3:]), "UTF-8 with BOM", None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").encode("utf-8"), "UTF-16", None
    sample = data[:4096]
    nuls = sample.count(0)
    if nuls and nuls >= len(sample) // 4:
        # UTF-16 without a byte-order mark: NULs sit on every other byte of ASCII text.
        even = sample[0::2].count(0)
        odd = sample[1::2].count(0)
        encoding = "utf-16-le" if odd > even else "utf-16-be"
        try:
            return data.decode(encoding).encode("utf-8"), "UTF-16 (no byte-order mark)", None
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        return None, "", data[: data.index(b"\x00")].count(b"\n") + 1
    try:
        return _valid_utf8(data), "UTF-8", None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252").encode("utf-8"), "Latin-1 (Windows-1252)", None
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8"), "Latin-1 (ISO 8859-1)", None


def _valid_utf8(data: bytes) -> bytes:
    """`data` itself once it is known to be UTF-8 (raises UnicodeDecodeError when it is not)."""
    if not data.isascii():
        data.decode("utf-8")
    return data


def _sniff_delimiter(text: str, suffix: str) -> str:
    """The delimiter used in the header line (outside quotes); comma when in doubt."""
    if suffix == ".tsv":
        return "\t"
    header = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            break
        elif not quoted:
            header.append(char)
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _read_csv(data: bytes, file_name: str, table: str) -> ReadResult:
    breaks = limits.line_breaks(data)  # counted once: the limits and the reader both need it
    if refusal := limits.check_text(data, breaks=breaks) or limits.check_encoding(data):
        return _fail(table, file_name, refusal.rule, refusal.message, row=refusal.row)
    utf8, encoding, nul_row = _decode(data)
    if utf8 is None:
        return _fail(
            table,
            file_name,
            Rule.NUL_BYTES,
            "The file contains NUL bytes (binary content), so it is not a text CSV. Export the "
            "table again as CSV.",
            row=nul_row,
        )
    if b"\x00" in utf8:
        row = utf8[: utf8.index(b"\x00")].count(b"\n") + 1
        return _fail(
            table,
            file_name,
            Rule.NUL_BYTES,
            "The file contains NUL characters. Export the table again as CSV.",
            row=row,
        )
    notices = []
    if encoding != "UTF-8":
        notices.append(f"{file_name}: read as {encoding} text.")
    suffix = Path(file_name).suffix.lower()
    parsed: _Split | ReadResult
    line_ends = [i for i in (utf8.find(b"\n"), utf8.find(b"\r")) if i >= 0]
    header = utf8[: min(line_ends, default=len(utf8))]
    delimiter = _sniff_delimiter(header.decode(), suffix)
    plain: bytes | None = utf8
    if b'"' in utf8:
        # Quotes around whole plain fields ("P001","CR", as R's write.csv and many exports
        # write every text) change no field: without them the file is plain text. Any other
        # quoting is read by the csv module.
        plain = _without_field_quotes(utf8, delimiter)
    if plain is None:
        text = utf8.decode("utf-8")
        delimiter = _sniff_delimiter(text, suffix)
        parsed = _split_quoted(text, delimiter, file_name, table)
        return split_result(parsed, table, file_name, delimiter, notices)
    if b"\r" in plain:
        plain = plain.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    parsed = _split_plain(plain, delimiter, breaks if plain is data else None)
    return split_result(parsed, table, file_name, delimiter, notices)


#: Bytes looked at a time by `_without_field_quotes` (whole lines): small enough that NumPy's
#: scratch arrays come from memory the allocator keeps, not from fresh mappings (a million
#: patients quoted, 48 MB: 0.09 s in blocks of 64 KiB, 0.3 s in blocks of 128 KiB or more).
_QUOTE_BLOCK = 1 << 16
_QUOTE, _LF, _CR = ord('"'), ord("\n"), ord("\r")
#: Characters Python's `str.strip` (the csv module's path) trims and Polars' does not.
_TRIMMED_APART = (b"\x1c", b"\x1d", b"\x1e", b"\x1f")


def _without_field_quotes(utf8: bytes, delimiter: str) -> bytes | None:
    """`utf8` without its quotes when every quote opens or closes a whole field that holds no
    quote, separator or line break (`"P001","CR"`): then each field reads the same without
    them. None when a quote does anything else (an escaped quote, a quoted separator or line
    break, a quote inside a value), and when the text holds a character the csv module's path
    and the plain reader trim differently (\\x1c to \\x1f): the csv module reads those files.

    Looked at a block of whole lines at a time (NumPy: the quotes, paired in order, and the
    separators and line breaks between them), where the csv module takes a Python call a
    field: about ten times longer.
    """
    if any(character in utf8 for character in _TRIMMED_APART):
        return None
    view = np.frombuffer(utf8, dtype=np.uint8)
    separator = ord(delimiter)
    start = 0
    while start < view.size:
        end = utf8.find(b"\n", start + _QUOTE_BLOCK)
        end = view.size if end < 0 else end + 1
        if not _quotes_enclose_fields(view, start, end, separator):
            return None
        start = end
    return utf8.translate(None, b'"')  # deleting through a table: 2.5 times bytes.replace


def _quotes_enclose_fields(view: np.ndarray, start: int, end: int, separator: int) -> bool:
    """Whether the quotes of `view[start:end]` (whole lines) pair up, in order, each pair
    around a whole field: the first after a separator or a line's start, the second before a
    separator or a line's end, no separator or line break between them."""
    block = view[start:end]
    quotes = np.flatnonzero(block == _QUOTE)
    if quotes.size % 2:
        return False
    if not quotes.size:
        return True
    opening, closing = quotes[0::2] + start, quotes[1::2] + start
    before = view[np.maximum(opening - 1, 0)]
    if not ((before == separator) | (before == _LF) | (opening == 0)).all():
        return False
    beyond = closing + 1
    after = view[np.minimum(beyond, view.size - 1)]
    if not ((after == separator) | (after == _LF) | (after == _CR) | (beyond == view.size)).all():
        return False
    # As many separators and line breaks up to each quote as up to its pair: none between.
    breaks = np.cumsum((block == separator) | (block == _LF) | (block == _CR), dtype=np.int32)
    return bool((breaks[quotes[0::2]] == breaks[quotes[1::2]]).all())


def split_result(
    parsed: _Split | ReadResult, table: str, file_name: str, delimiter: str, notices: list[str]
) -> ReadResult:
    """The read table of a CSV split into a header, a body and its ragged rows: the rows a
    separator too many or too few cannot place, an empty file and a header alone reported."""
    if delimiter != ",":
        notices.append(f"{file_name}: columns are separated by {_DELIMITER_NAMES[delimiter]}s.")
    if isinstance(parsed, ReadResult):
        return parsed
    header, body, ragged = parsed
    if header is None:
        return _fail(
            table,
            file_name,
            Rule.FILE_EMPTY,
            "The file has no content (only empty lines). Export the table again with a header row.",
        )
    width = len(header)
    problems = [
        Problem(
            table,
            file_name,
            row,
            None,
            None,
            Rule.RAGGED_ROW,
            f"This row has {count} value(s) but the header has {width} columns. Check for a "
            f"missing or extra separator, or an unquoted {_DELIMITER_NAMES[delimiter]} inside a "
            "value.",
        )
        for row, count in ragged
    ]
    if body.height == 0 and not ragged:
        problems.append(
            Problem(
                table,
                file_name,
                None,
                None,
                None,
                Rule.HEADER_ONLY,
                "The file has a header row but no data rows. Export the table again with its rows.",
            )
        )
    frame = _text_frame(
        [h.replace("\ufeff", "") for h in header],
        [body.get_column(str(i)) for i in range(width)],
        body.get_column(ROW),
    )
    raw = RawTable(table, file_name, frame, decimal_comma=delimiter != ",")
    return ReadResult(raw, tuple(problems), tuple(notices))


#: (header or None when there is no content, body with positional columns "0", "1", ... and
#: ROW, ragged rows as (row, number of values)).
_Split = tuple[list[str] | None, pl.DataFrame, list[tuple[int, int]]]


def _body_frame(width: int, rows: list[int], records: list[list[str]]) -> pl.DataFrame:
    columns = list(zip(*records, strict=True)) if records else [() for _ in range(width)]
    data = {str(i): pl.Series(str(i), list(c), dtype=pl.String) for i, c in enumerate(columns)}
    data[ROW] = pl.Series(ROW, rows, dtype=pl.Int64)
    return pl.DataFrame(data)


def _split_quoted(text: str, delimiter: str, file_name: str, table: str) -> _Split | ReadResult:
    """Records of a CSV with quotes (quoted separators, newlines), via the csv module."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    try:
        records.extend(reader)
    except csv.Error as error:
        return _fail(
            table,
            file_name,
            Rule.UNREADABLE,
            f"The file is not valid CSV near row {len(records) + 1} ({error}). Check for an "
            "unclosed quote, then export again.",
            row=len(records) + 1,
        )
    # Trailing empty lines are common in exports; they are not rows.
    while records and not any(cell.strip() for cell in records[-1]):
        records.pop()
    if not records:
        return None, pl.DataFrame(), []
    header = records[0]
    width = len(header)
    rows: list[int] = []
    kept: list[list[str]] = []
    ragged: list[tuple[int, int]] = []
    for index, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != width:
            ragged.append((index, len(record)))
            continue
        rows.append(index)
        kept.append(record)
    return header, _body_frame(width, rows, kept), ragged


def _split_plain(data: bytes, delimiter: str, breaks: int | None = None) -> _Split:
    """Records of a CSV without any quote (UTF-8, lines ending in \\n): one line a record, split
    by Polars' CSV reader, so a million lines never become a million Python strings. `breaks`:
    the line breaks in `data`, when the caller has counted them."""
    end = _content_end(data, delimiter)
    if not end:
        return None, pl.DataFrame(), []
    if data[end:] not in (b"", b"\n"):
        if breaks is not None:
            breaks -= data.count(b"\n", end)
        data = data[:end]  # trailing blank lines are not rows
    header_end = data.find(b"\n")
    header = data[: len(data) if header_end < 0 else header_end].decode().split(delimiter)
    try:
        fields = _read_fields(data, delimiter, len(header), ragged=False)
    except pl.exceptions.ComputeError:  # more values than the header
        return _split_lines(_read_lines(data), data, delimiter, header)
    # Every line must be its values and width - 1 separators, or the file has ragged or empty
    # lines and is looked at line by line. (Polars refuses most lines with more values than the
    # header, but not all: a last line ending in one separator too many is read without its
    # empty last value; and a line with too few values reads as if they were empty.)
    ends = _line_ends(fields, data, len(header), breaks)
    if ends is None:
        lines = _read_lines(data)
        if fields.height != lines.len():
            # Both readers split lines alike; a file where they differ is not read at all.
            raise ValueError("the lines of the file could not be counted")
        return _split_lines(lines, data, delimiter, header)
    body = fields.slice(1)
    # A blank row has a blank first value: the rest is looked at only when one may.
    if _blank_first_value_possible(data, ends, delimiter) and (
        body.select((pl.col("0").str.strip_chars() == "").any()).item()
    ):
        body = body.filter(~_blank_row(len(header)))
    return header, body, []


def _line_ends(
    fields: pl.DataFrame, data: bytes, width: int, breaks: int | None
) -> np.ndarray | None:
    """Where each line of `data` ends (its line break, or the end of the text for a last line
    without one) when every line is exactly its `width` values (as read in `fields`, one row a
    line) and width - 1 separators, byte for byte; None when a line is not.

    Each line's end is computed from its values' lengths; when each such end is a line break of
    the file and the file has no other, every line has width - 1 bytes besides its values: its
    separators. One pass over the values' lengths and one gather of bytes, where reading every
    line again as text to measure it cost a second read of the file.
    """
    lengths = fields.select(
        pl.sum_horizontal(pl.col(str(i)).str.len_bytes() for i in range(width)).cast(pl.Int64)
    ).to_series()
    ends = ((lengths + width).cum_sum() - 1).to_numpy()
    closed = data.endswith(b"\n")
    if breaks is None:
        breaks = limits.line_breaks(data)
    if breaks != fields.height - (0 if closed else 1):
        return None
    if ends[-1] != len(data) - (1 if closed else 0):
        return None
    at = ends if closed else ends[:-1]
    if not (np.frombuffer(data, dtype=np.uint8)[at] == ord("\n")).all():
        return None
    return ends


#: The first bytes a blank value can begin with besides a separator: the white space Polars'
#: `strip_chars` removes is ASCII (tab to carriage return, space) or begins with a byte of
#: 0x80 or more (no-break and other Unicode spaces).
_BLANK_STARTS = np.array([c in b"\t\n\x0b\x0c\r " or c >= 0x80 for c in range(256)])


def _blank_first_value_possible(data: bytes, ends: np.ndarray, delimiter: str) -> bool:
    """Whether a line after the header (ending at `ends[1:]`) may have a blank first value: one
    whose first byte is a separator or can begin white space. Looks at a byte a line, where
    trimming every first value made a copy of the column."""
    starts = ends[:-1] + 1
    if starts.size == 0:
        return False
    if starts[-1] >= len(data):
        return True
    first = np.frombuffer(data, dtype=np.uint8)[starts]
    return bool(_BLANK_STARTS[first].any() or (first == ord(delimiter)).any())


def _content_end(data: bytes, delimiter: str) -> int:
    """Where the text ends once trailing blank lines are left out (0: every line is blank)."""
    end = len(data)
    while True:
        start = data.rfind(b"\n", 0, end) + 1
        if data[start:end].decode().replace(delimiter, "").strip():
            return end
        if not start:
            return 0
        end = start - 1


def _read_lines(data: bytes) -> pl.Series:
    """Every line of `data` (split as `_read_fields` splits them), as text."""
    # NUL never occurs in a text file read here: as the separator it makes every line one field.
    return pl.read_csv(
        data,
        has_header=False,
        schema={"line": pl.String},
        separator="\x00",
        quote_char=None,
        empty_string_is_null=False,
    ).to_series()


def _split_lines(lines: pl.Series, data: bytes, delimiter: str, header: list[str]) -> _Split:
    """`_split_plain` for a file with ragged or blank lines: each line's values are counted."""
    counted = lines.to_frame().select(
        pl.col("line").str.count_matches(delimiter, literal=True).add(1).alias("n"),
        pl.col("line")
        .str.replace_all(delimiter, "", literal=True)
        .str.strip_chars()
        .eq("")
        .alias("blank"),
    )
    width = len(header)
    fields = _read_fields(data, delimiter, width, ragged=True)
    if fields.height != counted.height:
        raise ValueError("the lines of the file could not be counted")  # as in _split_plain
    body = pl.concat([fields, counted], how="horizontal").slice(1).filter(~pl.col("blank"))
    ragged = [
        (int(r), int(n)) for r, n in body.filter(pl.col("n") != width).select(ROW, "n").iter_rows()
    ]
    return header, body.filter(pl.col("n") == width).drop("n", "blank"), ragged


def _read_fields(data: bytes, delimiter: str, width: int, *, ragged: bool) -> pl.DataFrame:
    """Every line of `data` (header included) as `width` text fields "0", "1", ..., plus the
    line number in `ROW`; a line with more fields raises unless `ragged` (then cut)."""
    return pl.read_csv(
        data,
        has_header=False,
        schema={str(i): pl.String for i in range(width)},
        separator=delimiter,
        quote_char=None,
        empty_string_is_null=False,
        truncate_ragged_lines=ragged,
        row_index_name=ROW,
        row_index_offset=1,
    ).with_columns(pl.col(ROW).cast(pl.Int64))


def _blank_row(width: int) -> pl.Expr:
    """Rows whose every value is empty or white space (a line of separators): not records."""
    return pl.all_horizontal(pl.col(str(i)).str.strip_chars() == "" for i in range(width))


def _text_frame(
    header: list[str],
    columns: list[pl.Series] | list[list[str | None]],
    rows: pl.Series | list[int],
) -> pl.DataFrame:
    """A frame of text columns (duplicate header names kept apart with a suffix for now)."""
    data: dict[str, pl.Series] = {}
    for position, name in enumerate(header):
        key = name
        suffix = 1
        while key in data or key == ROW:
            suffix += 1
            key = f"{name}\x00{suffix}"
        values = columns[position]
        if isinstance(values, pl.Series):
            data[key] = values.cast(pl.String).alias(key)
        else:
            data[key] = pl.Series(key, values, dtype=pl.String)
    data[ROW] = pl.Series(ROW, rows, dtype=pl.Int64)
    return pl.DataFrame(data)


# --- XLSX ---------------------------------------------------------------------------------------


def _xlsx_cell_text(value: object) -> str | None:
    """A cell as the text a user sees (dates become ISO text, so the identifier guard sees them)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _read_xlsx(data: bytes, file_name: str, table: str) -> ReadResult:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except zipfile.BadZipFile:
        return _fail(
            table,
            file_name,
            Rule.WRONG_FORMAT,
            "The workbook is damaged (not a valid .xlsx). Save it again from Excel.",
        )
    if infos and (refusal := limits.check_workbook(data)):
        return _fail(table, file_name, refusal.rule, refusal.message, row=refusal.row)
    import openpyxl  # deferred: only workbook uploads need it

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        hidden = [ws.title for ws in workbook.worksheets if ws.sheet_state != "visible"]
        if hidden:
            return _fail(
                table,
                file_name,
                Rule.XLSX_HIDDEN_SHEET,
                f"The workbook has hidden sheets ({', '.join(hidden)}). Hidden sheets can "
                "carry data nobody checked: delete them (or save the table alone as CSV).",
            )
        sheets = workbook.worksheets
        named = [ws for ws in sheets if ws.title.strip().lower() == table]
        if named:
            sheet = named[0]
        elif len(sheets) == 1:
            sheet = sheets[0]
        else:
            names = ", ".join(ws.title for ws in sheets)
            return _fail(
                table,
                file_name,
                Rule.XLSX_SHEETS,
                f"The workbook has several sheets ({names}) and none is named '{table}'. Keep "
                f"one sheet per table, or name the sheet '{table}'.",
            )
        problems: list[Problem] = []
        records: list[tuple[int, list[str | None]]] = []
        for row in sheet.iter_rows():
            cells = list(row)
            if not cells:
                continue
            row_number = getattr(cells[0], "row", None) or len(records) + 1
            texts = []
            for cell in cells:
                if getattr(cell, "data_type", None) == "f":
                    problems.append(
                        Problem(
                            table,
                            file_name,
                            row_number,
                            None,
                            str(cell.value)[:80],
                            Rule.XLSX_FORMULA,
                            f"Cell {cell.coordinate} holds a formula. Replace formulas by "  # noqa: S608
                            "their values (Paste special, Values) before uploading.",
                        )
                    )
                texts.append(_xlsx_cell_text(cell.value))
            records.append((row_number, texts))
    finally:
        workbook.close()
    records = [(r, t) for r, t in records if any(x is not None and str(x).strip() for x in t)]
    if not records:
        return _fail(table, file_name, Rule.FILE_EMPTY, f"The sheet '{sheet.title}' is empty.")
    _, header_cells = records[0]
    width = max(i + 1 for i, h in enumerate(header_cells) if h is not None and h.strip())
    header = [(h or "").strip() for h in header_cells[:width]]
    body = [(r, (t + [None] * width)[:width]) for r, t in records[1:]]
    for r, t in records[1:]:
        extra = [x for x in t[width:] if x is not None and str(x).strip()]
        if extra:
            problems.append(
                Problem(
                    table,
                    file_name,
                    r,
                    None,
                    str(extra[0]),
                    Rule.RAGGED_ROW,
                    f"This row has values to the right of the last named column ({width}). "
                    "Give those columns a header or delete them.",
                )
            )
    if not body:
        problems.append(
            Problem(
                table,
                file_name,
                None,
                None,
                None,
                Rule.HEADER_ONLY,
                "The sheet has a header row but no data rows. Export the table again with its "
                "rows.",
            )
        )
    columns = [[t[i] for _, t in body] for i in range(width)]
    frame = _text_frame(header, columns, [r for r, _ in body])
    return ReadResult(RawTable(table, file_name, frame), tuple(problems))


# --- Parquet ------------------------------------------------------------------------------------


def _read_parquet(data: bytes, file_name: str, table: str) -> ReadResult:
    # Counted from the file's metadata, before anything is decompressed.
    rows = pl.scan_parquet(io.BytesIO(data)).select(pl.len()).collect().item()
    if rows > MAX_ROWS:
        return _fail(
            table,
            file_name,
            Rule.FILE_TOO_LARGE,
            f"The file declares {rows:,} rows; the limit is {MAX_ROWS:,}. Split it by center.",
        )
    if refusal := limits.check_parquet(data):
        return _fail(table, file_name, refusal.rule, refusal.message)
    frame = pl.read_parquet(io.BytesIO(data))
    return typed_table_from_frame(frame, table, file_name, first_row=1)


def typed_table_from_frame(
    frame: pl.DataFrame, table: str, file_name: str, *, first_row: int = 1
) -> ReadResult:
    """A typed frame (Parquet, DuckDB, Arrow) as a `RawTable` that keeps its typed columns.

    Booleans and numbers stay typed: `normalise` reads them as columns, and turns into text only
    what a rule must quote or search (see `cell_text`). Text columns stay text, dates and times
    become ISO text (so the identifier guard sees them), nested or binary columns are refused.
    """
    problems: list[Problem] = []
    columns: list[pl.Series] = []
    for name in frame.columns:
        series = frame.get_column(name)
        dtype = series.dtype
        if dtype.is_nested() or dtype in (pl.Binary, pl.Object):
            problems.append(
                Problem(
                    table,
                    file_name,
                    None,
                    name,
                    None,
                    Rule.WRONG_FORMAT,
                    f"Column {name} holds {dtype} values, not plain values. Store one plain "
                    "value per cell.",
                )
            )
            continue
        if dtype == pl.Boolean or dtype.is_numeric() or dtype == pl.String:
            columns.append(series)
        else:
            columns.append(cell_text(series))
    height = frame.height
    columns.append(
        pl.int_range(first_row, first_row + height, dtype=pl.Int64, eager=True).alias(ROW)
    )
    out = pl.DataFrame(columns)
    if height == 0:
        problems.append(
            Problem(
                table,
                file_name,
                None,
                None,
                None,
                Rule.HEADER_ONLY,
                "The table has columns but no rows. Export the table again with its rows.",
            )
        )
    return ReadResult(RawTable(table, file_name, out), tuple(problems))


#: Python writes floats outside [1e-4, 1e16) in exponent form, and whole floats beyond Int64 in
#: full: those few are formatted by Python, every other value by Polars (the same digits).
_PY_FORMAT_BELOW = 1e-4
_INT64_LIMIT = 2.0**63


def cell_text(series: pl.Series) -> pl.Series:
    """A typed column as the text a user sees in each cell (`_xlsx_cell_text`, vectorised)."""
    dtype = series.dtype
    if dtype == pl.String:
        return series
    if dtype == pl.Boolean:
        return series.cast(pl.String).str.to_lowercase()
    if dtype.is_float():
        values = series.cast(pl.Float64)
        whole = values.is_finite() & (values.floor() == values) & (values.abs() < _INT64_LIMIT)
        text = (
            pl.select(
                pl.when(whole)
                .then(values.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(values.cast(pl.String))
            )
            .to_series()
            .alias(series.name)
        )
        special = ~whole & (
            ~values.is_finite() | (values.abs() < _PY_FORMAT_BELOW) | (values.abs() >= _INT64_LIMIT)
        )
        special = special.fill_null(False)
        if special.any():
            positions = special.arg_true()
            texts = [_xlsx_cell_text(v) for v in values.filter(special)]
            text = text.scatter(positions, pl.Series(texts, dtype=pl.String))
        return text
    return series.cast(pl.String).alias(series.name)
