"""The store, in a DuckDB file and in PostgreSQL (`store_at`): seeding, batches, (center, id)
keys, retraction, idempotence, safety."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bsab_explorer.data.loading import BUNDLED_DATA_DIR, BUNDLED_NAME, load_dataset
from bsab_explorer.data.store import (
    DEFAULT_STORE_PATH,
    STORE_ENV,
    Store,
    StoreDamaged,
    is_open,
    open_store,
    resolve_store_path,
)
from bsab_explorer.data.validation import Rule
from bsab_explorer.schema import TABLES
from tests.data.conftest import StoreAt
from tests.data.test_upload_checks import snapshot

P_C01 = b"patient_id,center,age_years,sex,emd\nP001,C01,60,F,yes\nP002,,71,M,no\n"
P_C02 = b"patient_id,age_years,sex\nP001,55,M\nP003,64,F\n"
R_C01 = b"patient_id,timepoint,response\nP001,C1,PR\nP001,C3,VGPR\nP002,C1,PD\n"


@pytest.fixture
def empty_store(store_at: StoreAt) -> Iterator[Store]:
    """A fresh store without the bundled data (a DuckDB file, then a PostgreSQL database)."""
    store = open_store(store_at("store"), seed=False)
    yield store
    store.close()


@pytest.fixture
def file_store(tmp_path: Path) -> Iterator[Store]:
    """A fresh DuckDB store file without the bundled data (for what only a file has)."""
    store = open_store(tmp_path / "store.duckdb", seed=False)
    yield store
    store.close()


def pooled_ids(store: Store, table: str = "patients") -> list[str]:
    dataset = store.load_dataset("pooled").dataset
    assert dataset is not None
    key = "patient_id" if table in ("patients", "responses") else "case_id"
    return dataset.table(table).get_column(key).to_list()


def test_store_is_seeded_with_the_bundled_data(store_at: StoreAt) -> None:
    store = open_store(store_at("seeded"))
    try:
        result = store.load_dataset("bundled")
        folder = load_dataset()
        assert result.dataset is not None
        assert folder.dataset is not None
        assert result.dataset.name == BUNDLED_NAME
        assert result.dataset.reconstructed
        assert result.dataset.fingerprint == folder.dataset.fingerprint
        batches = store.batches()
        assert {b.origin for b in batches} == {"bundled"}
        assert sum(b.rows for b in batches if b.table == "patients") == 44
        # One batch per table and center, each keyed by the sha256 of the file it came from.
        patients_sha = hashlib.sha256(
            (BUNDLED_DATA_DIR / "debulking" / "patients.csv").read_bytes()
        ).hexdigest()
        assert {b.sha256 for b in batches if b.table == "patients"} == {patients_sha}
        assert store.load_dataset("pooled").dataset is None
        count = len(batches)
    finally:
        store.close()
    reopened = open_store(store_at("seeded"))
    try:
        assert len(reopened.batches()) == count  # not seeded twice
    finally:
        reopened.close()


def test_updated_bundled_data_supersede_the_old_batches(tmp_path: Path, store_at: StoreAt) -> None:
    bundled = tmp_path / "bundled"
    (bundled / "debulking").mkdir(parents=True)
    (bundled / "debulking" / "patients.csv").write_bytes(P_C01)
    path = store_at("store")
    open_store(path, bundled_dir=bundled).close()
    (bundled / "debulking" / "patients.csv").write_bytes(P_C01 + b"P009,C01,80,F,no\n")
    store = open_store(path, bundled_dir=bundled)
    try:
        batches = store.batches()
        # P002 names no center: it forms a batch of its own under "bundled".
        assert [(b.center, b.rows, b.retracted) for b in batches] == [
            ("C01", 1, True),
            ("bundled", 1, True),
            ("C01", 2, False),
            ("bundled", 1, False),
        ]
        dataset = store.load_dataset("bundled").dataset
        assert dataset is not None
        assert dataset.table("patients").get_column("patient_id").to_list() == [
            "P001", "P002", "P009",
        ]  # fmt: skip
    finally:
        store.close()


def test_ingest_stores_one_batch(empty_store: Store) -> None:
    result = empty_store.ingest_bytes(P_C01, "c01_patients.csv", "patients", "C01")
    assert result.stored, result.report.to_text()
    batch = result.batch
    assert batch is not None
    assert (batch.table, batch.center, batch.file_name, batch.rows) == (
        "patients", "C01", "c01_patients.csv", 2,
    )  # fmt: skip
    assert batch.sha256 == hashlib.sha256(P_C01).hexdigest()
    assert batch.validator_version == "contract-1/rules-2"
    assert not batch.retracted
    assert "c01_patients.csv: stored as batch 1 (2 rows, center C01)." in result.report.notices
    dataset = empty_store.load_dataset("pooled").dataset
    assert dataset is not None
    assert not dataset.reconstructed
    patients = dataset.table("patients")
    assert patients.get_column("patient_id").to_list() == ["C01:P001", "C01:P002"]
    assert patients.get_column("center").to_list() == ["C01", "C01"]  # empty center filled
    assert patients.get_column("emd").to_list() == [True, False]


def test_check_upload_writes_nothing_and_previews(empty_store: Store) -> None:
    before = snapshot(empty_store)
    check = empty_store.check_upload(P_C01, "p.csv", "patients", "C01")
    assert check.storable
    assert check.rows is not None
    assert check.rows.get_column("age_years").to_list() == [60, 71]
    assert check.preview is not None
    assert check.preview.get_column("file_row").to_list() == [2, 3]
    assert snapshot(empty_store) == before


def test_same_file_twice_is_a_no_op(empty_store: Store) -> None:
    first = empty_store.ingest_bytes(P_C01, "p.csv", "patients", "C01")
    assert first.batch is not None
    before = snapshot(empty_store)
    again = empty_store.ingest_bytes(P_C01, "p-copy.csv", "patients", "C01")
    assert not again.stored
    assert again.report.ok
    assert again.duplicate_of == first.batch
    assert again.report.notices == (
        "p-copy.csv: this exact file is already stored as batch 1 (2 rows, center C01); "
        "nothing was added.",
    )
    assert snapshot(empty_store) == before
    other = empty_store.ingest_bytes(P_C01, "p.csv", "patients", "C02")
    assert [p.rule for p in other.report.problems] == [Rule.ALREADY_STORED]
    assert snapshot(empty_store) == before


def test_two_centers_ids_never_collide(empty_store: Store) -> None:
    assert empty_store.ingest_bytes(P_C01, "a.csv", "patients", "C01").stored
    assert empty_store.ingest_bytes(P_C02, "b.csv", "patients", "C02").stored
    assert pooled_ids(empty_store) == ["C01:P001", "C01:P002", "C02:P001", "C02:P003"]
    both = empty_store.load_dataset("both").dataset
    assert both is not None
    assert both.name == "Bundled (reconstructed) + pooled uploads"
    assert both.reconstructed


def test_children_reference_their_centers_parents(empty_store: Store) -> None:
    assert empty_store.ingest_bytes(P_C01, "a.csv", "patients", "C01").stored
    refused = empty_store.ingest_bytes(R_C01, "r.csv", "responses", "C02")
    assert {p.rule for p in refused.report.problems} == {Rule.UNKNOWN_PATIENT}
    assert empty_store.ingest_bytes(R_C01, "r.csv", "responses", "C01").stored
    assert pooled_ids(empty_store, "responses") == ["C01:P001", "C01:P001", "C01:P002"]


def test_retract_and_restore(empty_store: Store) -> None:
    patients = empty_store.ingest_bytes(P_C01, "a.csv", "patients", "C01").batch
    assert patients is not None
    assert empty_store.ingest_bytes(R_C01, "r.csv", "responses", "C01").stored
    assert empty_store.ingest_bytes(P_C02, "b.csv", "patients", "C02").stored
    retracted = empty_store.retract(patients.batch_id, "wrong export")
    assert retracted is not None
    assert retracted.retracted
    assert pooled_ids(empty_store) == ["C02:P001", "C02:P003"]
    result = empty_store.load_dataset("pooled")
    assert "responses: 3 row(s) whose patient is in a retracted batch were left out." in (
        result.report.notices
    )
    # Retracted rows are kept: the same ids can be uploaded again only after... a new file.
    assert len(empty_store.batches()) == 3
    restored = empty_store.restore(patients.batch_id)
    assert restored is not None
    assert not restored.retracted
    assert pooled_ids(empty_store) == ["C01:P001", "C01:P002", "C02:P001", "C02:P003"]
    assert empty_store.retract(999) is None


def test_the_generation_changes_with_every_stored_retracted_or_restored_batch(
    empty_store: Store,
) -> None:
    seen = [empty_store.generation()]
    patients = empty_store.ingest_bytes(P_C01, "a.csv", "patients", "C01").batch
    assert patients is not None
    seen.append(empty_store.generation())
    # A refused file (the same bytes again) and reading leave it as it was.
    assert not empty_store.ingest_bytes(P_C01, "a.csv", "patients", "C01").stored
    empty_store.load_dataset("pooled")
    assert empty_store.generation() == seen[-1]
    assert empty_store.retract(patients.batch_id, "wrong export") is not None
    seen.append(empty_store.generation())
    assert empty_store.restore(patients.batch_id) is not None
    seen.append(empty_store.generation())
    assert empty_store.retract(999) is None
    assert empty_store.generation() == seen[-1]
    assert len(set(seen)) == len(seen) == 4, seen
    # Read once and kept until the next write, by any Store open on the same file.
    other = open_store(empty_store.path)
    assert other.generation() == seen[-1]
    assert other.ingest_bytes(P_C02, "b.csv", "patients", "C02").stored
    assert empty_store.generation() == other.generation() != seen[-1]


def test_replacing_a_file_needs_a_retraction(empty_store: Store) -> None:
    first = empty_store.ingest_bytes(P_C01, "a.csv", "patients", "C01").batch
    assert first is not None
    corrected = P_C01.replace(b"60,F", b"61,F")
    refused = empty_store.ingest_bytes(corrected, "a2.csv", "patients", "C01")
    assert {p.rule for p in refused.report.problems} == {Rule.DUPLICATE_IN_STORE}
    empty_store.retract(first.batch_id, "corrected export follows")
    assert empty_store.ingest_bytes(corrected, "a2.csv", "patients", "C01").stored
    dataset = empty_store.load_dataset("pooled").dataset
    assert dataset is not None
    assert dataset.table("patients").get_column("age_years").to_list() == [61, 71]


def test_unknown_columns_are_dropped_with_a_notice(empty_store: Store) -> None:
    data = b"patient_id,favourite_colour,sex\nP1,blue,F\n"
    result = empty_store.ingest_bytes(data, "p.csv", "patients", "C01")
    assert result.stored
    assert "p.csv: columns outside the contract were not kept: favourite_colour." in (
        result.report.notices
    )
    dataset = empty_store.load_dataset("pooled").dataset
    assert dataset is not None
    assert "favourite_colour" not in dataset.table("patients").columns


def test_ages_over_90_can_be_coded_as_90(empty_store: Store) -> None:
    data = b"patient_id,age_years\nP1,94\nP2,60\n"
    refused = empty_store.ingest_bytes(data, "p.csv", "patients", "C01")
    assert {p.rule for p in refused.report.problems} == {Rule.AGE_OVER_90}
    accepted = empty_store.ingest_bytes(data, "p.csv", "patients", "C01", cap_ages=True)
    assert accepted.stored
    assert "p.csv: 1 age(s) over 90 were coded as 90." in accepted.report.notices
    dataset = empty_store.load_dataset("pooled").dataset
    assert dataset is not None
    assert dataset.table("patients").get_column("age_years").to_list() == [90, 60]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ","),
        ("utf-16", ","),
        ("utf-16-le", "\t"),
        ("cp1252", ";"),
        ("latin-1", "\t"),
        ("utf-8", ";"),
    ],
)
def test_every_encoding_and_delimiter_stores_the_same_values(
    empty_store: Store, encoding: str, delimiter: str
) -> None:
    decimal = "," if delimiter != "," else "."
    text = (
        f"patient_id{delimiter}bsab{delimiter}pfs_days{delimiter}emd\n"
        f"007{delimiter}Talquetamab{delimiter}12{decimal}5{delimiter}Y\n"
        f"P2{delimiter}nouveau-mab é{delimiter}3{delimiter}n\n"
    )
    result = empty_store.ingest_bytes(text.encode(encoding), "p.csv", "patients", "C01")
    assert result.stored, result.report.to_text()
    dataset = empty_store.load_dataset("pooled").dataset
    assert dataset is not None
    frame = dataset.table("patients")
    assert frame.get_column("patient_id").to_list() == ["C01:007", "C01:P2"]
    assert frame.get_column("bsab").to_list() == ["talquetamab", "nouveau-mab é"]
    assert frame.get_column("pfs_days").to_list() == [12.5, 3.0]
    assert frame.get_column("emd").to_list() == [True, False]


def _pooled_fingerprint(path: Path | str, files: list[tuple[bytes, str, str, str]]) -> str:
    store = open_store(path, seed=False)
    try:
        for data, name, table, center in files:
            assert store.ingest_bytes(data, name, table, center).report.ok
        dataset = store.load_dataset("pooled").dataset
        assert dataset is not None
        return dataset.fingerprint
    finally:
        store.close()


def test_order_and_repetition_do_not_matter(store_at: StoreAt) -> None:
    a = (P_C01, "a.csv", "patients", "C01")
    b = (P_C02, "b.csv", "patients", "C02")
    r = (R_C01, "r.csv", "responses", "C01")
    ab = _pooled_fingerprint(store_at("ab"), [a, b, r])
    ba = _pooled_fingerprint(store_at("ba"), [b, a, r])
    twice = _pooled_fingerprint(store_at("aa"), [a, a, b, r, b, r])
    assert ab == ba == twice


def test_concurrent_ingests_are_all_stored(empty_store: Store) -> None:
    errors: list[BaseException] = []

    def ingest(center: str) -> None:
        try:
            data = f"patient_id,sex\n{center}-1,F\n{center}-2,M\n".encode()
            assert empty_store.ingest_bytes(data, f"{center}.csv", "patients", center).stored
        except BaseException as error:  # collected: a thread's failure must fail the test
            errors.append(error)

    threads = [threading.Thread(target=ingest, args=(f"C{i:02d}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(pooled_ids(empty_store)) == 12
    assert sorted(b.center for b in empty_store.batches()) == [f"C{i:02d}" for i in range(6)]


def test_reads_and_writes_from_many_threads_share_the_file(empty_store: Store) -> None:
    # DuckDB refuses a read-only and a read-write connection to one file at once in one process:
    # reads share the file, a write waits for them and has it alone.
    errors: list[BaseException] = []
    done = threading.Event()

    def ingest(center: str) -> None:
        try:
            data = f"patient_id,sex\n{center}-1,F\n".encode()
            assert empty_store.ingest_bytes(data, f"{center}.csv", "patients", center).stored
        except BaseException as error:  # collected: a thread's failure must fail the test
            errors.append(error)

    def read() -> None:
        try:
            while not done.is_set():
                empty_store.load_dataset("pooled")
                empty_store.check_upload(P_C01, "p.csv", "patients", "Z01")
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(3)]
    writers = [threading.Thread(target=ingest, args=(f"W{i:02d}",)) for i in range(4)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert errors == []
    assert sorted(b.center for b in empty_store.batches()) == [f"W{i:02d}" for i in range(4)]


def test_store_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(STORE_ENV, raising=False)
    assert resolve_store_path() == DEFAULT_STORE_PATH
    assert DEFAULT_STORE_PATH == BUNDLED_DATA_DIR / "bsab-explorer.duckdb"
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "env.duckdb"))
    assert resolve_store_path() == tmp_path / "env.duckdb"
    assert resolve_store_path(tmp_path / "x.duckdb") == tmp_path / "x.duckdb"


# --- fuzzing ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(tmp_path_factory.mktemp("fuzz") / "store.duckdb", seed=False)
    assert store.ingest_bytes(P_C01, "seed.csv", "patients", "C01").stored
    yield store
    store.close()


def _mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, position, chunk in edits:
        at = position % (len(out) + 1)
        if kind == 0:
            out[at:at] = chunk
        elif kind == 1:
            del out[at : at + len(chunk) + 1]
        else:
            out[at : at + len(chunk)] = chunk
    return bytes(out)


_EDIT = st.tuples(
    st.integers(0, 2),
    st.integers(0, 10_000),
    st.binary(min_size=1, max_size=4)
    | st.sampled_from([b",", b";", b"\t", b'"', b"\n", b"\r\n", b"\x00", b"\xff", b"NA", b"-"]),
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.binary(max_size=400)
    | st.lists(_EDIT, min_size=1, max_size=6).map(
        lambda edits: _mutate(P_C01 + b"P003,C01,44,F,NA\n", edits)
    ),
    table=st.sampled_from(["patients", "responses", "events"]),
    suffix=st.sampled_from([".csv", ".xlsx", ".parquet", ".tsv"]),
)
def test_fuzzed_files_end_as_a_report_never_a_partial_write(
    fuzz_store: Store, data: bytes, table: str, suffix: str
) -> None:
    before = snapshot(fuzz_store)
    result = fuzz_store.ingest_bytes(data, f"fuzz{suffix}", table, "C01")
    if result.stored:
        assert result.report.ok
        assert result.batch is not None
        batches, counts, _ = snapshot(fuzz_store)
        assert batches[:-1] == before[0]
        assert sum(counts) - sum(before[1]) == result.batch.rows  # whole batch, nothing else
        fuzz_store.retract(result.batch.batch_id, "fuzz")  # keep later examples independent
    else:
        assert result.report.problems or result.duplicate_of is not None
        assert all(p.message for p in result.report.problems)
        assert snapshot(fuzz_store) == before


# --- crash safety -----------------------------------------------------------------------------

_INGEST_SCRIPT = """
import sys
import bsab_explorer.data.loading as loading
from bsab_explorer.data.store import FileStore, open_store

