"""The shared store in PostgreSQL: the same batches, rows and retraction log as the DuckDB file,
in a database that several app processes (and the hospital's backups) share.

Why it looks like this:
- The upload rules (`upload`) and the loading queries (`loading`) are written once, in DuckDB's
  SQL, against a connection. Rather than writing them twice, each process keeps an in-memory
  DuckDB copy of the PostgreSQL tables and reads that; the copy is made again (``COPY ... TO
  STDOUT``, read by Polars) only when the store's generation changed, so a rerun costs one small
  query and the analyses still run in-process on Polars.
- Every write is one PostgreSQL transaction that first takes a transaction-scoped advisory lock:
  one check-then-write at a time across every process, so an ingest's checks see every batch and
  two ingests of one file end as one batch and one duplicate, never an error. A unique index on
  uploads' (table, sha256) and triggers refusing UPDATE, DELETE and TRUNCATE keep the
  guarantees even against a mistaken writer: nothing is ever deleted.
- The URL's password never leaves this module: the store is shown and known by its masked URL.
"""

from __future__ import annotations

import io
import select
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl
import psycopg

from bsab_explorer.data.fingerprints import memo_key
from bsab_explorer.data.loading import LoadResult, Progress, Selection, Which, read_stored
from bsab_explorer.data.store import (
    SUPERSEDED,
    BundledFiles,
    Store,
    StoreUnavailable,
    mask_url,
)
from bsab_explorer.data.storefile import (
    _SQL_TYPES,
    BUNDLED,
    STORE_TABLES,
    STORE_VERSION,
    UPLOAD,
    AccessEntry,
    Action,
    Batch,
    create_tables,
    read_batches,
    store_table,
)
from bsab_explorer.data.validation import ROW, VALIDATOR_VERSION
from bsab_explorer.schema import TABLES

T = TypeVar("T")

#: The advisory lock every writer takes (any number, the same in every process).
WRITE_LOCK = 0x62736162
#: How long a connection attempt waits before the store is called unavailable.
CONNECT_TIMEOUT_S = 5
#: Idle connections kept for the next operation (one per busy thread, at most).
POOL_SIZE = 4
_NULL = r"\N"
_PG_TYPES = {"VARCHAR": "TEXT", "BIGINT": "BIGINT", "DOUBLE": "DOUBLE PRECISION"}
_GENERATION = (
    "SELECT (SELECT count(*) FROM store_batches), (SELECT max(batch_id) FROM store_batches), "
    "(SELECT count(*) FROM store_retractions), (SELECT max(retraction_id) FROM store_retractions)"
)
_LOG_RETRACTION = (
    "INSERT INTO store_retractions VALUES (nextval('store_retraction_ids'), %s, %s, now(), %s)"
)
#: The store's tables in PostgreSQL, in the order they are copied (batches before rows).
_COPIED = ("store_batches", "store_retractions", *(store_table(t) for t in TABLES))


def _pg_type(kind_sql: str) -> str:
    return _PG_TYPES.get(kind_sql, kind_sql)


