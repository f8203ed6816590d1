"""The cohort filter: an immutable value with one text grammar shared by the URL and the CLI.

Grammar (clauses joined by ``;``, whitespace ignored)::

    column=value            equal (codes and booleans case-insensitive)
    column=value1,value2    any of the values
    column!=value           not equal (not recorded values are kept; add na to drop them)
    column>=65  column<=70  column>1  column<3     numeric comparisons
    column=na               not recorded (any contract missing token: na, unknown, ...)

Examples: ``emd=true;bsab=teclistamab;age_years>=65`` or ``iss_stage=II,III``.

>>> f = CohortFilter.parse("bsab=Teclistamab; emd=yes;age_years>=65")
>>> f.to_text()
'age_years>=65;bsab=teclistamab;emd=true'
>>> CohortFilter.parse(f.to_text()) == f
True
>>> CohortFilter.parse("").is_empty
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from bsab_explorer.dataset import Dataset, empty_table
from bsab_explorer.schema import (
    ADVERSE_EVENTS,
    CASES,
    EVENTS,
    FALSE_TOKENS,
    MISSING_TOKENS,
    PATIENTS,
    RESPONSES,
    TABLES,
    TRUE_TOKENS,
    Column,
    Kind,
    Table,
    column_label,
)

_NUMERIC_OPERATORS = (">=", "<=", ">", "<")
_CLAUSE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*$")
#: The canonical spelling of "not recorded" in filter text.
MISSING_VALUE = "na"


class FilterError(ValueError):
    """A filter text that does not follow the grammar or names an unknown column or code."""


def _filterable_columns() -> dict[str, Column]:
    columns: dict[str, Column] = {}
    for table in TABLES.values():
        for column in table.columns:
            columns.setdefault(column.name, column)
    return columns


FILTERABLE = _filterable_columns()


def _normalise_value(column: Column, raw: str) -> str:
    token = raw.strip()
    low = token.lower()
    if low in MISSING_TOKENS:
        if not token:
            raise FilterError(f"'{column.name}' needs a value after the operator.")
        return MISSING_VALUE
    if column.kind is Kind.BOOL:
        if low in TRUE_TOKENS:
            return "true"
        if low in FALSE_TOKENS:
            return "false"
        raise FilterError(f"'{column.name}' is yes/no: use true or false, not '{token}'.")
    if column.kind in (Kind.INT, Kind.NUMBER):
        try:
            number = float(token)
        except ValueError:
            raise FilterError(f"'{column.name}' is a number, not '{token}'.") from None
        if not math.isfinite(number):
            raise FilterError(f"'{column.name}' needs a finite number, not '{token}'.")
        return format(number, "g")
    if column.kind is Kind.CODE:
        for code in column.codes:
            if code.lower() == low:
                return code
        if column.open_codes:
            return low
        allowed = ", ".join(column.codes)
        raise FilterError(f"'{token}' is not a code of '{column.name}' (use one of: {allowed}).")
    return token


@dataclass(frozen=True, order=True)
class Clause:
    """One condition of a filter: column, operator and normalised values."""

    column: str
    op: str
    values: tuple[str, ...]

    def to_text(self) -> str:
        """The clause in filter grammar."""
        return f"{self.column}{self.op}{','.join(self.values)}"

    def describe(self) -> str:
        """The clause in words, for captions."""
        label = column_label(self.column)
        shown = " or ".join("not recorded" if v == MISSING_VALUE else v for v in self.values)
        words = {"=": "is", "!=": "is not", ">=": "≥", "<=": "≤", ">": ">", "<": "<"}[self.op]
        return f"{label} {words} {shown}"

    def expression(self, column: Column) -> pl.Expr:
        """The Polars predicate of this clause for a column of the given contract kind."""
        col = pl.col(self.column)
        if self.op in _NUMERIC_OPERATORS:
            bound = float(self.values[0])
            compare = {">=": col >= bound, "<=": col <= bound, ">": col > bound, "<": col < bound}
            return compare[self.op].fill_null(False)
        wants_missing = MISSING_VALUE in self.values
        present = [v for v in self.values if v != MISSING_VALUE]
        typed: list[object]
        if column.kind is Kind.BOOL:
            typed = [v == "true" for v in present]
        elif column.kind in (Kind.INT, Kind.NUMBER):
            typed = [float(v) for v in present]
            col = col.cast(pl.Float64)
        elif column.kind is Kind.CODE and column.open_codes:
            col = col.str.to_lowercase()
            typed = [v.lower() for v in present]
        else:
            typed = list(present)
        matches = col.is_in(typed) if typed else pl.lit(False)
        if wants_missing:
            matches = matches.fill_null(False) | pl.col(self.column).is_null()
        else:
            matches = matches.fill_null(False)
        return ~matches if self.op == "!=" else matches


@dataclass(frozen=True)
class CohortFilter:
    """A conjunction of clauses; the empty filter keeps everyone. Hashable: it keys caches."""

    clauses: tuple[Clause, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> CohortFilter:
        """Parse filter text (see the module docstring); raise FilterError with a plain message."""
        if text is None or not text.strip():
            return cls()
        clauses: dict[tuple[str, str], Clause] = {}
        for part in text.split(";"):
            if not part.strip():
                continue
            match = _CLAUSE.match(part)
            if match is None:
                raise FilterError(
                    f"'{part.strip()}' is not a filter clause: write column=value, "
                    "column>=number, … (e.g. emd=true;age_years>=65)."
                )
            name, op, raw = match.groups()
            name = name.lower()
            column = FILTERABLE.get(name)
            if column is None:
                raise FilterError(f"'{name}' is not a column of the data contract.")
            raw_values = raw.split(",") if raw else [""]
            if op in _NUMERIC_OPERATORS:
                if column.kind not in (Kind.INT, Kind.NUMBER):
                    raise FilterError(f"'{name}' is not a number; '{op}' needs a number column.")
                if len(raw_values) != 1:
                    raise FilterError(f"'{name}{op}' takes one number.")
            values = tuple(sorted({_normalise_value(column, v) for v in raw_values}))
            clause = Clause(name, op, values)
            clauses[(name, op)] = clause
        return cls(tuple(sorted(clauses.values())))

    @classmethod
    def of(cls, clauses: Iterable[Clause]) -> CohortFilter:
        """A filter from clauses, in canonical order."""
        return cls(tuple(sorted(clauses)))

    @property
    def is_empty(self) -> bool:
        """True when the filter keeps everyone."""
        return not self.clauses

    def to_text(self) -> str:
        """The canonical filter text (clauses sorted), the inverse of `parse`."""
        return ";".join(c.to_text() for c in self.clauses)

    def describe(self) -> str:
        """The filter in words, for captions and provenance footers."""
        return "; ".join(c.describe() for c in self.clauses) if self.clauses else "all patients"

    def slug(self) -> str:
        """The filter for file names: safe characters only."""
        words = {"!=": "-not-", ">=": "-ge-", "<=": "-le-", ">": "-gt-", "<": "-lt-", "=": "="}
        parts = []
        for clause in self.clauses:
            text = f"{clause.column}{words[clause.op]}{'+'.join(clause.values)}"
            parts.append(re.sub(r"[^A-Za-z0-9=.+_-]+", "-", text))
        return "_".join(parts) or "all"

    def with_clause(self, clause: Clause | None, column: str) -> CohortFilter:
        """This filter with every clause on `column` replaced by `clause` (or removed)."""
        kept = [c for c in self.clauses if c.column != column]
        if clause is not None:
            kept.append(clause)
        return CohortFilter.of(kept)

    def clauses_for(self, column: str) -> tuple[Clause, ...]:
        """The clauses on one column."""
        return tuple(c for c in self.clauses if c.column == column)

    def predicate(self, frame: pl.DataFrame, table: Table) -> pl.Expr | None:
        """The conjunction of every clause the table can answer (None when there is none)."""
        predicates = [
            clause.expression(table.by_name[clause.column])
            for clause in self.clauses
            if clause.column in table.by_name and clause.column in frame.columns
        ]
        return pl.all_horizontal(predicates) if predicates else None

    def apply(self, frame: pl.DataFrame, table: Table) -> pl.DataFrame:
        """Rows of `frame` (a `table` frame) that satisfy every clause the table can answer."""
        predicate = self.predicate(frame, table)
        return frame if predicate is None else frame.filter(predicate)


@dataclass(frozen=True)
class Cohort:
    """The patients (their assessments and adverse events) of a dataset that a filter keeps.

    `rows` are the kept patients' row numbers in the dataset's patients table (ascending; None
    when the filter keeps everyone), so that what was derived once for the whole dataset can be
    narrowed to the cohort (see `bsab_explorer.analyses.prepared`).
    """

    cohort_filter: CohortFilter
    patients: pl.DataFrame
    responses: pl.DataFrame
    total: int
    rows: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: The kept patients' adverse events (contract 1.1; empty when the data have none), so that
    #: the safety analyses see only the events of the patients the filter keeps.
    adverse_events: pl.DataFrame = field(
        default_factory=lambda: empty_table(ADVERSE_EVENTS.name), compare=False, repr=False
    )

    @property
    def n(self) -> int:
        """Number of patients kept."""
        return self.patients.height


@dataclass(frozen=True)
class CaseSeries:
    """The cases (and their timeline events) of a dataset that a filter keeps."""

    cohort_filter: CohortFilter
    cases: pl.DataFrame
    events: pl.DataFrame
    total: int

    @property
    def n(self) -> int:
        """Number of cases kept."""
        return self.cases.height


def response_owners(dataset: Dataset) -> np.ndarray:
    """For each row of the responses table, the row of its patient in the patients table (-1
    when the patient is not in it).

    A patient's assessments are usually consecutive rows, and a store's or a registry's patients
    usually come in id order: then each run of one patient's rows is looked up once, by binary
    search among the sorted ids (at a million patients a third of the CPU of joining 2.5 M text
    ids). Otherwise the responses are joined to the patients by id.
    """
    key = PATIENTS.key
    ids = dataset.table(PATIENTS.name).get_column(key)
    wanted = dataset.table(RESPONSES.name).get_column(key)
    # Sorted ids repeat only next to each other: no hashing needed to tell they do not.
    if ids.null_count() == 0 and ids.is_sorted() and not (ids == ids.shift(1)).any():
        return _owners_by_search(ids, wanted)
    rows = ids.to_frame().with_row_index("__row")
    owners = wanted.to_frame().join(rows, on=key, how="left", maintain_order="left")
    return owners.get_column("__row").cast(pl.Int64).fill_null(-1).to_numpy()


def _owners_by_search(ids: pl.Series, wanted: pl.Series) -> np.ndarray:
    """`response_owners` for `ids` sorted, without nulls or repeats: each run of equal `wanted`
    values is found by binary search, once."""
    if ids.len() == 0:
        return np.full(wanted.len(), -1, dtype=np.int64)
    starts = wanted.ne_missing(wanted.shift(1))
    if wanted.len():
        starts[0] = True  # a first null id equals the shifted-in null, and starts a run too
    run = starts.cast(pl.Int64).cum_sum() - 1
    heads = wanted.filter(starts)
    found = ids.search_sorted(heads, side="left").cast(pl.Int64)
    at = found.clip(0, ids.len() - 1)
    owner = pl.select(
        pl.when((found < ids.len()) & (ids.gather(at) == heads)).then(found).otherwise(-1)
    ).to_series()
    return owner.gather(run).to_numpy()


def select_cohort(
    dataset: Dataset, cohort_filter: CohortFilter, owners: np.ndarray | None = None
) -> Cohort:
    """Apply the filter to the cohort study's patients and keep their responses.

    `owners`, when given, is `response_owners(dataset)`, derived once for every filter of the
    dataset (see `bsab_explorer.analyses.prepared`); without it, it is derived here when needed.
    """
    patients = dataset.table(PATIENTS.name)
    responses = dataset.table(RESPONSES.name)
    events = dataset.table(ADVERSE_EVENTS.name)
    predicate = cohort_filter.predicate(patients, PATIENTS)
    if predicate is None:
        return Cohort(cohort_filter, patients, responses, patients.height, adverse_events=events)
    mask = patients.select(predicate.fill_null(False)).to_series().to_numpy()
    if mask.all():
        return Cohort(cohort_filter, patients, responses, patients.height, adverse_events=events)
    if owners is None:
        owners = response_owners(dataset)
    elif owners.size != responses.height:
        raise ValueError("owners are not the response rows of this dataset")
    keep = (owners >= 0) & np.append(mask, False)[owners]
    kept = patients.filter(pl.Series(mask))
    if events.height:
        events = events.filter(pl.col(PATIENTS.key).is_in(kept.get_column(PATIENTS.key).implode()))
    return Cohort(
        cohort_filter,
        kept,
        responses.filter(pl.Series(keep)),
        patients.height,
        rows=np.flatnonzero(mask),
        adverse_events=events,
    )


def select_cases(dataset: Dataset, cohort_filter: CohortFilter) -> CaseSeries:
    """Apply the filter to the case series (clauses on columns cases lack do not apply)."""
    cases = dataset.table(CASES.name)
    kept = cohort_filter.apply(cases, CASES)
    events = dataset.table(EVENTS.name)
    if kept.height != cases.height:
        events = events.filter(pl.col(CASES.key).is_in(kept[CASES.key].implode()))
    return CaseSeries(cohort_filter, kept, events, cases.height)
