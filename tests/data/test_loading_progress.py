"""`load_dataset(progress=...)`: told how far the load is, in order, without changing the result."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bsab_explorer.data.loading import load_dataset
from bsab_explorer.data.store import open_store


def test_a_folder_load_tells_each_file_each_check_and_the_fingerprint() -> None:
    told: list[tuple[float, str]] = []
    result = load_dataset(None, progress=lambda f, w: told.append((f, w)))
    plain = load_dataset(None)
    assert result.dataset is not None
    assert plain.dataset is not None
    assert result.dataset.fingerprint == plain.dataset.fingerprint
    assert result.report == plain.report
    words = [w for _, w in told]
    tables = list(result.dataset.tables)
    n = len(tables)
    assert words == [
        *(f"Reading the files: {t} ({i} of {n})" for i, t in enumerate(tables, start=1)),
        *(f"Checking the tables: {t} ({i} of {n})" for i, t in enumerate(tables, start=1)),
        "Checking the tables: references between them",
        "Fingerprinting the data",
        "Data loaded",
    ]
    fractions = [f for f, _ in told]
    assert fractions == sorted(fractions)
    assert (fractions[0], fractions[-1]) == (0.0, 1.0)


def test_a_store_load_tells_each_table_read_and_the_fingerprint(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.duckdb")
    try:
        told: list[tuple[float, str]] = []
        result = store.load_dataset("bundled", progress=lambda f, w: told.append((f, w)))
        plain = store.load_dataset("bundled")
    finally:
        store.close()
    assert result.dataset is not None
    assert plain.dataset is not None
    assert result.dataset.fingerprint == plain.dataset.fingerprint
    assert [w for _, w in told] == [
        "Reading the store: patients (1 of 5)",
        "Reading the store: responses (2 of 5)",
        "Reading the store: adverse_events (3 of 5)",
        "Reading the store: cases (4 of 5)",
        "Reading the store: events (5 of 5)",
        "Fingerprinting the data",
        "Data loaded",
    ]
    assert [f for f, _ in told] == [0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 1.0]


@pytest.mark.parametrize("late", [None, "patients", "responses", "cases"])
def test_files_read_at_once_load_as_they_do_one_after_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late: str | None
) -> None:
    """`load_files` reads and checks a folder's files in two threads: the dataset, the report
    (its problems in reading order, its notices) and the rows left out are those of the files
    read and checked one after the other (`assemble` over `read_table_file`). So they are when
    one file is read last (`late`): a parent after its child, a child after its parent."""
    from bsab_explorer.data import loading
    from bsab_explorer.data.ingest import read_table_file
    from bsab_explorer.data.loading import (
        BUNDLED_DATA_DIR,
        TABLE_ORDER,
        assemble,
        find_table_files,
    )

    for study in ("debulking", "recurrent_crs"):
        (tmp_path / study).mkdir()
        for source in (BUNDLED_DATA_DIR / study).glob("*.csv"):
            text = source.read_text(encoding="utf-8")
            if source.name == "patients.csv":
                # A bad age, a repeated id: problems in the parent table.
                text = text.replace("\nD002,C02,69,", "\nD002,C02,sixty,", 1)
                text += text.splitlines()[3] + "\n"
            if source.name == "responses.csv":
                # A response of a patient not in the patients table.
                text += "D999" + text.splitlines()[1][len(text.splitlines()[1].split(",")[0]) :]
                text += "\n"
            (tmp_path / study / source.name).write_text(text, encoding="utf-8")
    files, _ = find_table_files(tmp_path)
    assert set(files) == {"patients", "responses", "cases", "events"}
    if late is not None:
        # The late file is read once every other file is parsed (by the other thread).
        others_parsed = threading.Event()
        started: list[str] = []
        reader, start = loading._read_labelled, loading._Checks.start

        def read_late(path: Path, table: str, label):  # type: ignore[no-untyped-def]
            if table == late:
                assert others_parsed.wait(timeout=60)
            return reader(path, table, label)

        def start_counted(checks, table, parsed):  # type: ignore[no-untyped-def]
            start(checks, table, parsed)
            started.append(table)
            if len(started) == len(files) - 1:
                others_parsed.set()

        monkeypatch.setattr(loading, "_read_labelled", read_late)
        monkeypatch.setattr(loading._Checks, "start", start_counted)
    at_once = load_dataset(tmp_path)
    if late is not None:
        assert started[-1] == late
    reads = {t: read_table_file(files[t], t) for t in TABLE_ORDER if t in files}
    one_by_one = assemble(reads, name=tmp_path.name, source=str(tmp_path))
    assert at_once.dataset is not None
    assert one_by_one.dataset is not None
    assert at_once.dataset.fingerprint == one_by_one.dataset.fingerprint
    assert list(at_once.dataset.tables) == list(one_by_one.dataset.tables)

    # The same problems and notices in the same order (files named relative to the folder).
    def _named(problems):  # type: ignore[no-untyped-def]
        return [(Path(p.file).name, p.row, p.column, p.rule, p.message) for p in problems]

    assert _named(at_once.report.problems) == _named(one_by_one.report.problems)
    # The same notices in the same order, each naming its file as the folder's path does.
    folders = ("debulking/", "recurrent_crs/")
    unprefixed = [n.replace(folders[0], "").replace(folders[1], "") for n in at_once.report.notices]
    assert unprefixed == list(one_by_one.report.notices)
    # The problems planted in both tables are found: the bad age, the repeated id, the orphan.
    found = {(Path(p.file).name, p.column) for p in at_once.report.problems}
    assert {("patients.csv", "age_years"), ("patients.csv", "patient_id")} <= found
    assert ("responses.csv", "patient_id") in found