def create_pg_tables(connection: psycopg.Connection[Any]) -> None:
    """Create the store's tables, sequences, indexes and guards where they do not exist yet."""
    run = connection.execute
    run("CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT)")
    run("CREATE SEQUENCE IF NOT EXISTS store_batch_ids START 1")
    run("CREATE SEQUENCE IF NOT EXISTS store_retraction_ids START 1")
    run(
        """CREATE TABLE IF NOT EXISTS store_batches (
            batch_id BIGINT PRIMARY KEY, sha256 TEXT NOT NULL, center TEXT NOT NULL,
            table_name TEXT NOT NULL, file_name TEXT NOT NULL, rows BIGINT NOT NULL,
            ingested_at TIMESTAMPTZ NOT NULL, validator_version TEXT NOT NULL,
            origin TEXT NOT NULL)"""
    )
    # One upload batch per file and table: re-ingesting is a no-op, never a second batch.
    run(
        "CREATE UNIQUE INDEX IF NOT EXISTS store_uploads_once ON store_batches "
        f"(table_name, sha256) WHERE origin = '{UPLOAD}'"
    )
    run(
        """CREATE TABLE IF NOT EXISTS store_retractions (
            retraction_id BIGINT PRIMARY KEY, batch_id BIGINT NOT NULL REFERENCES store_batches,
            retracted BOOLEAN NOT NULL, logged_at TIMESTAMPTZ NOT NULL, reason TEXT)"""
    )
    # Who signed in, stored, retracted or downloaded what: only ever appended.
    run("CREATE SEQUENCE IF NOT EXISTS store_access_ids START 1")
    run(
        """CREATE TABLE IF NOT EXISTS store_access_log (
            entry_id BIGINT PRIMARY KEY, logged_at TIMESTAMPTZ NOT NULL,
            user_name TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
            fingerprint TEXT NOT NULL)"""
    )
    tables = ["store_batches", "store_retractions", "store_access_log"]
    for table in TABLES:
        name = store_table(table)
        tables.append(name)
        run(
            f"CREATE TABLE IF NOT EXISTS {name} (_batch_id BIGINT NOT NULL "
            "REFERENCES store_batches, _center TEXT NOT NULL, _row BIGINT NOT NULL)"
        )
        # A store created under an earlier contract gains the optional columns added since.
        for c in TABLES[table].columns:
            kind = _pg_type(_SQL_TYPES[c.kind])
            run(f'ALTER TABLE {name} ADD COLUMN IF NOT EXISTS "{c.name}" {kind}')
    run(
        """CREATE OR REPLACE FUNCTION store_append_only() RETURNS trigger LANGUAGE plpgsql AS
        $$BEGIN RAISE EXCEPTION 'the store is append-only: % on % refused',
            TG_OP, TG_TABLE_NAME; END$$"""
    )
    for name in tables:
        run(
            f"CREATE OR REPLACE TRIGGER store_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            f"ON {name} FOR EACH STATEMENT EXECUTE FUNCTION store_append_only()"
        )
    run(
        "INSERT INTO store_meta VALUES ('store_version', %s), ('contract_version', '1') "
        "ON CONFLICT DO NOTHING",
        [STORE_VERSION],
    )


def copy_out(connection: psycopg.Connection[Any], table: str) -> pl.DataFrame:
    """Every row of `table` as text columns (NULL stays null), through ``COPY ... TO STDOUT``."""
    buffer = io.BytesIO()
    statement = f"COPY {table} TO STDOUT (FORMAT csv, HEADER, NULL '{_NULL}')"
    with connection.cursor().copy(statement) as copy:
        for block in copy:
            buffer.write(block)
    return pl.read_csv(
        buffer.getvalue(),
        infer_schema=False,
        null_values=_NULL,
    )


