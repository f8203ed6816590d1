"""The CSV reader and the pre-decoding checks against the line-by-line versions they replaced.

The reader splits a file without quotes with Polars' CSV reader, and the checks look at the
whole buffer in C; the versions they replaced walked the text line by line in Python. Those
versions are kept here, verbatim, as the reference: on generated good and bad files both must
give the same frame, problems, notices and refusals (row numbers included).
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bsab_explorer.data import ingest, limits, normalise
from bsab_explorer.data.ingest import ReadResult
from bsab_explorer.data.limits import MAX_LINE_BYTES, Refusal
from bsab_explorer.data.validation import ROW, Rule
from bsab_explorer.schema import TABLES

# --- the replaced versions (reference) ----------------------------------------------------------


def reference_long_line(data: bytes, limit: int) -> tuple[int, int] | None:
    """The first line longer than `limit`, found by splitting every line (the old check)."""
    if len(data) <= limit:
        return None
    start = 0
    for text in data.split(b"\n"):
        if len(text) > limit:
            return start, start + len(text)
        start += len(text) + 1
    return None


def reference_check_text(data: bytes) -> Refusal | None:
    """`limits.check_text` as it was: every line split and measured in Python."""
    breaks = data.count(b"\n")
    if breaks > limits.MAX_ROWS + 1:
        return Refusal(
            Rule.FILE_TOO_LARGE,
            f"The file has {breaks:,} lines; the limit is {limits.MAX_ROWS:,} rows. Split it by "
            "center.",
        )
    header = data[: data.find(b"\n")] if b"\n" in data else data
    columns = max(header.count(d) for d in (b",", b";", b"\t")) + 1
    if columns > limits.MAX_COLUMNS:
        return Refusal(
            Rule.FILE_TOO_LARGE,
            f"The header has {columns:,} columns; the limit is {limits.MAX_COLUMNS:,}. Keep the "
            "contract's columns only.",
            1,
        )
    if len(data) <= MAX_LINE_BYTES:
        return None
    for line, text in enumerate(data.split(b"\n"), start=1):
        if len(text) > MAX_LINE_BYTES:
            return Refusal(
                Rule.DECODING_LIMIT,
                f"This line is {limits.size_text(len(text))} long; the limit is "
                f"{limits.size_text(MAX_LINE_BYTES)} a line. The file was not read: keep one "
                "short value per cell.",
                line,
            )
    return None


def reference_check_encoding(data: bytes) -> Refusal | None:
    """`limits.check_encoding` as it was (without the ASCII shortcut)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = error.start
    else:
        return None
    for match in limits._UTF8_SEQUENCE.finditer(data):
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


def _reference_decode(data: bytes) -> tuple[str | None, str, int | None]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 with BOM", None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16", None
    sample = data[:4096]
    nuls = sample.count(0)
    if nuls and nuls >= len(sample) // 4:
        even = sample[0::2].count(0)
        odd = sample[1::2].count(0)
        encoding = "utf-16-le" if odd > even else "utf-16-be"
        try:
            return data.decode(encoding), "UTF-16 (no byte-order mark)", None
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        return None, "", data[: data.index(b"\x00")].count(b"\n") + 1
    try:
        return data.decode("utf-8"), "UTF-8", None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Latin-1 (Windows-1252)", None
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1 (ISO 8859-1)", None


def _reference_split_plain(text: str, delimiter: str) -> ingest._Split:
    lines = (
        pl.Series("line", [text], dtype=pl.String)
        .str.replace_all("\r\n", "\n", literal=True)
        .str.replace_all("\r", "\n", literal=True)
        .str.split("\n")
        .explode()
    )
    end = lines.len()
    while end and not str(lines[end - 1]).replace(delimiter, "").strip():
        end -= 1
    if not end:
        return None, pl.DataFrame(), []
    header = str(lines[0]).split(delimiter)
    width = len(header)
    body = (
        pl.DataFrame({"line": lines.slice(1, end - 1)})
        .with_row_index(ROW, offset=2)
        .with_columns(pl.col(ROW).cast(pl.Int64), pl.col("line").str.split(delimiter).alias("f"))
        .with_columns(pl.col("f").list.len().alias("n"))
        .filter(pl.col("line").str.replace_all(delimiter, "", literal=True).str.strip_chars() != "")
    )
    ragged = [
        (int(r), int(n)) for r, n in body.filter(pl.col("n") != width).select(ROW, "n").iter_rows()
    ]
    kept = body.filter(pl.col("n") == width).select(
        ROW, *(pl.col("f").list.get(i).alias(str(i)) for i in range(width))
    )
    return header, kept, ragged


