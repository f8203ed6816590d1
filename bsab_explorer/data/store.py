"""The embedded DuckDB store: append-only batches of validated rows, keyed by (center, id).

Every upload is one batch, written in one transaction (all rows or none). Nothing is ever
deleted: a batch is retracted by appending a retraction record, and restored the same way. The
bundled data are the store's first batches (one per table and center). The file is opened for
one operation at a time and checked before it is read or written (`storefile`), so the command
line can read it beside the running app and a damaged file is never written to. The rules a
file must pass to be stored are in `upload`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import duckdb
import polars as pl

from bsab_explorer.data import storefile
from bsab_explorer.data.ingest import MAX_FILE_BYTES, too_large
from bsab_explorer.data.loading import (
    BUNDLED_DATA_DIR,
    BUNDLED_NAME,
    DATASET_NAMES,
    TABLE_ORDER,
    LoadResult,
    Which,
    find_table_files,
    load_folder,
    load_stored,
)
from bsab_explorer.data.storefile import (
    BUNDLED,
    POOLED_ID_SEPARATOR,
    STORE_TABLES,
    UPLOAD,
    AccessEntry,
    Batch,
    StoreDamaged,
    StoreUnavailable,
    append_access,
    create_tables,
    fetch,
    read_access_log,
    read_batches,
    read_batches_frame,
    read_generation,
    store_table,
)
from bsab_explorer.data.upload import UploadCheck, base_name, check_upload
from bsab_explorer.data.validation import ROW, VALIDATOR_VERSION, Problem, Rule, ValidationReport
from bsab_explorer.dataset import Dataset
from bsab_explorer.schema import TABLES

__all__ = [
    "BUNDLED",
    "DATASET_NAMES",
    "DEFAULT_STORE_PATH",
    "POOLED_ID_SEPARATOR",
    "STORE_ENV",
    "UPLOAD",
    "AccessEntry",
    "Batch",
    "IngestResult",
    "Store",
    "StoreDamaged",
    "StoreUnavailable",
    "UploadCheck",
    "Which",
    "file_sha256",
    "is_open",
    "open_store",
    "resolve_store_path",
    "store_table",
]

#: Environment variable naming the store file (overridden by an explicit path or `--store`).
STORE_ENV = "BSAB_EXPLORER_STORE"
DEFAULT_STORE_PATH = BUNDLED_DATA_DIR / "bsab-explorer.duckdb"

T = TypeVar("T")

_LOG_RETRACTION = (
    "INSERT INTO store_retractions VALUES (nextval('store_retraction_ids'), ?, ?, now(), ?)"
)


def resolve_store_path(path: Path | str | None = None) -> Path:
    """The store file: `path`, else $BSAB_EXPLORER_STORE, else data/bsab-explorer.duckdb."""
    if path is not None:
        return Path(path)
    from_env = os.environ.get(STORE_ENV)
    return Path(from_env) if from_env else DEFAULT_STORE_PATH


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


_OPEN: dict[Path, Store] = {}
_REGISTRY_LOCK = threading.Lock()


def open_store(
    path: Path | str | None = None, *, seed: bool = True, bundled_dir: Path | None = None
) -> Store:
    """The store at `path`, shared within the process (created and seeded on first use).

    The first opening in a process checks the file (`StoreDamaged` when it is damaged), creates
    missing tables and stores the bundled tables (again, as new batches, when their files
    changed); a store that needs neither is only read. Later calls return the same `Store`.
    """
    resolved = resolve_store_path(path).resolve()
    with _REGISTRY_LOCK:
        store = _OPEN.get(resolved)
        if store is not None:
            return store
        store = Store(resolved)
        resolved.parent.mkdir(parents=True, exist_ok=True)
        if not resolved.exists() or not store.complete():
            store.create()
        if seed:
            store.seed_bundled(bundled_dir if bundled_dir is not None else BUNDLED_DATA_DIR)
        _OPEN[resolved] = store
    return store


def is_open(path: Path | str) -> bool:
    """Whether this process has opened the store at `path` (`open_store`) and not closed it."""
    with _REGISTRY_LOCK:
        return Path(path).resolve() in _OPEN


def file_sha256(data: bytes) -> str:
    """The sha256 of a file's bytes (hex)."""
    return hashlib.sha256(data).hexdigest()


