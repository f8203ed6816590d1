"""Typed sources (Parquet, DuckDB) read as columns give exactly what their text gives.

Each case reads one typed frame two ways: as typed columns (what loading does) and with every
cell first written as the text a user sees (`cell_text`, what loading did before), then checks
that the datasets are equal cell by cell and the reports are equal word for word.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from bench import registry
from bsab_explorer.data.ingest import (
    ReadResult,
    _xlsx_cell_text,
    cell_text,
    read_table_file,
    typed_table_from_frame,
)
from bsab_explorer.data.loading import BUNDLED_DATA_DIR, LoadResult, assemble, find_table_files
from bsab_explorer.data.validation import ROW, Rule


def _as_text(read: ReadResult) -> ReadResult:
    """The same read with every cell as text (the former text round trip)."""
    assert read.raw is not None
    frame = read.raw.frame.with_columns(
        cell_text(read.raw.frame.get_column(c)) for c in read.raw.frame.columns if c != ROW
    )
    return ReadResult(replace(read.raw, frame=frame), read.problems, read.notices)


def _both_ways(frames: dict[str, pl.DataFrame]) -> tuple[LoadResult, LoadResult]:
    typed = {t: typed_table_from_frame(f, t, f"{t}.parquet") for t, f in frames.items()}
    text = {t: _as_text(read) for t, read in typed.items()}
    return assemble(typed, name="typed", source="x"), assemble(text, name="text", source="x")


def _assert_same(typed: LoadResult, text: LoadResult) -> None:
    assert typed.report == text.report
    assert typed.dataset is not None
    assert text.dataset is not None
    assert set(typed.dataset.tables) == set(text.dataset.tables)
    for name, frame in typed.dataset.tables.items():
        other = text.dataset.tables[name]
        assert frame.schema == other.schema, name
        assert frame.write_csv() == other.write_csv(), name
    assert typed.dataset.fingerprint == text.dataset.fingerprint


def test_cell_text_is_the_text_a_user_sees() -> None:
    values = [0.1, 1e-05, 1e20, 43831.5, 1.5e300, math.nan, math.inf, -math.inf, -0.0, 12.0,
              123456789.123, 2.0**63, -(2.0**70), 5e-324, None]  # fmt: skip
    series = pl.Series("x", values, pl.Float64)
    assert cell_text(series).to_list() == [_xlsx_cell_text(v) for v in values]
    assert cell_text(pl.Series("b", [True, False, None])).to_list() == ["true", "false", None]
    assert cell_text(pl.Series("i", [7, -3, None], pl.Int8)).to_list() == ["7", "-3", None]
    day = pl.Series("d", [dt.date(2024, 3, 1), None])
    assert cell_text(day).to_list() == ["2024-03-01", None]


def test_bundled_tables_read_typed_equal_their_text(tmp_path: Path) -> None:
    """The bundled CSVs, typed by Polars' inference as a Parquet export would be."""
    files, _ = find_table_files(BUNDLED_DATA_DIR)
    frames = {table: pl.read_csv(path, infer_schema_length=None) for table, path in files.items()}
    assert any(f.schema[c].is_numeric() for f in frames.values() for c in f.columns)
    typed, text = _both_ways(frames)
    _assert_same(typed, text)
    # And as the CSV itself reads (text parsed by the contract).
    csv = assemble({t: read_table_file(p, t) for t, p in files.items()}, name="csv", source="x")
    assert typed.dataset is not None
    assert csv.dataset is not None
    for name, frame in typed.dataset.tables.items():
        assert frame.rows() == csv.dataset.tables[name].rows(), name


def test_generated_registry_read_typed_equals_its_text(tmp_path: Path) -> None:
    sample = registry.generate(3_000, seed=11, cases=200)
    typed, text = _both_ways(dict(sample.tables))
    assert typed.report.ok, typed.report.to_text()
    _assert_same(typed, text)
    for name, frame in sample.tables.items():
        frame.write_parquet(tmp_path / f"{name}.parquet")
    from_parquet = assemble(
        {t: read_table_file(tmp_path / f"{t}.parquet", t) for t in sample.tables},
        name="p",
        source="x",
    )
    assert from_parquet.dataset is not None
    for name, frame in sample.tables.items():
        assert from_parquet.dataset.tables[name].rows() == frame.rows(), name


def test_odd_typed_values_are_refused_as_their_text_is() -> None:
    """Fractions and non-finite numbers in whole-number columns, Excel serials in day columns,
    numbers in code columns, narrow and unsigned integer types, floats in id columns."""
    patients = pl.DataFrame(
        {
            "patient_id": pl.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=pl.Float64),
            "center": ["C1"] * 6,
            "age_years": pl.Series([40.0, 41.5, math.nan, 95.0, 1e19, None], dtype=pl.Float32),
            "iss_stage": pl.Series([1, 2, 3, 4, None, 2], dtype=pl.Int8),
            "prior_lines": pl.Series([3, 4, 5, 6, 7, 2**63], dtype=pl.UInt64),
            "emd": [True, False, None, True, False, True],
            "emd_sites": pl.Series([1.0, 0.0, 2.0, -1.0, 0.0, 0.0], dtype=pl.Float64),
            "pfs_days": [10.0, math.inf, -0.0, 43_831.0, 12.25, None],
            "pfs_event": pl.Series([1, 0, 1, 1, 2, None], dtype=pl.Int64),
            "os_days": pl.Series([20, 30, 40, 43_900, 50, 60], dtype=pl.Int32),
            "os_event": [True, False, True, True, False, None],
            "sex": [True, False, None, True, True, False],
        }
    )
    typed, text = _both_ways({"patients": patients})
    _assert_same(typed, text)
    rules = typed.report.rules()
    assert {Rule.NOT_INTEGER, Rule.NOT_NUMBER, Rule.EXCEL_DATE, Rule.UNKNOWN_CODE} <= rules
    assert {Rule.NOT_BOOLEAN, Rule.OUT_OF_RANGE, Rule.AGE_OVER_90} <= rules


@pytest.mark.parametrize("dtype", [pl.Int16, pl.UInt8, pl.Float32, pl.Float64])
def test_numeric_types_of_a_day_column_read_the_same(dtype: pl.DataType) -> None:
    responses = pl.DataFrame(
        {
            "patient_id": ["P1", "P1", "P2"],
            "timepoint": ["C1", "C3", "C1"],
            "response": ["PR", "VGPR", "SD"],
            "day": pl.Series([28, 84, 30], dtype=dtype),
        }
    )
    patients = pl.DataFrame({"patient_id": ["P1", "P2"], "center": ["C1", "C1"]})
    typed, text = _both_ways({"patients": patients, "responses": responses})
    _assert_same(typed, text)


def test_the_fingerprint_hashes_the_whole_csv_text_slice_by_slice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hashlib

    from bsab_explorer import dataset

    tables = dict(registry.generate(1_000, seed=3, cases=50).tables)
    tables["empty"] = pl.DataFrame({"b": pl.Series([], dtype=pl.Int64), "a": []})
    whole = hashlib.sha256()
    for name in sorted(tables):
        frame = tables[name]
        whole.update(f"\x00table:{name}\x00".encode())
        whole.update(frame.select(sorted(frame.columns)).write_csv().encode())
    monkeypatch.setattr(dataset, "FINGERPRINT_ROWS", 97)
    assert dataset.fingerprint_tables(tables) == whole.hexdigest()
