"""The `bsab-explorer` command line: exit codes and what it prints."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bsab_explorer.cli import EXIT_INVALID, EXIT_OK, main
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.data.store import open_store

PATIENTS = "patient_id,center,age_years,sex\nP001,C01,60,F\nP002,C01,70,M\n"


@pytest.fixture
def store_path(tmp_path: Path) -> Iterator[Path]:
    """A store file in a temporary folder, closed again after the test."""
    path = tmp_path / "store.duckdb"
    yield path
    open_store(path, seed=False).close()


def test_validate_bundled_data_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "data"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("No problems found.")
    assert "Valid: 4 table(s)" in out


def test_validate_invalid_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "patients.csv").write_text("patient_id,sex\nP1,X\nP1,F\n")
    assert main(["validate", str(tmp_path)]) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "2 problems found:" in out
    assert "patients.csv, row 2, column sex: 'X' is not a known code for sex (Sex)." in out
    assert "patients.csv, row 3, column patient_id: patient_id 'P1' appears more than once" in out
    assert out.rstrip().endswith("Invalid: correct the problems above and validate again.")


def test_validate_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope")]) == EXIT_INVALID
    assert "[no_tables]" in capsys.readouterr().out


def test_info_prints_fingerprint_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == EXIT_OK
    out = capsys.readouterr().out
    fingerprint = load_dataset().dataset
    assert fingerprint is not None
    assert f"Fingerprint (sha256): {fingerprint.fingerprint}" in out
    assert "Dataset: Bundled (reconstructed)" in out
    assert "Reconstructed from published aggregates, not real patients." in out
    assert "  patients        44 rows" in out
    assert "  cases            5 rows" in out


def test_info_on_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "patients.csv").write_text(PATIENTS)
    assert main(["info", "--data", str(tmp_path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "  patients         2 rows  4/56 columns with data" in out
    assert "Recurrent CRS during bispecific therapy (case series): not loaded" in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "validate" in capsys.readouterr().out


def test_module_entry_point_never_imports_streamlit(tmp_path: Path) -> None:
    # Text columns only, so the run stays quick (no numeric range checks to load).
    (tmp_path / "patients.csv").write_text("patient_id,center,sex\nP001,C01,F\nP002,C01,M\n")
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['bsab-explorer', 'validate', {str(tmp_path)!r}]\n"
        "try:\n"
        "    runpy.run_module('bsab_explorer', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    print('exit', exit.code, 'streamlit' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip().endswith("exit 0 False")
    assert "Valid: 1 table(s), 2 row(s)." in done.stdout


def test_ingest_batches_retract(
    tmp_path: Path, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload = tmp_path / "c01_patients.csv"
    upload.write_text(PATIENTS)
    store = ["--store", str(store_path)]
    assert main(["ingest", str(upload), "--table", "patients", "--center", "C01", *store]) == 0
    out = capsys.readouterr().out
    assert "c01_patients.csv: stored as batch" in out
    assert main(["ingest", str(upload), "--table", "patients", "--center", "C01", *store]) == 0
    assert "this exact file is already stored as batch" in capsys.readouterr().out
    assert main(["batches", *store]) == 0
    listing = capsys.readouterr().out.splitlines()
    uploaded = [line for line in listing if "c01_patients.csv" in line]
    assert len(uploaded) == 1
    assert " patients   C01              2  upload   active" in uploaded[0]
    batch_id = uploaded[0].split()[0]
    assert main(["retract", batch_id, "--reason", "test", *store]) == 0
    assert f"Batch {batch_id} retracted (nothing was deleted):" in capsys.readouterr().out
    assert main(["retract", batch_id, "--undo", *store]) == 0
    assert f"Batch {batch_id} restored" in capsys.readouterr().out
    assert main(["retract", "9999", *store]) == EXIT_INVALID
    assert "There is no batch 9999." in capsys.readouterr().out


def test_ingest_invalid_file_leaves_store_unchanged(
    tmp_path: Path, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,email\nP1,someone@example.org\n")
    store = ["--store", str(store_path)]
    assert main(["batches", *store]) == 0
    before = capsys.readouterr().out
    code = main(["ingest", str(bad), "--table", "patients", "--center", "C01", *store])
    assert code == EXIT_INVALID
    out = capsys.readouterr().out
    assert "bad.csv, column email: Column 'email' looks like it holds identifying data" in out
    assert "Nothing was stored" in out
    assert main(["batches", *store]) == 0
    assert capsys.readouterr().out == before


def test_store_env_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "env-store.duckdb"
    monkeypatch.setenv("BSAB_EXPLORER_STORE", str(path))
    try:
        assert main(["batches"]) == 0
        assert f"Store: {path.resolve()}" in capsys.readouterr().out
        assert path.exists()
    finally:
        open_store(path, seed=False).close()


def test_store_held_by_another_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "busy.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            "connection = duckdb.connect(sys.argv[1])\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        assert main(["batches", "--store", str(path)]) == 2
        error = capsys.readouterr().err
        assert f"The store {path.resolve()} cannot be opened" in error
        assert "only one may write to it at a time." in error
    finally:
        holder.kill()
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()