def reference_read_csv(data: bytes, file_name: str, table: str) -> ReadResult:
    """`ingest._read_csv` as it was: the file decoded to one string, split by lines."""
    if refusal := reference_check_text(data) or reference_check_encoding(data):
        return ingest._fail(table, file_name, refusal.rule, refusal.message, row=refusal.row)
    text, encoding, nul_row = _reference_decode(data)
    if text is None:
        return ingest._fail(
            table,
            file_name,
            Rule.NUL_BYTES,
            "The file contains NUL bytes (binary content), so it is not a text CSV. Export the "
            "table again as CSV.",
            row=nul_row,
        )
    if "\x00" in text:
        row = text[: text.index("\x00")].count("\n") + 1
        return ingest._fail(
            table,
            file_name,
            Rule.NUL_BYTES,
            "The file contains NUL characters. Export the table again as CSV.",
            row=row,
        )
    notices = []
    if encoding != "UTF-8":
        notices.append(f"{file_name}: read as {encoding} text.")
    delimiter = ingest._sniff_delimiter(text, "." + file_name.rsplit(".", 1)[-1].lower())
    if '"' in text:
        parsed = ingest._split_quoted(text, delimiter, file_name, table)
    else:
        parsed = _reference_split_plain(text, delimiter)
    return ingest.split_result(parsed, table, file_name, delimiter, notices)


# --- generated files ----------------------------------------------------------------------------

#: Cell text: plain values, white space of several kinds (Python and Polars disagree on \x1c),
#: accents, a byte-order mark inside a value, and now and then a quote.
_CELL = st.text(
    alphabet=st.sampled_from(
        ["a", "P", "1", "0", ".", "-", " ", "\t", "é", "\u00a0", "\u3000", "\x1c", "\ufeff"]
    ),
    max_size=4,
)
_ENDING = st.sampled_from(["\n", "\r\n", "\r"])


