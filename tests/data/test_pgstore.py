"""What only the PostgreSQL store has: several app processes on one database, the guards that
keep it append-only, a URL whose password is never shown, and a server that stops and comes
back."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import psycopg
import pytest

from bsab_explorer.cli import EXIT_ERROR, main
from bsab_explorer.data.store import (
    Store,
    StoreUnavailable,
    mask_url,
    open_store,
    resolve_store_path,
)
from tests.pg import PASSWORD, Postgres, start_postgres

_APP_PROCESS = """
import sys
from bsab_explorer.data.store import open_store
store = open_store(sys.argv[1], seed=False)
for arg in sys.argv[2:]:
    center, name = arg.split("=")
    data = f"patient_id,sex\\n{name}-1,F\\n{name}-2,M\\n".encode()
    result = store.ingest_bytes(data, f"{name}.csv", "patients", center)
    print(center, name, "stored" if result.stored else "duplicate" if result.duplicate_of
          else "refused", flush=True)
"""


def _app(url: str, *uploads: str) -> subprocess.Popen[str]:
    """Another app process on the same store, uploading `center=name` files."""
    return subprocess.Popen(
        [sys.executable, "-c", _APP_PROCESS, url, *uploads],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finished(process: subprocess.Popen[str]) -> list[str]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out.splitlines()


@pytest.fixture
def pg_store(postgres: Postgres) -> Iterator[Store]:
    """A fresh PostgreSQL store without the bundled data."""
    store = open_store(postgres.new_database(), seed=False)
    yield store
    store.close()


def _url(postgres: Postgres, store: Store) -> str:
    return postgres.url(str(store.path).rsplit("/", 1)[1])


def test_an_upload_through_one_process_is_seen_by_the_other_on_its_next_load(
    postgres: Postgres, pg_store: Store
) -> None:
    before = pg_store.generation()
    assert pg_store.load_dataset("pooled").dataset is None
    assert _finished(_app(_url(postgres, pg_store), "C01=A")) == ["C01 A stored"]
    # The next rerun asks for the generation: it changed, so the app loads again.
    assert pg_store.generation() != before
    dataset = pg_store.load_dataset("pooled").dataset
    assert dataset is not None
    assert dataset.table("patients").get_column("patient_id").to_list() == ["C01:A-1", "C01:A-2"]
    # And back: a retraction here is seen there.
    (batch,) = pg_store.batches()
    assert pg_store.retract(batch.batch_id, "wrong center") is not None
    seen = subprocess.run(
        [sys.executable, "-c", "import sys; from bsab_explorer.data.store import open_store; "
         "print([b.retracted for b in open_store(sys.argv[1], seed=False).batches()])",
         _url(postgres, pg_store)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert seen.stdout.strip() == "[True]"


def test_concurrent_ingests_from_two_processes_all_land(
    postgres: Postgres, pg_store: Store
) -> None:
    url = _url(postgres, pg_store)
    first = _app(url, *(f"C0{i}=A{i}" for i in range(4)))
    second = _app(url, *(f"C1{i}=B{i}" for i in range(4)))
    assert _finished(first) == [f"C0{i} A{i} stored" for i in range(4)]
    assert _finished(second) == [f"C1{i} B{i} stored" for i in range(4)]
    assert sorted(b.center for b in pg_store.batches()) == [
        *(f"C0{i}" for i in range(4)), *(f"C1{i}" for i in range(4)),
    ]  # fmt: skip
    dataset = pg_store.load_dataset("pooled").dataset
    assert dataset is not None
    assert dataset.table("patients").height == 16


def test_the_same_file_from_two_processes_at_once_is_stored_once(
    postgres: Postgres, pg_store: Store
) -> None:
    url = _url(postgres, pg_store)
    runs = [_app(url, "C01=SAME") for _ in range(3)]
    outcomes = sorted(line for run in runs for line in _finished(run))
    assert outcomes == ["C01 SAME duplicate", "C01 SAME duplicate", "C01 SAME stored"]
    assert len(pg_store.batches()) == 1


def test_nothing_is_ever_updated_or_deleted(postgres: Postgres, pg_store: Store) -> None:
    assert pg_store.ingest_bytes(b"patient_id\nP1\n", "a.csv", "patients", "C01").stored
    with psycopg.connect(_url(postgres, pg_store), autocommit=True) as connection:
        for statement in (
            "DELETE FROM store_batches",
            "UPDATE store_patients SET sex = 'F'",
            "TRUNCATE store_retractions",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                connection.execute(statement)
    assert len(pg_store.batches()) == 1


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:pw@db:5432/store", "postgresql://app:***@db:5432/store"),
        ("postgresql://app@db/store", "postgresql://app@db/store"),
        ("postgres://db/store?password=pw&sslmode=require",
         "postgres://db/store?password=***&sslmode=require"),
        ("postgresql://a:p%40ss@db/store", "postgresql://a:***@db/store"),
    ],
)  # fmt: skip
def test_passwords_are_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert resolve_store_path(url) == url


def test_the_password_never_reaches_a_message(
    postgres: Postgres, pg_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert PASSWORD not in str(pg_store.path)
    assert main(["batches", "--store", _url(postgres, pg_store)]) == 0
    out = capsys.readouterr().out
    assert f"Store: {pg_store.path}" in out
    assert PASSWORD not in out
    unreachable = f"postgresql://app:{PASSWORD}@127.0.0.1:9/none"
    with pytest.raises(StoreUnavailable) as refused:
        open_store(unreachable)
    assert PASSWORD not in str(refused.value)
    assert "postgresql://app:***@127.0.0.1:9/none" in str(refused.value)


@pytest.fixture(scope="module")
def outage() -> Iterator[Postgres]:
    """A PostgreSQL of its own, for the tests that stop it (the shared one keeps running)."""
    server = start_postgres()
    yield server
    server.stop()


GOOD = b"patient_id,sex\nP001,F\nP002,M\n"


def test_a_stopped_server_makes_the_store_unavailable_until_it_is_back(
    outage: Postgres, capsys: pytest.CaptureFixture[str]
) -> None:
    url = outage.new_database()
    store = open_store(url, seed=False)
    try:
        generation = store.generation()
        store.batches()  # several idle connections in the pool, all broken by the stop
        outage.halt()
        try:
            attempts: list[Callable[[], object]] = [
                store.generation,
                store.generation,  # each time: not only the first pooled connection
                store.batches,
                store.access_log,
                lambda: store.ingest_bytes(GOOD, "p.csv", "patients", "C01", user="u"),
                lambda: store.retract(1, user="u"),
            ]
            for attempt in attempts:
                with pytest.raises(StoreUnavailable) as down:
                    attempt()
                assert str(down.value).startswith(f"The store {store.path} cannot be reached (")
                assert PASSWORD not in str(down.value)
            # The command line: its store exit code and one line, no traceback, no password.
            assert main(["batches", "--store", url]) == EXIT_ERROR
            err = capsys.readouterr().err
            assert len(err.strip().splitlines()) == 1
            assert "cannot be reached" in err
            assert PASSWORD not in err
        finally:
            outage.resume()
        # Back with the server, on the next operation; nothing was written meanwhile.
        assert store.generation() == generation
        assert store.batches() == ()
        assert store.access_log() == ()
        assert store.ingest_bytes(GOOD, "p.csv", "patients", "C01", user="u").stored
    finally:
        store.close()


def test_a_restart_between_two_operations_goes_unnoticed(outage: Postgres) -> None:
    store = open_store(outage.new_database(), seed=False)
    try:
        generation = store.generation()
        outage.halt()
        outage.resume()
        # The idle connection the server closed is not used: a new one is.
        assert store.generation() == generation
    finally:
        store.close()


def test_a_store_opened_while_the_server_is_down_says_so(outage: Postgres) -> None:
    url = outage.new_database()
    outage.halt()
    try:
        with pytest.raises(StoreUnavailable) as down:
            open_store(url)
        assert PASSWORD not in str(down.value)
    finally:
        outage.resume()
    opened = open_store(url, seed=False)
    try:
        assert opened.batches() == ()
    finally:
        opened.close()
