"""The embedded DuckDB store: append-only batches of validated rows, keyed by (center, id).

Every upload is one batch, written in one transaction (all rows or none). Nothing is ever
deleted: a batch is retracted by appending a retraction record, and restored the same way. The
bundled data are the store's first batches (one per table and center). DuckDB allows one
read-write process per file and one connection per process, so connections are shared per path
within the process and every operation uses its own cursor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl

from bsab_explorer.data.ingest import MAX_FILE_BYTES, read_table_bytes, too_large
from bsab_explorer.data.loading import (
    BUNDLED_DATA_DIR,
    BUNDLED_NAME,
    TABLE_ORDER,
    LoadResult,
    find_table_files,
    load_folder,
    parse_reads,
)
from bsab_explorer.data.normalise import clear_cells
from bsab_explorer.data.validation import (
    ROW,
    VALIDATOR_VERSION,
    ParsedTable,
    Problem,
    Rule,
    ValidationReport,
    check_references,
    in_reading_order,
)
from bsab_explorer.dataset import Dataset, polars_type
from bsab_explorer.schema import RECONSTRUCTED_NOTICE, TABLES, Kind

#: Environment variable naming the store file (overridden by an explicit path or `--store`).
STORE_ENV = "BSAB_EXPLORER_STORE"
DEFAULT_STORE_PATH = BUNDLED_DATA_DIR / "bsab-explorer.duckdb"
STORE_VERSION = "1"

BUNDLED = "bundled"
UPLOAD = "upload"
#: Which data to load from the store.
Which = Literal["bundled", "pooled", "both"]
DATASET_NAMES: dict[str, str] = {
    "bundled": BUNDLED_NAME,
    "pooled": "Pooled uploads",
    "both": f"{BUNDLED_NAME} + pooled uploads",
}
#: Separator between center and id in pooled datasets, where ids must be unique across centers.
POOLED_ID_SEPARATOR = ":"
_CENTER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_LOG_RETRACTION = (
    "INSERT INTO store_retractions VALUES (nextval('store_retraction_ids'), ?, ?, now(), ?)"
)
_SQL_TYPES = {
    Kind.STRING: "VARCHAR",
    Kind.CODE: "VARCHAR",
    Kind.INT: "BIGINT",
    Kind.NUMBER: "DOUBLE",
    Kind.BOOL: "BOOLEAN",
}


def store_table(table: str) -> str:
    """The store's table holding rows of contract table `table`."""
    return f"store_{TABLES[table].name}"


def resolve_store_path(path: Path | str | None = None) -> Path:
    """The store file: `path`, else $BSAB_EXPLORER_STORE, else data/bsab-explorer.duckdb."""
    if path is not None:
        return Path(path)
    from_env = os.environ.get(STORE_ENV)
    return Path(from_env) if from_env else DEFAULT_STORE_PATH


@dataclass(frozen=True)
class Batch:
    """One stored file (or one center's part of a bundled table)."""

    batch_id: int
    sha256: str
    center: str
    table: str
    file_name: str
    rows: int
    ingested_at: dt.datetime
    validator_version: str
    origin: str
    retracted: bool


@dataclass(frozen=True)
class UploadCheck:
    """What storing a file would do: the report, the normalised rows, and whether it is new."""

    report: ValidationReport
    table: str
    center: str
    sha256: str
    rows: pl.DataFrame | None = None
    #: The batch already holding this very file (then storing it again is a no-op).
    duplicate_of: Batch | None = None

    @property
    def preview(self) -> pl.DataFrame | None:
        """The parsed rows with their file row number first (rejected cells are blank)."""
        if self.rows is None:
            return None
        return self.rows.rename({ROW: "file_row"})

    @property
    def storable(self) -> bool:
        """True when the file is valid, new, and has rows."""
        return (
            self.report.ok
            and self.duplicate_of is None
            and self.rows is not None
            and self.rows.height > 0
        )


