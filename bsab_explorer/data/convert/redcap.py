"""A REDCap project's flat CSV export, read with its data dictionary.

The dictionary says what the export's codes mean: coded choices (`1, Yes | 2, No`) are decoded
to their labels, checkbox columns (`field___1`) become booleans, and date fields take their
day/month order from their validation (`date_dmy`, ...). Fields the dictionary flags as
identifiers (`Identifier?` = y) are never read, and the report says so. Rows of repeating
instruments and of longitudinal events become long tables, so responses and timeline events
can be mapped from them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from bsab_explorer.data.convert.dates import DateOrder, parse_date_order
from bsab_explorer.data.convert.rules import ConvertRule
from bsab_explorer.data.convert.source import SourceSet, SourceTable
from bsab_explorer.data.ingest import MAX_FILE_BYTES
from bsab_explorer.data.validation import ROW, Problem, Rule

#: The source table holding one row per record.
RECORD_TABLE = "record"
#: The long table of a longitudinal project's event rows (one per record and event).
EVENT_TABLE = "by_event"
EVENT_NAME = "redcap_event_name"
REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
_CODED = ("radio", "dropdown")
_BOOLEAN = ("yesno", "truefalse")


@dataclass(frozen=True)
class Field:
    """One field of the data dictionary."""

    name: str
    form: str
    kind: str
    choices: dict[str, str]
    validation: str
    identifier: bool


def parse_choices(text: str) -> dict[str, str]:
    """The coded choices of a field (`1, Yes | 2, No` -> {"1": "Yes", "2": "No"})."""
    choices: dict[str, str] = {}
    for part in text.split("|"):
        code, _, label = part.partition(",")
        if code.strip() and label.strip():
            choices[code.strip()] = label.strip()
    return choices


def _read_bytes(path: Path) -> tuple[bytes, Problem | None]:
    """The file's bytes, or the problem that kept it from being read (too large, missing)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            message = (
                f"The file is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB."
            )
            return b"", Problem("redcap", path.name, None, None, None, Rule.FILE_TOO_LARGE, message)
        return path.read_bytes(), None
    except OSError as error:
        message = f"The file could not be opened ({error.strerror})."
        return b"", Problem("redcap", path.name, None, None, None, Rule.UNREADABLE, message)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header_index(header: list[str], prefix: str) -> int | None:
    for i, name in enumerate(header):
        if name.strip().lower().startswith(prefix):
            return i
    return None


def read_dictionary(data: bytes, file: str) -> tuple[list[Field], list[Problem]]:
    """The fields of a REDCap data dictionary CSV, or the problems that make it unusable."""
    rows = list(csv.reader(io.StringIO(_decode(data))))
    if not rows:
        return [], [_dictionary_problem(file, "The data dictionary is empty.")]
    header = rows[0]
    where = {
        key: _header_index(header, prefix)
        for key, prefix in (
            ("name", "variable / field name"),
            ("form", "form name"),
            ("kind", "field type"),
            ("choices", "choices"),
            ("validation", "text validation type"),
            ("identifier", "identifier"),
        )
    }
    absent = [k for k in ("name", "kind") if where[k] is None]
    if absent:
        return [], [
            _dictionary_problem(
                file,
                "This is not a REDCap data dictionary: it has no 'Variable / Field Name' or "
                "'Field Type' column. Export the dictionary from Project Setup, Data Dictionary.",
            )
        ]

    def cell(row: list[str], key: str) -> str:
        index = where[key]
        return row[index].strip() if index is not None and index < len(row) else ""

    fields = [
        Field(
            name=cell(row, "name").lower(),
            form=cell(row, "form"),
            kind=cell(row, "kind").lower(),
            choices=parse_choices(cell(row, "choices")),
            validation=cell(row, "validation").lower(),
            identifier=cell(row, "identifier").lower() in ("y", "yes"),
        )
        for row in rows[1:]
        if any(c.strip() for c in row)
    ]
    return [f for f in fields if f.name], []


def _dictionary_problem(file: str, message: str) -> Problem:
    return Problem("redcap", file, None, None, None, ConvertRule.DICTIONARY_INVALID, message)


def _field_of(column: str, by_name: dict[str, Field]) -> Field | None:
    """The field behind an export column (`field___2` belongs to checkbox `field`)."""
    if column in by_name:
        return by_name[column]
    base, sep, _ = column.partition("___")
    return by_name.get(base) if sep else None


