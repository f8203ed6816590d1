"""`load_dataset(progress=...)`: told how far the load is, in order, without changing the result."""

from __future__ import annotations

from pathlib import Path

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
