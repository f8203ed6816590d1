"""A center's column names, codes and date roles, mapped once to the contract and kept as TOML.

The mapping file is small and written by hand or downloaded from the Upload page:

```toml
table = "patients"       # the contract table the top-level sections describe (default)
[columns]                # contract column = source column
patient_id = "Subject"
sex = "Sexe"
[values.sex]             # source value = contract code
"1" = "M"
"2" = "F"
[dates]                  # roles of date columns; format when the day/month order is ambiguous
origin = "bsab_start_date"
progression = "pd_date"
death = "death_date"
last_contact = "last_fu_date"
format = "dd/mm/yyyy"
[tables.events]          # another contract table: the same sections, plus its source
source = "adverse_events"
columns = { case_id = "Case" }
dates = { day = "onset_date", end_day = "stop_date" }
```

The proposer suggests such a mapping from a source's header and values (exact names, case and
spacing variants, and synonyms in English, French, German, Italian and Spanish); the user
confirms or corrects it, and `write_mapping` gives the text to download.
"""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bsab_explorer.data.convert import synonyms
from bsab_explorer.data.convert.dates import PATIENT_ROLES, DateOrder, parse_date_order
from bsab_explorer.data.convert.rules import ConvertRule
from bsab_explorer.data.validation import Problem
from bsab_explorer.schema import (
    BSAB_CODES,
    FALSE_TOKENS,
    RESPONSE_CODES,
    TABLES,
    TRUE_TOKENS,
    Kind,
)

#: Date roles each contract table accepts in its [dates] section.
DATE_ROLES: dict[str, tuple[str, ...]] = {
    "patients": PATIENT_ROLES,
    "responses": ("origin", "day"),
    "cases": ("origin",),
    "events": ("origin", "day", "end_day"),
}


@dataclass(frozen=True)
class TableMapping:
    """How one source table becomes one contract table."""

    #: The source table (file stem, REDCap instrument, ADaM dataset); None = the only one.
    source: str | None = None
    #: Contract column -> source column.
    columns: Mapping[str, str] = field(default_factory=dict)
    #: Contract column -> {source value -> contract code}.
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Date role -> source column.
    dates: Mapping[str, str] = field(default_factory=dict)
    date_order: DateOrder | None = None


@dataclass(frozen=True)
class ConversionMapping:
    """A mapping for every contract table a source feeds."""

    tables: Mapping[str, TableMapping] = field(default_factory=dict)
    #: The table the file's top-level sections describe.
    main: str = "patients"


def _problem(file: str, message: str) -> Problem:
    return Problem("mapping", file, None, None, None, ConvertRule.MAPPING_INVALID, message)