@dataclass(frozen=True)
class IngestResult:
    """The outcome of storing a file: the new batch (None when nothing was written)."""

    report: ValidationReport
    batch: Batch | None = None
    duplicate_of: Batch | None = None

    @property
    def stored(self) -> bool:
        """Whether a new batch was written."""
        return self.batch is not None


class StoreUnavailable(Exception):
    """The store file cannot be opened (e.g. another process holds it read-write)."""


_CONNECTIONS: dict[Path, duckdb.DuckDBPyConnection] = {}
_REGISTRY_LOCK = threading.Lock()
_WRITE_LOCKS: dict[Path, threading.Lock] = {}
#: Committed write transactions per store file in this process, and the last generation read
#: (with the count it was read at): `Store.generation` asks the file again only after a write.
_WRITES: dict[Path, int] = {}
_GENERATIONS: dict[Path, tuple[int, str]] = {}


def open_store(
    path: Path | str | None = None, *, seed: bool = True, bundled_dir: Path | None = None
) -> Store:
    """Open the store at `path`, shared within the process (created and seeded on first use).

    The first opening in a process creates missing tables and stores the bundled tables
    (again, as new batches, when their files changed). Later calls return the same connection.
    """
    resolved = resolve_store_path(path).resolve()
    with _REGISTRY_LOCK:
        connection = _CONNECTIONS.get(resolved)
        fresh = connection is None
        if connection is None:
            resolved.parent.mkdir(parents=True, exist_ok=True)
            try:
                connection = duckdb.connect(str(resolved))
            except duckdb.Error as error:
                raise StoreUnavailable(
                    f"The store {resolved} cannot be opened ({error}). Another program (the "
                    "app, or another command) may be using it; only one may write to it at "
                    "a time."
                ) from error
            _CONNECTIONS[resolved] = connection
            _WRITE_LOCKS[resolved] = threading.Lock()
    store = Store(resolved, connection, _WRITE_LOCKS[resolved])
    if fresh:
        store.create()
        if seed:
            store.seed_bundled(bundled_dir if bundled_dir is not None else BUNDLED_DATA_DIR)
    return store


def is_open(path: Path | str) -> bool:
    """Whether this process already holds the store at `path` open."""
    with _REGISTRY_LOCK:
        return Path(path).resolve() in _CONNECTIONS


def _fetch(
    cursor: duckdb.DuckDBPyConnection, sql: str, params: Any = None
) -> list[tuple[Any, ...]]:
    """Run one statement and consume its result (DuckDB wants every result consumed)."""
    return (
        cursor.execute(sql, params).fetchall()
        if params is not None
        else cursor.execute(sql).fetchall()
    )


def file_sha256(data: bytes) -> str:
    """The sha256 of a file's bytes (hex)."""
    return hashlib.sha256(data).hexdigest()


