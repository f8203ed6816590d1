"""Loading contract tables from a folder, a DuckDB file or a store into one validated `Dataset`.

`load_dataset` never raises at a user: whatever is wrong becomes a `Problem` in the report,
and whatever is usable still loads (invalid cells as null, rows without a usable id left out,
each said in the report). A study whose tables are absent is simply absent.

A million rows take seconds to load: every loader takes an optional `progress` callback
(fraction done, words saying what it does), so that the app can show how far it is. None costs
nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

from bsab_explorer.data import storefile
from bsab_explorer.data.fingerprints import FingerprintMemo, loader_key, memo_key
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
    fetch,
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

if TYPE_CHECKING:
    import duckdb  # imported where a DuckDB file is opened: reading Parquet needs none

#: The bundled, reconstructed data (top-level `data/` folder of the repository).
BUNDLED_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
BUNDLED_NAME = "Bundled (reconstructed)"
#: Tables in load order: parents before children.
TABLE_ORDER = tuple(name for tables in STUDIES.values() for name in tables)

_DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")

#: Which data to load from a store.
Which = Literal["bundled", "pooled", "both"]
#: Told how far a load is: the fraction done (0 to 1) and what it does now, in words.
Progress = Callable[[float, str], None]
#: What a load reads of a store: table -> the columns wanted (None: every column); a table not
#: named is not read (`read_stored`). Other sources are read whole.
Selection = Mapping[str, Collection[str] | None]
#: How far a load of files is when it has read them, checked them and is fingerprinting them
#: (each stage's share measured at a million patients; the store's rows need no checking).
READING_SHARE = 0.4
CHECKING_END = 0.8
FINGERPRINT_START = 0.9
STORED_READING_SHARE = 0.75
FINGERPRINT_STEP = "Fingerprinting the data"
LOADED_STEP = "Data loaded"
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


def load_dataset(
    path: Path | str | None = None,
    *,
    cap_ages: bool = False,
    progress: Progress | None = None,
    selection: Selection | None = None,
) -> LoadResult:
    """Load a folder of contract tables or a DuckDB file (None = the bundled data).

    `selection` narrows what is read from a store file to some tables and columns (a command
    building one table: `read_stored`); every other source is read and checked whole.
    """
    try:
        if path is None or Path(path).resolve() == BUNDLED_DATA_DIR:
            result = load_folder(
                BUNDLED_DATA_DIR, name=BUNDLED_NAME, reconstructed=True, progress=progress
            )
            if result.dataset is not None:
                notice = f"{BUNDLED_NAME}: {RECONSTRUCTED_NOTICE}"
                return LoadResult(
                    result.dataset, result.report.merged(ValidationReport((), (notice,)))
                )
            return result
        path = Path(path)
        if path.is_dir():
            return load_folder(path, cap_ages=cap_ages, progress=progress)
        if is_duckdb_file(path):
            return load_duckdb(path, progress=progress, selection=selection)
        if path.is_file() and path.stem.lower() in TABLES:
            return load_files(
                {path.stem.lower(): path},
                name=path.name,
                source=str(path),
                cap_ages=cap_ages,
                progress=progress,
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
    folder: Path,
    *,
    name: str | None = None,
    reconstructed: bool = False,
    cap_ages: bool = False,
    progress: Progress | None = None,
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
        progress=progress,
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
    progress: Progress | None = None,
) -> LoadResult:
    """Load the given table files (table name -> path) as one dataset.

    The work runs in two threads, so that a folder's files (a registry's patients and
    responses) are read at once: most of it is in Polars, which releases the interpreter. Each
    file is read and parsed on its own (`_read_and_normalise`); as soon as a table is parsed,
    its own rules and the look-up of its parent ids are two more tasks (`_Checks`), which run
    side by side. The results, the report and the progress told (from this thread, in table
    order) are those of reading the files one after the other.
    """
    present = [table for table in TABLE_ORDER if table in files]
    read = {table: threading.Event() for table in present}
    with ThreadPoolExecutor(max_workers=_FILE_THREADS) as pool:
        checks = _Checks(pool)
        normalised = {
            table: pool.submit(
                _read_and_normalise, files[table], table, file_label, cap_ages, read[table], checks
            )
            for table in present
        }
        for number, table in enumerate(present):
            if progress is not None:
                progress(
                    READING_SHARE * number / len(present),
                    f"Reading the files: {table} ({number + 1} of {len(present)})",
                )
            read[table].wait()
        problems: list[Problem] = []
        notices: list[str] = []
        for number, table in enumerate(present):
            if progress is not None:
                fraction = READING_SHARE + (CHECKING_END - READING_SHARE) * number / len(present)
                progress(fraction, _checking_step(table, number, len(present)))
            _, table_problems, table_notices = normalised[table].result()
            problems += table_problems
            notices += table_notices
            if table in checks.own:
                checked_problems, checked_notices = checks.own[table].result()
                problems += checked_problems
                notices += checked_notices
        references = {table: future.result() for table, future in checks.references.items()}
    # In table order, whichever was parsed first.
    parsed = {table: checks.parsed[table] for table in present if table in checks.parsed}
    named = _Named(name, source, reconstructed)
    return _assemble_parsed((parsed, problems, notices), named, progress, references)


#: Threads `load_files` reads and checks in (this machine's two cores).
_FILE_THREADS = 2


class _Checks:
    """The checks of a folder's parsed tables, each started in `pool` as soon as what it needs
    is parsed: a table's own rules when it is, the look-up of a child's parent ids when both
    are (whichever of the two is parsed last starts it)."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self.parsed: dict[str, ParsedTable] = {}
        #: Each table's own rules: its problems and notices (`_check_parsed`).
        self.own: dict[str, Future[tuple[list[Problem], list[str]]]] = {}
        #: Each child table's look-up of its parent ids (`check_references`).
        self.references: dict[str, Future[list[Problem]]] = {}

    def start(self, table: str, parsed: ParsedTable) -> None:
        """Start what `table`, now parsed, lets start."""
        with self._lock:
            self.parsed[table] = parsed
            self.own[table] = self._pool.submit(_check_parsed, parsed)
            for child, (parent, key) in _relations():
                if table in (child, parent) and {child, parent} <= self.parsed.keys():
                    parent_ids = self.parsed[parent].frame.get_column(key)
                    self.references[child] = self._pool.submit(
                        check_references, self.parsed[child], parent_ids
                    )


