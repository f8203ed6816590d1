"""`bsab-explorer convert` and `ingest --mapping`: exit codes, the written tables cell by cell,
and nothing written or stored when anything is wrong."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bsab_explorer.cli import EXIT_ERROR, EXIT_INVALID, EXIT_OK, main
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.data.store import open_store
from tests.data.convert.cohort import (
    CONTRACT_CSV,
    MAPPING_TOML,
    RECORDS,
    assert_no_date,
    csv_text,
    rows,
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A center's patients file with dd/mm/yyyy dates, its own names and codes."""
    path = tmp_path / "centre.csv"
    path.write_text(csv_text(rows(lambda d: d.strftime("%d/%m/%Y"))), encoding="utf-8")
    return path


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "centre.toml"
    path.write_text(MAPPING_TOML, encoding="utf-8")
    return path


@pytest.fixture
def store_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "store.duckdb"
    yield path
    open_store(path, seed=False).close()


def test_convert_writes_the_contract_tables_cell_by_cell(
    tmp_path: Path, export: Path, mapping: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["convert", str(export), "--to", str(out), "--mapping", str(mapping)])
    printed = capsys.readouterr().out
    assert code == EXIT_OK, printed
    assert sorted(p.name for p in out.iterdir()) == ["patients.csv"]
    written = (out / "patients.csv").read_text(encoding="utf-8")
    assert written.splitlines() == [
        "patient_id,sex,emd,bsab,pfs_days,pfs_event,os_days,os_event",
        "P01,F,true,teclistamab,120,true,200,true",
        "P02,M,false,elranatamab,90,true,90,true",
        "P03,F,true,teclistamab,60,true,400,false",
        "P04,M,false,talquetamab,365,false,365,false",
        "P05,M,false,teclistamab,150,false,300,false",
        "P06,F,true,elranatamab,3,true,40,true",
    ]
    assert f"Wrote {out / 'patients.csv'} (6 rows of patients)." in printed
    assert_no_date(written + printed)
    # The written folder loads as the same patients typed by hand as contract days.
    hand = tmp_path / "hand"
    hand.mkdir()
    (hand / "patients.csv").write_text(CONTRACT_CSV, encoding="utf-8")
    converted, typed = load_dataset(out), load_dataset(hand)
    assert converted.report.ok
    assert typed.report.ok
    assert converted.dataset is not None
    assert typed.dataset is not None
    assert_frame_equal(converted.dataset.table("patients"), typed.dataset.table("patients"))


def test_an_invalid_export_writes_nothing_and_lists_every_problem(
    tmp_path: Path, export: Path, mapping: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = export.read_text(encoding="utf-8").splitlines()
    # Row 3 (P02) dies before its first dose; row 5 (P04) has a date that is not one.
    first = RECORDS[1].origin
    fields = lines[2].split(",")
    fields[6] = (first - dt.timedelta(days=5)).strftime("%d/%m/%Y")
    lines[2] = ",".join(fields)
    fields = lines[4].split(",")
    fields[7] = "31/02/2023"
    lines[4] = ",".join(fields)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(["convert", str(export), "--to", str(out), "--mapping", str(mapping)])
    printed = capsys.readouterr().out
    assert code == EXIT_INVALID
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".convert")] == []
    assert "centre.csv, row 3, column date_deces: The death date is before the origin date" in (
        printed
    )
    assert (
        "centre.csv, row 5, column last_fu_date: '99/99/9999' in last_fu_date is not a date."
        in printed
    )
    assert printed.rstrip().endswith(
        "Nothing was written: correct the problems above and convert again."
    )
    assert_no_date(printed)


def test_an_ambiguous_date_order_needs_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ambiguous.csv"
    path.write_text(
        "patient_id,bsab_start_date,death_date\nP1,01/02/2023,03/04/2023\n"
        "P2,02/01/2023,03/01/2023\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["convert", str(path), "--to", str(out)]) == EXIT_INVALID
    printed = capsys.readouterr().out
    assert "cannot be told from the values" in printed
    assert not out.exists()
    assert main(["convert", str(path), "--to", str(out), "--date-order", "dmy"]) == EXIT_OK
    day_first = pl.read_csv(out / "patients.csv").select("patient_id", "os_days").rows()
    assert day_first == [("P1", 61), ("P2", 1)]
    assert main(["convert", str(path), "--to", str(out), "--date-order", "mdy"]) == EXIT_OK
    month_first = pl.read_csv(out / "patients.csv").select("patient_id", "os_days").rows()
    # P2: 2 to 3 January when day first, 1 February to 1 March when month first.
    assert month_first == [("P1", 61), ("P2", 28)]


@pytest.mark.parametrize(
    "argv",
    [
        ["convert", "{missing}", "--to", "{out}"],
        ["convert", "{export}", "--to", "{out}", "--mapping", "{missing}"],
        ["convert", "{export}", "--to", "{out}", "--dictionary", "{missing}"],
        ["convert", "{export}", "--to", "{export}"],
    ],
)
def test_usage_errors_exit_2_and_write_nothing(
    argv: list[str], tmp_path: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = {"missing": tmp_path / "nope.csv", "out": tmp_path / "out", "export": export}
    assert main([a.format(**paths) for a in argv]) == EXIT_ERROR
    assert "there is no file" in capsys.readouterr().err or argv[-1] == "{export}"
    assert not (tmp_path / "out").exists()


def test_date_order_must_be_one_of_three(export: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["convert", str(export), "--to", str(tmp_path / "o"), "--date-order", "dd"])
    assert exit_.value.code == EXIT_ERROR


def test_ingest_with_a_mapping_stores_the_converted_table(
    export: Path, mapping: Path, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["ingest", str(export), "--table", "patients", "--center", "C21"]
    argv += ["--mapping", str(mapping), "--store", str(store_path)]
    assert main(argv) == EXIT_OK
    printed = capsys.readouterr().out
    assert "centre-patients-converted.csv: stored as batch" in printed
    store = open_store(store_path, seed=False)
    try:
        [batch] = [b for b in store.batches() if b.origin == "upload"]
        assert (batch.table, batch.center, batch.rows) == ("patients", "C21", 6)
        loaded = store.load_dataset("pooled")
        assert loaded.dataset is not None
        stored = loaded.dataset.table("patients").sort("patient_id")
        assert stored.select("patient_id", "pfs_days", "os_event").rows() == [
            ("C21:P01", 120.0, True),
            ("C21:P02", 90.0, True),
            ("C21:P03", 60.0, False),
            ("C21:P04", 365.0, False),
            ("C21:P05", 150.0, False),
            ("C21:P06", 3.0, True),
        ]
    finally:
        store.close()
    assert_no_date(printed + store_path.read_bytes().decode("latin-1"))


def test_ingest_of_an_invalid_export_stores_nothing(
    export: Path, store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(MAPPING_TOML.replace('"pd_date"', '"no_such_column"'), encoding="utf-8")
    argv = ["ingest", str(export), "--table", "patients", "--center", "C21"]
    argv += ["--mapping", str(bad), "--store", str(store_path)]
    assert main(argv) == EXIT_INVALID
    printed = capsys.readouterr().out
    assert "names column 'no_such_column', which the file does not have" in printed
    assert printed.rstrip().endswith(
        "Nothing was stored: correct the problems above and ingest again."
    )
    store = open_store(store_path, seed=False)
    try:
        assert [b for b in store.batches() if b.origin == "upload"] == []
    finally:
        store.close()
