"""A load of some tables and columns from the store (`read_stored`'s selection), on both
backends: the rows the whole load gives, the whole dataset's fingerprint (the store's memo), or
the whole load itself when the memo cannot vouch for what was not read."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from polars.testing import assert_frame_equal

from bsab_explorer.cli import EXIT_OK, main
from bsab_explorer.data import loading
from bsab_explorer.data.store import Store, open_store
from bsab_explorer.dataset import Dataset, fingerprint_tables
from bsab_explorer.errors import Unavailable
from bsab_explorer.exports import TABLES, ExportRequest, make_export, needed_data, read_table_zip
from bsab_explorer.filters import CohortFilter
from bsab_explorer.schema import CASE_SERIES
from tests.data.conftest import StoreAt
from tests.data.test_store import P_C01, R_C01

MEDIAN_COLUMNS = ["patient_id", "emd", "pfs_days", "pfs_event"]


@pytest.fixture
def seeded(store_at: StoreAt) -> Iterator[Store]:
    """The bundled data and one center's patients and responses, loaded once (memo kept)."""
    store = open_store(store_at("store"))
    assert store.ingest_bytes(P_C01, "p.csv", "patients", "C01").stored
    assert store.ingest_bytes(R_C01, "r.csv", "responses", "C01").stored
    assert store.load_dataset("both").dataset is not None
    yield store
    store.close()


def _whole(store: Store) -> Dataset:
    dataset = store.load_dataset("both").dataset
    assert dataset is not None
    return dataset


def _selected(store: Store, selection: loading.Selection) -> Dataset:
    dataset = store.load_dataset("both", selection=selection).dataset
    assert dataset is not None
    return dataset


def test_a_selection_reads_its_tables_and_columns_with_the_whole_fingerprint(
    seeded: Store,
) -> None:
    whole = _whole(seeded)
    part = _selected(seeded, {"patients": ["emd", "pfs_days", "pfs_event", "not_a_column"]})
    assert set(whole.tables) == {"patients", "responses", "cases", "events"}
    assert list(part.tables) == ["patients"]
    # The key always, the rest in contract order; a name the contract lacks is not read.
    assert part.tables["patients"].columns == MEDIAN_COLUMNS
    assert_frame_equal(part.tables["patients"], whole.tables["patients"].select(MEDIAN_COLUMNS))
    assert part.tables["patients"].height == 46  # 44 bundled, 2 uploaded
    assert part.fingerprint == whole.fingerprint == fingerprint_tables(whole.tables)
    assert (part.name, part.source, part.reconstructed) == (
        whole.name,
        whole.source,
        whole.reconstructed,
    )


def test_every_declared_table_builds_the_same_from_what_it_needs(seeded: Store) -> None:
    # The catalogue's declaration (`Entry.needs`, `summary_columns`) is what a command loads:
    # each table, with and without a filter and a grouping, is the same file as from everything.
    whole = _whole(seeded)

    def clock() -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    def export(dataset: Dataset, request: ExportRequest) -> tuple[Any, ...]:
        try:
            built = make_export(dataset, request, clock=clock)
        except Unavailable as refusal:
            return ("unavailable", str(refusal))
        return built.csv(), built.zip(), built.notes

    declared = [entry for entry in TABLES.values() if entry.needs is not None]
    assert {e.name for e in declared} >= {"survival-medians", "table1", "response", "case-table"}
    for entry in declared:
        cohort = entry.study != CASE_SERIES
        for text in ("", "emd=true" if cohort else "sex=F"):
            by = "emd" if cohort and "by" in entry.options else None
            request = ExportRequest("table", entry.name, CohortFilter.parse(text), by=by)
            selection = needed_data(request)
            assert selection is not None
            part = _selected(seeded, selection)
            assert set(part.tables) <= entry.needs, entry.name
            assert export(part, request) == export(whole, request), (entry.name, text)


def test_the_medians_read_only_their_columns_and_the_filters() -> None:
    request = ExportRequest(
        "table", "survival-medians", CohortFilter.parse("sex=F"), by="emd", endpoint="os"
    )
    assert needed_data(request) == {
        "patients": frozenset({"patient_id", "os_days", "os_event", "emd", "sex"})
    }
    # A table that declares nothing reads everything.
    assert needed_data(ExportRequest("table", "crs-course")) is None