def _strings(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _read_table(
    name: str, body: Mapping[str, object], file: str
) -> tuple[TableMapping, list[Problem]]:
    problems: list[Problem] = []
    contract = TABLES[name]
    known = {"source", "columns", "values", "dates", "table"}
    for key in sorted(set(body) - known):
        problems.append(_problem(file, f"Unknown section or key '{key}' for table {name}."))
    source = body.get("source")
    if source is not None and not isinstance(source, str):
        problems.append(_problem(file, f"[tables.{name}] source must be text."))
        source = None
    columns = body.get("columns", {})
    if not _strings(columns):
        problems.append(_problem(file, f"[columns] of {name} must map column names to text."))
        columns = {}
    assert isinstance(columns, dict)
    for target in sorted(set(columns) - set(contract.column_names)):
        problems.append(
            _problem(file, f"[columns] names '{target}', which is not a column of {name}.")
        )
    values = body.get("values", {})
    clean_values: dict[str, dict[str, str]] = {}
    if not isinstance(values, dict):
        problems.append(_problem(file, f"[values] of {name} must hold one table per column."))
        values = {}
    for target, codes in values.items():
        if target not in contract.by_name:
            problems.append(
                _problem(file, f"[values.{target}] names a column that {name} does not have.")
            )
        elif not _strings(codes):
            problems.append(_problem(file, f"[values.{target}] must map values to text codes."))
        else:
            clean_values[target] = {str(k): v for k, v in codes.items()}
    dates = body.get("dates", {})
    if not isinstance(dates, dict):
        problems.append(_problem(file, f"[dates] of {name} must map roles to columns."))
        dates = {}
    order = None
    roles: dict[str, str] = {}
    for role, column in dates.items():
        if role == "format":
            order = parse_date_order(column) if isinstance(column, str) else None
            if order is None:
                allowed = ", ".join(o.value for o in DateOrder)
                problems.append(_problem(file, f"[dates] format must be one of: {allowed}."))
        elif role not in DATE_ROLES[name]:
            allowed = ", ".join(DATE_ROLES[name])
            problems.append(
                _problem(file, f"[dates] role '{role}' is not one of {name}'s: {allowed}.")
            )
        elif not isinstance(column, str):
            problems.append(_problem(file, f"[dates] {role} must name a column."))
        else:
            roles[role] = column
    return TableMapping(source, dict(columns), clean_values, roles, order), problems


def read_mapping(
    text: str, file: str = "mapping.toml"
) -> tuple[ConversionMapping | None, list[Problem]]:
    """The mapping in TOML `text`, or None and every problem that makes it unusable."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return None, [_problem(file, f"The mapping is not valid TOML ({error}).")]
    main = data.pop("table", "patients")
    if main not in TABLES:
        return None, [_problem(file, f"table = '{main}' is not a contract table.")]
    others = data.pop("tables", {})
    problems: list[Problem] = []
    tables: dict[str, TableMapping] = {}
    if data:
        tables[main], found = _read_table(main, data, file)
        problems += found
    if not isinstance(others, dict):
        problems.append(_problem(file, "[tables] must hold one section per contract table."))
        others = {}
    for name, body in others.items():
        if name not in TABLES:
            problems.append(_problem(file, f"[tables.{name}] is not a contract table."))
        elif not isinstance(body, dict):
            problems.append(_problem(file, f"[tables.{name}] must be a section."))
        else:
            tables[name], found = _read_table(name, body, file)
            problems += found
    if problems:
        return None, problems
    return ConversionMapping(tables, main), []


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL is the one JSON leaves raw)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def _toml_section(header: str, pairs: Mapping[str, str]) -> list[str]:
    if not pairs:
        return []
    return [
        f"[{header}]",
        *(f"{_toml_key(k)} = {_toml_string(v)}" for k, v in pairs.items()),
        "",
    ]


def write_mapping(mapping: ConversionMapping) -> str:
    """The mapping as TOML text that `read_mapping` reads back to the same value."""
    lines = [f"table = {_toml_string(mapping.main)}", ""]
    for name, table in mapping.tables.items():
        prefix = "" if name == mapping.main else f"tables.{name}."
        if prefix:
            lines += [f"[tables.{name}]"]
            if table.source is not None:
                lines.append(f"source = {_toml_string(table.source)}")
            lines.append("")
        elif table.source is not None:
            lines.insert(1, f"source = {_toml_string(table.source)}")
        lines += _toml_section(f"{prefix}columns", table.columns)
        for column, codes in table.values.items():
            lines += _toml_section(f"{prefix}values.{_toml_key(column)}", codes)
        dates = dict(table.dates)
        if table.date_order is not None:
            dates["format"] = table.date_order.value
        lines += _toml_section(f"{prefix}dates", dates)
    return "\n".join(lines).rstrip() + "\n"


# --- proposals ----------------------------------------------------------------------------------


def name_key(name: str) -> str:
    """A column name reduced for comparison: no accents, lower case, words joined by `_`."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"([a-z])([A-Z])", r"\1_\2", plain).lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


def _lookup(
    candidates: Mapping[str, tuple[str, ...]], name: str, *, by_own_name: bool = True
) -> str | None:
    key = name_key(name)
    for target, names in candidates.items():
        if (by_own_name and key == name_key(target)) or key in names:
            return target
    return None


def propose_columns(table: str, source_columns: Sequence[str]) -> dict[str, str]:
    """Contract column -> source column for every source column the proposer recognises."""
    contract = TABLES[table]
    proposal: dict[str, str] = {}
    exact = {name_key(c): c for c in source_columns}
    for column in contract.column_names:
        if column in exact:
            proposal[column] = exact[column]
    for source in source_columns:
        target = _lookup(synonyms.COLUMNS, source)
        if (
            target in contract.by_name
            and target not in proposal
            and source not in proposal.values()
        ):
            proposal[target] = source
    return proposal


def propose_dates(table: str, source_columns: Sequence[str]) -> dict[str, str]:
    """Date role -> source column for the columns whose names say which date they hold."""
    roles = DATE_ROLES[table]
    proposal: dict[str, str] = {}
    for source in source_columns:
        # Roles are matched by their synonyms only: a column called `day` holds contract days.
        role = _lookup(synonyms.DATE_ROLES, source, by_own_name=False)
        if role in roles and role not in proposal:
            proposal[role] = source
    return proposal


def _value_key(value: str) -> str:
    return name_key(value) or value.strip().lower()


def propose_values(table: str, column: str, values: Iterable[str]) -> dict[str, str]:
    """Source value -> contract code for the distinct values of a source column that are not
    already written as the contract spells them and that the proposer recognises."""
    kind = TABLES[table].column(column).kind
    codes = TABLES[table].codes_of(column)
    proposal: dict[str, str] = {}
    distinct = sorted({v for v in values if v is not None and v.strip()})
    known = synonyms.CODES.get(column, {})
    # 1/2 is the usual coding of sex (ISO/IEC 5218: 1 = male, 2 = female).
    numbered = {"1": "M", "2": "F"} if column == "sex" else {}
    for value in distinct:
        key = _value_key(value)
        if column == "timepoint":
            cycle = synonyms.CYCLE.search(key)
            if cycle and f"C{int(cycle[1])}" != value:
                proposal[value] = f"C{int(cycle[1])}"
            continue
        if kind == Kind.BOOL:
            lowered = value.strip().lower()
            if lowered in TRUE_TOKENS or lowered in FALSE_TOKENS:
                continue
            for token, spellings in synonyms.BOOLEANS.items():
                if key in spellings:
                    proposal[value] = token
            continue
        if value in codes or (column == "bsab" and value in BSAB_CODES):
            continue
        if value.strip() in numbered:
            proposal[value] = numbered[value.strip()]
            continue
        for code, spellings in known.items():
            if key in spellings or key == code.lower():
                proposal[value] = code
                break
        else:
            if column in ("response", "best_response"):
                spelled = {c.lower(): c for c in RESPONSE_CODES}
                if value.strip().lower() in spelled:
                    proposal[value] = spelled[value.strip().lower()]
    return proposal


def propose_mapping(
    table: str, source_columns: Sequence[str], values: Mapping[str, Iterable[str]] | None = None
) -> TableMapping:
    """A proposed mapping of one source table (`values`: source column -> its values)."""
    dates = propose_dates(table, source_columns)
    dated = set(dates.values())
    columns = {k: v for k, v in propose_columns(table, source_columns).items() if v not in dated}
    proposed: dict[str, dict[str, str]] = {}
    for target, source in columns.items():
        column = TABLES[table].column(target)
        if values is None or source not in values or column.kind not in (Kind.CODE, Kind.BOOL):
            continue
        found = propose_values(table, target, values[source])
        if found:
            proposed[target] = found
    return TableMapping(columns=columns, values=proposed, dates=dates)