def _read_and_normalise(
    path: Path,
    table: str,
    file_label: Callable[[Path], str] | None,
    cap_ages: bool,
    read: threading.Event,
    checks: _Checks,
) -> tuple[ParsedTable | None, list[Problem], list[str]]:
    """One file read (`read` is set once it is, whatever happened) and parsed on its own; its
    checks started (`checks`) before it returns.

    Only the parsed table outlives the call: the text the file was read as, the largest thing
    a load holds, is freed as soon as it is parsed.
    """
    try:
        result = _read_labelled(path, table, file_label)
    finally:
        read.set()
    parsed, problems, notices = _normalise_read(result, cap_ages)
    if parsed is not None:
        checks.start(table, parsed)
    return parsed, problems, notices


def _read_labelled(path: Path, table: str, file_label: Callable[[Path], str] | None) -> ReadResult:
    """`read_table_file`, its problems and its table named by `file_label` (when given)."""
    read = read_table_file(path, table)
    if file_label is None:
        return read
    label = file_label(path)
    return ReadResult(
        replace(read.raw, file=label) if read.raw is not None else None,
        tuple(replace(p, file=label) for p in read.problems),
        read.notices,
    )


def load_duckdb(
    path: Path, *, progress: Progress | None = None, selection: Selection | None = None
) -> LoadResult:
    """Load the contract tables of a DuckDB database (a bsab-explorer store loads all batches).

    With a `selection`, a store reads only those tables and columns (a plain DuckDB file is
    read whole, as always). The file is checked where the load reads it, not read whole first
    (`storefile.reading`): every block a load uses is checked as DuckDB reads it, so a damaged
    one is named before anything of it is shown.
    """
    stored: StoredLoad | None = None
    try:
        with storefile.reading(path.resolve(), verify=False) as connection:
            names = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
            if "store_batches" in names:
                # A bsab-explorer store: its active batches, bundled and uploaded.
                stored = read_stored(
                    connection,
                    "both",
                    path.resolve(),
                    storefile.read_meta(connection, "both"),
                    progress=progress,
                    selection=selection,
                )
            else:
                reads: dict[str, ReadResult] = {}
                present = [table for table in TABLE_ORDER if table in names]
                for number, table in enumerate(present):
                    if progress is not None:
                        progress(
                            READING_SHARE * number / len(present),
                            f"Reading the database: {table} ({number + 1} of {len(present)})",
                        )
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
    if stored is not None:
        if stored.memo is not None:
            storefile.remember(path.resolve(), memo_key("both"), stored.memo.encode())
        return stored.result
    if not reads:
        return _nothing(
            path.name,
            Rule.NO_TABLES,
            "The DuckDB file has no tables named after the contract (patients, responses, "
            "cases, events).",
        )
    return assemble(reads, name=path.name, source=str(path), progress=progress)


