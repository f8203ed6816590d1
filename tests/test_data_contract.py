"""The data contract document (docs/data-contract.md) and `schema` say the same.

The document is what a data manager reads; `schema` is what the code enforces. Its tables are
parsed here (one markdown table a contract table, under a `### `name`` heading inside its
study's section) and compared both ways: every table, column, type, required/unique flag,
range and code of one is in the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from bsab_explorer.schema import (
    AGE_CAP,
    CONTRACT_VERSION,
    DAYS_PER_MONTH,
    EVENT_CODES,
    FALSE_TOKENS,
    GRADED_EVENTS,
    MISSING_TOKENS,
    STEP_UP_PREFIX,
    STUDIES,
    TABLES,
    TRUE_TOKENS,
    Column,
    Kind,
    Table,
)

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "data-contract.md"
_TICKED = re.compile(r"`([^`]+)`")
_BETWEEN = re.compile(r"^(\d+)–(\d+)$")
_AT_LEAST = re.compile(r"^≥ (\d+)$")


@dataclass(frozen=True)
class Row:
    """One column as the document states it."""

    kind: str
    required: bool
    unique: bool
    codes: tuple[str, ...]
    open_codes: bool
    minimum: float | None
    maximum: float | None
    meaning: str


def _text() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _markdown_tables(text: str) -> dict[str, list[list[str]]]:
    """Each `### `name`` or `#### title` heading's first table: its body rows, as cells."""
    found: dict[str, list[list[str]]] = {}
    heading = None
    for line in text.splitlines():
        if line.startswith("#"):
            ticked = _TICKED.search(line)
            heading = ticked.group(1) if ticked and line.startswith("### ") else line.strip("# ")
        elif line.startswith("|") and heading is not None:
            rows = found.setdefault(heading, [])
            if not set(line) <= set("|-: "):
                rows.append(_cells(line))
    # Drop each table's header row.
    return {name: rows[1:] for name, rows in found.items()}


def _range(text: str) -> tuple[float | None, float | None]:
    if match := _BETWEEN.match(text):
        return float(match.group(1)), float(match.group(2))
    if match := _AT_LEAST.match(text):
        return float(match.group(1)), None
    assert text == "", f"unreadable range {text!r}"
    return None, None


def _documented(table: str) -> dict[str, Row]:
    """The document's columns of `table`, by name, in the document's order."""
    out: dict[str, Row] = {}
    for names, kind, codes_or_range, meaning in _markdown_tables(_text())[table]:
        flags = [part.strip() for part in kind.split(",")]
        codes = tuple(_TICKED.findall(codes_or_range))
        open_codes = codes_or_range.endswith("or other text")
        minimum, maximum = (None, None) if codes else _range(codes_or_range)
        for name in _TICKED.findall(names):
            out[name] = Row(
                kind=flags[0],
                required="required" in flags[1:],
                unique="unique" in flags[1:],
                codes=codes,
                open_codes=open_codes,
                minimum=minimum,
                maximum=maximum,
                meaning=meaning,
            )
    return out


def _as_row(column: Column, meaning: str) -> Row:
    return Row(
        kind=column.kind.value,
        required=column.required,
        unique=column.unique,
        codes=column.codes,
        open_codes=column.open_codes,
        minimum=column.minimum,
        maximum=column.maximum,
        meaning=meaning,
    )


def test_the_document_states_the_contract_version() -> None:
    assert _text().startswith(f"# Data contract, version {CONTRACT_VERSION}\n")


def test_every_study_lists_the_tables_of_schema() -> None:
    sections = re.split(r"^## ", _text(), flags=re.MULTILINE)
    documented = {}
    for section in sections:
        study = _TICKED.search(section.splitlines()[0])
        if study:
            documented[study.group(1)] = tuple(
                re.findall(r"^### `([^`]+)`", section, flags=re.MULTILINE)
            )
    assert documented == STUDIES
    assert set(_markdown_tables(_text())) >= set(TABLES)


@pytest.mark.parametrize("table", list(TABLES.values()), ids=list(TABLES))
def test_every_column_has_the_same_name_type_range_and_codes(table: Table) -> None:
    documented = _documented(table.name)
    assert list(documented) == list(table.column_names)
    for column in table.columns:
        row = documented[column.name]
        assert row == _as_row(column, row.meaning), column.name


@pytest.mark.parametrize("table", [t for t in TABLES.values() if t.parent], ids=str)
def test_a_child_table_names_its_parent(table: Table) -> None:
    assert table.parent is not None
    parent, key = table.parent
    assert _documented(table.name)[key].meaning == f"must exist in `{parent}`"


def test_types_are_the_kinds_of_schema() -> None:
    assert [row[0] for row in _markdown_tables(_text())["Types"]] == [k.value for k in Kind]


def test_values_are_read_as_schema_reads_them() -> None:
    rows = {row[0]: row[1] for row in _markdown_tables(_text())["Values"]}

    def tokens(cell: str) -> set[str]:
        found = {token.lower() for token in _TICKED.findall(cell)}
        return found | ({""} if cell.startswith("empty") else set())

    assert tokens(rows["true"]) == TRUE_TOKENS
    assert tokens(rows["false"]) == FALSE_TOKENS
    assert tokens(rows["not recorded"]) == MISSING_TOKENS


def test_units_and_caps_are_those_of_schema() -> None:
    text = " ".join(_text().split())
    assert f"1 month = {DAYS_PER_MONTH} days" in text
    assert f'Ages over {AGE_CAP} are stored as {AGE_CAP} and shown as "{AGE_CAP}+"' in text


def test_event_codes_graded_events_and_the_step_up_prefix() -> None:
    meanings = _markdown_tables(_text())["Event codes"]
    assert tuple(_TICKED.findall(code)[0] for code, _ in meanings) == EVENT_CODES
    grade = _documented("events")["grade"]
    assert tuple(_TICKED.findall(grade.meaning)) == GRADED_EVENTS
    dose = dict(meanings)["`bsab_dose`"]
    assert f"a detail starting with `{STEP_UP_PREFIX}`" in dose
