"""The store's file on disk: how it is opened, what damage looks like, what its tables are.

Both the store (which writes) and loading (which reads a store named on the command line) open
the file, so both open it here, the same way:
- for one operation only, then closed: DuckDB lets one process write a file, or many read it,
  and a connection held for a whole server's life kept the command line from even listing the
  batches beside the running app. A connection is now held for one read or one write;
- read-only unless writing, with a short wait when another process holds the file for a write;
- checked for damage before anything reads or writes it: a truncated, overwritten, empty or
  foreign file is refused with `StoreDamaged`, whose message names the file, says what is wrong
  and what to do, and nothing is ever written to it.
Within a process, reads share the file and a write has it alone (DuckDB refuses a read-only and
a read-write connection to one file at once in one process).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from bsab_explorer.data.fingerprints import memo_key
from bsab_explorer.schema import TABLES, Kind

if TYPE_CHECKING:
    import duckdb  # imported where a DuckDB file is opened: reading Parquet needs none

BUNDLED = "bundled"
UPLOAD = "upload"
#: Separator between center and id in pooled datasets, where ids must be unique across centers.
POOLED_ID_SEPARATOR = ":"
#: How long an operation waits for another process's write to end before giving up.
BUSY_WAIT_S = 3.0
STORE_VERSION = "1"
_SQL_TYPES = {
    Kind.STRING: "VARCHAR",
    Kind.CODE: "VARCHAR",
    Kind.INT: "BIGINT",
    Kind.NUMBER: "DOUBLE",
    Kind.BOOL: "BOOLEAN",
}
#: Bytes 8-11 of every DuckDB database file.
_MAGIC = b"DUCK"
_LOCK_WORDS = ("Could not set lock", "Conflicting lock")
#: What DuckDB's errors say when a block it read is not what was written.
_DAMAGE_WORDS = ("checksum", "corrupt", "could not read enough bytes", "could not read all bytes")


def store_table(table: str) -> str:
    """The store's table holding rows of contract table `table`."""
    return f"store_{TABLES[table].name}"


#: Every table a complete store has (a file lacking one is completed on opening).
STORE_TABLES = frozenset(
    {
        "store_meta",
        "store_batches",
        "store_retractions",
        "store_access_log",
        *(store_table(t) for t in TABLES),
    }
)


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


class Action(StrEnum):
    """What the access log records."""

    SIGN_IN = "sign-in"
    UPLOAD = "upload"
    RETRACT = "retract"
    RESTORE = "restore"
    DOWNLOAD = "download"


def batch_target(batch_id: int, table: str, center: str) -> str:
    """How the access log names a batch (never a patient value)."""
    return f"batch {batch_id} ({table}, center {center})"


@dataclass(frozen=True)
class AccessEntry:
    """One line of the access log: who did what, when, to which batch or export, on which data.

    Never a patient value: the target is a batch number, an export's file name or a page, and
    the fingerprint is a file's or a dataset's hash.
    """

    entry_id: int
    logged_at: dt.datetime
    user: str
    action: str
    target: str
    fingerprint: str


class StoreUnavailable(Exception):
    """The store file cannot be opened now (another process holds it for a write)."""


class StoreDamaged(Exception):
    """The store file is damaged or is not a DuckDB database: its message says what to do."""

    def __init__(self, path: Path, what: str):
        self.path = path
        self.what = what
        super().__init__(
            f"The store {path} is damaged: {what}. Nothing was written to it. Restore it from "
            "your backup (or move it aside to start a new, empty store); the bundled data are "
            "still available from the package."
        )