def test_without_a_fitting_memo_everything_is_read_and_the_memo_kept(seeded: Store) -> None:
    # A new batch changes the store's generation: its memo no longer fits.
    later = b"patient_id,age_years,sex\nP009,50,F\n"
    assert seeded.ingest_bytes(later, "q.csv", "patients", "C02").stored
    first = _selected(seeded, {"patients": ["emd"]})
    assert set(first.tables) == {"patients", "responses", "cases", "events"}
    assert first.fingerprint == fingerprint_tables(first.tables)
    # The first load kept the memo: the next one reads the selection only.
    again = _selected(seeded, {"patients": ["emd"]})
    assert list(again.tables) == ["patients"]
    assert again.fingerprint == first.fingerprint


def test_a_retracted_parent_reads_the_children_that_may_lose_rows(seeded: Store) -> None:
    uploaded = [b for b in seeded.batches() if b.origin == "upload" and b.table == "patients"]
    assert seeded.retract(uploaded[0].batch_id) is not None
    whole_result = seeded.load_dataset("both")
    whole = whole_result.dataset
    assert whole is not None
    left_out = "responses: 3 row(s) whose patient is in a retracted batch were left out."
    assert left_out in whole_result.report.notices
    # The patients alone cannot tell how many responses the dataset keeps: everything is read.
    alone = _selected(seeded, {"patients": None})
    assert set(alone.tables) == set(whole.tables)
    # With the responses selected, they are read and left out as in the whole load.
    result = seeded.load_dataset("both", selection={"patients": None, "responses": None})
    assert result.dataset is not None
    assert list(result.dataset.tables) == ["patients", "responses"]
    assert result.report.notices == whole_result.report.notices
    for table in ("patients", "responses"):
        assert_frame_equal(result.dataset.tables[table], whole.tables[table])
    assert result.dataset.fingerprint == whole.fingerprint


def test_the_command_line_reads_only_the_medians_columns_from_a_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.duckdb"
    store = open_store(path)
    assert store.ingest_bytes(P_C01, "p.csv", "patients", "C01").stored
    assert store.ingest_bytes(R_C01, "r.csv", "responses", "C01").stored
    store.close()
    argv = ["table", "survival-medians", "--by", "emd", "--data", str(path)]
    # The first command after a change reads everything (and keeps the fingerprint's memo).
    assert main([*argv, "--out", str(tmp_path / "first.zip")]) == EXIT_OK
    read: list[tuple[str, tuple[str, ...] | None]] = []
    original = loading._stored_rows

    def recorded(connection: Any, table: str, ranks: Any, names: Any = None) -> Any:
        read.append((table, None if names is None else tuple(names)))
        return original(connection, table, ranks, names)

    monkeypatch.setattr(loading, "_stored_rows", recorded)
    assert main([*argv, "--out", str(tmp_path / "then.zip")]) == EXIT_OK
    assert read == [("patients", tuple(MEDIAN_COLUMNS))]
    first = read_table_zip((tmp_path / "first.zip").read_bytes())
    then = read_table_zip((tmp_path / "then.zip").read_bytes())
    assert then[0] == first[0]
    whole = loading.load_dataset(path).dataset
    assert whole is not None
    assert f"sha256 {whole.fingerprint}" in then[1]
    assert then[1].replace(_export_time(then[1]), "") == first[1].replace(
        _export_time(first[1]), ""
    )


def _export_time(provenance: str) -> str:
    """The line of a provenance file that says when it was made (differs between runs)."""
    return next(line for line in provenance.splitlines() if "UTC" in line)


def test_a_table_from_a_store_imports_only_what_reading_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    store = open_store(path)
    assert store.ingest_bytes(P_C01, "p.csv", "patients", "C01").stored
    assert store.load_dataset("both").dataset is not None  # the memo kept
    store.close()
    out = tmp_path / "medians.json"
    script = (
        "import sys\nfrom bsab_explorer.cli import main\n"
        "code = main(['table', 'survival-medians', '--by', 'emd', "
        f"'--data', {str(path)!r}, '--out', {str(out)!r}])\n"
        "heavy = ('altair', 'vl_convert', 'bsab_explorer.charts', 'pandera', 'pandas',\n"
        "         'scipy', 'psycopg', 'bsab_explorer.data.convert', 'bsab_explorer.data.pgstore',\n"
        "         'bsab_explorer.exports.survival_builders')\n"
        "print(code, *sorted(m for m in heavy if m in sys.modules), 'duckdb' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == [str(out), "0", "True"]
    assert [row["group"] for row in json.loads(out.read_text())] == ["No", "Yes"]