def copy_store(connection: psycopg.Connection[Any]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB store holding every row of the PostgreSQL store (read in one snapshot
    by the caller's transaction)."""
    mirror = duckdb.connect(":memory:")
    create_tables(mirror)
    for name in _COPIED:
        frame = copy_out(connection, name)
        if frame.height == 0:
            continue
        mirror.register("incoming", frame.to_arrow())
        try:
            # DuckDB parses PostgreSQL's text (numbers, t/f, timestamps) into the column types.
            mirror.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")  # noqa: S608
        finally:
            mirror.unregister("incoming")
    return mirror


def _closed_by_server(connection: psycopg.Connection[Any]) -> bool:
    """Whether an idle connection was closed by the server (which only ever speaks to an idle
    connection to end it): one poll of its socket, no round trip."""
    if connection.closed:
        return True
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class PgStore(Store):
    """The store in PostgreSQL, shared by every process that opens the same URL."""

    path: str

    def __init__(self, url: str):
        self._url = url
        self.path = mask_url(url)
        self._idle: list[psycopg.Connection[Any]] = []
        self._pool_lock = threading.Lock()
        #: The last in-memory copy and the generation it holds.
        self._mirror: tuple[str, duckdb.DuckDBPyConnection] | None = None
        self._mirror_lock = threading.Lock()

    # --- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection in autocommit mode for one operation, returned to the pool afterwards.

        A server that cannot be reached, or that goes away during the operation, raises
        `StoreUnavailable` (its message never holds the password); the next operation tries a
        new connection, so the store is back as soon as the server is.
        """
        connection = self._idle_connection()
        if connection is None:
            try:
                connection = psycopg.connect(
                    self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                )
            except psycopg.OperationalError as error:
                raise self._unavailable(error) from error
        healthy = False
        try:
            yield connection
            healthy = connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        except psycopg.OperationalError as error:
            if not (connection.closed or connection.broken):
                raise  # e.g. a lock not available: the server is there
            # The connection broke (the server stopped or restarted): so did the idle ones.
            self._drop_idle()
            raise self._unavailable(error) from error
        finally:
            with self._pool_lock:
                if healthy and len(self._idle) < POOL_SIZE:
                    self._idle.append(connection)
                    connection = None
            if connection is not None:
                connection.close()

    def _idle_connection(self) -> psycopg.Connection[Any] | None:
        """An idle connection still open at both ends, or None (the stale ones are closed)."""
        while True:
            with self._pool_lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None or not _closed_by_server(connection):
                return connection
            connection.close()

    def _drop_idle(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _unavailable(self, error: psycopg.OperationalError) -> StoreUnavailable:
        return StoreUnavailable(
            f"The store {self.path} cannot be reached ({self._said(error)}). Check that "
            "PostgreSQL is running and that the URL, user and password are right."
        )

    def _said(self, error: Exception) -> str:
        """The first line of a driver's error, never with the password in it."""
        lines = str(error).strip().splitlines()
        said = lines[0] if lines else type(error).__name__
        password = psycopg.conninfo.conninfo_to_dict(self._url).get("password")
        return said.replace(str(password), "***") if password else said

    @contextmanager
    def _writing(self) -> Iterator[psycopg.Connection[Any]]:
        """One write transaction (all or nothing), one writer at a time across all processes."""
        with self._connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            yield connection

    def _mirror_of(self, connection: psycopg.Connection[Any]) -> duckdb.DuckDBPyConnection:
        """The in-memory copy of what `connection`'s transaction sees, copied again on change."""
        row = connection.execute(_GENERATION).fetchone()
        generation = ":".join("-" if value is None else str(value) for value in row or ())
        with self._mirror_lock:
            if self._mirror is not None and self._mirror[0] == generation:
                return self._mirror[1]
        mirror = copy_store(connection)
        with self._mirror_lock:
            self._mirror = (generation, mirror)
        return mirror

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB cursor on the in-memory copy of the store as it is now."""
        with self._connection() as connection, connection.transaction():
            # One snapshot for the generation and every table copied with it.
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            mirror = self._mirror_of(connection)
        cursor = mirror.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def load_dataset(
        self,
        which: Which = "bundled",
        *,
        progress: Progress | None = None,
        selection: Selection | None = None,
    ) -> LoadResult:
        """The bundled batches, the pooled uploads, or both, as one dataset.

        The fingerprint memo (`fingerprints`) is read in the same snapshot as the copy and kept
        in PostgreSQL's ``store_meta`` (one statement, no lock: every process computes the same
        value for the same generation).
        """
        with self._connection() as connection:
            with connection.transaction():
                connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                mirror = self._mirror_of(connection)
                row = connection.execute(
                    "SELECT value FROM store_meta WHERE key = %s", [memo_key(which)]
                ).fetchone()
            cursor = mirror.cursor()
            try:
                stored = read_stored(
                    cursor,
                    which,
                    self.path,
                    None if row is None else row[0],
                    progress=progress,
                    selection=selection,
                )
            finally:
                cursor.close()
            if stored.memo is not None:
                connection.execute(
                    "INSERT INTO store_meta VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [memo_key(which), stored.memo.encode()],
                )
        return stored.result

    def _read_once(self, what: str, read: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`read` from the in-memory copy (itself copied again only once the store changed)."""
        with self.reading() as cursor:
            return read(cursor)

    def close(self) -> None:
        """Forget this process's opening of the store and close its idle connections."""
        super().close()
        self._drop_idle()

    def complete(self) -> bool:
        """Whether the database has every table of a store."""
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            ).fetchall()
        return {row[0] for row in rows} >= STORE_TABLES

    def create(self) -> None:
        """Create the store's tables when they do not exist yet (safe from many processes)."""
        with self._writing() as connection:
            create_pg_tables(connection)

    def generation(self) -> str:
        """A key that changes whenever a batch is stored, retracted or restored (one query)."""
        with self._connection() as connection:
            row = connection.execute(_GENERATION).fetchone()
        return ":".join("-" if value is None else str(value) for value in row or ())

    # --- writing ------------------------------------------------------------------------------

    def set_retracted(
        self, batch_id: int, retracted: bool = True, reason: str = "", *, user: str | None = None
    ) -> Batch | None:
        """Retract (or restore) a batch by appending to the retraction log; None if unknown."""
        with self._writing() as connection:
            known = connection.execute(
                "SELECT table_name, center, sha256 FROM store_batches WHERE batch_id = %s",
                [batch_id],
            ).fetchone()
            if known is None:
                return None
            connection.execute(_LOG_RETRACTION, [batch_id, retracted, reason])
            if user is not None:
                action = Action.RETRACT if retracted else Action.RESTORE
                self._log_batch(connection, user, action, batch_id, *known)
        return self.batch(batch_id)

    def seed_bundled(self, folder: Path) -> None:
        """Store the bundled tables as batches, replacing (retracting) outdated bundled batches.

        Checked again under the write lock: processes starting together seed once.
        """
        bundle = BundledFiles.find(folder)
        if bundle is None or bundle.stored_in(self.batches(include_retracted=False)):
            return
        parts = bundle.parts()
        if parts is None:
            return
        with self._writing() as connection:
            batches = read_batches(self._mirror_of(connection))
            if bundle.stored_in(tuple(b for b in batches if not b.retracted)):
                return
            for old in batches:
                if not old.retracted and old.origin == BUNDLED:
                    connection.execute(_LOG_RETRACTION, [old.batch_id, True, SUPERSEDED])
            for part in parts:
                self._write_batch(connection, part.rows, origin=BUNDLED, **part.describe())

    def _write_batch(
        self,
        connection: psycopg.Connection[Any],
        frame: pl.DataFrame,
        *,
        table: str,
        center: str,
        sha256: str,
        file_name: str,
        origin: str,
    ) -> int:
        """Append one batch and its rows (``COPY ... FROM STDIN``) in the caller's transaction."""
        row = connection.execute("SELECT nextval('store_batch_ids')").fetchone()
        assert row is not None  # nextval always returns a row
        batch_id = int(row[0])
        connection.execute(
            "INSERT INTO store_batches VALUES (%s, %s, %s, %s, %s, %s, now(), %s, %s)",
            [batch_id, sha256, center, table, file_name, frame.height, VALIDATOR_VERSION, origin],
        )
        incoming = frame.select(
            pl.lit(batch_id, pl.Int64).alias("_batch_id"),
            pl.lit(center, pl.String).alias("_center"),
            pl.col(ROW).cast(pl.Int64).alias("_row"),
            *TABLES[table].column_names,
        )
        columns = ", ".join(f'"{c}"' for c in incoming.columns)
        statement = (
            f"COPY {store_table(table)} ({columns}) FROM STDIN (FORMAT csv, HEADER, NULL '{_NULL}')"
        )
        with connection.cursor().copy(statement) as copy:
            copy.write(incoming.write_csv(null_value=_NULL))
        return batch_id

    # --- access log ---------------------------------------------------------------------------

    def record_access(self, user: str, action: str, target: str, fingerprint: str = "") -> None:
        """Append who did what to which batch or export (`data.access` says what is recorded).

        Written straight to PostgreSQL (one statement, no write lock): the log is not part of
        the in-memory copy, whose generation it does not change.
        """
        with self._connection() as connection:
            self._append_access(connection, user, action, target, fingerprint)

    def _append_access(
        self,
        writer: psycopg.Connection[Any],
        user: str,
        action: str,
        target: str,
        fingerprint: str,
    ) -> None:
        writer.execute(
            "INSERT INTO store_access_log VALUES "
            "(nextval('store_access_ids'), now(), %s, %s, %s, %s)",
            [user, action, target, fingerprint],
        )

    def access_log(self) -> tuple[AccessEntry, ...]:
        """Every access log entry, oldest first (read from PostgreSQL, never from the copy)."""
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT entry_id, logged_at, user_name, action, target, fingerprint "
                "FROM store_access_log ORDER BY entry_id"
            ).fetchall()
        return tuple(AccessEntry(*row) for row in rows)

    @contextmanager
    def _upload_transaction(
        self,
    ) -> Iterator[tuple[duckdb.DuckDBPyConnection, psycopg.Connection[Any]]]:
        # Under the store-wide lock of `_writing`: no other process stores a clashing batch
        # between the upload rules' check (on this process's mirror) and the write.
        with self._writing() as connection:
            yield self._mirror_of(connection).cursor(), connection