def _draw_rows(
    draw: st.DrawFn, cell: st.SearchStrategy[str], width: int, blank: st.SearchStrategy[str]
) -> list[list[str]]:
    """Up to eight rows of `cell`s: most `width` long, now and then ragged (1 to width + 2
    cells), empty (one empty cell) or blank (1 to width + 1 `blank` cells)."""
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["row", "row", "row", "ragged", "empty", "blank"]))
        if kind == "row":
            rows.append(draw(st.lists(cell, min_size=width, max_size=width)))
        elif kind == "ragged":
            rows.append(draw(st.lists(cell, min_size=1, max_size=width + 2)))
        elif kind == "empty":
            rows.append([""])
        else:
            rows.append([draw(blank)] * draw(st.integers(1, width + 1)))
    return rows


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """A CSV file (bytes, file name): a header and rows that may be ragged, blank or empty."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    width = draw(st.integers(1, 4))
    lines = [delimiter.join(draw(st.lists(_CELL, min_size=width, max_size=width)))]
    blank = st.integers(0, 2).map(lambda n: " " * n)
    lines += [delimiter.join(cells) for cells in _draw_rows(draw, _CELL, width, blank)]
    ending = draw(_ENDING)
    text = ending.join(lines) + draw(st.sampled_from(["", ending, ending * 2]))
    if draw(st.booleans()) and draw(st.booleans()):
        text = '"' + text  # now and then a quote: the csv module's path
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    suffix = draw(st.sampled_from([".csv", ".tsv", ".txt"]))
    return data, f"patients{suffix}"


def _same(new: ReadResult, old: ReadResult) -> None:
    assert new.problems == old.problems
    assert new.notices == old.notices
    assert (new.raw is None) == (old.raw is None)
    if new.raw is not None and old.raw is not None:
        assert new.raw.decimal_comma == old.raw.decimal_comma
        assert new.raw.frame.columns == old.raw.frame.columns
        assert new.raw.frame.schema == old.raw.frame.schema
        assert new.raw.frame.rows() == old.raw.frame.rows()


@settings(max_examples=400, deadline=None)
@given(file=csv_files())
def test_the_reader_reads_generated_files_as_the_line_by_line_reader(
    file: tuple[bytes, str],
) -> None:
    data, name = file
    _same(ingest._read_csv(data, name, "patients"), reference_read_csv(data, name, "patients"))


#: Cells of quoted files: plain ones, and now and then one that defeats whole-field quoting
#: (a separator, a line break, an escaped quote, a quote inside, white space before the quote,
#: a character the two readers trim differently).
_QUOTED_CELL = st.one_of(
    st.text(alphabet=st.sampled_from(["a", "P", "1", ".", " ", "é", "\u00a0"]), max_size=4).map(
        lambda cell: f'"{cell}"'
    ),
    _CELL.filter(lambda cell: '"' not in cell),
    st.sampled_from(
        ['"a,b"', '"a;b"', '"a\tb"', '"a\nb"', '"a""b"', 'a"b', ' "a"', '"a" ', '"\x1c"']
    ),
)


@st.composite
def quoted_csv_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """A CSV file whose cells are quoted (mostly whole plain fields, as R's write.csv writes
    them), with ragged, empty and blank rows now and then."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    width = draw(st.integers(1, 4))
    lines = [
        delimiter.join(
            f'"{name}"' for name in draw(st.lists(_CELL, min_size=width, max_size=width))
        )
    ]
    rows = _draw_rows(draw, _QUOTED_CELL, width, st.just('""'))
    lines += [delimiter.join(cells) for cells in rows]
    ending = draw(_ENDING)
    text = ending.join(lines) + draw(st.sampled_from(["", ending]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16"]))
    suffix = draw(st.sampled_from([".csv", ".tsv", ".txt"]))
    return text.encode(encoding), f"patients{suffix}"


@settings(max_examples=500, deadline=None)
@given(file=quoted_csv_files())
def test_quoted_files_read_as_the_csv_module_reads_them(file: tuple[bytes, str]) -> None:
    """Quotes around whole plain fields are dropped and the file read as plain text; any other
    quoting goes to the csv module: the same rows, problems and notices either way."""
    data, name = file
    _same(ingest._read_csv(data, name, "patients"), reference_read_csv(data, name, "patients"))


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ('"patient_id","pfs_days"\n"P1","3"\n"P2",4\n', "patient_id,pfs_days\nP1,3\nP2,4\n"),
        ('"a","b"\r\n"","x"\r\n', "a,b\r\n,x\r\n"),
        ('"a";"b"\n"1,5";"x"\n', "a;b\n1,5;x\n"),
        ('"a","b"\n"1,5","x"\n', None),  # a quoted separator
        ('"a","b"\n"x\ny","z"\n', None),  # a quoted line break
        ('"a","b"\n"say ""hi""","z"\n', None),  # an escaped quote
        ('"a","b"\nx"y,z\n', None),  # a quote inside a value
        ('"a","b"\n "x",z\n', None),  # white space before the quote
        ('"a","b"\n"x" ,z\n', None),  # white space after it
        ('"a","b"\n"x",z"\n', None),  # a closing quote that opened nothing
        ('"a","b"\n"\x1c",z\n', None),  # trimmed by Python, not by Polars
        ('"a","b"\r"x",z\r', None),  # lines ending in a bare carriage return
    ],
)
def test_only_quotes_around_whole_plain_fields_are_dropped(text: str, plain: str | None) -> None:
    delimiter = ";" if ";" in text.split("\n")[0] else ","
    dropped = ingest._without_field_quotes(text.encode(), delimiter)
    assert dropped == (None if plain is None else plain.encode())


