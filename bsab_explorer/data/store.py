"""The store: append-only batches of validated rows, keyed by (center, id), in a DuckDB file
(the default) or, when the store is a ``postgresql://`` URL, in a shared PostgreSQL (`pgstore`).

Every upload is one batch, written in one transaction (all rows or none). Nothing is ever
deleted: a batch is retracted by appending a retraction record, and restored the same way. The
bundled data are the store's first batches (one per table and center). The file is opened for
one operation at a time and checked before it is read or written (`storefile`), so the command
line can read it beside the running app and a damaged file is never written to. The rules a
file must pass to be stored are in `upload`.

`Store` is what both backends promise (and the shared half of their work); `FileStore` is the
DuckDB file. The module passes 500 lines because the two belong together: the base class reads
only through the methods the file store defines beside it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import polars as pl

from bsab_explorer.data import storefile
from bsab_explorer.data.fingerprints import memo_key
from bsab_explorer.data.ingest import MAX_FILE_BYTES, too_large
from bsab_explorer.data.loading import (
    BUNDLED_DATA_DIR,
    BUNDLED_NAME,
    DATASET_NAMES,
    TABLE_ORDER,
    LoadResult,
    Progress,
    Selection,
    Which,
    find_table_files,
    load_folder,
    read_stored,
)
from bsab_explorer.data.storefile import (
    BUNDLED,
    POOLED_ID_SEPARATOR,
    STORE_TABLES,
    UPLOAD,
    AccessEntry,
    Action,
    Batch,
    StoreDamaged,
    StoreUnavailable,
    append_access,
    batch_target,
    create_tables,
    fetch,
    read_access_log,
    read_batches,
    read_batches_frame,
    read_generation,
    read_meta,
    remember,
    store_table,
)
from bsab_explorer.data.upload import UploadCheck, base_name, check_upload
from bsab_explorer.data.validation import ROW, VALIDATOR_VERSION, Problem, Rule, ValidationReport
from bsab_explorer.dataset import Dataset
from bsab_explorer.schema import TABLES

if TYPE_CHECKING:
    import duckdb  # imported where a DuckDB file is opened: reading Parquet needs none

__all__ = [
    "BUNDLED",
    "DATASET_NAMES",
    "DEFAULT_STORE_PATH",
    "POOLED_ID_SEPARATOR",
    "STORE_ENV",
    "UPLOAD",
    "AccessEntry",
    "Action",
    "Batch",
    "FileStore",
    "IngestResult",
    "Store",
    "StoreDamaged",
    "StoreUnavailable",
    "UploadCheck",
    "Which",
    "file_sha256",
    "is_open",
    "is_store_url",
    "mask_url",
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


def resolve_store_path(path: Path | str | None = None) -> Path | str:
    """The store: `path`, else $BSAB_EXPLORER_STORE, else data/bsab-explorer.duckdb.

    A ``postgresql://`` URL stays a string (the PostgreSQL store); anything else is a file.
    """
    if path is None:
        path = os.environ.get(STORE_ENV) or DEFAULT_STORE_PATH
    if isinstance(path, str) and is_store_url(path):
        return path
    return Path(path)


def is_store_url(text: str) -> bool:
    """Whether `text` names a PostgreSQL store rather than a file."""
    return text.startswith(("postgresql://", "postgres://"))


def mask_url(url: str) -> str:
    """The URL with its password (in the address or as a parameter) replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":***"
        netloc = f"{user}@{host}"
    query = urlencode(
        [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)], safe="*"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


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


_OPEN: dict[Path | str, Store] = {}
_REGISTRY_LOCK = threading.Lock()


def open_store(
    path: Path | str | None = None, *, seed: bool = True, bundled_dir: Path | None = None
) -> Store:
    """The store at `path` (a file or a ``postgresql://`` URL), shared within the process
    (created and seeded on first use).

    The first opening in a process checks the file (`StoreDamaged` when it is damaged), creates
    missing tables and stores the bundled tables (again, as new batches, when their files
    changed); a store that needs neither is only read. Later calls return the same `Store`; a
    PostgreSQL store is known by its URL with the password masked (`Store.path`).
    """
    location = resolve_store_path(path)
    key: Path | str = mask_url(location) if isinstance(location, str) else location.resolve()
    with _REGISTRY_LOCK:
        store = _OPEN.get(key)
        if store is not None:
            return store
        if isinstance(location, str):
            from bsab_explorer.data.pgstore import PgStore  # psycopg only when it is used

            store = PgStore(location)
            store.create()
        else:
            store = FileStore(location.resolve())
            location.resolve().parent.mkdir(parents=True, exist_ok=True)
            if not location.resolve().exists() or not store.complete():
                store.create()
        if seed:
            store.seed_bundled(bundled_dir if bundled_dir is not None else BUNDLED_DATA_DIR)
        _OPEN[key] = store
    return store


