"""Fixtures every test folder may use: a throwaway PostgreSQL for the shared store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import Postgres, start_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server for the session (each test asks it for a new database)."""
    server = start_postgres()
    yield server
    server.stop()