class Store:
    """An open store: batches, their rows, and the retraction log (see `open_store`)."""

    def __init__(self, path: Path, connection: duckdb.DuckDBPyConnection, lock: threading.Lock):
        self.path = path
        self._connection = connection
        self._write_lock = lock

    # --- plumbing ----------------------------------------------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        return self._connection.cursor()

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction (all or nothing), one writer at a time in this process."""
        with self._write_lock, self._locked_transaction() as cursor:
            yield cursor

    @contextmanager
    def _locked_transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction, the write lock already held by the caller."""
        cursor = self._cursor()
        try:
            _fetch(cursor, "BEGIN TRANSACTION")
            try:
                yield cursor
            except BaseException:
                _fetch(cursor, "ROLLBACK")
                raise
            _fetch(cursor, "COMMIT")
            # Counted after the commit: a generation read before it is read again.
            _WRITES[self.path] = _WRITES.get(self.path, 0) + 1
        finally:
            cursor.close()

    def close(self) -> None:
        """Close this process's connection to the store file (for every `Store` sharing it)."""
        with _REGISTRY_LOCK:
            connection = _CONNECTIONS.pop(self.path, None)
            _WRITE_LOCKS.pop(self.path, None)
            _GENERATIONS.pop(self.path, None)
        if connection is not None:
            connection.close()

    def create(self) -> None:
        """Create the store's tables when they do not exist yet."""
        with self._transaction() as cursor:
            _fetch(
                cursor,
                "CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
            )
            _fetch(cursor, "CREATE SEQUENCE IF NOT EXISTS store_batch_ids START 1")
            _fetch(cursor, "CREATE SEQUENCE IF NOT EXISTS store_retraction_ids START 1")
            _fetch(
                cursor,
                """CREATE TABLE IF NOT EXISTS store_batches (
                    batch_id BIGINT PRIMARY KEY, sha256 VARCHAR NOT NULL, center VARCHAR NOT NULL,
                    table_name VARCHAR NOT NULL, file_name VARCHAR NOT NULL, rows BIGINT NOT NULL,
                    ingested_at TIMESTAMPTZ NOT NULL, validator_version VARCHAR NOT NULL,
                    origin VARCHAR NOT NULL)""",
            )
            _fetch(
                cursor,
                """CREATE TABLE IF NOT EXISTS store_retractions (
                    retraction_id BIGINT NOT NULL, batch_id BIGINT NOT NULL,
                    retracted BOOLEAN NOT NULL, logged_at TIMESTAMPTZ NOT NULL, reason VARCHAR)""",
            )
            _fetch(
                cursor,
                """CREATE OR REPLACE VIEW store_batch_status AS
                    SELECT b.*, coalesce(r.retracted, false) AS retracted
                    FROM store_batches b LEFT JOIN (
                        SELECT batch_id, arg_max(retracted, retraction_id) AS retracted
                        FROM store_retractions GROUP BY batch_id) r USING (batch_id)""",
            )
            for table in TABLE_ORDER:
                columns = ", ".join(
                    f'"{c.name}" {_SQL_TYPES[c.kind]}' for c in TABLES[table].columns
                )
                _fetch(
                    cursor,
                    f"CREATE TABLE IF NOT EXISTS {store_table(table)} (_batch_id BIGINT NOT NULL, "
                    f"_center VARCHAR NOT NULL, _row BIGINT NOT NULL, {columns})",
                )
                # A store created under an earlier contract gains the optional columns added since.
                stored = _fetch(
                    cursor,
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                    [store_table(table)],
                )
                for c in TABLES[table].columns:
                    if (c.name,) not in stored:
                        _fetch(
                            cursor,
                            f'ALTER TABLE {store_table(table)} ADD COLUMN "{c.name}" '
                            f"{_SQL_TYPES[c.kind]}",
                        )
            _fetch(
                cursor,
                "INSERT OR IGNORE INTO store_meta VALUES ('store_version', ?), "
                "('contract_version', '1')",
                [STORE_VERSION],
            )

    # --- batches ------------------------------------------------------------------------------

    def batches(self, *, include_retracted: bool = True) -> tuple[Batch, ...]:
        """Every batch, oldest first."""
        cursor = self._cursor()
        try:
            rows = _fetch(
                cursor,
                "SELECT batch_id, sha256, center, table_name, file_name, rows, ingested_at, "
                "validator_version, origin, retracted FROM store_batch_status ORDER BY batch_id",
            )
        finally:
            cursor.close()
        batches = tuple(Batch(*row) for row in rows)
        return batches if include_retracted else tuple(b for b in batches if not b.retracted)

    def generation(self) -> str:
        """A key that changes whenever a batch is stored, retracted or restored.

        Batches and retractions are only ever appended, so their counts and largest ids say
        whether anything changed. The app asks on every rerun: the answer is read from the file
        once, and again only after a write through this process (the only one that can write
        to the file while it is open here).
        """
        writes = _WRITES.get(self.path, 0)
        known = _GENERATIONS.get(self.path)
        if known is not None and known[0] == writes:
            return known[1]
        cursor = self._cursor()
        try:
            (row,) = _fetch(
                cursor,
                "SELECT (SELECT count(*) FROM store_batches), (SELECT max(batch_id) FROM "
                "store_batches), (SELECT count(*) FROM store_retractions), "
                "(SELECT max(retraction_id) FROM store_retractions)",
            )
        finally:
            cursor.close()
        generation = ":".join("-" if value is None else str(value) for value in row)
        _GENERATIONS[self.path] = (writes, generation)
        return generation

    def batch(self, batch_id: int) -> Batch | None:
        """The batch with this id (None when there is none)."""
        return next((b for b in self.batches() if b.batch_id == batch_id), None)

    def batches_frame(self) -> pl.DataFrame:
        """The batches as a table, for display."""
        cursor = self._cursor()
        try:
            return cursor.sql(
                "SELECT batch_id, table_name AS table, center, file_name, rows, origin, retracted, "
                "ingested_at, validator_version, sha256 FROM store_batch_status ORDER BY batch_id"
            ).pl()
        finally:
            cursor.close()

    def set_retracted(
        self, batch_id: int, retracted: bool = True, reason: str = ""
    ) -> Batch | None:
        """Retract (or restore) a batch by appending to the retraction log; None if unknown."""
        with self._transaction() as cursor:
            if not _fetch(cursor, "SELECT 1 FROM store_batches WHERE batch_id = ?", [batch_id]):
                return None
            _fetch(
                cursor,
                _LOG_RETRACTION,
                [batch_id, retracted, reason],
            )
        return self.batch(batch_id)

    def retract(self, batch_id: int, reason: str = "") -> Batch | None:
        """Retract a batch: its rows stop being used, but stay recorded (reversible)."""
        return self.set_retracted(batch_id, True, reason)

    def restore(self, batch_id: int, reason: str = "") -> Batch | None:
        """Undo a retraction."""
        return self.set_retracted(batch_id, False, reason)

    # --- seeding ------------------------------------------------------------------------------

    def seed_bundled(self, folder: Path) -> None:
        """Store the bundled tables as batches, replacing (retracting) outdated bundled batches."""
        if not folder.is_dir():
            return
        files, _ = find_table_files(folder)
        if not files:
            return
        wanted = {(table, file_sha256(path.read_bytes())) for table, path in files.items()}
        active = {
            (b.table, b.sha256)
            for b in self.batches(include_retracted=False)
            if b.origin == BUNDLED
        }
        if wanted == active:
            return
        loaded = load_folder(folder, name=BUNDLED_NAME, reconstructed=True)
        if loaded.dataset is None:
            return
        shas = dict(wanted)
        with self._transaction() as cursor:
            for old in self.batches(include_retracted=False):
                if old.origin == BUNDLED:
                    _fetch(
                        cursor,
                        _LOG_RETRACTION,
                        [old.batch_id, True, "superseded by updated bundled data"],
                    )
            for table in TABLE_ORDER:
                if table not in loaded.dataset.tables:
                    continue
                centers = _bundled_centers(loaded.dataset, table).get_column("__center")
                frame = loaded.dataset.tables[table].with_columns(
                    centers, pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias(ROW)
                )
                for (center,), part in frame.group_by("__center", maintain_order=True):
                    self._write_batch(
                        cursor,
                        part.drop("__center"),
                        table=table,
                        center=str(center),
                        sha256=shas[table],
                        file_name=str(files[table].relative_to(folder)),
                        origin=BUNDLED,
                    )

    def _write_batch(
        self,
        cursor: duckdb.DuckDBPyConnection,
        frame: pl.DataFrame,
        *,
        table: str,
        center: str,
        sha256: str,
        file_name: str,
        origin: str,
    ) -> int:
        """Append one batch and its rows inside the caller's transaction; its id."""
        (batch_id,) = _fetch(cursor, "SELECT nextval('store_batch_ids')")[0]
        _fetch(
            cursor,
            "INSERT INTO store_batches VALUES (?, ?, ?, ?, ?, ?, now(), ?, ?)",
            [batch_id, sha256, center, table, file_name, frame.height, VALIDATOR_VERSION, origin],
        )
        incoming = frame.select(
            pl.lit(batch_id, pl.Int64).alias("_batch_id"),
            pl.lit(center, pl.String).alias("_center"),
            pl.col(ROW).cast(pl.Int64).alias("_row"),
            *TABLES[table].column_names,
        )
        name = f"incoming_{batch_id}"
        cursor.register(name, incoming.to_arrow())
        try:
            _fetch(cursor, f"INSERT INTO {store_table(table)} BY NAME SELECT * FROM {name}")  # noqa: S608
        finally:
            cursor.unregister(name)
        return int(batch_id)

    # --- uploads ------------------------------------------------------------------------------

    def _active_rows(self, table: str, center: str, columns: list[str]) -> pl.DataFrame:
        """Active uploaded rows of `table` for `center` (bundled rows stand apart)."""
        cols = ", ".join(f'd."{c}"' for c in columns)
        cursor = self._cursor()
        try:
            return cursor.sql(
                f"SELECT d._batch_id, {cols} FROM {store_table(table)} d "  # noqa: S608
                "JOIN store_batch_status b ON d._batch_id = b.batch_id "
                "WHERE NOT b.retracted AND b.origin = 'upload' AND d._center = $center",
                params={"center": center},
            ).pl()
        finally:
            cursor.close()

    def check_upload(
        self,
        data: bytes,
        file_name: str,
        table: str,
        center: str,
        *,
        cap_ages: bool = False,
        max_bytes: int = MAX_FILE_BYTES,
    ) -> UploadCheck:
        """Validate a file for storing, against the contract and the store (writes nothing)."""
        sha = file_sha256(data)
        table = table.strip().lower()
        center = center.strip()
        if table not in TABLES:
            return _refuse(
                table,
                center,
                sha,
                file_name,
                Rule.WRONG_FORMAT,
                f"'{table}' is not a contract table. Choose one of: {', '.join(TABLE_ORDER)}.",
            )
        if not _CENTER_PATTERN.fullmatch(center):
            return _refuse(
                table,
                center,
                sha,
                file_name,
                Rule.BAD_CENTER,
                f"'{center}' is not a usable center pseudonym. Use 1 to 32 letters, digits, '-' "
                "or '_' (for example C07), never the hospital's name.",
            )
        for earlier in self.batches():
            if earlier.sha256 != sha or earlier.table != table or earlier.origin != UPLOAD:
                continue
            if earlier.center != center:
                return _refuse(
                    table,
                    center,
                    sha,
                    file_name,
                    Rule.ALREADY_STORED,
                    f"This exact file is already stored as batch {earlier.batch_id} for center "
                    f"{earlier.center}. A file belongs to one center; retract that batch first if "
                    "the center was wrong.",
                )
            if earlier.retracted:
                return _refuse(
                    table,
                    center,
                    sha,
                    file_name,
                    Rule.ALREADY_STORED,
                    f"This exact file was stored as batch {earlier.batch_id} and later retracted. "
                    f"To use it again, restore batch {earlier.batch_id} instead of uploading it.",
                )
            notice = (
                f"{file_name}: this exact file is already stored as batch {earlier.batch_id} "
                f"({earlier.rows} rows, center {earlier.center}); nothing was added."
            )
            return UploadCheck(ValidationReport((), (notice,)), table, center, sha, None, earlier)
        read = read_table_bytes(data, file_name, table, max_bytes=max_bytes)
        try:
            parsed_tables, problems, notices = parse_reads({table: read}, cap_ages=cap_ages)
        except Exception as error:  # a user's file must end as a report, never a traceback
            return _refuse(
                table, center, sha, file_name, Rule.UNREADABLE,
                f"The file could not be checked ({type(error).__name__}). Export it again as "
                "CSV (UTF-8, comma-separated) and retry.",
            )  # fmt: skip
        parsed = parsed_tables.get(table)
        if parsed is None:
            return UploadCheck(
                ValidationReport(tuple(problems), tuple(notices)), table, center, sha
            )
        parsed, center_problems = _apply_center(parsed, center)
        problems += center_problems
        problems += self._store_problems(parsed, center)
        # The preview never shows a rejected (possibly identifying) value.
        rows = clear_cells(parsed.frame, problems)
        if not problems:
            notices.append(
                f"{file_name}: {parsed.frame.height} row(s) ready to store for center {center}."
            )
        return UploadCheck(
            ValidationReport(tuple(in_reading_order(problems)), tuple(notices)),
            table,
            center,
            sha,
            rows,
        )

    def _store_problems(self, parsed: ParsedTable, center: str) -> list[Problem]:
        """Conflicts with what the store already holds for this center."""
        contract = TABLES[parsed.table]
        problems: list[Problem] = []
        if contract.parent is None:
            stored = self._active_rows(parsed.table, center, [contract.key])
            clash = parsed.frame.join(stored, on=contract.key).sort(ROW)
            for row, value, batch_id in clash.select(ROW, contract.key, "_batch_id").iter_rows():
                problems.append(
                    parsed.problem(
                        row,
                        contract.key,
                        value,
                        Rule.DUPLICATE_IN_STORE,
                        f"{contract.key} '{value}' is already stored for center {center} (batch "
                        f"{batch_id}). Ids must be unique within a center: retract batch "
                        f"{batch_id} first if this file replaces it, or correct the id.",
                    )
                )
            return problems
        parent, key = contract.parent
        parent_ids = self._active_rows(parent, center, [key]).get_column(key)
        problems += check_references(parsed, parent_ids, f"the stored {parent} of center {center}")
        if parsed.table == "responses":
            stored = self._active_rows("responses", center, [key, "timepoint"])
            clash = parsed.frame.join(stored, on=[key, "timepoint"]).sort(ROW)
            for row, patient, timepoint, batch_id in clash.select(
                ROW, key, "timepoint", "_batch_id"
            ).iter_rows():
                problems.append(
                    parsed.problem(
                        row,
                        "timepoint",
                        timepoint,
                        Rule.DUPLICATE_ASSESSMENT,
                        f"patient '{patient}' already has an assessment at {timepoint} for center "
                        f"{center} (batch {batch_id}). Keep one row per patient and timepoint.",
                    )
                )
        return problems

    def ingest_bytes(
        self,
        data: bytes,
        file_name: str,
        table: str,
        center: str,
        *,
        cap_ages: bool = False,
        max_bytes: int = MAX_FILE_BYTES,
    ) -> IngestResult:
        """Validate, and only if the whole file is valid store it as one batch (one transaction)."""
        with self._write_lock:
            check = self.check_upload(
                data, file_name, table, center, cap_ages=cap_ages, max_bytes=max_bytes
            )
            if not check.storable or check.rows is None:
                return IngestResult(check.report, None, check.duplicate_of)
            rows = check.rows
            # The lock is held: the transaction must not take it again.
            with self._locked_transaction() as cursor:
                batch_id = self._write_batch(
                    cursor,
                    rows,
                    table=check.table,
                    center=check.center,
                    sha256=check.sha256,
                    file_name=file_name,
                    origin=UPLOAD,
                )
        batch = self.batch(batch_id)
        notice = (
            f"{file_name}: stored as batch {batch_id} ({rows.height} rows, center {check.center})."
        )
        return IngestResult(check.report.merged(ValidationReport((), (notice,))), batch)

    def ingest_file(
        self,
        path: Path | str,
        table: str,
        center: str,
        *,
        cap_ages: bool = False,
        max_bytes: int = MAX_FILE_BYTES,
    ) -> IngestResult:
        """`ingest_bytes` for a file on disk (never raises for an unreadable file)."""
        path = Path(path)
        try:
            size = path.stat().st_size
            data = path.read_bytes() if size <= max_bytes else b""
        except OSError as error:
            problem = Problem(
                table,
                path.name,
                None,
                None,
                None,
                Rule.UNREADABLE,
                f"The file could not be opened ({error.strerror}).",
            )
            return IngestResult(ValidationReport((problem,)))
        if size > max_bytes:
            # Refused before reading, with the same wording as an oversized upload.
            return IngestResult(
                ValidationReport(too_large(table, path.name, size, max_bytes).problems)
            )
        return self.ingest_bytes(
            data, path.name, table, center, cap_ages=cap_ages, max_bytes=max_bytes
        )

    # --- loading ------------------------------------------------------------------------------

    def load_dataset(self, which: Which = "bundled") -> LoadResult:
        """The bundled batches, the pooled uploads, or both, as one dataset."""
        origins = {"bundled": (BUNDLED,), "pooled": (UPLOAD,), "both": (BUNDLED, UPLOAD)}[which]
        tables: dict[str, pl.DataFrame] = {}
        notices: list[str] = []
        cursor = self._cursor()
        try:
            for table in TABLE_ORDER:
                frame = cursor.sql(_load_query(table), params={"origins": list(origins)}).pl()
                if frame.height:
                    tables[table] = frame.cast(
                        {c.name: polars_type(c.kind) for c in TABLES[table].columns}
                    )
        finally:
            cursor.close()
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
                "No uploads are stored yet."
                if which == "pooled"
                else "The store holds no data yet."
            )
            return LoadResult(None, ValidationReport((), tuple(notices)))
        reconstructed = which != "pooled"
        if reconstructed:
            notices.append(f"{BUNDLED_NAME}: {RECONSTRUCTED_NOTICE}")
        dataset = Dataset(
            name=DATASET_NAMES[which],
            tables=tables,
            source=f"store {self.path} ({which})",
            reconstructed=reconstructed,
        )
        return LoadResult(dataset, ValidationReport((), tuple(notices)))


