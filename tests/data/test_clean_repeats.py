"""Cleaning keeps the first row of a repeated id, and skips that pass when no id repeats."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bsab_explorer.data import loading
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.data.validation import Rule


def test_a_repeated_id_keeps_its_first_row(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text("patient_id,sex\nP01,F\nP02,M\nP01,M\n")
    result = load_dataset(tmp_path)
    assert [p.rule for p in result.report.problems] == [Rule.DUPLICATE_ID]
    assert result.dataset is not None
    patients = result.dataset.table("patients")
    assert patients.select("patient_id", "sex").rows() == [("P01", "F"), ("P02", "M")]


def test_ids_that_never_repeat_skip_the_first_row_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "patients.csv").write_text("patient_id,sex\nP01,F\nP02,M\n")
    passes: list[str] = []
    unique = pl.DataFrame.unique

    def counted(frame: pl.DataFrame, *args: object, **kwargs: object) -> pl.DataFrame:
        passes.append("unique")
        return unique(frame, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.DataFrame, "unique", counted)
    result = load_dataset(tmp_path)
    assert result.report.ok
    assert result.dataset is not None
    assert result.dataset.table("patients").get_column("patient_id").to_list() == ["P01", "P02"]
    assert passes == []
    assert loading._may_repeat(loading.TABLES["patients"], []) is False


def test_distinct_ids_have_no_repeats_and_a_repeat_names_its_first_row() -> None:
    from bsab_explorer.data.validation import ROW, _repeats

    distinct = pl.DataFrame({ROW: [2, 3, 4], "patient_id": ["P1", "P2", "P3"]})
    none = _repeats(distinct, ["patient_id"])
    assert none.height == 0
    assert none.columns == [ROW, "patient_id", "__first"]
    repeated = pl.DataFrame({ROW: [2, 3, 4, 5], "patient_id": ["P1", "P2", "P1", "P1"]})
    found = _repeats(repeated, ["patient_id"]).select(ROW, "patient_id", "__first").rows()
    assert found == [(4, "P1", 2), (5, "P1", 2)]