@dataclass(frozen=True)
class StoredLoad:
    """What a store loads as, and the fingerprint memo to keep for it (None when the store's
    own memo fitted, or nothing was loaded)."""

    result: LoadResult
    memo: FingerprintMemo | None


def read_stored(
    connection: duckdb.DuckDBPyConnection,
    which: Which,
    path: Path | str,
    memo: str | None,
    *,
    progress: Progress | None = None,
    selection: Selection | None = None,
) -> StoredLoad:
    """The bundled batches, the pooled uploads, or both, of the store open on `connection`.

    `memo` is the store's fingerprint memo for `which` (`fingerprints`), used when it fits what
    was read; otherwise the fingerprint is computed and returned as the memo to keep.
    `progress`, when given, is told each table read and the fingerprint.

    With a `selection`, only those tables and columns are read when the memo gives the whole
    dataset's fingerprint (`_read_selected`); otherwise everything is read, as without one.
    Rows in the store were checked against the contract when they were stored, so a load
    checks nothing of them again: it keeps the active batches, orders them and leaves out the
    children of retracted parents.
    """
    origins = {"bundled": (BUNDLED,), "pooled": (UPLOAD,), "both": (BUNDLED, UPLOAD)}[which]
    # A command line reading a million rows shows no progress bar of DuckDB's own.
    connection.execute("SET enable_progress_bar = false")
    generation = storefile.read_generation(connection)
    ranks = _batch_ranks(connection, origins)
    query = "SELECT DISTINCT table_name FROM store_batch_status WHERE retracted"
    retracted = {row[0] for row in fetch(connection, query)}
    known_memo = FingerprintMemo.decode(memo)
    if selection is not None and known_memo is not None and ranks.height:
        selected = _read_selected(
            connection, which, path, generation, ranks, retracted, known_memo, selection
        )
        if selected is not None:
            if progress is not None:
                progress(1.0, LOADED_STEP)
            return StoredLoad(selected, None)
    tables: dict[str, pl.DataFrame] = {}
    if ranks.height:
        tables = _read_tables(connection, ranks, dict.fromkeys(TABLE_ORDER), progress)
    notices = _leave_out_orphans(tables, retracted)
    if not tables:
        notices.append(
            "No uploads are stored yet." if which == "pooled" else "The store holds no data yet."
        )
        return StoredLoad(LoadResult(None, ValidationReport((), tuple(notices))), None)
    fits = known_memo is not None and known_memo.fits(which, generation, tables)
    dataset = _stored_dataset(
        which, path, tables, known_memo.fingerprint if fits and known_memo is not None else ""
    )
    new_memo = None
    if not fits:
        if progress is not None:
            progress(STORED_READING_SHARE, FINGERPRINT_STEP)
        new_memo = FingerprintMemo(
            which, generation, loader_key(), _heights(tables), dataset.fingerprint
        )
    if progress is not None:
        progress(1.0, LOADED_STEP)
    return StoredLoad(LoadResult(dataset, _stored_report(which, notices)), new_memo)


def _read_tables(
    connection: duckdb.DuckDBPyConnection,
    ranks: pl.DataFrame,
    columns: Selection,
    progress: Progress | None,
) -> dict[str, pl.DataFrame]:
    """The rows of the tables `columns` names (those with any), in table order."""
    tables: dict[str, pl.DataFrame] = {}
    for number, table in enumerate(TABLE_ORDER):
        if table not in columns:
            continue
        if progress is not None:
            progress(
                STORED_READING_SHARE * number / len(TABLE_ORDER),
                f"Reading the store: {table} ({number + 1} of {len(TABLE_ORDER)})",
            )
        frame = _stored_rows(connection, table, ranks, columns[table])
        if frame.height:
            tables[table] = frame
    return tables


def _orphans_possible(table: str, present: Collection[str], retracted: set[str]) -> bool:
    """Whether rows of `table` may have lost their parent: to a retraction of the parent's
    table, or because the parent table holds no active row.

    Every child row's parent was stored before it, in the same center (`upload`) or the same
    bundled file: a child can only lose its parent that way.
    """
    parent = TABLES[table].parent
    return parent is not None and (parent[0] not in present or parent[0] in retracted)


