"""Roles and the access log: viewers are refused where the store is written, uploaders are
logged, the log holds no patient value, and an older store gains the log when opened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from bsab_explorer.data import access
from bsab_explorer.data.access import (
    OPEN,
    AccessRefused,
    AccessRules,
    Action,
    Role,
    Visitor,
)
from bsab_explorer.data.store import Store, file_sha256, open_store, store_table
from tests.data.conftest import StoreAt

GOOD = b"patient_id,age_years,sex\nP001,60,F\nP002,71,M\n"
VIEWER = Visitor("viewer@example.org", frozenset({Role.VIEWER}), signed_in=True)
UPLOADER = Visitor("uploader@example.org", frozenset(Role), signed_in=True)


@pytest.fixture
def store(store_at: StoreAt) -> Iterator[Store]:
    """A fresh store without the bundled data (a DuckDB file, then a PostgreSQL database)."""
    opened = open_store(store_at("store"), seed=False)
    yield opened
    opened.close()


RULES = AccessRules.from_config(
    {
        "viewers": ["Viewer@Example.org"],
        "uploaders": "uploader@example.org",
        "claim": "roles",
        "viewer_groups": ["bsab-view"],
        "uploader_groups": ["bsab-upload"],
    }
)


@pytest.mark.parametrize(
    ("email", "claims", "roles"),
    [
        ("viewer@example.org", {}, {Role.VIEWER}),
        ("VIEWER@example.org ", {}, {Role.VIEWER}),
        ("uploader@example.org", {}, {Role.VIEWER, Role.UPLOADER}),
        ("someone@example.org", {"roles": ["bsab-view"]}, {Role.VIEWER}),
        ("someone@example.org", {"roles": "bsab-upload"}, {Role.VIEWER, Role.UPLOADER}),
        ("viewer@example.org", {"roles": ["bsab-upload"]}, {Role.VIEWER, Role.UPLOADER}),
        ("someone@example.org", {"groups": ["bsab-upload"]}, set()),
        ("someone@example.org", {}, set()),
        ("", {}, set()),
    ],
)
def test_roles_come_from_the_allowlists_and_the_claim(
    email: str, claims: dict[str, object], roles: set[Role]
) -> None:
    assert RULES.roles_of(email, claims) == roles


def test_rules_refuse_an_unknown_setting() -> None:
    with pytest.raises(
        ValueError, match=r"^Unknown setting\(s\) in \[bsab_explorer\.access\]: viewer\. "
    ):
        AccessRules.from_config({"viewer": ["a@example.org"]})
    assert AccessRules.from_config({}).empty
    assert not RULES.empty


def test_a_viewer_cannot_upload_or_retract(store: Store) -> None:
    with pytest.raises(
        AccessRefused, match=r"^viewer@example\.org is not allowed .* needs the uploader role"
    ):
        access.upload(store, VIEWER, GOOD, "patients.csv", "patients", "C01")
    assert store.batches() == ()
    result = access.upload(store, UPLOADER, GOOD, "patients.csv", "patients", "C01")
    assert result.batch is not None
    with pytest.raises(AccessRefused):
        access.set_retracted(store, VIEWER, result.batch.batch_id, True, "wrong")
    assert not store.batches()[0].retracted
    assert [entry.action for entry in store.access_log()] == [Action.UPLOAD]


def test_uploads_retractions_sign_ins_and_downloads_are_logged(store: Store) -> None:
    access.record_sign_in(store, UPLOADER)
    result = access.upload(store, UPLOADER, GOOD, "patients.csv", "patients", "C07")
    assert result.batch is not None
    batch_id = result.batch.batch_id
    assert access.set_retracted(store, UPLOADER, batch_id, True, "entered twice") is not None
    assert access.set_retracted(store, UPLOADER, batch_id, False) is not None
    # An unknown batch is not retracted, so nothing is logged for it.
    assert access.set_retracted(store, UPLOADER, 999, True) is None
    access.record_download(store, VIEWER, "km_os.png", "f" * 64)
    log = store.access_log()
    target, sha = f"batch {batch_id} (patients, center C07)", file_sha256(GOOD)
    assert [(e.user, e.action, e.target, e.fingerprint) for e in log] == [
        ("uploader@example.org", "sign-in", "uploader, viewer", ""),
        ("uploader@example.org", "upload", target, sha),
        ("uploader@example.org", "retract", target, sha),
        ("uploader@example.org", "restore", target, sha),
        ("viewer@example.org", "download", "km_os.png", "f" * 64),
    ]
    assert [e.entry_id for e in log] == [1, 2, 3, 4, 5]
    assert all(e.logged_at.tzinfo is not None for e in log)
    # Patient ids and values never reach the log.
    text = " ".join(f"{e.user} {e.action} {e.target} {e.fingerprint}" for e in log)
    assert "P00" not in text


def test_the_open_app_logs_its_uploads_as_open_access(store: Store) -> None:
    result = access.upload(store, OPEN, GOOD, "patients.csv", "patients", "C03")
    assert result.stored
    assert [(e.user, e.action) for e in store.access_log()] == [("(open access)", "upload")]


def test_a_store_without_the_access_log_gains_it_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    first = open_store(path, seed=False)
    first.close()
    with duckdb.connect(str(path)) as connection:
        connection.execute("DROP TABLE store_access_log")
    again = open_store(path, seed=False)
    try:
        again.record_access("a@example.org", "sign-in", "viewer")
        assert [e.user for e in again.access_log()] == ["a@example.org"]
    finally:
        again.close()


class _LogDown(Exception):
    """The access log's write failed (injected)."""


def _failing_log(*args: object) -> None:
    raise _LogDown("the access log could not be written")


def test_an_upload_whose_log_entry_fails_stores_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = store.generation()
    with monkeypatch.context() as patch:
        patch.setattr(store, "_append_access", _failing_log)
        with pytest.raises(_LogDown):
            access.upload(store, UPLOADER, GOOD, "patients.csv", "patients", "C01")
    # Nothing half-written: no batch, no rows, no entry, the store's generation unchanged.
    assert store.batches() == ()
    assert store.access_log() == ()
    assert store.generation() == before
    with store.reading() as connection:
        assert connection.sql(f"SELECT count(*) FROM {store_table('patients')}").fetchall() == [
            (0,)
        ]
    # The same file stores normally afterwards (not refused as a duplicate of a lost batch).
    result = access.upload(store, UPLOADER, GOOD, "patients.csv", "patients", "C01")
    assert result.batch is not None
    assert [(e.action, e.fingerprint) for e in store.access_log()] == [
        ("upload", file_sha256(GOOD))
    ]


@pytest.mark.parametrize("retracted", [True, False])
def test_a_retraction_whose_log_entry_fails_changes_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch, retracted: bool
) -> None:
    result = access.upload(store, UPLOADER, GOOD, "patients.csv", "patients", "C01")
    assert result.batch is not None
    batch_id = result.batch.batch_id
    if not retracted:
        access.set_retracted(store, UPLOADER, batch_id, True, "to be restored")
    before = (store.batches(), store.access_log(), store.generation())
    with monkeypatch.context() as patch:
        patch.setattr(store, "_append_access", _failing_log)
        with pytest.raises(_LogDown):
            access.set_retracted(store, UPLOADER, batch_id, retracted, "log down")
    assert (store.batches(), store.access_log(), store.generation()) == before
    assert store.batches()[0].retracted is not retracted
