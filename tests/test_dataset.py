"""The dataset's fingerprint is computed on first use, once, and equals the eager value."""

from __future__ import annotations

import polars as pl
import pytest

from bsab_explorer import dataset as dataset_module
from bsab_explorer.dataset import Dataset, fingerprint_tables


def _tables() -> dict[str, pl.DataFrame]:
    return {
        "patients": pl.DataFrame({"patient_id": ["P1", "P2"], "age_years": [61, 70]}),
        "responses": pl.DataFrame({"patient_id": ["P1"], "timepoint": ["best"]}),
    }


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def counted(tables: object) -> str:
        calls.append(1)
        return fingerprint_tables(tables)  # type: ignore[arg-type]

    monkeypatch.setattr(dataset_module, "fingerprint_tables", counted)
    return calls


def test_the_fingerprint_is_computed_on_first_use_only_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting(monkeypatch)
    dataset = Dataset("lazy", _tables())
    assert calls == []
    assert dataset.fingerprint == fingerprint_tables(_tables())
    assert dataset.short_fingerprint == dataset.fingerprint[:12]
    assert calls == [1]


def test_the_lazy_fingerprint_is_the_sha256_of_the_tables_csv_text() -> None:
    # The value pinned before the fingerprint became lazy: same tables, same digest.
    assert Dataset("lazy", _tables()).fingerprint == (
        "ff5a562f29f81a41cdce3c1cec12f10d20d15f5b5d1895f6f6d5d0ffe5cfc105"
    )


def test_a_known_fingerprint_is_kept_and_never_recomputed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    dataset = Dataset("stored", _tables(), fingerprint="ab" * 32)
    assert dataset.fingerprint == "ab" * 32
    assert calls == []
