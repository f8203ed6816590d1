"""Investigators' own files to contract tables: detect the source, map it, turn dates into days.

`convert` reads a plain table (CSV, XLSX, Parquet), a REDCap export with its data dictionary or
a CDISC ADaM set, applies a mapping (given, or proposed when none is), turns every date into
days since the patient's origin, and hands the contract-named text to the same parser and rules
as any upload (`loading.assemble`). The result holds typed contract tables with no calendar date
and one report listing every problem by file, row and column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from bsab_explorer.data.convert import adam, plain_tables, redcap
from bsab_explorer.data.convert.dates import (
    ROLE_LABELS,
    DateOrder,
    derive_event_days,
    derive_patient_days,
    mask_dates,
    proven_order,
    read_date_column,
)
from bsab_explorer.data.convert.mapping import (
    ConversionMapping,
    TableMapping,
    propose_columns,
    propose_mapping,
    read_mapping,
)
from bsab_explorer.data.convert.rules import ConvertRule
from bsab_explorer.data.convert.source import SourceSet, SourceTable
from bsab_explorer.data.ingest import RawTable, ReadResult
from bsab_explorer.data.loading import assemble
from bsab_explorer.data.normalise import header_key
from bsab_explorer.data.validation import ROW, Problem, ValidationReport
from bsab_explorer.schema import STUDIES, TABLES

TABLE_ORDER = tuple(name for tables in STUDIES.values() for name in tables)
#: Columns derived from the patients' dates (a mapping cannot also name them).
DERIVED_COLUMNS = ("pfs_days", "pfs_event", "os_days", "os_event", "days_chemo_to_bsab")
_PLAIN_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")


@dataclass(frozen=True)
class ConversionResult:
    """Contract tables (typed, no calendar date) and the report of the conversion."""

    tables: Mapping[str, pl.DataFrame]
    report: ValidationReport
    #: The mapping that was applied (the given one, or the proposal), to show or download.
    mapping: ConversionMapping = field(default_factory=ConversionMapping)
    kind: str = "table"

    @property
    def ok(self) -> bool:
        """True when nothing is wrong: the tables may be written or stored."""
        return self.report.ok


def _missing_column(table: str, file: str, column: str, section: str) -> Problem:
    return Problem(
        table,
        file,
        None,
        column,
        None,
        ConvertRule.SOURCE_COLUMN_MISSING,
        f"The mapping's {section} names column '{column}', which the file does not have. "
        "Correct the mapping or the header.",
    )


def _mapped_text(source: str, codes: Mapping[str, str]) -> pl.Expr:
    """The source column with each mapped value replaced by its code (case-insensitively)."""
    text = pl.col(source).str.strip_chars()
    lowered = {k.strip().lower(): v for k, v in codes.items()}
    mapped = text.str.to_lowercase().replace_strict(lowered, default=None, return_dtype=pl.String)
    return pl.coalesce(mapped, text)


@dataclass(frozen=True)
class _Built:
    raw: RawTable | None
    problems: list[Problem]
    notices: list[str]
    #: key -> origin date, for a child table's dates (patients -> responses, cases -> events).
    origins: pl.DataFrame | None = None


def _read_dates(
    source: SourceTable, table: str, mapping: TableMapping
) -> tuple[pl.DataFrame, list[Problem], list[str]]:
    """`ROW` plus one `pl.Date` column per mapped date role."""
    problems: list[Problem] = []
    notices: list[str] = []
    dates = source.frame.select(ROW)
    present = [c for c in mapping.dates.values() if c in source.frame.columns]
    undeclared = [c for c in present if c not in source.date_orders]
    # One file writes its dates one way: a day over 12 in any of its date columns proves the
    # order of all of them. Without such proof (or a given format) the order is never guessed.
    proven, contradictory = proven_order(
        [v for c in undeclared for v in source.frame.get_column(c).drop_nulls().to_list()]
    )
    file_order = mapping.date_order or (None if contradictory else proven)
    if mapping.date_order is None and proven is not None and not contradictory:
        notices.append(
            f"{source.file}: dates read as {proven.value}, the only order the file's dates allow."
        )
    for role, column in mapping.dates.items():
        if column not in source.frame.columns:
            problems.append(_missing_column(table, source.file, column, f"[dates] {role}"))
            continue
        order: DateOrder | None = source.date_orders.get(column) or file_order
        read = read_date_column(source.frame, column, table=table, file=source.file, order=order)
        problems += read.problems
        notices += read.notices
        dates = dates.with_columns(read.dates.alias(role))
    return dates, problems, notices


def _days_text(expr: pl.Expr) -> pl.Expr:
    """Days as the text the contract parser reads (whole days without `.0`)."""
    return (
        pl.when(expr == expr.round(0))
        .then(expr.cast(pl.Int64).cast(pl.String))
        .otherwise(expr.cast(pl.String))
    )


def build_table(
    source: SourceTable,
    table: str,
    mapping: TableMapping,
    origins: pl.DataFrame | None = None,
) -> _Built:
    """One contract table as text from a source table and its mapping (dates become days)."""
    contract = TABLES[table]
    problems: list[Problem] = []
    notices: list[str] = []
    frame = source.frame
    selected: dict[str, pl.Expr] = {}
    for target, column in mapping.columns.items():
        if column not in frame.columns:
            problems.append(_missing_column(table, source.file, column, f"[columns] {target}"))
            continue
        selected[target] = pl.col(column)
    dated = set(mapping.dates.values())
    used = {*mapping.columns.values(), *dated}
    for column in source.columns:
        key = header_key(column)
        if key in contract.by_name and key not in selected and column not in used:
            selected[key] = pl.col(column)
            used.add(column)
    for target, codes in mapping.values.items():
        if target in selected:
            source_column = mapping.columns.get(target) or next(
                c for c in source.columns if header_key(c) == target
            )
            selected[target] = _mapped_text(source_column, codes)
    unused = [c for c in source.columns if c not in used]
    if unused:
        shown = ", ".join(unused[:12]) + (
            f" and {len(unused) - 12} more" if len(unused) > 12 else ""
        )
        notices.append(f"{source.file}: columns not used for {table}: {shown}.")
    text = frame.select(ROW, *(e.cast(pl.String).alias(n) for n, e in selected.items()))
    built_origins = None
    if mapping.dates:
        dates, found, read_notices = _read_dates(source, table, mapping)
        problems += found
        notices += read_notices
        if table == "patients":
            derived, found = derive_patient_days(
                dates, mapping.dates, table=table, file=source.file
            )
            problems += found
            for name in (c for c in derived.columns if c != ROW):
                if name in text.columns:
                    problems.append(_derived_twice(table, source.file, name))
                    continue
                derived_column = derived.get_column(name)
                if derived_column.dtype == pl.Boolean:
                    value = derived_column.cast(pl.String)
                else:
                    value = derived.select(_days_text(pl.col(name))).to_series()
                text = text.with_columns(value.alias(name))
        if "origin" in dates.columns and contract.key in text.columns:
            # The origins of this table's keys, for its child table's dates (patients ->
            # responses, cases -> events).
            built_origins = pl.DataFrame(
                {
                    contract.key: text.get_column(contract.key).str.strip_chars(),
                    "origin": dates.get_column("origin"),
                }
            ).drop_nulls()
        if table in ("events", "responses"):
            days, found = derive_event_days(
                text, dates, mapping.dates, origins, file=source.file, table=table
            )
            problems += found
            for name in (c for c in days.columns if c != ROW):
                if name in text.columns:
                    problems.append(_derived_twice(table, source.file, name))
                    continue
                text = text.with_columns(
                    days.select(_days_text(pl.col(name)).alias(name)).to_series()
                )
    if contract.parent is not None:
        text, skipped = _without_empty_rows(text)
        if skipped:
            notices.append(
                f"{source.file}: {skipped} row(s) with nothing recorded for {table} were "
                "skipped (e.g. a REDCap event without an assessment)."
            )
    # No date column is ever passed on: only the columns built above leave this function.
    raw = RawTable(table, source.file, text)
    return _Built(raw, problems, notices, built_origins)


#: Columns that say where a row of a long table belongs, not what was recorded there.
_PLACING_COLUMNS = ("patient_id", "case_id", "timepoint")


def _without_empty_rows(text: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """A long table without the rows that record nothing but where they belong (an id, a
    timepoint)."""
    values = [c for c in text.columns if c != ROW and c not in _PLACING_COLUMNS]
    if not values:
        return text, 0
    kept = text.filter(
        pl.any_horizontal(pl.col(c).str.strip_chars().fill_null("") != "" for c in values)
    )
    return kept, text.height - kept.height


def _derived_twice(table: str, file: str, name: str) -> Problem:
    return Problem(
        table,
        file,
        None,
        name,
        None,
        ConvertRule.DERIVED_TWICE,
        f"{name} is both mapped from a column and derived from dates. Map it or give the "
        "dates, not both.",
    )


# --- the whole conversion -----------------------------------------------------------------------


def _pick_source(
    table: str, found: SourceSet, mapping: ConversionMapping | None
) -> SourceTable | None:
    """The source table that feeds contract table `table`, if any."""
    sources = found.tables
    given = mapping.tables.get(table) if mapping is not None else None
    if given is not None and given.source is not None:
        return sources.get(given.source)
    if table in sources:
        return sources[table]
    main = mapping.main if mapping is not None else "patients"
    if table == main and found.main is not None and found.main in sources:
        return sources[found.main]
    if len(sources) == 1 and mapping is not None and table == mapping.main and given is not None:
        return next(iter(sources.values()))
    if len(sources) == 1 and mapping is None:
        # One file without a mapping feeds one top-level table: the one whose id it holds.
        only = next(iter(sources.values()))
        top_level = only.name not in TABLES and TABLES[table].parent is None
        if top_level and TABLES[table].key in propose_columns(table, only.columns):
            return only
    return None


def convert_sources(
    found: SourceSet,
    mapping: ConversionMapping | None = None,
    date_order: DateOrder | None = None,
) -> ConversionResult:
    """Map the tables of a read source to the contract and check them like any upload
    (`date_order`, when given, is the day/month order of every table's dates)."""
    reads: dict[str, ReadResult] = {}
    problems: list[Problem] = list(found.problems)
    notices: list[str] = list(found.notices)
    used: dict[str, TableMapping] = {}
    #: Parent table -> (key, origin date) of its rows, for the dates of its child tables.
    origins: dict[str, pl.DataFrame] = {}
    for table in TABLE_ORDER:
        source = _pick_source(table, found, mapping)
        given = mapping.tables.get(table) if mapping is not None else None
        if source is None:
            if given is not None and given.source is not None:
                problems.append(
                    Problem(
                        table,
                        "mapping",
                        None,
                        None,
                        None,
                        ConvertRule.SOURCE_COLUMN_MISSING,
                        f"The mapping reads {table} from '{given.source}', which the source "
                        f"does not have (it has: {', '.join(found.tables) or 'no table'}).",
                    )
                )
            continue
        if given is None:
            values = {c: source.values(c) for c in source.columns}
            given = replace(propose_mapping(table, source.columns, values), source=source.name)
            if mapping is None and (given.columns or given.dates):
                notices.append(_proposal_notice(source.file, table, given))
        if date_order is not None:
            given = replace(given, date_order=date_order)
        used[table] = given
        parent = TABLES[table].parent
        built = build_table(source, table, given, origins.get(parent[0]) if parent else None)
        if built.origins is not None:
            origins[table] = built.origins
        problems += built.problems
        notices += built.notices
        if built.raw is not None:
            reads[table] = ReadResult(built.raw)
    applied = mapping or ConversionMapping(used)
    if not reads:
        if not problems:
            problems.append(
                Problem(
                    "mapping",
                    "",
                    None,
                    None,
                    None,
                    ConvertRule.UNKNOWN_SOURCE,
                    "No contract table could be made from the source: name the table and its "
                    'columns in a mapping (table = "patients", [columns] patient_id = ...).',
                )
            )
        report = ValidationReport(tuple(problems), tuple(notices))
        return ConversionResult({}, report, applied, found.kind)
    for table, read in reads.items():
        own = tuple(p for p in problems if p.table == table)
        reads[table] = ReadResult(read.raw, own)
    loaded = assemble(reads, name="converted", source=found.kind)
    others = tuple(p for p in problems if p.table not in reads)
    report = ValidationReport(others + loaded.report.problems, tuple(notices)).merged(
        ValidationReport((), loaded.report.notices)
    )
    tables = dict(loaded.dataset.tables) if loaded.dataset is not None else {}
    return ConversionResult(tables, report, applied, found.kind)


def _proposal_notice(file: str, table: str, proposal: TableMapping) -> str:
    pairs = [f"{s} as {t}" for t, s in proposal.columns.items() if header_key(s) != t]
    pairs += [f"{s} as the {ROLE_LABELS.get(r, r)} date" for r, s in proposal.dates.items()]
    coded = [f"{t} ({len(v)} value(s))" for t, v in proposal.values.items()]
    text = f"{file}: no mapping was given, so {table} used the proposed one"
    if pairs:
        text += f": read {', '.join(pairs)}"
    if coded:
        text += f"; recoded {', '.join(coded)}"
    return text + ". Check it, and save it as a mapping file to reuse."


def _files(source: Path | str | Sequence[Path | str]) -> list[Path]:
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        return [path]
    return [Path(p) for p in source]


def convert(
    source: Path | str | Sequence[Path | str],
    mapping: ConversionMapping | Path | str | None = None,
    dictionary: Path | str | None = None,
    date_order: DateOrder | None = None,
) -> ConversionResult:
    """Convert a plain table, a REDCap export (with its `dictionary`) or an ADaM set (a folder
    or files named ADSL, ADTTE, ADRS, ADAE, ADEX) into contract tables; never raises on data.

    `date_order` (when given) says how every table's slashed dates are written, over the
    mapping's own format."""
    return _without_dates(_convert(source, mapping, dictionary, date_order))


def _without_dates(result: ConversionResult) -> ConversionResult:
    """The result with every date-like text in its report masked: file names (a REDCap export
    is named by its export date) and headers are the user's text and may hold dates."""

    def clean(text: str | None) -> str | None:
        return None if text is None else mask_dates(text)

    problems = tuple(
        replace(
            p,
            file=mask_dates(p.file),
            column=clean(p.column),
            value=clean(p.value),
            message=mask_dates(p.message),
        )
        for p in result.report.problems
    )
    notices = tuple(mask_dates(n) for n in result.report.notices)
    return replace(result, report=ValidationReport(problems, notices))


def read_source(files: Sequence[Path], dictionary: Path | str | None = None) -> SourceSet:
    """The tables of a source before mapping: a REDCap export (with its `dictionary`), an ADaM
    set, or plain table files."""
    if dictionary is not None:
        if len(files) != 1:
            problem = Problem(
                "redcap",
                "",
                None,
                None,
                None,
                ConvertRule.UNKNOWN_SOURCE,
                "A REDCap conversion takes one export file with its data dictionary.",
            )
            return SourceSet(problems=(problem,), kind="redcap")
        return redcap.read_redcap(files[0], Path(dictionary))
    if adam.is_adam(files):
        return adam.read_adam(files)
    plain = [f for f in files if f.suffix.lower() in _PLAIN_SUFFIXES]
    return plain_tables.read_plain(plain or files)


def convert_read(
    found: SourceSet,
    mapping: ConversionMapping | None = None,
    date_order: DateOrder | None = None,
) -> ConversionResult:
    """`convert` for a source already read (`read_source`): the Upload page reads once, then
    converts again as the user corrects the mapping."""
    return _without_dates(convert_sources(found, mapping, date_order))


def _convert(
    source: Path | str | Sequence[Path | str],
    mapping: ConversionMapping | Path | str | None,
    dictionary: Path | str | None,
    date_order: DateOrder | None = None,
) -> ConversionResult:
    if isinstance(mapping, str | Path):
        path = Path(mapping)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            why = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            problem = Problem(
                "mapping", path.name, None, None, None, ConvertRule.MAPPING_INVALID,
                f"The mapping file could not be read ({why}).",
            )  # fmt: skip
            return ConversionResult({}, ValidationReport((problem,)))
        parsed, problems = read_mapping(text, path.name)
        if parsed is None:
            return ConversionResult({}, ValidationReport(tuple(problems)))
        mapping = parsed
    found = read_source(_files(source), dictionary)
    return convert_sources(found, mapping, date_order)
