"""`clean_tables` searches for duplicates and orphans only where the checks found some (or a
parent lost ids to a rejected cell): on every kind of table it must leave out exactly the rows
the exhaustive search leaves out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pytest

from bsab_explorer.data.ingest import read_table_bytes
from bsab_explorer.data.loading import (
    TABLE_ORDER,
    _relations,
    clean_tables,
    parse_reads,
)
from bsab_explorer.data.normalise import clear_cells
from bsab_explorer.data.validation import ROW, ParsedTable, Problem, Rule, check_references
from bsab_explorer.schema import TABLES

BUNDLED = Path(__file__).resolve().parents[2] / "data" / "debulking"


def exhaustive(
    parsed: Mapping[str, ParsedTable], problems: list[Problem]
) -> dict[str, pl.DataFrame]:
    """Every table searched for missing ids, duplicates, orphans and repeated assessments."""
    tables: dict[str, pl.DataFrame] = {}
    for table in TABLE_ORDER:
        if table not in parsed:
            continue
        contract = TABLES[table]
        found = [p for p in problems if p.table == table]
        frame = clear_cells(parsed[table].frame, found).filter(pl.col(contract.key).is_not_null())
        if contract.parent is None:
            frame = frame.unique(subset=[contract.key], keep="first", maintain_order=True)
        else:
            parent, key = contract.parent
            if parent in tables:
                frame = frame.filter(pl.col(key).is_in(tables[parent].get_column(key).implode()))
            if table == "responses":
                first = pl.struct(key, "timepoint").is_first_distinct()
                frame = frame.filter(pl.col("timepoint").is_null() | first)
        tables[table] = frame.drop(ROW)
    return tables


def _checked(files: dict[str, str]) -> tuple[dict[str, ParsedTable], list[Problem]]:
    reads = {t: read_table_bytes(text.encode(), f"{t}.csv", t) for t, text in files.items()}
    parsed, problems, _ = parse_reads(reads)
    for child, (parent, key) in _relations():
        if child in parsed and parent in parsed:
            problems += check_references(parsed[child], parsed[parent].frame.get_column(key))
    return parsed, problems


PATIENTS = (BUNDLED / "patients.csv").read_text()
RESPONSES = (BUNDLED / "responses.csv").read_text()
HEADER_P, *ROWS_P = PATIENTS.splitlines()
HEADER_R, *ROWS_R = RESPONSES.splitlines()


EMAIL = "jane.doe@example.org"


def _with_id(row: str, new_id: str) -> str:
    return ",".join([new_id, *row.split(",")[1:]])


CASES = {
    "bundled": {"patients": PATIENTS, "responses": RESPONSES},
    "duplicate patient": {
        "patients": "\n".join([HEADER_P, *ROWS_P, ROWS_P[3]]),
        "responses": RESPONSES,
    },
    "unknown patient": {
        "patients": "\n".join([HEADER_P, *ROWS_P[1:]]),
        "responses": RESPONSES,
    },
    "repeated assessment": {
        "patients": PATIENTS,
        "responses": "\n".join([HEADER_R, *ROWS_R, ROWS_R[0], ROWS_R[5]]),
    },
    # An id that looks like an e-mail address, in both tables: rejected, its cells cleared.
    "rejected ids": {
        "patients": "\n".join([HEADER_P, _with_id(ROWS_P[0], "jane.doe@example.org"), *ROWS_P[1:]]),
        "responses": "\n".join(
            [HEADER_R, _with_id(ROWS_R[0], "jane.doe@example.org"), *ROWS_R[1:]]
        ),
    },
    "missing ids": {
        "patients": "\n".join([HEADER_P, _with_id(ROWS_P[0], ""), *ROWS_P[1:]]),
        "responses": "\n".join([HEADER_R, _with_id(ROWS_R[0], ""), *ROWS_R[1:]]),
    },
    "responses alone": {"responses": RESPONSES},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_clean_tables_leaves_out_what_an_exhaustive_search_does(case: str) -> None:
    parsed, problems = _checked(CASES[case])
    tables, _ = clean_tables(parsed, problems)
    want = exhaustive(parsed, problems)
    assert tables.keys() == want.keys()
    for name, frame in want.items():
        assert tables[name].equals(frame), (case, name)
    if case != "bundled" and case != "responses alone":
        assert sum(t.height for t in tables.values()) < sum(
            p.frame.height for p in parsed.values()
        ), "the case leaves rows out"


def test_children_of_a_parent_id_rejected_in_the_parent_alone_are_left_out() -> None:
    """A patient's id cell cleared by a problem of the patients table alone: no check named its
    responses unknown, and they still go."""
    parsed, problems = _checked(CASES["bundled"])
    patients = parsed["patients"]
    row, first_id = patients.frame.select(ROW, "patient_id").row(0)
    rejected = patients.problem(row, "patient_id", first_id, Rule.MRN_LIKE, "rejected")
    tables, _ = clean_tables(parsed, [*problems, rejected])
    want = exhaustive(parsed, [*problems, rejected])
    assert all(tables[name].equals(frame) for name, frame in want.items())
    assert first_id not in tables["responses"].get_column("patient_id").to_list()
    assert first_id in parsed["responses"].frame.get_column("patient_id").to_list()