def is_open(path: Path | str) -> bool:
    """Whether this process has opened the store at `path` (`open_store`) and not closed it."""
    location = resolve_store_path(path)
    key = mask_url(location) if isinstance(location, str) else location.resolve()
    with _REGISTRY_LOCK:
        return key in _OPEN


def file_sha256(data: bytes) -> str:
    """The sha256 of a file's bytes (hex)."""
    return hashlib.sha256(data).hexdigest()


class Store(ABC):
    """What every store offers: batches, their rows and the retraction log (`open_store`).

    `FileStore` keeps them in a DuckDB file, `pgstore.PgStore` in PostgreSQL. Both read through
    a DuckDB connection (`reading`), so the upload rules and the loading queries are one code.
    """

    #: The file, or the PostgreSQL URL with its password masked: shown, and the registry's key.
    path: Path | str

    @abstractmethod
    def reading(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A read-only DuckDB connection to the store's tables, for one operation."""

    @abstractmethod
    def _read_once(self, what: str, read: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`read` from the store, again only once the store changed."""

    @abstractmethod
    def complete(self) -> bool:
        """Whether the store has every table."""

    @abstractmethod
    def create(self) -> None:
        """Create the store's tables when they do not exist yet."""

    @abstractmethod
    def generation(self) -> str:
        """A key that changes whenever a batch is stored, retracted or restored."""

    @abstractmethod
    def set_retracted(
        self, batch_id: int, retracted: bool = True, reason: str = "", *, user: str | None = None
    ) -> Batch | None:
        """Retract (or restore) a batch by appending to the retraction log; None if unknown.

        With `user`, the access log's entry is written in the same transaction (`_log_batch`).
        """

    @abstractmethod
    def seed_bundled(self, folder: Path) -> None:
        """Store the bundled tables as batches, replacing (retracting) outdated bundled batches."""

    def ingest_bytes(
        self,
        data: bytes,
        file_name: str,
        table: str,
        center: str,
        *,
        cap_ages: bool = False,
        max_bytes: int = MAX_FILE_BYTES,
        user: str | None = None,
    ) -> IngestResult:
        """Validate, and only if the whole file is valid store it as one batch (one transaction).

        The checks read the store inside the write transaction: no other writer, in this
        process or another, can store a clashing batch between the check and the write. With
        `user`, the access log's upload entry is written in that transaction too: no batch
        without its entry, no entry without its batch.
        """
        name = base_name(file_name)
        with self._upload_transaction() as (cursor, writer):
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
                writer,
                rows,
                table=check.table,
                center=check.center,
                sha256=check.sha256,
                file_name=name,
                origin=UPLOAD,
            )
            if user is not None:
                self._log_batch(
                    writer, user, Action.UPLOAD, batch_id, check.table, check.center, check.sha256
                )
        batch = self.batch(batch_id)
        notice = f"{name}: stored as batch {batch_id} ({rows.height} rows, center {check.center})."
        return IngestResult(check.report.merged(ValidationReport((), (notice,))), batch)

    @abstractmethod
    def _upload_transaction(self) -> AbstractContextManager[tuple[duckdb.DuckDBPyConnection, Any]]:
        """One write transaction for an upload, the store's other writers waiting: a cursor the
        upload rules read the store with, and the connection `_write_batch` writes with."""

    @abstractmethod
    def _write_batch(
        self,
        connection: Any,
        frame: pl.DataFrame,
        *,
        table: str,
        center: str,
        sha256: str,
        file_name: str,
        origin: str,
    ) -> int:
        """Append one batch and its rows inside the caller's transaction; its id."""

    @abstractmethod
    def _append_access(
        self, writer: Any, user: str, action: str, target: str, fingerprint: str
    ) -> None:
        """Append an access log entry inside the caller's write transaction (`writer`)."""

    def _log_batch(
        self,
        writer: Any,
        user: str,
        action: Action,
        batch_id: int,
        table: str,
        center: str,
        sha256: str,
    ) -> None:
        """Log `user`'s `action` on a batch inside the transaction that changes the batch."""
        self._append_access(writer, user, action, batch_target(batch_id, table, center), sha256)

    @abstractmethod
    def record_access(self, user: str, action: str, target: str, fingerprint: str = "") -> None:
        """Append who did what to which batch or export (`data.access` says what is recorded)."""

    @abstractmethod
    def access_log(self) -> tuple[AccessEntry, ...]:
        """Every access log entry, oldest first."""

    def close(self) -> None:
        """Forget this process's opening of the store ."""
        with _REGISTRY_LOCK:
            if _OPEN.get(self.path) is self:
                del _OPEN[self.path]

    def batches(self, *, include_retracted: bool = True) -> tuple[Batch, ...]:
        """Every batch, oldest first."""
        batches = self._read_once("batches", read_batches)
        return batches if include_retracted else tuple(b for b in batches if not b.retracted)

    def batch(self, batch_id: int) -> Batch | None:
        """The batch with this id (None when there is none)."""
        return next((b for b in self.batches() if b.batch_id == batch_id), None)

    def batches_frame(self) -> pl.DataFrame:
        """The batches as a table, for display."""
        return self._read_once("batches_frame", read_batches_frame)

    def retract(self, batch_id: int, reason: str = "", *, user: str | None = None) -> Batch | None:
        """Retract a batch: its rows stop being used, but stay recorded (reversible)."""
        return self.set_retracted(batch_id, True, reason, user=user)

    def restore(self, batch_id: int, reason: str = "", *, user: str | None = None) -> Batch | None:
        """Undo a retraction."""
        return self.set_retracted(batch_id, False, reason, user=user)

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

    def ingest_file(
        self,
        path: Path | str,
        table: str,
        center: str,
        *,
        cap_ages: bool = False,
        max_bytes: int = MAX_FILE_BYTES,
        user: str | None = None,
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
            data, path.name, table, center, cap_ages=cap_ages, max_bytes=max_bytes, user=user
        )

    # --- loading ------------------------------------------------------------------------------

    @abstractmethod
    def load_dataset(
        self,
        which: Which = "bundled",
        *,
        progress: Progress | None = None,
        selection: Selection | None = None,
    ) -> LoadResult:
        """The bundled batches, the pooled uploads, or both, as one dataset (`progress`, when
        given, is told how far the load is; `selection` narrows it to some tables and columns:
        `read_stored`)."""


class FileStore(Store):
    """The DuckDB store file (opened for one operation at a time, see `storefile`)."""

    path: Path

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

    def generation(self) -> str:
        """A key that changes whenever a batch is stored, retracted or restored.

        Batches and retractions are only ever appended, so their counts and largest ids say
        whether anything changed. The app asks on every rerun: the answer is read from the file
        again only when the file changed on disk (a write by this or another process) or this
        `Store` wrote.
        """
        return self._read_once("generation", read_generation)

    def set_retracted(
        self, batch_id: int, retracted: bool = True, reason: str = "", *, user: str | None = None
    ) -> Batch | None:
        """Retract (or restore) a batch by appending to the retraction log; None if unknown."""
        with self._transaction() as cursor:
            found = fetch(
                cursor,
                "SELECT table_name, center, sha256 FROM store_batches WHERE batch_id = ?",
                [batch_id],
            )
            if not found:
                return None
            fetch(
                cursor,
                _LOG_RETRACTION,
                [batch_id, retracted, reason],
            )
            if user is not None:
                action = Action.RETRACT if retracted else Action.RESTORE
                self._log_batch(cursor, user, action, batch_id, *found[0])
        return self.batch(batch_id)

    # --- seeding ------------------------------------------------------------------------------

    def seed_bundled(self, folder: Path) -> None:
        """Store the bundled tables as batches, replacing (retracting) outdated bundled batches."""
        bundle = BundledFiles.find(folder)
        if bundle is None or bundle.stored_in(self.batches(include_retracted=False)):
            return
        parts = bundle.parts()
        if parts is None:
            return
        with self._transaction() as cursor:
            for old in read_batches(cursor):
                if old.retracted:
                    continue
                if old.origin == BUNDLED:
                    fetch(
                        cursor,
                        _LOG_RETRACTION,
                        [old.batch_id, True, SUPERSEDED],
                    )
            for part in parts:
                self._write_batch(cursor, part.rows, origin=BUNDLED, **part.describe())

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

    # --- loading ------------------------------------------------------------------------------

    def load_dataset(
        self,
        which: Which = "bundled",
        *,
        progress: Progress | None = None,
        selection: Selection | None = None,
    ) -> LoadResult:
        """The bundled batches, the pooled uploads, or both, as one dataset.

        The fingerprint comes from the store's memo when it fits; otherwise it is computed and
        kept in the file for the next load (`fingerprints`). A `selection` reads some tables and
        columns only. The file is checked where the load reads it (`storefile.reading`).
        """
        with storefile.reading(self.path, verify=False) as connection:
            stored = read_stored(
                connection,
                which,
                self.path,
                read_meta(connection, which),
                progress=progress,
                selection=selection,
            )
        if stored.memo is not None:
            remember(self.path, memo_key(which), stored.memo.encode())
        return stored.result

    # --- uploads ------------------------------------------------------------------------------

    @contextmanager
    def _upload_transaction(
        self,
    ) -> Iterator[tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection]]:
        with self._write_lock, self._locked_transaction() as cursor:
            yield cursor, cursor

    # --- access log ---------------------------------------------------------------------------

    def _append_access(
        self,
        writer: duckdb.DuckDBPyConnection,
        user: str,
        action: str,
        target: str,
        fingerprint: str,
    ) -> None:
        append_access(writer, user, action, target, fingerprint)

    def record_access(self, user: str, action: str, target: str, fingerprint: str = "") -> None:
        """Append who did what to which batch or export (`data.access` says what is recorded)."""
        with self._transaction() as cursor:
            self._append_access(cursor, user, action, target, fingerprint)

    def access_log(self) -> tuple[AccessEntry, ...]:
        """Every access log entry, oldest first."""
        with self.reading() as connection:
            return read_access_log(connection)


