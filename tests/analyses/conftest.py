"""Fixtures: the constructed ten-patient cohort of tests/fixtures/cohorts.py."""

from __future__ import annotations

import polars as pl
import pytest

from tests.fixtures.cohorts import constructed_patients, constructed_responses


@pytest.fixture
def patients() -> pl.DataFrame:
    """The ten constructed patients (contract schema)."""
    return constructed_patients()


@pytest.fixture
def responses() -> pl.DataFrame:
    """The constructed assessments (contract schema)."""
    return constructed_responses()