class _Access:
    """Many readers or one writer of one file, within this process; a waiting writer goes
    before readers that come after it (readers in a loop would otherwise keep it out)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            self._condition.wait_for(lambda: not self._writing and self._readers == 0)
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()


@dataclass
class _FileState:
    access: _Access = field(default_factory=_Access)
    #: The file's `change_key` when it was last found whole (or last written here).
    verified: tuple[Any, ...] | None = None
    #: The key and message of the damage last found (asked again only once the file changes).
    damaged: tuple[tuple[Any, ...], str] | None = None


_STATES: dict[Path, _FileState] = {}
_STATES_LOCK = threading.Lock()


def _state(path: Path) -> _FileState:
    with _STATES_LOCK:
        return _STATES.setdefault(path, _FileState())


def change_key(path: Path) -> tuple[Any, ...]:
    """What the file system says of the file and its write-ahead log: changes with every write.

    Another process's write that left both the size and the time (to the file system's clock
    tick) as they were would go unseen until the next change; this process's own writes clear
    what it read (`Store`).
    """
    parts: list[Any] = []
    for file in (path, path.with_name(path.name + ".wal")):
        try:
            info = file.stat()
        except FileNotFoundError:
            parts.append(None)
            continue
        parts.append((info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(parts)


def fetch(connection: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[Any]:
    """Run one statement and consume its result (DuckDB wants every result consumed)."""
    result = connection.execute(sql, params) if params is not None else connection.execute(sql)
    return result.fetchall()


@contextmanager
def reading(path: Path, *, verify: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to an existing store file, checked first, closed afterwards.

    Without `verify`, for a load (which reads the data it gives in full, or a command's part
    of it), the file is not read whole first: DuckDB checks the checksum of every block it
    reads, so a damaged block the load reads still raises `StoreDamaged` before anything of it
    is used, and one it does not read (the access log, an index) changes nothing it gives. A
    write is always preceded by the whole check (`writing`).
    """
    import duckdb

    state = _state(path)
    with state.access.shared():
        connection = _connect(path, read_only=True)
        try:
            if verify:
                _verify(path, state, connection)
            yield connection
        except duckdb.Error as error:
            _raise_if_damage(path, error)
            raise
        finally:
            connection.close()


