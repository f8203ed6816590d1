"""The Parquet budget is decided from the file's metadata when it can be, and the counting pass
(the refusal's figures) runs only when the metadata cannot prove the file fits."""

from __future__ import annotations

import io

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bsab_explorer.data import limits
from bsab_explorer.data.validation import Rule
from tests.data.hostile_files import parquet_bomb, parquet_long_cell


def _metadata(data: bytes) -> pq.FileMetaData:
    return pq.ParquetFile(io.BytesIO(data)).metadata


def _registry_like(rows: int) -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame(
        {
            "patient_id": [f"P{i:07d}" for i in range(rows)],
            "emd": [i % 2 == 0 for i in range(rows)],
            "pfs_days": [float(i % 900) for i in range(rows)],
        }
    ).write_parquet(buffer)
    return buffer.getvalue()


def test_a_plain_registry_file_fits_by_its_metadata_without_the_counting_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _registry_like(50_000)
    bound = limits._text_bound(_metadata(data), ["patient_id"])
    # Plain pages: the bound is the uncompressed pages, each id's 8 bytes and 4-byte length.
    assert bound is not None
    assert 12 * 50_000 <= bound < 13 * 50_000

    def counting_pass(data: bytes, texts: list[str]) -> None:
        raise AssertionError("the metadata proved the file fits: no counting pass")

    monkeypatch.setattr(limits, "_check_text_values", counting_pass)
    assert limits.check_parquet(data) is None


def test_the_dictionary_bomb_is_not_bounded_by_its_metadata_and_is_counted() -> None:
    # 8 kB on disk: a million copies of one 1000-character dictionary value.
    data = parquet_bomb()
    assert len(data) < 100_000
    bound = limits._text_bound(_metadata(data), ["patient_id"])
    assert bound is not None
    assert bound > limits.MAX_DECODED_BYTES
    refusal = limits.check_parquet(data)
    assert refusal is not None
    assert refusal.rule == Rule.DECODING_LIMIT
    # The figure is the counted one (a million cells of 1000 bytes), as before the bound.
    assert refusal.message.startswith("The file would decode to at least 437.5 MiB of text")


def test_a_long_cell_within_the_bound_still_gets_its_exact_length() -> None:
    refusal = limits.check_parquet(parquet_long_cell(10_000))
    assert refusal == limits.Refusal(
        Rule.DECODING_LIMIT,
        "A cell of column bsab holds 10,000 characters; no cell may hold more than 4,096. The "
        "file was not opened: keep one short value per cell.",
    )


def test_a_small_dictionary_encoded_file_fits_by_its_metadata() -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"patient_id": ["P1", "P2", "P1"]}), buffer, use_dictionary=True)
    metadata = _metadata(buffer.getvalue())
    assert "RLE_DICTIONARY" in metadata.row_group(0).column(0).encodings
    bound = limits._text_bound(metadata, ["patient_id"])
    assert bound is not None
    assert bound <= limits.MAX_DECODED_BYTES
    assert limits.check_parquet(buffer.getvalue()) is None


def test_prefix_shared_text_has_no_metadata_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # DELTA_BYTE_ARRAY stores each value as a prefix of the previous one: it can grow unbounded.
    buffer = io.BytesIO()
    values = pa.table({"patient_id": [f"{'x' * 500}{i}" for i in range(100)]})
    pq.write_table(
        values, buffer, use_dictionary=False, column_encoding={"patient_id": "DELTA_BYTE_ARRAY"}
    )
    assert limits._text_bound(_metadata(buffer.getvalue()), ["patient_id"]) is None
    counted: list[list[str]] = []

    def counting_pass(data: bytes, texts: list[str]) -> None:
        counted.append(texts)

    monkeypatch.setattr(limits, "_check_text_values", counting_pass)
    assert limits.check_parquet(buffer.getvalue()) is None
    assert counted == [["patient_id"]]


@pytest.mark.parametrize("dictionary", [True, False], ids=["dictionary", "plain"])
def test_the_counting_pass_counts_null_cells_as_nothing(
    monkeypatch: pytest.MonkeyPatch, dictionary: bool
) -> None:
    # 3 values of 10 bytes and 2 null cells a row group, in 4 row groups; and a column of nulls.
    table = pa.table(
        {
            "patient_id": pa.array(["A123456789", None, "B123456789", None, "C123456789"] * 4),
            "death_cause": pa.array([None] * 20, type=pa.string()),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, use_dictionary=dictionary, row_group_size=5)
    data, texts = buffer.getvalue(), ["patient_id", "death_cause"]
    monkeypatch.setattr(limits, "MAX_DECODED_BYTES", 120)
    assert limits._check_text_values(data, texts) is None
    monkeypatch.setattr(limits, "MAX_DECODED_BYTES", 119)
    refusal = limits._check_text_values(data, texts)
    assert refusal is not None
    assert refusal.rule == Rule.DECODING_LIMIT
    assert refusal.message.startswith("The file would decode to at least")