def _leave_out_orphans(tables: dict[str, pl.DataFrame], retracted: set[str]) -> list[str]:
    """Leave out (in place) the child rows whose parent is not loaded; the notices saying so."""
    notices: list[str] = []
    for table in TABLE_ORDER:
        parent = TABLES[table].parent
        if table not in tables or parent is None or not _orphans_possible(table, tables, retracted):
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
    return notices


def _heights(tables: Mapping[str, pl.DataFrame]) -> dict[str, int]:
    return {name: frame.height for name, frame in tables.items()}


def _stored_dataset(
    which: Which, path: Path | str, tables: Mapping[str, pl.DataFrame], fingerprint: str
) -> Dataset:
    return Dataset(
        name=DATASET_NAMES[which],
        tables=tables,
        source=f"store {path} ({which})",
        reconstructed=which != "pooled",
        fingerprint=fingerprint,
    )


def _stored_report(which: Which, notices: list[str]) -> ValidationReport:
    if which != "pooled":
        notices = [*notices, f"{BUNDLED_NAME}: {RECONSTRUCTED_NOTICE}"]
    return ValidationReport((), tuple(notices))


def _read_selected(
    connection: duckdb.DuckDBPyConnection,
    which: Which,
    path: Path | str,
    generation: str,
    ranks: pl.DataFrame,
    retracted: set[str],
    memo: FingerprintMemo,
    selection: Selection,
) -> LoadResult | None:
    """Only the selected tables and columns, as the whole load gives them, with the whole
    dataset's fingerprint from the store's memo; None when that cannot be told without reading
    everything (the caller then does).

    The memo fits when the tables it counted have the rows they had: those read are counted,
    the others are their active batches' rows (`store_batches.rows`), which is what they load
    as unless a retraction of their parent's table leaves some out: such a table is read.
    A selected table whose parent may have lost rows needs its parent read too: it then is.
    """
    counts = dict(
        fetch(
            connection,
            "SELECT table_name, sum(rows) FROM store_batch_status "
            "WHERE list_contains($ids, batch_id) GROUP BY table_name HAVING sum(rows) > 0",
            {"ids": ranks.get_column("batch_id").to_list()},
        )
    )
    wanted: dict[str, Collection[str] | None] = {
        table: _with_keys(table, columns) for table, columns in selection.items() if table in TABLES
    }
    for table in counts:
        parent = TABLES[table].parent
        if _orphans_possible(table, counts, retracted) and (
            table not in wanted or (parent is not None and parent[0] not in wanted)
        ):
            return None
    tables = _read_tables(connection, ranks, wanted, None)
    if not tables:
        return None  # the whole load says what the store holds
    notices = _leave_out_orphans(tables, retracted)
    rows = {table: int(n) for table, n in counts.items() if table not in wanted}
    if not memo.fits_rows(which, generation, {**rows, **_heights(tables)}):
        return None
    return LoadResult(
        _stored_dataset(which, path, tables, memo.fingerprint), _stored_report(which, notices)
    )


def _with_keys(table: str, columns: Collection[str] | None) -> tuple[str, ...] | None:
    """The contract columns of `columns` and the keys the load itself reads (its own, and its
    parent's, which orphans are judged by), in contract order; None for every column."""
    if columns is None:
        return None
    contract = TABLES[table]
    keys = {contract.key, *(() if contract.parent is None else (contract.parent[1],))}
    return tuple(c for c in contract.column_names if c in keys or c in columns)


def _batch_ranks(connection: duckdb.DuckDBPyConnection, origins: tuple[str, ...]) -> pl.DataFrame:
    """The active batches of `origins` (batch_id, upload, rank), in the order their rows load.

    Bundled rows keep their file order; uploads follow in an order that does not depend on the
    order of uploading (center, file hash, file row), so the dataset's fingerprint does not
    either.
    """
    return connection.sql(
        f"SELECT batch_id, origin = '{UPLOAD}' AS upload, dense_rank() OVER (ORDER BY "  # noqa: S608
        f"origin = '{UPLOAD}', CASE WHEN origin = '{UPLOAD}' THEN center ELSE '' END, sha256) "
        "AS rank FROM store_batch_status WHERE NOT retracted AND list_contains($origins, origin)",
        params={"origins": list(origins)},
    ).pl()


#: A frame converted from DuckDB's Arrow result keeps DuckDB's result buffers alive while its
#: columns point into them; copying a wide table into Polars' own buffers frees them. At a
#: million patients (56 columns) it lowered the peak through load and one recompute by about
#: 150 MB for 0.1 s of CPU; for the 2.5 M responses (8 columns) the copy cost more memory than
#: it freed (measured 2026-12-07, docs/performance.md).
COMPACT_FROM_COLUMNS = 20