#: Why a bundled batch was retracted by seeding.
SUPERSEDED = "superseded by updated bundled data"


@dataclass(frozen=True)
class BundledPart:
    """One center's rows of one bundled table: one batch."""

    table: str
    center: str
    sha256: str
    file_name: str
    rows: pl.DataFrame

    def describe(self) -> dict[str, str]:
        """The batch's description (everything but its rows and origin)."""
        return {
            "table": self.table,
            "center": self.center,
            "sha256": self.sha256,
            "file_name": self.file_name,
        }


@dataclass(frozen=True)
class BundledFiles:
    """The bundled tables' files and their hashes (the batches seeding wants active)."""

    folder: Path
    files: dict[str, Path]
    wanted: frozenset[tuple[str, str]]

    @classmethod
    def find(cls, folder: Path) -> BundledFiles | None:
        """The bundled files in `folder` (None when there are none)."""
        if not folder.is_dir():
            return None
        files, _ = find_table_files(folder)
        if not files:
            return None
        wanted = frozenset((t, file_sha256(path.read_bytes())) for t, path in files.items())
        return cls(folder, files, wanted)

    def stored_in(self, active: tuple[Batch, ...]) -> bool:
        """Whether the active `batches` are exactly these files."""
        return self.wanted == {(b.table, b.sha256) for b in active if b.origin == BUNDLED}

    def parts(self) -> list[BundledPart] | None:
        """The files read and split by center, in table order (None when they do not load)."""
        loaded = load_folder(self.folder, name=BUNDLED_NAME, reconstructed=True)
        if loaded.dataset is None:
            return None
        shas = dict(self.wanted)
        parts = []
        for table in TABLE_ORDER:
            if table not in loaded.dataset.tables:
                continue
            centers = _bundled_centers(loaded.dataset, table).get_column("__center")
            frame = loaded.dataset.tables[table].with_columns(
                centers, pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias(ROW)
            )
            for (center,), part in frame.group_by("__center", maintain_order=True):
                parts.append(
                    BundledPart(
                        table,
                        str(center),
                        shas[table],
                        str(self.files[table].relative_to(self.folder)),
                        part.drop("__center"),
                    )
                )
        return parts


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
