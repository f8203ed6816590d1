"""The store's fingerprint memo (`data.fingerprints`), on both backends: it always equals the
fingerprint recomputed from what is loaded, it is computed once per generation, and a memo that
no longer fits (an ingest, a retraction, a restore, another loader) or is damaged is never used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import psycopg
import pytest

from bsab_explorer import dataset as dataset_module
from bsab_explorer.data import fingerprints
from bsab_explorer.data.fingerprints import FingerprintMemo, loader_key, memo_key
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.data.store import Store, open_store
from bsab_explorer.dataset import Dataset, fingerprint_tables
from tests.data.conftest import StoreAt

P_C01 = b"patient_id,center,age_years,sex,emd\nP001,C01,60,F,yes\nP002,,71,M,no\n"
P_C02 = b"patient_id,age_years,sex\nP001,55,M\nP003,64,F\n"
R_C01 = b"patient_id,timepoint,response\nP001,C1,PR\nP001,C3,VGPR\nP002,C1,PD\n"
R_C02 = b"patient_id,timepoint,response\nP003,C1,CR\nP001,C1,SD\n"


class Counted:
    """Counts the fingerprints computed from tables (`fingerprint_tables`) while active."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = dataset_module.fingerprint_tables

        def counted(tables: Any) -> str:
            self.calls += 1
            return original(tables)

        monkeypatch.setattr(dataset_module, "fingerprint_tables", counted)

    def take(self) -> int:
        calls, self.calls = self.calls, 0
        return calls


@pytest.fixture
def location(store_at: StoreAt) -> Path | str:
    """A fresh store's file or URL (a DuckDB file, then a PostgreSQL database)."""
    return store_at("memo")


@pytest.fixture
def store(location: Path | str) -> Iterator[Store]:
    """A fresh store without the bundled data, holding two centers' uploads of two tables."""
    opened = open_store(location, seed=False)
    # C02 first: its rows are stored before C01's but load after them (sorted on loading).
    for data, name, table, center in (
        (P_C02, "p2.csv", "patients", "C02"),
        (P_C01, "p1.csv", "patients", "C01"),
        (R_C02, "r2.csv", "responses", "C02"),
        (R_C01, "r1.csv", "responses", "C01"),
    ):
        assert opened.ingest_bytes(data, name, table, center).stored
    yield opened
    opened.close()


def loaded(store: Store, which: str = "pooled") -> Dataset:
    result = store.load_dataset(which)  # type: ignore[arg-type]
    assert result.dataset is not None, result.report.to_text()
    return result.dataset