@contextmanager
def writing(path: Path, *, wait: float = BUSY_WAIT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection, alone in this process; the file is checked before it is opened.

    A file that does not exist yet is created. A damaged one raises `StoreDamaged` before any
    read-write connection touches it. Another process's hold on the file is waited for up to
    `wait` seconds (`StoreUnavailable` afterwards).
    """
    import duckdb

    state = _state(path)
    with state.access.exclusive():
        if path.exists():
            checker = _connect(path, read_only=True, wait=wait)
            try:
                _verify(path, state, checker)
            finally:
                checker.close()
        connection = _connect(path, read_only=False, wait=wait)
        try:
            yield connection
        except duckdb.Error as error:
            # Found while writing (a block no read had needed): the transaction is rolled back.
            _raise_if_damage(path, error)
            raise
        finally:
            connection.close()
        # Written whole by this process (an error above skips this): what it did not write was
        # checked before.
        state.verified = change_key(path)


def _connect(
    path: Path, *, read_only: bool, wait: float = BUSY_WAIT_S
) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting up to `wait` seconds while another process writes to it."""
    import duckdb

    if read_only or path.exists():
        _check_header(path)
    deadline = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as error:
            if not any(word in str(error) for word in _LOCK_WORDS):
                raise _damage(path, error) from error
            if time.monotonic() >= deadline:
                raise StoreUnavailable(
                    f"The store {path} cannot be opened ({error}). Another program (the app, or "
                    "another command) may be using it; only one may write to it at a time."
                ) from error
            time.sleep(0.05)


def _check_header(path: Path) -> None:
    """Refuse a file that cannot be a DuckDB database before DuckDB reads it."""
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError as error:
        raise StoreUnavailable(f"The store {path} cannot be read ({error.strerror}).") from error
    if not head:
        raise StoreDamaged(path, "the file is empty (0 bytes), not a DuckDB database")
    if head[8:12] != _MAGIC:
        raise StoreDamaged(path, "the file is not a DuckDB database (its header is not DuckDB's)")


def _verify(path: Path, state: _FileState, connection: duckdb.DuckDBPyConnection) -> None:
    """Read every stored value once per change of the file: DuckDB checks each block it reads."""
    import duckdb

    key = change_key(path)
    if state.verified == key:
        return
    if state.damaged is not None and state.damaged[0] == key:
        raise StoreDamaged(path, state.damaged[1])
    try:
        tables = fetch(
            connection,
            "SELECT table_name, column_count FROM duckdb_tables() WHERE database_name = "
            "current_database()",
        )
        for name, columns in tables:
            if columns:
                quoted = name.replace('"', '""')
                fetch(connection, f'SELECT count(*), min(hash(COLUMNS(*))) FROM "{quoted}"')  # noqa: S608
    except duckdb.Error as error:
        damage = _damage(path, error)
        state.damaged = (key, damage.what)
        raise damage from error
    state.verified = key


def _raise_if_damage(path: Path, error: duckdb.Error) -> None:
    """Raise `StoreDamaged` when DuckDB's error says the file is damaged."""
    text = str(error).lower()
    if any(word in text for word in _DAMAGE_WORDS):
        raise _damage(path, error) from error


def _damage(path: Path, error: duckdb.Error) -> StoreDamaged:
    """What a DuckDB error on opening or reading says about the file, in the user's words."""
    text = str(error)
    if "not a valid DuckDB database" in text:
        what = "the file is not a DuckDB database"
    elif "Could not read enough bytes" in text or "Could not read all bytes" in text:
        what = "the file is shorter than its contents say (truncated, e.g. by a full disk)"
    elif "checksum" in text.lower():
        what = "part of the file was overwritten (a stored checksum does not match)"
    else:
        what = f"DuckDB cannot read it ({type(error).__name__})"
    return StoreDamaged(path, what)


# --- reading the store's tables ---------------------------------------------------------------

_BATCHES = (
    "SELECT batch_id, sha256, center, table_name, file_name, rows, ingested_at, "
    "validator_version, origin, retracted FROM store_batch_status ORDER BY batch_id"
)


def read_batches(connection: duckdb.DuckDBPyConnection) -> tuple[Batch, ...]:
    """Every batch of the store open on `connection`, oldest first."""
    rows = fetch(connection, _BATCHES)
    return tuple(Batch(*row) for row in rows)


def read_active_rows(
    connection: duckdb.DuckDBPyConnection, table: str, center: str, columns: list[str]
) -> pl.DataFrame:
    """Active uploaded rows of `table` for `center` (bundled rows stand apart)."""
    cols = ", ".join(f'd."{c}"' for c in columns)
    return connection.sql(
        f"SELECT d._batch_id, {cols} FROM {store_table(table)} d "  # noqa: S608
        "JOIN store_batch_status b ON d._batch_id = b.batch_id "
        f"WHERE NOT b.retracted AND b.origin = '{UPLOAD}' AND d._center = $center",
        params={"center": center},
    ).pl()


def read_generation(connection: duckdb.DuckDBPyConnection) -> str:
    """Counts and largest ids of the batches and retractions (both only ever appended)."""
    (row,) = fetch(
        connection,
        "SELECT (SELECT count(*) FROM store_batches), (SELECT max(batch_id) FROM "
        "store_batches), (SELECT count(*) FROM store_retractions), "
        "(SELECT max(retraction_id) FROM store_retractions)",
    )
    return ":".join("-" if value is None else str(value) for value in row)


def read_meta(connection: duckdb.DuckDBPyConnection, which: str) -> str | None:
    """The store's fingerprint memo of the dataset `which` (`fingerprints`), if it has one."""
    rows = fetch(connection, "SELECT value FROM store_meta WHERE key = ?", [memo_key(which)])
    return str(rows[0][0]) if rows else None


def remember(path: Path, key: str, value: str) -> bool:
    """Keep `value` under `key` in the store's metadata, if the file can be written right now.

    For a memo (`fingerprints`), which only saves work: it never waits for another process
    (the command line reading beside the app, or a read-only file, simply keeps no memo) and
    never fails; whether it was kept is returned.
    """
    import duckdb

    try:
        with writing(path, wait=0.0) as connection:
            fetch(connection, "INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [key, value])
    except (StoreUnavailable, StoreDamaged, duckdb.Error, OSError):
        return False
    return True


def read_batches_frame(connection: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The batches as a table, for display."""
    return connection.sql(
        "SELECT batch_id, table_name AS table, center, file_name, rows, origin, retracted, "
        "ingested_at, validator_version, sha256 FROM store_batch_status ORDER BY batch_id"
    ).pl()


_ACCESS_LOG = (
    "SELECT entry_id, logged_at, user_name, action, target, fingerprint FROM store_access_log "
    "ORDER BY entry_id"
)


def read_access_log(connection: duckdb.DuckDBPyConnection) -> tuple[AccessEntry, ...]:
    """Every entry of the access log of the store open on `connection`, oldest first."""
    return tuple(AccessEntry(*row) for row in fetch(connection, _ACCESS_LOG))


def append_access(
    connection: duckdb.DuckDBPyConnection, user: str, action: str, target: str, fingerprint: str
) -> None:
    """Append one entry to the access log (inside the caller's write transaction)."""
    fetch(
        connection,
        "INSERT INTO store_access_log VALUES (nextval('store_access_ids'), now(), ?, ?, ?, ?)",
        [user, action, target, fingerprint],
    )


def create_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the store's tables, sequences and view where they do not exist yet."""
    fetch(
        connection,
        "CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    )
    fetch(connection, "CREATE SEQUENCE IF NOT EXISTS store_batch_ids START 1")
    fetch(connection, "CREATE SEQUENCE IF NOT EXISTS store_retraction_ids START 1")
    fetch(
        connection,
        """CREATE TABLE IF NOT EXISTS store_batches (
            batch_id BIGINT PRIMARY KEY, sha256 VARCHAR NOT NULL, center VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL, file_name VARCHAR NOT NULL, rows BIGINT NOT NULL,
            ingested_at TIMESTAMPTZ NOT NULL, validator_version VARCHAR NOT NULL,
            origin VARCHAR NOT NULL)""",
    )
    fetch(
        connection,
        """CREATE TABLE IF NOT EXISTS store_retractions (
            retraction_id BIGINT NOT NULL, batch_id BIGINT NOT NULL,
            retracted BOOLEAN NOT NULL, logged_at TIMESTAMPTZ NOT NULL, reason VARCHAR)""",
    )
    # Who signed in, stored, retracted or downloaded what: only ever appended.
    fetch(connection, "CREATE SEQUENCE IF NOT EXISTS store_access_ids START 1")
    fetch(
        connection,
        """CREATE TABLE IF NOT EXISTS store_access_log (
            entry_id BIGINT PRIMARY KEY, logged_at TIMESTAMPTZ NOT NULL,
            user_name VARCHAR NOT NULL, action VARCHAR NOT NULL, target VARCHAR NOT NULL,
            fingerprint VARCHAR NOT NULL)""",
    )
    fetch(
        connection,
        """CREATE OR REPLACE VIEW store_batch_status AS
            SELECT b.*, coalesce(r.retracted, false) AS retracted
            FROM store_batches b LEFT JOIN (
                SELECT batch_id, arg_max(retracted, retraction_id) AS retracted
                FROM store_retractions GROUP BY batch_id) r USING (batch_id)""",
    )
    for table in TABLES:
        columns = ", ".join(f'"{c.name}" {_SQL_TYPES[c.kind]}' for c in TABLES[table].columns)
        fetch(
            connection,
            f"CREATE TABLE IF NOT EXISTS {store_table(table)} (_batch_id BIGINT NOT NULL, "
            f"_center VARCHAR NOT NULL, _row BIGINT NOT NULL, {columns})",
        )
        # A store created under an earlier contract gains the optional columns added since.
        stored = fetch(
            connection,
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
            [store_table(table)],
        )
        for c in TABLES[table].columns:
            if (c.name,) not in stored:
                fetch(
                    connection,
                    f'ALTER TABLE {store_table(table)} ADD COLUMN "{c.name}" {_SQL_TYPES[c.kind]}',
                )
    fetch(
        connection,
        "INSERT OR IGNORE INTO store_meta VALUES ('store_version', ?), ('contract_version', '1')",
        [STORE_VERSION],
    )
