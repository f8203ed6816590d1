"""The R reference for the bundled cohort is computed on the bundled data as they are now."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bsab_explorer.data.loading import load_dataset

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "survival"


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_cohort_snapshot_matches_the_bundled_data(endpoint: str) -> None:
    dataset = load_dataset().dataset
    assert dataset is not None
    patients = dataset.table("patients")
    snapshot = pl.read_csv(REFERENCE / f"cohort_{endpoint}.csv")
    # If this fails, the bundled data changed: rerun `Rscript make_reference.R` in
    # tests/reference/survival/ and commit the refreshed values.
    assert snapshot["time"].to_list() == patients[f"{endpoint}_days"].to_list()
    assert snapshot["event"].cast(pl.Boolean).to_list() == patients[f"{endpoint}_event"].to_list()
