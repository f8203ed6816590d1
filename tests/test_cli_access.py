"""`bsab-explorer access-log`: the store's access log, from the shell; and what `ingest` and
`retract` write to it, on both backends."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from bsab_explorer.cli import EXIT_INVALID, EXIT_OK, main
from bsab_explorer.data import access
from bsab_explorer.data.access import USER_ENV, Role, Visitor, command_line_user
from bsab_explorer.data.store import file_sha256, open_store
from tests.pg import Postgres

GOOD = b"patient_id,age_years,sex\nP001,60,F\nP002,71,M\n"
UPLOADER = Visitor("uploader@example.org", frozenset(Role), signed_in=True)
VIEWER = Visitor("viewer@example.org", frozenset({Role.VIEWER}), signed_in=True)


def test_access_log_prints_every_entry_and_filters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "store.duckdb"
    store = open_store(path, seed=False)
    try:
        access.record_sign_in(store, UPLOADER)
        result = access.upload(store, UPLOADER, GOOD, "patients.csv", "patients", "C04")
        assert result.batch is not None
        access.record_download(store, VIEWER, "report.html", "ab" * 32)
    finally:
        store.close()
    assert main(["access-log", "--store", str(path)]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Store: {path.resolve()}"
    assert lines[1].split() == [
        "entry", "time", "(UTC)", "user", "action", "fingerprint", "batch", "or", "export"
    ]  # fmt: skip
    rows = [line.split() for line in lines[2:]]
    # entry, date, time, user, action, fingerprint, target...
    assert [(r[0], r[3], r[4], r[5], " ".join(r[6:])) for r in rows] == [
        ("1", "uploader@example.org", "sign-in", "-", "uploader, viewer"),
        ("2", "uploader@example.org", "upload", file_sha256(GOOD)[:12],
         f"batch {result.batch.batch_id} (patients, center C04)"),
        ("3", "viewer@example.org", "download", "ab" * 6, "report.html"),
    ]  # fmt: skip
    assert main(["access-log", "--store", str(path), "--user", "VIEWER@example.org"]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[4] for line in out[2:]] == ["download"]
    assert main(["access-log", "--store", str(path), "--action", "upload"]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[3] for line in out[2:]] == ["uploader@example.org"]


def test_empty_access_log_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "store.duckdb"
    open_store(path, seed=False).close()
    assert main(["access-log", "--store", str(path)]) == EXIT_OK
    assert capsys.readouterr().out.splitlines()[2:] == ["(no entries)"]


@pytest.fixture(params=["duckdb", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new store of each backend: a DuckDB file, then a PostgreSQL database."""
    if request.param == "duckdb":
        return str(tmp_path / "store.duckdb")
    server: Postgres = request.getfixturevalue("postgres")
    return server.new_database()


def test_command_line_ingest_retract_and_restore_are_logged(
    store_location: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload = tmp_path / "patients.csv"
    upload.write_bytes(GOOD)
    other = tmp_path / "converted.csv"
    other.write_bytes(b"patient_id,age_years,sex\nQ001,55,M\n")
    monkeypatch.delenv(USER_ENV, raising=False)
    monkeypatch.setattr(getpass, "getuser", lambda: "registry-admin")
    store = ["--store", store_location]
    ingest = ["ingest", str(upload), "--table", "patients", "--center", "C04", *store]
    assert main([*ingest, "--user", "alice"]) == EXIT_OK
    opened = open_store(store_location)  # the store the commands opened in this process
    try:
        first = opened.batches()[-1].batch_id
        # Re-ingesting the same file stores nothing, so nothing is logged.
        assert main([*ingest, "--user", "alice"]) == EXIT_OK
        monkeypatch.setenv(USER_ENV, "bob")
        assert main(["retract", str(first), "--reason", "entered twice", *store]) == EXIT_OK
        monkeypatch.delenv(USER_ENV)
        assert main(["retract", str(first), "--undo", *store]) == EXIT_OK
        # An unknown batch: refused, nothing logged.
        assert main(["retract", "999", *store, "--user", "alice"]) == EXIT_INVALID
        ingest_other = ["ingest", str(other), "--table", "patients", "--center", "C05", *store]
        assert main(ingest_other) == EXIT_OK
        second = opened.batches()[-1].batch_id
        log = opened.access_log()
    finally:
        opened.close()
    capsys.readouterr()
    target = f"batch {first} (patients, center C04)"
    assert [(e.user, e.action, e.target, e.fingerprint) for e in log] == [
        ("alice", "upload", target, file_sha256(GOOD)),
        ("bob", "retract", target, file_sha256(GOOD)),
        ("registry-admin", "restore", target, file_sha256(GOOD)),
        ("registry-admin", "upload", f"batch {second} (patients, center C05)",
         file_sha256(other.read_bytes())),
    ]  # fmt: skip
    # Patient ids and values never reach the log.
    text = " ".join(f"{e.user} {e.action} {e.target} {e.fingerprint}" for e in log)
    assert "P00" not in text
    assert "Q00" not in text


def test_the_command_line_user_falls_back_to_the_system_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "registry-admin")
    monkeypatch.delenv(USER_ENV, raising=False)
    assert command_line_user() == "registry-admin"
    assert command_line_user("  ") == "registry-admin"
    monkeypatch.setenv(USER_ENV, " carol ")
    assert command_line_user() == "carol"
    assert command_line_user("dave") == "dave"