# This run is about the write, not the rules: skip the (slow to import) range checks.
loading.check_table = lambda parsed: []
original = FileStore._write_batch

def announced(self, *args, **kwargs):
    print("writing", flush=True)
    return original(self, *args, **kwargs)

FileStore._write_batch = announced
store = open_store(sys.argv[1], seed=False)
result = store.ingest_file(sys.argv[2], "events", "K01")
print("done", result.stored, flush=True)
"""


def test_killed_ingest_leaves_the_batch_absent_or_whole(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    store = open_store(path, seed=False)
    assert store.ingest_bytes(b"case_id\nRC1\n", "cases.csv", "cases", "K01").stored
    store.close()
    big = tmp_path / "events.csv"
    lines = [b"case_id,day,event,grade,end_day,detail"]
    lines += [f"RC1,{i / 100:.2f},fever,,,episode {i}".encode() for i in range(100_000)]
    big.write_bytes(b"\n".join(lines) + b"\n")
    process = subprocess.Popen(
        [sys.executable, "-c", _INGEST_SCRIPT, str(path), str(big)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    assert first == "writing"
    assert process.returncode == -signal.SIGKILL
    reopened = open_store(path, seed=False)
    try:
        events = [b for b in reopened.batches() if b.table == "events"]
        _, counts, _ = snapshot(reopened)
        stored_events = dict(zip(TABLES, counts, strict=True))["events"]
        assert len(events) in (0, 1)
        assert stored_events == sum(b.rows for b in events)
        if events:
            assert events[0].rows == 100_000
        # The store still takes new batches after the crash.
        assert reopened.ingest_bytes(b"case_id\nRC2\n", "more.csv", "cases", "K01").stored
    finally:
        reopened.close()


def test_load_dataset_reads_a_store_file(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    store = open_store(path, seed=False)
    assert store.ingest_bytes(P_C01, "a.csv", "patients", "C01").stored
    # Open in this process (`open_store`): read through the same store file access.
    shared = load_dataset(path)
    store.close()
    # Closed: read through a read-only connection, which is closed again afterwards.
    read_only = load_dataset(path)
    assert not is_open(path)
    for result in (shared, read_only):
        assert result.dataset is not None
        assert result.dataset.name == "Bundled (reconstructed) + pooled uploads"
        assert result.dataset.table("patients").get_column("patient_id").to_list() == [
            "C01:P001", "C01:P002",
        ]  # fmt: skip


def test_parquet_row_limit(monkeypatch: pytest.MonkeyPatch, empty_store: Store) -> None:
    import io

    import polars as pl

    from bsab_explorer.data import ingest

    buffer = io.BytesIO()
    pl.DataFrame({"patient_id": [f"P{i}" for i in range(20)]}).write_parquet(buffer)
    monkeypatch.setattr(ingest, "MAX_ROWS", 10)
    result = empty_store.ingest_bytes(buffer.getvalue(), "p.parquet", "patients", "C01")
    assert [p.message for p in result.report.problems] == [
        "The file declares 20 rows; the limit is 10. Split it by center."
    ]


# --- damaged stores ---------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _overwrite_middle(path: Path) -> None:
    # The middle half of the file: the blocks holding the batches and their rows among them.
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size // 4)
        handle.write(b"\xa5" * (size // 2))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _text(path: Path) -> None:
    path.write_text("patient_id,sex\nP1,F\n" * 200, encoding="utf-8")


DAMAGE = {
    "truncated": (_truncate, "the file is shorter than its contents say"),
    "overwritten": (_overwrite_middle, "part of the file was overwritten"),
    "empty": (_empty, "the file is empty (0 bytes), not a DuckDB database"),
    "text": (_text, "the file is not a DuckDB database"),
}


@pytest.fixture(params=sorted(DAMAGE))
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A store holding bundled and uploaded batches, damaged one way, with what the user reads."""
    damage, what = DAMAGE[request.param]
    (tmp_path / "store").mkdir()
    path = tmp_path / "store" / "damaged.duckdb"
    store = open_store(path)
    assert store.ingest_bytes(P_C01, "a.csv", "patients", "C01").stored
    store.close()
    damage(path)
    yield path, what
    assert not is_open(path)