def set_meta(location: Path | str, key: str, value: str) -> None:
    """Write `store_meta` behind the store's back (as a mistaken or damaged write would)."""
    if isinstance(location, Path):
        with duckdb.connect(str(location)) as connection:
            connection.execute("INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [key, value])
        return
    with psycopg.connect(location, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO store_meta VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


def get_meta(location: Path | str, key: str) -> str | None:
    if isinstance(location, Path):
        with duckdb.connect(str(location), read_only=True) as connection:
            rows = connection.execute("SELECT value FROM store_meta WHERE key = ?", [key])
            found = rows.fetchall()
    else:
        with psycopg.connect(location, autocommit=True) as connection:
            found = connection.execute(
                "SELECT value FROM store_meta WHERE key = %s", [key]
            ).fetchall()
    return str(found[0][0]) if found else None


def test_the_memo_equals_the_recomputed_fingerprint_and_is_computed_once(
    monkeypatch: pytest.MonkeyPatch, store: Store, location: Path | str
) -> None:
    counted = Counted(monkeypatch)
    for which in ("pooled", "both"):
        first = loaded(store, which)
        assert counted.take() == 1
        assert first.fingerprint == fingerprint_tables(first.tables)
        counted.take()
        again = loaded(store, which)
        assert counted.take() == 0  # the memo, not a second computation
        assert again.fingerprint == first.fingerprint
        assert again.tables.keys() == first.tables.keys()
        for name in first.tables:
            assert again.tables[name].equals(first.tables[name])
        memo = FingerprintMemo.decode(get_meta(location, memo_key(which)))
        assert memo is not None
        assert memo.fingerprint == first.fingerprint
        assert memo.generation == store.generation()
        assert dict(memo.rows) == {"patients": 4, "responses": 5}
    # Rows come in (center, file, row) order though C02's were stored first.
    ids = loaded(store).table("patients").get_column("patient_id").to_list()
    assert ids == ["C01:P001", "C01:P002", "C02:P001", "C02:P003"]


def test_an_ingest_a_retraction_and_a_restore_each_make_a_new_memo(
    monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    counted = Counted(monkeypatch)
    seen = [loaded(store).fingerprint]
    batch = store.ingest_bytes(b"patient_id,sex\nQ9,F\n", "p3.csv", "patients", "C03").batch
    assert batch is not None
    retracts = next(b for b in store.batches() if b.file_name == "p1.csv")
    for change in (
        lambda: None,
        lambda: store.retract(retracts.batch_id, "wrong export"),
        lambda: store.restore(retracts.batch_id),
    ):
        change()
        counted.take()
        dataset = loaded(store)
        assert counted.take() == 1
        assert dataset.fingerprint == fingerprint_tables(dataset.tables)
        seen.append(dataset.fingerprint)
        assert loaded(store).fingerprint == dataset.fingerprint
        assert counted.take() == 0
    # New data, C01's patients out (and their responses), C01's back: the first state plus Q9.
    assert len(set(seen)) == 3
    assert seen[1] == seen[3] != seen[0]


@pytest.mark.parametrize(
    "damage",
    ["garbage", "empty", "flipped digit", "other loader", "other rows", "other which"],
)
def test_a_damaged_or_unfitting_memo_is_ignored_and_replaced(
    monkeypatch: pytest.MonkeyPatch, store: Store, location: Path | str, damage: str
) -> None:
    truth = loaded(store)
    key = memo_key("pooled")
    stored = get_meta(location, key)
    memo = FingerprintMemo.decode(stored)
    assert stored is not None
    assert memo is not None
    forged = "0" * 64
    if damage == "garbage":
        text = "{not json"
    elif damage == "empty":
        text = ""
    elif damage == "flipped digit":
        # The fingerprint changed, the check digest not: damage, not a memo.
        text = stored.replace(memo.fingerprint, forged)
    else:
        rows = dict(memo.rows)
        which, loader = memo.which, memo.loader
        if damage == "other loader":
            loader = "0" * 64
        elif damage == "other rows":
            rows["patients"] += 1
        else:
            which = "both"
        text = FingerprintMemo(which, memo.generation, loader, rows, forged).encode()
    set_meta(location, key, text)
    counted = Counted(monkeypatch)
    dataset = loaded(store)
    assert counted.take() == 1
    assert dataset.fingerprint == truth.fingerprint == fingerprint_tables(dataset.tables)
    replaced = FingerprintMemo.decode(get_meta(location, key))
    assert replaced is not None
    assert replaced.fingerprint == truth.fingerprint


def test_a_new_loader_version_recomputes(
    monkeypatch: pytest.MonkeyPatch, store: Store, location: Path | str
) -> None:
    before = loaded(store).fingerprint
    old_loader = loader_key()
    monkeypatch.setattr(fingerprints, "LOADER_VERSION", "next")
    assert loader_key() != old_loader
    counted = Counted(monkeypatch)
    assert loaded(store).fingerprint == before
    assert counted.take() == 1
    memo = FingerprintMemo.decode(get_meta(location, memo_key("pooled")))
    assert memo is not None
    assert memo.loader == loader_key()


def test_another_fingerprint_definition_changes_the_loader_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = loader_key()
    original = fingerprints.fingerprint_tables
    monkeypatch.setattr(fingerprints, "fingerprint_tables", lambda t: original(t)[::-1])
    assert loader_key() != before


def test_the_command_line_path_keeps_and_uses_the_memo_of_a_store_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "store.duckdb"
    store = open_store(path)  # with the bundled data, and two centers' uploads
    try:
        assert store.ingest_bytes(P_C02, "p2.csv", "patients", "C02").stored
        assert store.ingest_bytes(P_C01, "p1.csv", "patients", "C01").stored
    finally:
        store.close()
    counted = Counted(monkeypatch)
    first = load_dataset(path).dataset
    assert first is not None
    assert counted.take() == 1
    assert first.fingerprint == fingerprint_tables(first.tables)
    second = load_dataset(path).dataset
    assert second is not None
    assert counted.take() == 0
    assert second.fingerprint == first.fingerprint
    assert FingerprintMemo.decode(get_meta(path, memo_key("both"))) is not None
    # The bundled rows first (their file order), then the uploads by center.
    ids = first.table("patients").get_column("patient_id")
    uploads = ids.filter(ids.str.contains(":")).to_list()
    assert uploads == ["C01:P001", "C01:P002", "C02:P001", "C02:P003"]
    assert ids.head(ids.len() - 4).str.contains(":").not_().all()


def test_the_memo_round_trips_and_its_check_guards_every_field() -> None:
    memo = FingerprintMemo("both", "3:3:0:-", loader_key(), {"patients": 2}, "a" * 64)
    assert FingerprintMemo.decode(memo.encode()) == memo
    tables = {"patients": pl.DataFrame({"patient_id": ["A", "B"]})}
    assert memo.fits("both", "3:3:0:-", tables)
    assert not memo.fits("pooled", "3:3:0:-", tables)
    assert not memo.fits("both", "4:4:0:-", tables)
    assert not memo.fits("both", "3:3:0:-", {"patients": tables["patients"].head(1)})
    for field in ("both", "3:3:0:-", "patients", "a" * 64):
        assert FingerprintMemo.decode(memo.encode().replace(field, field[:-1] + "_", 1)) is None
    # Not a sha256 (though its check digest matches): refused.
    bad = FingerprintMemo("both", "3:3:0:-", loader_key(), {"patients": 2}, "xyz")
    assert FingerprintMemo.decode(bad.encode()) is None