def _stored_rows(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    ranks: pl.DataFrame,
    names: Collection[str] | None = None,
) -> pl.DataFrame:
    """Rows of `table` in the batches of `ranks`, typed, in their batches' rank and file order
    (of its columns `names` only, in contract order, when given).

    DuckDB keeps the order rows were inserted in when a query only scans and filters, and
    batches are written in file order: the rows come in order unless uploads of several centers
    interleave, and only then are they sorted (by two integers, in Polars, on both cores). The
    rows reach Polars through Arrow, column by column.
    """
    contract = TABLES[table]
    key = contract.key
    columns = [
        f"CASE WHEN list_contains($uploads, d._batch_id) THEN d._center || "
        f'\'{POOLED_ID_SEPARATOR}\' || d."{key}" ELSE d."{key}" END AS "{key}"'
        if c == key
        else f'd."{c}"'
        for c in contract.column_names
        if names is None or c in names
    ]
    ids = ranks.get_column("batch_id").to_list()
    uploads = ranks.filter("upload").get_column("batch_id").to_list()
    frame = connection.sql(
        f"SELECT d._batch_id AS __batch, d._row AS __row, {', '.join(columns)} "  # noqa: S608
        f"FROM {store_table(table)} d WHERE list_contains($ids, d._batch_id)",
        params={"ids": ids, "uploads": uploads or [-1]},
    ).pl()
    order = pl.col("__batch").replace_strict(
        ranks.get_column("batch_id"), ranks.get_column("rank"), return_dtype=pl.Int64
    ) * (1 << 40) + pl.col("__row")
    position = frame.select(order.alias("__order")).to_series()
    if not position.is_sorted():
        frame = frame.with_columns(position).sort("__order", maintain_order=True)
    del position
    frame = frame.drop("__batch", "__row", "__order", strict=False).cast(
        {c.name: polars_type(c.kind) for c in contract.columns if c.name in frame.columns}
    )
    if frame.width >= COMPACT_FROM_COLUMNS:
        frame.shrink_to_fit(in_place=True)
    return frame


def parse_reads(
    reads: Mapping[str, ReadResult],
    *,
    cap_ages: bool = False,
    progress: Progress | None = None,
) -> tuple[dict[str, ParsedTable], list[Problem], list[str]]:
    """Normalise and check each read table on its own (no cross-table rules yet)."""
    parsed: dict[str, ParsedTable] = {}
    problems: list[Problem] = []
    notices: list[str] = []
    for number, (table, read) in enumerate(reads.items()):
        if progress is not None:
            progress(number / len(reads), _checking_step(table, number, len(reads)))
        table_parsed, table_problems, table_notices = _parse_read(read, cap_ages)
        problems += table_problems
        notices += table_notices
        if table_parsed is not None:
            parsed[table] = table_parsed
    return parsed, problems, notices


def _checking_step(table: str, number: int, count: int) -> str:
    return f"Checking the tables: {table} ({number + 1} of {count})"


def _parse_read(
    read: ReadResult, cap_ages: bool
) -> tuple[ParsedTable | None, list[Problem], list[str]]:
    """One read table normalised and checked on its own: the table (None when nothing of it
    is usable), its problems and its notices, the read's first."""
    parsed, problems, notices = _normalise_read(read, cap_ages)
    if parsed is not None:
        checked_problems, checked_notices = _check_parsed(parsed)
        problems += checked_problems
        notices += checked_notices
    return parsed, problems, notices


def _normalise_read(
    read: ReadResult, cap_ages: bool
) -> tuple[ParsedTable | None, list[Problem], list[str]]:
    """One read table parsed into contract types: the table (None when nothing of it is
    usable), the read's problems and notices, then the parse's."""
    problems = list(read.problems)
    notices = list(read.notices)
    if read.raw is None:
        return None, problems, notices
    result = normalise_table(read.raw, cap_ages=cap_ages)
    return result.parsed, problems + list(result.problems), notices + list(result.notices)


def _check_parsed(parsed: ParsedTable) -> tuple[list[Problem], list[str]]:
    """The problems and notices of a parsed table's own rules (no other table needed)."""
    notices = patient_warnings(parsed) + _all_null_notices(parsed)
    return check_table(parsed), notices


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
    progress: Progress | None = None,
) -> LoadResult:
    """Parse, check (single- and cross-table) and clean read tables into one dataset."""
    checking = None
    if progress is not None:
        checking = _within(progress, READING_SHARE, CHECKING_END)
    checked = parse_reads(reads, cap_ages=cap_ages, progress=checking)
    return _assemble_parsed(checked, _Named(name, source, reconstructed), progress)