def _file_state(path: Path) -> tuple[str, list[str]]:
    """The store file's bytes (hashed) and every file beside it (a write would leave a WAL)."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(
        p.name for p in path.parent.iterdir()
    )


def _says_what_to_do(message: str, path: Path, what: str) -> None:
    assert message.startswith(f"The store {path.resolve()} is damaged: {what}")
    assert "Nothing was written to it. Restore it from your backup" in message
    assert "the bundled data are still available from the package." in message
    assert "Traceback" not in message
    assert "_duckdb" not in message


def test_a_damaged_store_is_refused_on_opening_and_never_written(
    damaged: tuple[Path, str],
) -> None:
    path, what = damaged
    before = _file_state(path)
    with pytest.raises(StoreDamaged) as raised:
        open_store(path)
    _says_what_to_do(str(raised.value), path, what)
    assert raised.value.path == path.resolve()
    # Asked again (the app reruns), the same answer, and still nothing written.
    with pytest.raises(StoreDamaged):
        open_store(path, seed=False)
    assert _file_state(path) == before


def test_the_command_line_names_the_damage_and_exits_1(
    damaged: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bsab_explorer.cli import main

    path, what = damaged
    before = _file_state(path)
    upload = tmp_path / "more.csv"
    upload.write_bytes(P_C02)
    assert main(["batches", "--store", str(path)]) == 1
    _says_what_to_do(capsys.readouterr().err, path, what)
    code = main(
        ["ingest", str(upload), "--table", "patients", "--center", "C02", "--store", str(path)]
    )
    assert code == 1
    _says_what_to_do(capsys.readouterr().err, path, what)
    for command in (["validate", str(path)], ["info", "--data", str(path)]):
        assert main(command) == 1
        out = capsys.readouterr().out
        assert f"The store {path.resolve()} is damaged: {what}" in out
        assert "Restore it from your backup" in out
    # A table reads only its part of the file (`storefile.reading` without `verify`): DuckDB's
    # check of every block it reads names the damage all the same.
    assert main(["table", "survival-medians", "--data", str(path)]) == 1
    captured = capsys.readouterr()
    assert f"The store {path.resolve()} is damaged: {what}" in captured.err
    assert captured.out == ""
    assert _file_state(path) == before


def test_a_damaged_store_gives_no_traceback_from_the_installed_command(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    path = tmp_path / "store" / "damaged.duckdb"
    store = open_store(path, seed=False)
    assert store.ingest_bytes(P_C01, "a.csv", "patients", "C01").stored
    store.close()
    _overwrite_middle(path)
    before = _file_state(path)
    upload = tmp_path / "more.csv"
    upload.write_bytes(P_C02)
    root = Path(__file__).resolve().parents[2]
    for command in (
        ["batches", "--store", str(path)],
        ["ingest", str(upload), "--table", "patients", "--center", "C02", "--store", str(path)],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "bsab_explorer", *command],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(root)},
            timeout=120,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        _says_what_to_do(done.stderr, path, "part of the file was overwritten")
    assert _file_state(path) == before


def test_a_healthy_store_is_checked_once_until_it_changes(
    monkeypatch: pytest.MonkeyPatch, file_store: Store
) -> None:
    empty_store = file_store
    from bsab_explorer.data import storefile

    assert empty_store.ingest_bytes(P_C01, "a.csv", "patients", "C01").stored
    reads: list[str] = []
    original = storefile.fetch

    def counted(connection: Any, sql: str, params: Any = None) -> list[Any]:
        if "hash(COLUMNS(*))" in sql:
            reads.append(sql)
        return original(connection, sql, params)

    monkeypatch.setattr(storefile, "fetch", counted)
    empty_store.batches()
    empty_store.load_dataset("pooled")
    assert reads == []  # written here: known whole
    # Another program writes to the file: read whole again, once.
    with duckdb.connect(str(empty_store.path)) as other:
        other.execute("INSERT INTO store_meta VALUES ('note', 'x')")
    empty_store.batches()
    checked = len(reads)
    assert checked > 0
    empty_store.batches()
    assert len(reads) == checked


# --- file names and other processes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("../../../../tmp/pwned.csv", "pwned.csv"),
        ("C:\\exports\\c01\\patients.csv", "patients.csv"),
        ("/etc/passwd", "passwd"),
        ("..", "upload"),
        ("plain.csv", "plain.csv"),
    ],
)
def test_only_a_files_base_name_is_stored(empty_store: Store, given: str, stored: str) -> None:
    check = empty_store.check_upload(P_C01, given, "patients", "C01")
    assert f"{stored}: 2 row(s) ready to store for center C01." in check.report.notices
    result = empty_store.ingest_bytes(P_C01, given, "patients", "C01")
    assert result.batch is not None
    assert result.batch.file_name == stored
    assert [b.file_name for b in empty_store.batches()] == [stored]
    assert empty_store.batches_frame().get_column("file_name").to_list() == [stored]
    assert all(given not in notice for notice in result.report.notices if given != stored)


_RUNNING_APP = """
import sys, time
from bsab_explorer.data.store import open_store