def test_whole_field_quotes_are_found_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Looked at a few lines at a time, a quoted line break across two blocks is still found."""
    monkeypatch.setattr(ingest, "_QUOTE_BLOCK", 8)
    lines = ['"id","n"'] + [f'"P{i}","{i}"' for i in range(50)]
    assert ingest._without_field_quotes("\n".join(lines).encode(), ",") is not None
    lines[30] = '"P30","3\n0"'
    assert ingest._without_field_quotes("\n".join(lines).encode(), ",") is None


@pytest.mark.parametrize(
    "text",
    [
        "patient_id,pfs_days\nP1,3\nP2,4\n",
        "patient_id,pfs_days\nP1,3\nP2\nP3,4,5\n,\n\n  \nP4,6",
        "patient_id;pfs_days\r\nP1;3,5\r\n\r\n",
        "\n\npatient_id,pfs_days\nP1,3\n",
        ",,\n , \n\n",
        "",
        "\n",
        "patient_id\n",
        "patient_id,pfs_days\nP1,3\nP2,4,\nP3,,\n",
        "patient_id,pfs_days\n\u3000,\u00a0\n\x1c,\nP1,2\n",
        # A short row and a last line with one separator too many (no line break after it):
        # the file holds as many separators as a regular one.
        "patient_id,pfs_days\nP1\nP2,3,",
        "\t\t\t\t\n\t\t\t\n\t\t\t\t0\t",
        # Blank rows whose first value begins with each kind of white space, or is empty.
        "patient_id,pfs_days\nP1,2\n\t,\x0b\n\u2003,\u00a0\n\x0c ,\nP2,3\n,\n",
        "patient_id\tpfs_days\nP1\t2\n\t\n \t \nP2\t3\n",
        # First values that begin with white space or a separator but are not blank.
        "patient_id,pfs_days\n P1,2\n\u00a0P2,3\n,4\n",
    ],
)
def test_the_reader_reads_edge_cases_as_the_line_by_line_reader(text: str) -> None:
    for data in (text.encode(), b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16")):
        _same(
            ingest._read_csv(data, "patients.csv", "patients"),
            reference_read_csv(data, "patients.csv", "patients"),
        )


def test_ragged_and_blank_lines_keep_their_file_rows() -> None:
    data = b"patient_id,pfs_days\nP1,3\n\nP2\n , \nP3,4,5\nP4,6\n"
    result = ingest._read_csv(data, "patients.csv", "patients")
    assert result.raw is not None
    assert result.raw.frame.rows() == [("P1", "3", 2), ("P4", "6", 7)]
    advice = "Check for a missing or extra separator, or an unquoted comma inside a value."
    assert [(p.row, p.rule, p.message) for p in result.problems] == [
        (4, Rule.RAGGED_ROW, f"This row has 1 value(s) but the header has 2 columns. {advice}"),
        (6, Rule.RAGGED_ROW, f"This row has 3 value(s) but the header has 2 columns. {advice}"),
    ]


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"\n", b"a", b"bb", b"ccc", b"\r\n", b"\xc3\xa9"]), max_size=60
    ).map(b"".join),
    limit=st.integers(1, 12),
)
def test_the_long_line_search_finds_the_line_the_split_finds(data: bytes, limit: int) -> None:
    assert limits.long_line(data, limit) == reference_long_line(data, limit)


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"\n", b"a", b"\r\n", b"\n\n", b"\xc3\xa9"]), max_size=80).map(
        b"".join
    ),
    block=st.integers(1, 9),
)
def test_line_breaks_are_counted_as_bytes_count_counts_them(data: bytes, block: int) -> None:
    """Counted a block at a time, whatever the block's size against the lines' (and the file's
    own size: empty, shorter than a block, not a whole number of blocks)."""
    limits_block = limits._COUNT_BLOCK
    try:
        limits._COUNT_BLOCK = block
        assert limits.line_breaks(data) == data.count(b"\n")
    finally:
        limits._COUNT_BLOCK = limits_block
    assert limits.line_breaks(data) == data.count(b"\n")


@pytest.mark.parametrize(
    "lines",
    [
        [b"a" * 10] * 500_000,  # many short lines, just over the size where lines are measured
        [b"a" * 10, b"b" * (MAX_LINE_BYTES + 1), b"c"],
        [b"a" * 10] * 300_000 + [b"b" * MAX_LINE_BYTES, b"c" * (MAX_LINE_BYTES + 7)],
        [b"b" * (3 * MAX_LINE_BYTES // 2), b"c" * (MAX_LINE_BYTES + 1)],
    ],
)
def test_check_text_refuses_the_line_the_line_by_line_check_refused(lines: list[bytes]) -> None:
    data = b"\n".join(lines)
    assert limits.check_text(data) == reference_check_text(data)


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"a,b\n", b"\xc3\xa9", b"\xe9", b"\x80", b"\xff\xfe", b"\x00", b" "]),
        max_size=20,
    ).map(b"".join)
)
def test_check_encoding_refuses_what_it_refused(data: bytes) -> None:
    assert limits.check_encoding(data) == reference_check_encoding(data)


# --- the text rules once per distinct value -----------------------------------------------------


def _adverse_events_with_repeats(rows: int) -> bytes:
    """An adverse-event table whose every column repeats a few values, good and bad alike."""
    cycle = {
        "patient_id": [f"P{i:03d}" for i in range(40)] + ["jean", "P 1", "2021-03-05", "A" * 40],
        "term": ["CRS", "icans", "neutropenai", "Rash"]
        + [f"term{i}" for i in range(60)]
        + ["=cmd|' /C calc'!A0", "x" * 45, "\u200bCRS"],
        "grade": ["1", "2", "3.0", "two", "", "NA", "１"],
        "onset_day": ["1", "2.5", "45000", "-3", "12.03.2021", "inf", "1,5", ""],
        "after_dose": ["step_up_1", "LATER", "step up", "", "n/a"],
        "management": [
            "tocilizumab",
            "Mr Smith called",
            "given by Jean",
            "see www.example.org",
            "mail a.b@example.org",
            "call +33 1 23 45 67 89",
            "x" * 250,
            "ｔｏｃｉｌｉｚｕｍａｂ",
            "<b>steroids</b>",
            "",
        ],
    }
    header = ",".join(cycle)
    lines = [",".join(values[i % len(values)] for values in cycle.values()) for i in range(rows)]
    return ("\n".join([header, *lines]) + "\n").encode()


def test_the_text_rules_once_per_value_find_what_they_find_cell_by_cell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Guard, lengths, look-alike characters and parsing, once per distinct value of a repeating
    column, give the problems, notices and values the cell-by-cell rules give."""
    data = _adverse_events_with_repeats(12_000)
    read = ingest.read_table_bytes(data, "adverse_events.csv", "adverse_events")
    assert read.raw is not None
    once = normalise.normalise_table(read.raw)
    monkeypatch.setattr(normalise, "_LOOKUP_FROM_ROWS", 10**9)
    every = normalise.normalise_table(read.raw)
    assert once.problems == every.problems
    assert once.notices == every.notices
    assert once.parsed is not None
    assert every.parsed is not None
    assert once.parsed.frame.equals(every.parsed.frame)
    # Every kind of rule fired, on the rows holding the value (row 2 is the first data row).
    rules = {p.rule for p in once.problems}
    assert {
        Rule.BAD_PSEUDONYM,
        Rule.CALENDAR_DATE,
        Rule.TOO_MANY_CODES,
        Rule.TEXT_TOO_LONG,
        Rule.FORMULA,
        Rule.INVISIBLE_CHARACTER,
        Rule.PERSON_NAME,
        Rule.URL,
        Rule.EMAIL,
        Rule.PHONE,
        Rule.HTML,
        Rule.EXCEL_DATE,
        Rule.NOT_INTEGER,
        Rule.NOT_NUMBER,
        Rule.UNKNOWN_CODE,
    } <= rules
    rash = [p.row for p in once.problems if p.rule == Rule.TEXT_TOO_LONG and p.column == "term"]
    assert rash[:2] == [2 + 65, 2 + 65 + 67]