def read_redcap(export: Path, dictionary: Path) -> SourceSet:
    """The tables of a REDCap export, decoded with its dictionary (identifier fields unread)."""
    contents = []
    for path in (dictionary, export):
        data, problem = _read_bytes(path)
        if problem is not None:
            return SourceSet(problems=(problem,), kind="redcap")
        contents.append(data)
    fields, problems = read_dictionary(contents[0], dictionary.name)
    if problems:
        return SourceSet(problems=tuple(problems), kind="redcap")
    by_name = {f.name: f for f in fields}
    rows = list(csv.reader(io.StringIO(_decode(contents[1]))))
    file = export.name
    if len(rows) < 2:
        problem = Problem(
            "redcap",
            file,
            None,
            None,
            None,
            ConvertRule.UNKNOWN_SOURCE,
            "The REDCap export has no data rows. Export the records again (CSV, raw data).",
        )
        return SourceSet(problems=(problem,), kind="redcap")
    header = [h.strip().lower() for h in rows[0]]
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        problem = Problem(
            "redcap", file, 1, twice[0], None, ConvertRule.UNKNOWN_SOURCE,
            f"The column '{twice[0]}' appears twice in the export's header. Export the "
            "records again from REDCap without editing the file.",
        )  # fmt: skip
        return SourceSet(problems=(problem,), kind="redcap")
    dropped = sorted(
        {f.name for h in header if (f := _field_of(h, by_name)) is not None and f.identifier}
    )
    keep = [
        i
        for i, h in enumerate(header)
        if not ((f := _field_of(h, by_name)) is not None and f.identifier)
    ]
    columns: dict[str, list[str | None]] = {header[i]: [] for i in keep}
    for row in rows[1:]:
        for i in keep:
            value = row[i].strip() if i < len(row) else ""
            columns[header[i]].append(value or None)
    frame = pl.DataFrame(columns, schema={header[i]: pl.String for i in keep}).with_columns(
        pl.Series(ROW, range(2, len(rows) + 1), dtype=pl.Int64)
    )
    frame = frame.with_columns(_decoded(c, by_name) for c in frame.columns if c != ROW)
    orders: dict[str, DateOrder] = {}
    for name in frame.columns:
        field = _field_of(name, by_name)
        if field is not None and field.validation.startswith(("date_", "datetime_")):
            order = parse_date_order(field.validation)
            if order is not None:
                orders[name] = order
    notices = []
    if dropped:
        notices.append(
            f"{file}: fields the data dictionary flags as identifiers were not read: "
            f"{', '.join(dropped)}."
        )
    tables = _split(frame, fields, file, orders)
    return SourceSet(tables, (), tuple(notices), kind="redcap", main=RECORD_TABLE)


def _decoded(column: str, by_name: dict[str, Field]) -> pl.Expr:
    """The export column with codes as their labels and checkboxes/yes-no as true/false."""
    field = _field_of(column, by_name)
    text = pl.col(column)
    if field is None:
        return text
    if field.kind == "checkbox" and column != field.name:
        return text.replace_strict({"1": "true", "0": "false"}, default=None)
    if field.kind in _BOOLEAN:
        return text.replace_strict({"1": "true", "0": "false"}, default=text)
    if field.kind in _CODED and field.choices:
        return text.replace_strict(field.choices, default=text)
    return text


def _split(
    frame: pl.DataFrame, fields: list[Field], file: str, orders: dict[str, DateOrder]
) -> dict[str, SourceTable]:
    """The record-level table, one long table per repeating instrument, and the event rows."""
    record_id = fields[0].name if fields else frame.columns[0]
    if record_id not in frame.columns:
        record_id = frame.columns[0]
    tables: dict[str, SourceTable] = {}
    repeating = (
        pl.col(REPEAT_INSTRUMENT).is_not_null()
        if REPEAT_INSTRUMENT in frame.columns
        else pl.lit(False)
    )
    plain = frame.filter(~repeating)
    data_columns = [c for c in plain.columns if c not in (ROW, record_id, EVENT_NAME)]
    data_columns = [c for c in data_columns if c not in (REPEAT_INSTRUMENT, REPEAT_INSTANCE)]
    # One row per record: its first value of every field across its event rows.
    record = (
        plain.group_by(record_id, maintain_order=True)
        .agg(pl.col(ROW).min(), *(pl.col(c).drop_nulls().first() for c in data_columns))
        .select(ROW, record_id, *data_columns)
    )
    tables[RECORD_TABLE] = SourceTable(RECORD_TABLE, file, record, orders)
    if EVENT_NAME in frame.columns:
        tables[EVENT_TABLE] = SourceTable(
            EVENT_TABLE, file, plain.select(ROW, record_id, EVENT_NAME, *data_columns), orders
        )
    if REPEAT_INSTRUMENT in frame.columns:
        forms: dict[str, list[str]] = {}
        for field in fields:
            forms.setdefault(field.form, []).append(field.name)
        for instrument in (
            frame.get_column(REPEAT_INSTRUMENT).drop_nulls().unique(maintain_order=True)
        ):
            own = set(forms.get(instrument, []))
            columns = [c for c in frame.columns if c.partition("___")[0] in own and c != record_id]
            context = [c for c in (EVENT_NAME, REPEAT_INSTANCE) if c in frame.columns]
            rows = frame.filter(pl.col(REPEAT_INSTRUMENT) == instrument)
            tables[instrument] = SourceTable(
                instrument, file, rows.select(ROW, record_id, *context, *columns), orders
            )
    return tables