class Store:
    """A store file: batches, their rows, and the retraction log (see `open_store`)."""

    def __init__(self, path: Path):
        self.path = path
        #: One check-then-write at a time in this process (an ingest's checks see every batch).
        self._write_lock = threading.Lock()
        #: What was last read, with the file's `change_key` at the time (see `_read_once`).
        self._read: dict[str, tuple[tuple[Any, ...], Any]] = {}

    # --- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the file for one operation (checked, then closed)."""
        with storefile.reading(self.path) as connection:
            yield connection

    def _read_once(self, what: str, read: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`read` from the file, again only once the file changed on disk or this `Store` wrote.

        Opening the file costs ~10-30 ms a time; the app asks for the batches and the
        generation on every rerun of a page, so the answer is kept until the file changes.
        """
        key = storefile.change_key(self.path)
        known = self._read.get(what)
        if known is not None and known[0] == key:
            return cast(T, known[1])
        with self.reading() as connection:
            value = read(connection)
        self._read[what] = (key, value)
        return value

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction (all or nothing), one writer at a time in this process."""
        with self._write_lock, self._locked_transaction() as connection:
            yield connection

    @contextmanager
    def _locked_transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction, the write lock already held by the caller."""
        with storefile.writing(self.path) as connection:
            fetch(connection, "BEGIN TRANSACTION")
            try:
                yield connection
            except BaseException:
                fetch(connection, "ROLLBACK")
                raise
            fetch(connection, "COMMIT")
        # A write within the file system's clock tick may leave `change_key` as it was.
        self._read.clear()

    def close(self) -> None:
        """Forget this process's opening of the store (the file itself is never held open)."""
        with _REGISTRY_LOCK:
            if _OPEN.get(self.path) is self:
                del _OPEN[self.path]

    def complete(self) -> bool:
        """Whether the file has every table of a store (read only)."""
        with self.reading() as connection:
            names = {row[0] for row in fetch(connection, "SHOW TABLES")}
        return names >= STORE_TABLES

    def create(self) -> None:
        """Create the store's tables when they do not exist yet."""
        with self._transaction() as cursor:
            create_tables(cursor)

    # --- batches ------------------------------------------------------------------------------

    def batches(self, *, include_retracted: bool = True) -> tuple[Batch, ...]:
        """Every batch, oldest first."""
        batches = self._read_once("batches", read_batches)
        return batches if include_retracted else tuple(b for b in batches if not b.retracted)

    def generation(self) -> str:
        """A key that changes whenever a batch is stored, retracted or restored.

        Batches and retractions are only ever appended, so their counts and largest ids say
        whether anything changed. The app asks on every rerun: the answer is read from the file
        again only when the file changed on disk (a write by this or another process) or this
        `Store` wrote.
        """
        return self._read_once("generation", read_generation)

    def batch(self, batch_id: int) -> Batch | None:
        """The batch with this id (None when there is none)."""
        return next((b for b in self.batches() if b.batch_id == batch_id), None)

    def batches_frame(self) -> pl.DataFrame:
        """The batches as a table, for display."""
        return self._read_once("batches_frame", read_batches_frame)

    def set_retracted(
        self, batch_id: int, retracted: bool = True, reason: str = ""
    ) -> Batch | None:
        """Retract (or restore) a batch by appending to the retraction log; None if unknown."""
        with self._transaction() as cursor:
            if not fetch(cursor, "SELECT 1 FROM store_batches WHERE batch_id = ?", [batch_id]):
                return None
            fetch(
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
            for old in read_batches(cursor):
                if old.retracted:
                    continue
                if old.origin == BUNDLED:
                    fetch(
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
        (batch_id,) = fetch(cursor, "SELECT nextval('store_batch_ids')")[0]
        fetch(
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
            fetch(cursor, f"INSERT INTO {store_table(table)} BY NAME SELECT * FROM {name}")  # noqa: S608
        finally:
            cursor.unregister(name)
        return int(batch_id)

    # --- uploads ------------------------------------------------------------------------------

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
        with self.reading() as connection:
            return check_upload(
                connection,
                data,
                file_name,
                table,
                center,
                file_sha256(data),
                cap_ages=cap_ages,
                max_bytes=max_bytes,
            )

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
        """Validate, and only if the whole file is valid store it as one batch (one transaction).

        The checks read the store inside the write transaction: no other writer, in this
        process or another, can store a clashing batch between the check and the write.
        """
        name = base_name(file_name)
        with self._write_lock, self._locked_transaction() as cursor:
            check = check_upload(
                cursor,
                data,
                name,
                table,
                center,
                file_sha256(data),
                cap_ages=cap_ages,
                max_bytes=max_bytes,
            )
            if not check.storable or check.rows is None:
                return IngestResult(check.report, None, check.duplicate_of)
            rows = check.rows
            batch_id = self._write_batch(
                cursor,
                rows,
                table=check.table,
                center=check.center,
                sha256=check.sha256,
                file_name=name,
                origin=UPLOAD,
            )
        batch = self.batch(batch_id)
        notice = f"{name}: stored as batch {batch_id} ({rows.height} rows, center {check.center})."
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

    # --- access log ---------------------------------------------------------------------------

    def record_access(self, user: str, action: str, target: str, fingerprint: str = "") -> None:
        """Append who did what to which batch or export (`data.access` says what is recorded)."""
        with self._transaction() as cursor:
            append_access(cursor, user, action, target, fingerprint)

    def access_log(self) -> tuple[AccessEntry, ...]:
        """Every access log entry, oldest first."""
        with self.reading() as connection:
            return read_access_log(connection)

    # --- loading ------------------------------------------------------------------------------

    def load_dataset(self, which: Which = "bundled") -> LoadResult:
        """The bundled batches, the pooled uploads, or both, as one dataset."""
        with self.reading() as connection:
            return load_stored(connection, which, self.path)


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