# --- plain pseudonyms skip the guard's patterns ------------------------------------------------

#: Ids that look plain and are not, or are plain and look suspicious: every rule a pseudonym
#: column has, and the edges of `plain_pseudonyms` (length, '_', digits only, letters only).
_TRICKY_IDS = [
    "P0000001", "p1", "_1", "1_", "A1" * 16, "A1" * 16 + "x", "a" * 32 + "1", "12jan2020",
    "2020_01_05", "2020-01-05", "12-jan-2020", "05/03/2021", "123-45-6789", "1234567", "12345",
    "12345-6789", "+33123456789", "-12a", "=A1", "@x1", "P-001", "P 001", " P001", "P001 ",
    "P001\t", "jean", "DUPONT", "Jean-Luc", "jean_luc", "na", "NA", "n/a", "unknown", ".", "",
    "P0\u200b01", "\uff30001", "P\u00e9001", "a@b.org1", "www.x1", "10.0.0.1", "<b>1", "x" * 40,
]  # fmt: skip


def _patients(ids: list[str | None]) -> ingest.RawTable:
    frame = pl.DataFrame(
        {"patient_id": ids, ROW: list(range(2, len(ids) + 2))},
        schema={"patient_id": pl.String, ROW: pl.Int64},
    )
    return ingest.RawTable("patients", "patients.csv", frame)


