"""`bsab-explorer access-log`: the store's access log, from the shell."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsab_explorer.cli import EXIT_OK, main
from bsab_explorer.data import access
from bsab_explorer.data.access import Role, Visitor
from bsab_explorer.data.store import file_sha256, open_store

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