store = open_store(sys.argv[1])
store.load_dataset("both")
print("ready", flush=True)
# What a running app does: answer reruns (the generation), reload after a change, store uploads.
deadline = time.monotonic() + float(sys.argv[2])
stored = 0
while time.monotonic() < deadline:
    store.generation()
    store.load_dataset("both")
    if not stored:
        stored = store.ingest_bytes(b"patient_id,sex\\nA1,F\\n", "a.csv", "patients", "A01").stored
    time.sleep(0.02)
print("done", stored, store.generation(), flush=True)
"""


def test_the_command_line_reads_the_store_beside_a_running_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bsab_explorer.cli import main

    path = tmp_path / "store.duckdb"
    app = subprocess.Popen(
        [sys.executable, "-c", _RUNNING_APP, str(path), "6"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "ready"
        for _ in range(3):
            assert main(["batches", "--store", str(path)]) == 0
            out = capsys.readouterr().out
            assert f"Store: {path.resolve()}" in out
            assert "debulking/patients.csv" in out
            assert main(["info", "--data", str(path)]) == 0
            assert "Bundled (reconstructed) + pooled uploads" in capsys.readouterr().out
        upload = tmp_path / "b.csv"
        upload.write_bytes(b"patient_id,sex\nB1,M\n")
        command = ["ingest", str(upload), "--table", "patients", "--center", "B01"]
        assert main([*command, "--store", str(path)]) == 0
        assert "stored as batch" in capsys.readouterr().out
        last = app.stdout.readline().split()
        assert app.wait(timeout=60) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(timeout=30)
        assert app.stdout is not None
        app.stdout.close()
    # The app stored its upload and saw the command line's: both batches are in its generation.
    assert last[:2] == ["done", "True"]
    reopened = open_store(path, seed=False)
    try:
        centers = {b.center for b in reopened.batches() if b.origin == "upload"}
        assert centers == {"A01", "B01"}
        assert last[2] == reopened.generation()
    finally:
        reopened.close()


def _registry_parquet(tmp_path: Path, size: int, center: str) -> tuple[Path, Path]:
    from bench import registry

    sample = registry.generate(size, seed=5)
    patients = tmp_path / f"patients-{center}.parquet"
    responses = tmp_path / f"responses-{center}.parquet"
    sample.tables["patients"].with_columns(pl.lit(center).alias("center")).write_parquet(patients)
    sample.tables["responses"].write_parquet(responses)
    return patients, responses


def test_a_typed_parquet_is_stored_whole_once_and_equal_to_its_csv(
    empty_store: Store, tmp_path: Path
) -> None:
    patients, responses = _registry_parquet(tmp_path, 2_000, "C01")
    first = empty_store.ingest_file(patients, "patients", "C01")
    assert first.stored, first.report.to_text()
    assert first.batch is not None
    assert first.batch.rows == 2_000
    assert empty_store.ingest_file(responses, "responses", "C01").stored
    again = empty_store.ingest_file(patients, "patients", "C01")
    assert not again.stored
    assert again.duplicate_of == first.batch
    assert len(empty_store.batches()) == 2
    # The same rows as CSV text, stored for another center, read back to the same values.
    csv = tmp_path / "patients.csv"
    pl.read_parquet(patients).with_columns(pl.lit("C02").alias("center")).write_csv(csv)
    assert empty_store.ingest_file(csv, "patients", "C02").stored
    dataset = empty_store.load_dataset("pooled").dataset
    assert dataset is not None
    stored = dataset.table("patients")
    from_parquet = stored.filter(pl.col("center") == "C01").drop("patient_id", "center")
    from_csv = stored.filter(pl.col("center") == "C02").drop("patient_id", "center")
    assert from_parquet.write_csv() == from_csv.write_csv()


def test_one_bad_typed_row_stores_nothing(empty_store: Store, tmp_path: Path) -> None:
    patients, _ = _registry_parquet(tmp_path, 2_000, "C01")
    frame = pl.read_parquet(patients)
    bad = tmp_path / "patients.parquet"
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1_500)
        .then(pl.lit(-3.0))
        .otherwise(pl.col("pfs_days"))
        .alias("pfs_days")
    ).write_parquet(bad)
    result = empty_store.ingest_file(bad, "patients", "C01")
    assert not result.stored
    problem = next(p for p in result.report.problems if p.rule == Rule.NEGATIVE_TIME)
    assert (problem.row, problem.column, problem.value) == (1_501, "pfs_days", "-3")
    assert empty_store.batches() == ()
    # No row of the file reached the store's table, whichever the backend.
    assert empty_store.load_dataset("pooled").dataset is None