def _load_query(table: str) -> str:
    """Active rows of `table`: contract columns in contract order, uploaded ids center-prefixed.

    Bundled rows keep their file order; uploads follow in an order that does not depend on the
    order of uploading (center, file hash, file row), so the dataset's fingerprint does not either.
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
        f"SELECT {', '.join(columns)} FROM {store_table(table)} d "  # noqa: S608
        "JOIN store_batch_status b ON d._batch_id = b.batch_id "
        "WHERE NOT b.retracted AND list_contains($origins, b.origin) "
        f"ORDER BY b.origin = '{UPLOAD}', CASE WHEN b.origin = '{UPLOAD}' THEN d._center "
        "ELSE '' END, b.sha256, d._row"
    )


def _apply_center(parsed: ParsedTable, center: str) -> tuple[ParsedTable, list[Problem]]:
    """Fill the `center` column with the upload's center; values naming another center are wrong."""
    if "center" not in TABLES[parsed.table].by_name:
        return parsed, []
    frame = parsed.frame
    other = frame.filter(pl.col("center").is_not_null() & (pl.col("center") != center))
    problems = [
        parsed.problem(
            row,
            "center",
            value,
            Rule.CENTER_MISMATCH,
            f"This row names center '{value}' but the file is being stored for center "
            f"'{center}'. Upload each center's rows under its own pseudonym, or correct the "
            "center.",
        )
        for row, value in other.select(ROW, "center").iter_rows()
    ]
    frame = frame.with_columns(pl.lit(center, pl.String).alias("center"))
    return replace(parsed, frame=frame, present=parsed.present | {"center"}), problems


def _refuse(
    table: str, center: str, sha: str, file_name: str, rule: str, message: str
) -> UploadCheck:
    problem = Problem(table, file_name, None, None, None, rule, message)
    return UploadCheck(ValidationReport((problem,)), table, center, sha)


def _bundled_centers(dataset: Dataset, table: str) -> pl.DataFrame:
    """(key, center) of every row of a bundled table; child rows inherit their parent's center."""
    contract = TABLES[table]
    frame = dataset.tables[table]
    if contract.parent is None:
        return frame.select(contract.key, pl.col("center").fill_null(BUNDLED).alias("__center"))
    parent, key = contract.parent
    if parent not in dataset.tables:
        return frame.select(key, pl.lit(BUNDLED).alias("__center"))
    centers = _bundled_centers(dataset, parent).unique(key, keep="first")
    return (
        frame.select(key)
        .join(centers, on=key, how="left", maintain_order="left")
        .select(key, pl.col("__center").fill_null(BUNDLED))
    )
