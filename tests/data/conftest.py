"""Builders for small contract files written into a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pg import Postgres

PATIENTS_CSV = (
    "patient_id,center,age_years,sex,iss_stage,emd,pfs_days,pfs_event,os_days,os_event,"
    "death_cause\n"
    "P001,C01,63,F,I,true,186.0,true,263.0,true,progression\n"
    "P002,C01,45,M,II,false,423.0,true,490.0,false,\n"
    "P003,C01,71,F,III,no,90,0,90,0,\n"
)
RESPONSES_CSV = (
    "patient_id,timepoint,response,pet_ct\nP001,C1,PR,false\nP001,C3,CR,true\nP002,C1,SD,false\n"
)
CASES_CSV = (
    "case_id,center,age_years,sex,bsab,target,outcome\nRC1,C01,60,M,talquetamab,GPRC5D,continued\n"
)
EVENTS_CSV = (
    "case_id,day,event,grade,end_day,detail\n"
    "RC1,0,bsab_dose,,,step-up 1\n"
    "RC1,1.5,crs,1,3,\n"
    "RC1,2,tocilizumab,,,\n"
)

Writer = Callable[..., Path]


@pytest.fixture
def write_tables(tmp_path: Path) -> Writer:
    """Write tables (name -> text or bytes) into a fresh folder; return the folder."""
    counter = iter(range(1_000_000))

    def write(suffix: str = ".csv", **tables: str | bytes) -> Path:
        folder = tmp_path / f"set{next(counter)}"
        folder.mkdir()
        for name, content in tables.items():
            path = folder / f"{name}{suffix}"
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return folder

    return write


#: Where a test's store lives: a name -> a DuckDB file or a PostgreSQL database's URL.
StoreAt = Callable[[str], "Path | str"]


@pytest.fixture(params=["duckdb", "postgresql"])
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> StoreAt:
    """Store locations of one backend (the tests using it run against both backends)."""
    if request.param == "duckdb":
        return lambda name: tmp_path / f"{name}.duckdb"
    server: Postgres = request.getfixturevalue("postgres")
    urls: dict[str, str] = {}
    return lambda name: urls[name] if name in urls else urls.setdefault(name, server.new_database())