@dataclass(frozen=True)
class _Named:
    """What a loaded dataset is called, where it comes from, and whether it is reconstructed."""

    name: str
    source: str
    reconstructed: bool


def _assemble_parsed(
    checked: tuple[dict[str, ParsedTable], list[Problem], list[str]],
    named: _Named,
    progress: Progress | None,
    references: Mapping[str, list[Problem]] | None = None,
) -> LoadResult:
    """Checked tables, each on its own, checked against each other, cleaned, as one dataset.

    `references`: the problems of `check_references` of child tables already looked up.
    """
    parsed, problems, notices = checked
    if progress is not None:
        progress(CHECKING_END, "Checking the tables: references between them")
    for child, (parent, key) in _relations():
        if child in parsed:
            if references is not None and child in references:
                problems += references[child]
            elif parent in parsed:
                problems += check_references(parsed[child], parsed[parent].frame.get_column(key))
            else:
                notices.append(
                    f"{parsed[child].file}: not checked against {parent} ({parent} was not loaded)."
                )
    tables, dropped = clean_tables(parsed, problems)
    notices += dropped
    dataset = None
    if tables:
        if progress is not None:
            progress(FINGERPRINT_START, FINGERPRINT_STEP)
        dataset = Dataset(
            name=named.name,
            tables=tables,
            source=named.source,
            reconstructed=named.reconstructed,
        )
    report = ValidationReport(tuple(in_reading_order(problems)), tuple(notices))
    if progress is not None:
        progress(1.0, LOADED_STEP)
    return LoadResult(dataset, report)


def _within(progress: Progress, start: float, end: float) -> Progress:
    """`progress` told of a stage that runs from `start` to `end` of the whole load."""
    return lambda fraction, words: progress(start + (end - start) * fraction, words)


def _relations() -> list[tuple[str, tuple[str, str]]]:
    return [(t.name, t.parent) for t in TABLES.values() if t.parent is not None]


#: The rules `check_references` names a child row whose parent id is unknown by.
ORPHAN_RULES = frozenset({Rule.UNKNOWN_PATIENT, Rule.UNKNOWN_CASE})


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
    """Usable frames: rejected cells null; rows without id, duplicates, orphans left out.

    The checks have already looked for duplicate ids, repeated assessments and unknown parents
    (`check_unique`, `check_response_rules`, `check_references`): a table they found none in
    is not searched again (at a million patients, 1 s of hashing text ids). A parent whose ids
    were rejected (cells cleared) can orphan children the checks did not name: those children
    are always searched.
    """
    tables: dict[str, pl.DataFrame] = {}
    notices: list[str] = []
    by_table: dict[str, list[Problem]] = {}
    for problem in problems:
        by_table.setdefault(problem.table, []).append(problem)
    lost_ids: set[str] = set()
    for table in TABLE_ORDER:
        if table not in parsed:
            continue
        item = parsed[table]
        contract = TABLES[table]
        found = by_table.get(table, [])
        rules = {(p.rule, p.column) for p in found}
        frame = clear_cells(item.frame, found)
        key_nulls = frame.get_column(contract.key).null_count()
        if key_nulls != item.frame.get_column(contract.key).null_count():
            lost_ids.add(table)
        before = frame.height
        if key_nulls:
            frame = frame.filter(pl.col(contract.key).is_not_null())
        if contract.parent is None:
            if _may_repeat(contract, found):
                frame = frame.unique(subset=[contract.key], keep="first", maintain_order=True)
        else:
            parent, key = contract.parent
            orphans = {r for r, column in rules if column == key} & ORPHAN_RULES
            if parent in tables and (orphans or parent in lost_ids):
                frame = frame.filter(pl.col(key).is_in(tables[parent].get_column(key).implode()))
            if table == "responses" and (Rule.DUPLICATE_ASSESSMENT, "timepoint") in rules:
                first = pl.struct(key, "timepoint").is_first_distinct()
                frame = frame.filter(pl.col("timepoint").is_null() | first)
        if frame.height < before:
            notices.append(
                f"{item.file}: {before - frame.height} row(s) with a missing, duplicate or "
                "unknown id were left out (see the problems above)."
            )
        tables[table] = frame.drop(ROW)
    return tables, notices