def _every_cell_guarded(raw: ingest.RawTable, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as patched:
        patched.setattr(normalise, "plain_pseudonyms", lambda column: pl.lit(False))
        return normalise.normalise_table(raw)


def _same_result(raw: ingest.RawTable, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = normalise.normalise_table(raw)
    every = _every_cell_guarded(raw, monkeypatch)
    assert isinstance(every, normalise.NormaliseResult)
    assert plain.problems == every.problems
    assert plain.notices == every.notices
    assert plain.parsed is not None
    assert every.parsed is not None
    assert plain.parsed.frame.equals(every.parsed.frame)


def test_plain_pseudonyms_give_what_every_cell_through_the_guard_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ids of every rule and edge, repeated: the same problems, notices and values."""
    ids: list[str | None] = [*_TRICKY_IDS, None] * 3
    raw = _patients(ids)
    _same_result(raw, monkeypatch)
    # Only the ids below are plain: the rest all meet a rule, or are trimmed or missing.
    plain = pl.DataFrame({"patient_id": _TRICKY_IDS}).select(
        normalise.plain_pseudonyms("patient_id")
    )
    assert [i for i, p in zip(_TRICKY_IDS, plain.to_series(), strict=True) if p] == [
        "P0000001", "p1", "_1", "1_", "A1" * 16, "12jan2020", "2020_01_05",
    ]  # fmt: skip
    problems = normalise.normalise_table(raw).problems
    assert {p.rule for p in problems} >= {
        Rule.BAD_PSEUDONYM,
        Rule.CALENDAR_DATE,
        Rule.TEXT_TOO_LONG,
        Rule.FORMULA,
        Rule.INVISIBLE_CHARACTER,
        Rule.SSN,
        Rule.PHONE,
        Rule.MRN_LIKE,
        Rule.ZIP_CODE,
        Rule.EMAIL,
        Rule.HTML,
    }


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(
        st.one_of(
            st.none(),
            st.sampled_from(_TRICKY_IDS),
            st.text(alphabet="aZx09_-./ :@+<>\t\u200b\u00e9", max_size=36),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_generated_ids_give_what_every_cell_through_the_guard_gives(ids: list[str | None]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _same_result(_patients(ids), monkeypatch)


def _responses_of_few_values(rows: int) -> ingest.RawTable:
    """Responses whose columns hold four values or fewer, good, bad, missing and null, and one
    column whose fifth value appears only after the rows that decide how it is handled."""
    cycle: dict[str, list[str | None]] = {
        "patient_id": [f"P{i:03d}" for i in range(40)],
        "timepoint": ["C1", "c01", "C3"],
        "response": ["CR", "cr", " PR", "XX"],
        "pet_ct": ["true", "false", "", None],
        "day": [""],
        "mrd_negative": ["yes", "maybe"],
        "mrd_sensitivity": ["1e-5", "NA", "-1"],
    }
    columns = {name: [v[i % len(v)] for i in range(rows)] for name, v in cycle.items()}
    columns["mrd_method"] = [
        ("NGS", "ngf")[i % 2] if i < normalise._LOOKUP_FROM_ROWS else ("NGF", "bogus", "X")[i % 3]
        for i in range(rows)
    ]
    columns[ROW] = list(range(2, rows + 2))
    frame = pl.DataFrame(columns, schema={**dict.fromkeys(columns, pl.String), ROW: pl.Int64})
    return ingest.RawTable("responses", "responses.csv", frame)


def test_columns_of_few_values_compared_cell_by_cell_give_what_every_cell_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Columns of four values or fewer are confirmed and looked up by comparison: the same
    problems, notices and values as the cell-by-cell rules, nulls and a late fifth value too."""
    raw = _responses_of_few_values(12_000)
    frame = raw.frame.drop(ROW)
    columns = [c for c in TABLES["responses"].columns if c.name in frame.columns]
    distinct = normalise._distincts(frame, columns, {})
    compared = {c for c, v in distinct.items() if v.len() <= 4}
    assert compared == set(frame.columns) - {"patient_id", "mrd_method"}
    mrd_method = distinct["mrd_method"]
    assert sorted(mrd_method) == ["NGF", "NGS", "X", "bogus", "ngf"]
    once = normalise.normalise_table(raw)
    monkeypatch.setattr(normalise, "_LOOKUP_FROM_ROWS", 10**9)
    every = normalise.normalise_table(raw)
    assert once.problems == every.problems
    assert once.notices == every.notices
    assert once.parsed is not None
    assert every.parsed is not None
    assert once.parsed.frame.equals(every.parsed.frame)
    assert {(p.column, p.rule) for p in once.problems} == {
        ("response", Rule.UNKNOWN_CODE),
        ("mrd_negative", Rule.NOT_BOOLEAN),
        ("mrd_method", Rule.UNKNOWN_CODE),
    }
