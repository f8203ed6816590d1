"""The benchmark's registry generator: same (size, seed) gives the same data, and it follows the
contract (loads through the package's validation with no problem). Not a timed test."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bench import registry
from bsab_explorer.data.loading import load_folder
from bsab_explorer.dataset import polars_type
from bsab_explorer.schema import RESPONSE_CODES, TABLES, TIMEPOINT_CODES


@pytest.fixture(scope="module")
def small() -> registry.Registry:
    return registry.generate(400, seed=7, cases=30)


def test_same_size_and_seed_give_identical_tables(small: registry.Registry) -> None:
    again = registry.generate(400, seed=7, cases=30)
    assert set(small.tables) == {"patients", "responses", "cases", "events"}
    for name, frame in small.tables.items():
        assert frame.equals(again.tables[name]), name


def test_another_seed_gives_other_data(small: registry.Registry) -> None:
    other = registry.generate(400, seed=8, cases=30)
    assert not small.tables["patients"].equals(other.tables["patients"])


def test_tables_have_the_contract_columns_and_types(small: registry.Registry) -> None:
    for name, frame in small.tables.items():
        table = TABLES[name]
        assert frame.columns == list(table.column_names)
        assert frame.schema == pl.Schema({c.name: polars_type(c.kind) for c in table.columns})
    assert small.tables["patients"].height == 400
    assert small.tables["cases"].height == 30


def test_responses_thin_out_over_time_and_use_contract_codes(small: registry.Registry) -> None:
    responses = small.tables["responses"]
    per_timepoint = dict(responses.group_by("timepoint").len().iter_rows())
    assert set(per_timepoint) == set(TIMEPOINT_CODES)
    # Fewer patients are assessed at one year than at cycle 1 (drop-out, progression).
    assert per_timepoint["C12"] < per_timepoint["C3"] < per_timepoint["C1"]
    assert set(responses.get_column("response").unique()) <= set(RESPONSE_CODES)
    assert responses.select("patient_id", "timepoint").is_unique().all()


def test_survival_is_consistent(small: registry.Registry) -> None:
    patients = small.tables["patients"]
    assert patients.filter(pl.col("os_days") < pl.col("pfs_days")).height == 0
    assert patients.filter(pl.col("os_event") & ~pl.col("pfs_event")).height == 0
    assert patients.filter(pl.col("death_cause").is_not_null() & ~pl.col("os_event")).height == 0
    # Whole days, as registries record them.
    assert (patients.get_column("pfs_days") % 1 == 0).all()


def test_written_registry_loads_with_no_validation_problem(
    small: registry.Registry, tmp_path: Path
) -> None:
    for name, frame in small.tables.items():
        frame.write_parquet(tmp_path / f"{name}.parquet")
    result = load_folder(tmp_path)
    assert result.report.problems == ()
    assert result.dataset is not None
    for name, frame in small.tables.items():
        assert result.dataset.table(name).equals(frame), name
