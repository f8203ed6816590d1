"""Loading contract tables from a folder, a DuckDB file or a store into one validated `Dataset`.

`load_dataset` never raises at a user: whatever is wrong becomes a `Problem` in the report,
and whatever is usable still loads (invalid cells as null, rows without a usable id left out,
each said in the report). A study whose tables are absent is simply absent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl

from bsab_explorer.data import storefile
from bsab_explorer.data.ingest import (
    TABLE_SUFFIXES,
    ReadResult,
    read_table_file,
    typed_table_from_frame,
)
from bsab_explorer.data.normalise import clear_cells, normalise_table
from bsab_explorer.data.storefile import (
    BUNDLED,
    POOLED_ID_SEPARATOR,
    UPLOAD,
    StoreDamaged,
    StoreUnavailable,
    store_table,
)
from bsab_explorer.data.validation import (
    ROW,
    ParsedTable,
    Problem,
    Rule,
    ValidationReport,
    check_references,
    check_table,
    in_reading_order,
    patient_warnings,
)
from bsab_explorer.dataset import Dataset, polars_type
from bsab_explorer.schema import RECONSTRUCTED_NOTICE, STUDIES, TABLES, Table

#: The bundled, reconstructed data (top-level `data/` folder of the repository).
BUNDLED_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
BUNDLED_NAME = "Bundled (reconstructed)"
#: Tables in load order: parents before children.
TABLE_ORDER = tuple(name for tables in STUDIES.values() for name in tables)

_DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")

#: Which data to load from a store.
Which = Literal["bundled", "pooled", "both"]
DATASET_NAMES: dict[str, str] = {
    "bundled": BUNDLED_NAME,
    "pooled": "Pooled uploads",
    "both": f"{BUNDLED_NAME} + pooled uploads",
}


@dataclass(frozen=True)
class LoadResult:
    """The loaded data (None only when nothing usable was loaded) and the full report."""

    dataset: Dataset | None
    report: ValidationReport


def load_dataset(path: Path | str | None = None, *, cap_ages: bool = False) -> LoadResult:
    """Load a folder of contract tables or a DuckDB file (None = the bundled data)."""
    try:
        if path is None or Path(path).resolve() == BUNDLED_DATA_DIR:
            result = load_folder(BUNDLED_DATA_DIR, name=BUNDLED_NAME, reconstructed=True)
            if result.dataset is not None:
                notice = f"{BUNDLED_NAME}: {RECONSTRUCTED_NOTICE}"
                return LoadResult(
                    result.dataset, result.report.merged(ValidationReport((), (notice,)))
                )
            return result
        path = Path(path)
        if path.is_dir():
            return load_folder(path, cap_ages=cap_ages)
        if is_duckdb_file(path):
            return load_duckdb(path)
        if path.is_file() and path.stem.lower() in TABLES:
            return load_files(
                {path.stem.lower(): path}, name=path.name, source=str(path), cap_ages=cap_ages
            )
        return _nothing(
            str(path),
            Rule.NO_TABLES,
            f"'{path}' is neither a folder of contract tables, a DuckDB file, nor a file named "
            "after a contract table (patients, responses, cases, events).",
        )
    except Exception as error:  # a user's data must never produce a traceback
        return _nothing(
            str(path),
            Rule.UNREADABLE,
            f"The data could not be read ({type(error).__name__}: {error}).",
        )


def _nothing(where: str, rule: str, message: str) -> LoadResult:
    problem = Problem("", where, None, None, None, rule, message)
    return LoadResult(None, ValidationReport((problem,)))


def is_duckdb_file(path: Path) -> bool:
    """Whether `path` is meant as a DuckDB database file (by its header, or its suffix).

    A damaged file with a DuckDB suffix counts: opening it then says what is wrong with it.
    """
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        head = handle.read(16)
    return head[8:12] == b"DUCK" or path.suffix.lower() in _DUCKDB_SUFFIXES


def find_table_files(folder: Path) -> tuple[dict[str, Path], list[Problem]]:
    """Files named after contract tables in `folder` and its immediate subfolders."""
    candidates: dict[str, list[Path]] = {}
    places = [
        folder,
        *sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
    ]
    for place in places:
        for file in sorted(place.iterdir()):
            stem = file.stem.lower()
            if file.is_file() and stem in TABLES and file.suffix.lower() in TABLE_SUFFIXES:
                candidates.setdefault(stem, []).append(file)
    found: dict[str, Path] = {}
    problems: list[Problem] = []
    for table, files in candidates.items():
        if len(files) > 1:
            names = ", ".join(str(f.relative_to(folder)) for f in files)
            problems.append(
                Problem(
                    table,
                    str(files[0].relative_to(folder)),
                    None,
                    None,
                    None,
                    Rule.AMBIGUOUS_FILES,
                    f"There are {len(files)} files for the {table} table ({names}). Keep one; "
                    f"the first ({files[0].name}) was used.",
                )
            )
        found[table] = files[0]
    return found, problems


def load_folder(
    folder: Path, *, name: str | None = None, reconstructed: bool = False, cap_ages: bool = False
) -> LoadResult:
    """Load every contract table found in `folder` (and its immediate subfolders)."""
    if not folder.is_dir():
        return _nothing(str(folder), Rule.NO_TABLES, f"The folder '{folder}' does not exist.")
    files, problems = find_table_files(folder)
    if not files:
        expected = ", ".join(f"{t}.csv" for t in TABLE_ORDER)
        return _nothing(
            str(folder),
            Rule.NO_TABLES,
            f"No contract tables were found in '{folder}'. Expected files named after the "
            f"tables ({expected}; or .parquet / .xlsx).",
        )
    result = load_files(
        files,
        name=name or folder.name,
        source=str(folder),
        reconstructed=reconstructed,
        cap_ages=cap_ages,
        file_label=lambda p: str(p.relative_to(folder)),
    )
    return LoadResult(result.dataset, ValidationReport(tuple(problems)).merged(result.report))


def load_files(
    files: Mapping[str, Path],
    *,
    name: str,
    source: str,
    reconstructed: bool = False,
    cap_ages: bool = False,
    file_label: Callable[[Path], str] | None = None,
) -> LoadResult:
    """Load the given table files (table name -> path) as one dataset."""
    reads: dict[str, ReadResult] = {}
    for table in TABLE_ORDER:
        if table in files:
            read = read_table_file(files[table], table)
            if file_label is not None:
                label = file_label(files[table])
                read = ReadResult(
                    replace(read.raw, file=label) if read.raw is not None else None,
                    tuple(replace(p, file=label) for p in read.problems),
                    read.notices,
                )
            reads[table] = read
    return assemble(reads, name=name, source=source, reconstructed=reconstructed, cap_ages=cap_ages)


def load_duckdb(path: Path) -> LoadResult:
    """Load the contract tables of a DuckDB database (a bsab-explorer store loads all batches)."""
    try:
        with storefile.reading(path.resolve()) as connection:
            names = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
            if "store_batches" in names:
                # A bsab-explorer store: its active batches, bundled and uploaded.
                return load_stored(connection, "both", path.resolve())
            reads: dict[str, ReadResult] = {}
            for table in TABLE_ORDER:
                if table in names:
                    frame = connection.table(table).pl()
                    reads[table] = typed_table_from_frame(frame, table, f"{path.name}:{table}")
    except StoreDamaged as error:
        return _nothing(path.name, Rule.UNREADABLE, str(error))
    except StoreUnavailable as error:
        return _nothing(
            path.name,
            Rule.UNREADABLE,
            f"The DuckDB file could not be opened ({error}). If the app is writing to this "
            "file, wait a moment and try again.",
        )
    if not reads:
        return _nothing(
            path.name,
            Rule.NO_TABLES,
            "The DuckDB file has no tables named after the contract (patients, responses, "
            "cases, events).",
        )
    return assemble(reads, name=path.name, source=str(path))


def load_stored(
    connection: duckdb.DuckDBPyConnection, which: Which, path: Path | str
) -> LoadResult:
    """The bundled batches, the pooled uploads, or both, of the store open on `connection`."""
    origins = {"bundled": (BUNDLED,), "pooled": (UPLOAD,), "both": (BUNDLED, UPLOAD)}[which]
    tables: dict[str, pl.DataFrame] = {}
    notices: list[str] = []
    # A command line reading a million rows shows no progress bar of DuckDB's own.
    connection.execute("SET enable_progress_bar = false")
    for table in TABLE_ORDER:
        frame = connection.sql(_stored_query(table), params={"origins": list(origins)}).pl()
        if frame.height:
            tables[table] = frame.cast({c.name: polars_type(c.kind) for c in TABLES[table].columns})
    for table in TABLE_ORDER:
        parent = TABLES[table].parent
        if table not in tables or parent is None:
            continue
        parent_table, key = parent
        before = tables[table].height
        known = (
            tables[parent_table].get_column(key)
            if parent_table in tables
            else pl.Series(key, [], pl.String)
        )
        tables[table] = tables[table].filter(pl.col(key).is_in(known.implode()))
        if tables[table].height < before:
            notices.append(
                f"{table}: {before - tables[table].height} row(s) whose {parent_table[:-1]} "
                "is in a retracted batch were left out."
            )
    if not tables:
        notices.append(
            "No uploads are stored yet." if which == "pooled" else "The store holds no data yet."
        )
        return LoadResult(None, ValidationReport((), tuple(notices)))
    reconstructed = which != "pooled"
    if reconstructed:
        notices.append(f"{BUNDLED_NAME}: {RECONSTRUCTED_NOTICE}")
    dataset = Dataset(
        name=DATASET_NAMES[which],
        tables=tables,
        source=f"store {path} ({which})",
        reconstructed=reconstructed,
    )
    return LoadResult(dataset, ValidationReport((), tuple(notices)))


def _stored_query(table: str) -> str:
    """Active rows of `table`: contract columns in contract order, uploaded ids center-prefixed.

    Bundled rows keep their file order; uploads follow in an order that does not depend on the
    order of uploading (center, file hash, file row), so the dataset's fingerprint does not either.
    The batches are ranked first (a few rows), so the rows are sorted by two integers rather
    than by their center and a 64-character hash.
    """
    contract = TABLES[table]
    key = contract.key
    columns = [
        f"CASE WHEN b.origin = '{UPLOAD}' THEN d._center || '{POOLED_ID_SEPARATOR}' || d.\"{key}\" "
        f'ELSE d."{key}" END AS "{key}"'
        if c == key
        else f'd."{c}"'
        for c in contract.column_names
    ]
    return (
        "WITH b AS (SELECT batch_id, origin, dense_rank() OVER (ORDER BY "  # noqa: S608
        f"origin = '{UPLOAD}', CASE WHEN origin = '{UPLOAD}' THEN center ELSE '' END, sha256) "
        "AS rank FROM store_batch_status "
        "WHERE NOT retracted AND list_contains($origins, origin)) "
        f"SELECT {', '.join(columns)} FROM {store_table(table)} d "
        "JOIN b ON d._batch_id = b.batch_id ORDER BY b.rank, d._row"
    )


def parse_reads(
    reads: Mapping[str, ReadResult], *, cap_ages: bool = False
) -> tuple[dict[str, ParsedTable], list[Problem], list[str]]:
    """Normalise and check each read table on its own (no cross-table rules yet)."""
    parsed: dict[str, ParsedTable] = {}
    problems: list[Problem] = []
    notices: list[str] = []
    for table, read in reads.items():
        problems += read.problems
        notices += read.notices
        if read.raw is None:
            continue
        result = normalise_table(read.raw, cap_ages=cap_ages)
        problems += result.problems
        notices += result.notices
        if result.parsed is None:
            continue
        problems += check_table(result.parsed)
        notices += patient_warnings(result.parsed)
        notices += _all_null_notices(result.parsed)
        parsed[table] = result.parsed
    return parsed, problems, notices


def _all_null_notices(parsed: ParsedTable) -> list[str]:
    if parsed.frame.height == 0:
        return []
    empty = [
        c
        for c in sorted(parsed.present)
        if parsed.frame.get_column(c).null_count() == parsed.frame.height
    ]
    if not empty:
        return []
    return [
        f"{parsed.file}: column(s) with no recorded value: {', '.join(empty)}. Analyses that "
        "need them will say so."
    ]


def assemble(
    reads: Mapping[str, ReadResult],
    *,
    name: str,
    source: str,
    reconstructed: bool = False,
    cap_ages: bool = False,
) -> LoadResult:
    """Parse, check (single- and cross-table) and clean read tables into one dataset."""
    parsed, problems, notices = parse_reads(reads, cap_ages=cap_ages)
    for child, (parent, key) in _relations():
        if child in parsed:
            if parent in parsed:
                problems += check_references(parsed[child], parsed[parent].frame.get_column(key))
            else:
                notices.append(
                    f"{parsed[child].file}: not checked against {parent} ({parent} was not loaded)."
                )
    tables, dropped = clean_tables(parsed, problems)
    notices += dropped
    dataset = None
    if tables:
        dataset = Dataset(name=name, tables=tables, source=source, reconstructed=reconstructed)
    report = ValidationReport(tuple(in_reading_order(problems)), tuple(notices))
    return LoadResult(dataset, report)


def _relations() -> list[tuple[str, tuple[str, str]]]:
    return [(t.name, t.parent) for t in TABLES.values() if t.parent is not None]


def _may_repeat(contract: Table, problems: list[Problem]) -> bool:
    """Whether the table's key may hold a value twice, given the table's problems: yes unless
    the key is a unique column, which `check_unique` reported no repeat of.

    Keeping the first row of each key is then a no-op, which at a million ids costs a quarter
    of a second.
    """
    key = contract.key
    if not contract.column(key).unique:
        return True
    return any(p.column == key and p.rule == Rule.DUPLICATE_ID for p in problems)


def clean_tables(
    parsed: Mapping[str, ParsedTable], problems: list[Problem]
) -> tuple[dict[str, pl.DataFrame], list[str]]:
    """Usable frames: rejected cells null; rows without id, duplicates, orphans left out."""
    tables: dict[str, pl.DataFrame] = {}
    notices: list[str] = []
    by_table: dict[str, list[Problem]] = {}
    for problem in problems:
        by_table.setdefault(problem.table, []).append(problem)
    for table in TABLE_ORDER:
        if table not in parsed:
            continue
        item = parsed[table]
        contract = TABLES[table]
        frame = clear_cells(item.frame, by_table.get(table, []))
        before = frame.height
        frame = frame.filter(pl.col(contract.key).is_not_null())
        if contract.parent is None:
            if _may_repeat(contract, by_table.get(table, [])):
                frame = frame.unique(subset=[contract.key], keep="first", maintain_order=True)
        else:
            parent, key = contract.parent
            if parent in tables:
                frame = frame.filter(pl.col(key).is_in(tables[parent].get_column(key).implode()))
            if table == "responses":
                first = pl.struct(key, "timepoint").is_first_distinct()
                frame = frame.filter(pl.col("timepoint").is_null() | first)
        if frame.height < before:
            notices.append(
                f"{item.file}: {before - frame.height} row(s) with a missing, duplicate or "
                "unknown id were left out (see the problems above)."
            )
        tables[table] = frame.drop(ROW)
    return tables, notices
