"""The validation report, and the contract's rules on parsed tables (pandera and cross-table).

A `Problem` is written for the person who exported the data: which file, which spreadsheet row,
which column and value, and what to do about it. Loading collects every problem instead of
stopping at the first one, so a center can fix its export in one pass.

The module passes 500 lines because the report's vocabulary (`Rule`, `Problem`) and the
contract's table rules are read together: each rule's wording sits next to its code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import reduce
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from bsab_explorer.schema import AGE_CAP, GRADED_EVENTS, RESPONSE_CODES, TABLES, Column, Kind

if TYPE_CHECKING:
    import pandera.polars as pa

#: Bumped whenever a rule changes what is accepted; stored with every batch.
VALIDATOR_VERSION = "contract-1/rules-2"

#: How many problems of one kind (table, column, rule) the text report spells out.
TEXT_REPEATS = 20

#: Internal column holding the file row number a user sees in a spreadsheet (header = row 1).
ROW = "__row"

#: Columns counted in days since an origin: a negative value is a different mistake from an
#: out-of-range grade, so it gets its own rule and wording.
TIME_COLUMNS = frozenset(
    {
        "pfs_days",
        "os_days",
        "day",
        "end_day",
        "days_chemo_to_bsab",
        "onset_day",
        "resolution_day",
        "dose_day",
    }
)


class Rule:
    """Short codes naming each rule, for filtering a report and for tests."""

    FILE_EMPTY = "file_empty"
    FILE_TOO_LARGE = "file_too_large"
    HEADER_ONLY = "header_only"
    WRONG_FORMAT = "wrong_format"
    UNREADABLE = "unreadable"
    NUL_BYTES = "nul_bytes"
    ZIP_BOMB = "zip_bomb"
    DECODING_LIMIT = "decoding_limit"
    MIXED_ENCODING = "mixed_encoding"
    XLSX_HIDDEN_SHEET = "xlsx_hidden_sheet"
    XLSX_FORMULA = "xlsx_formula"
    XLSX_SHEETS = "xlsx_sheets"
    RAGGED_ROW = "ragged_row"
    DUPLICATE_COLUMN = "duplicate_column"
    UNNAMED_COLUMN = "unnamed_column"
    MISSING_ID_COLUMN = "missing_id_column"
    IDENTIFIER_COLUMN = "identifier_column"
    NO_TABLES = "no_tables"
    AMBIGUOUS_FILES = "ambiguous_files"
    NOT_BOOLEAN = "not_boolean"
    NOT_INTEGER = "not_integer"
    NOT_NUMBER = "not_number"
    UNKNOWN_CODE = "unknown_code"
    OUT_OF_RANGE = "out_of_range"
    NEGATIVE_TIME = "negative_time"
    AGE_OVER_90 = "age_over_90"
    MISSING_ID = "missing_id"
    MISSING_REQUIRED = "missing_required"
    DUPLICATE_ID = "duplicate_id"
    DUPLICATE_ASSESSMENT = "duplicate_assessment"
    OS_BEFORE_PFS = "os_before_pfs"
    DEATH_CAUSE_WITHOUT_DEATH = "death_cause_without_death"
    DEATH_WITHOUT_PFS_EVENT = "death_without_pfs_event"
    UNKNOWN_PATIENT = "unknown_patient"
    UNKNOWN_CASE = "unknown_case"
    GRADE_REQUIRED = "grade_required"
    END_BEFORE_START = "end_before_start"
    CALENDAR_DATE = "calendar_date"
    EXCEL_DATE = "excel_date"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    IP_ADDRESS = "ip_address"
    SSN = "ssn"
    ZIP_CODE = "zip_code"
    MRN_LIKE = "mrn_like"
    FORMULA = "formula"
    HTML = "html"
    INVISIBLE_CHARACTER = "invisible_character"
    TEXT_TOO_LONG = "text_too_long"
    TOO_MANY_CODES = "too_many_codes"
    BAD_PSEUDONYM = "bad_pseudonym"
    PERSON_NAME = "person_name"
    BAD_CENTER = "bad_center"
    CENTER_MISMATCH = "center_mismatch"
    ALREADY_STORED = "already_stored"
    DUPLICATE_IN_STORE = "duplicate_in_store"
    STORE_UNAVAILABLE = "store_unavailable"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the data, located as precisely as possible and explained."""

    table: str
    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str
    message: str

    def to_text(self) -> str:
        """One line: where, what, and what to do."""
        where = [self.file or self.table]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message} [{self.rule}]"


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found, plus notices about what was done with the input (nothing hidden)."""

    problems: tuple[Problem, ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there is no problem (notices do not make data invalid)."""
        return not self.problems

    def merged(self, other: ValidationReport) -> ValidationReport:
        """This report followed by `other`."""
        return ValidationReport(self.problems + other.problems, self.notices + other.notices)

    def rules(self) -> frozenset[str]:
        """The rule codes that were broken."""
        return frozenset(p.rule for p in self.problems)

    def to_text(self) -> str:
        """The report as plain lines a clinician can read and act on."""
        lines: list[str] = []
        if self.problems:
            n = len(self.problems)
            lines.append(f"{n} problem{'s' if n != 1 else ''} found:")
            # A systematic mistake repeats on every row: show a few, then count the rest.
            shown: dict[tuple[str, str | None, str], int] = {}
            for p in self.problems:
                key = (p.table, p.column, p.rule)
                shown[key] = shown.get(key, 0) + 1
                if shown[key] <= TEXT_REPEATS:
                    lines.append(f"  - {p.to_text()}")
            for (_, column, rule), count in shown.items():
                if count > TEXT_REPEATS:
                    where = f" in column {column}" if column else ""
                    lines.append(
                        f"  - ... and {count - TEXT_REPEATS} more of the same kind [{rule}]{where}."
                    )
        else:
            lines.append("No problems found.")
        if self.notices:
            lines.append("Notes:")
            lines.extend(f"  - {n}" for n in self.notices)
        return "\n".join(lines)

    def to_frame(self) -> pl.DataFrame:
        """The problems as a table (table, file, row, column, value, rule, message)."""
        return pl.DataFrame(
            {
                "table": [p.table for p in self.problems],
                "file": [p.file for p in self.problems],
                "row": [p.row for p in self.problems],
                "column": [p.column for p in self.problems],
                "value": [p.value for p in self.problems],
                "rule": [p.rule for p in self.problems],
                "message": [p.message for p in self.problems],
            },
            schema={
                "table": pl.String,
                "file": pl.String,
                "row": pl.Int64,
                "column": pl.String,
                "value": pl.String,
                "rule": pl.String,
                "message": pl.String,
            },
        )


@dataclass(frozen=True)
class ParsedTable:
    """One contract table after parsing: typed contract columns plus the file row (`ROW`)."""

    table: str
    file: str
    frame: pl.DataFrame
    #: Contract columns the file actually had (the others were added as all-null).
    present: frozenset[str] = field(default_factory=frozenset)

    def problem(
        self, row: int | None, column: str | None, value: object, rule: str, message: str
    ) -> Problem:
        """A problem located in this table."""
        text = None if value is None else str(value)
        return Problem(self.table, self.file, row, column, text, rule, message)


def format_value(value: object) -> str:
    """A value as a user typed it (whole floats without `.0`)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- column rules (pandera) ---------------------------------------------------------------------


def _range_bounds(
    table: str, present: Iterable[str]
) -> dict[str, tuple[float | None, float | None]]:
    """The (minimum, maximum) each present numeric column of `table` is checked against."""
    bounds: dict[str, tuple[float | None, float | None]] = {}
    for column in TABLES[table].columns:
        if column.name not in present or column.kind not in (Kind.INT, Kind.NUMBER):
            continue
        # Ages above the cap are an identifier problem with their own rule (see check_ages).
        maximum = column.maximum if column.name != "age_years" else None
        if column.minimum is not None or maximum is not None:
            bounds[column.name] = (column.minimum, maximum)
    return bounds


def _pandera_schema(table: str, present: Iterable[str]) -> pa.DataFrameSchema:
    """Range rules of the contract as a pandera schema over the parsed (typed) frame."""
    import pandera.polars as pa  # deferred: pandera pulls in pandas, seconds of start-up

    columns: dict[str, pa.Column] = {}
    for name, (minimum, maximum) in _range_bounds(table, present).items():
        checks = []
        if minimum is not None:
            checks.append(pa.Check.ge(minimum))
        if maximum is not None:
            checks.append(pa.Check.le(maximum))
        columns[name] = pa.Column(checks=checks, nullable=True)
    return pa.DataFrameSchema(columns, strict=False)


def _any_out_of_range(
    frame: pl.DataFrame, bounds: Mapping[str, tuple[float | None, float | None]]
) -> bool:
    """Whether a pandera check of `bounds` would fail on some row: one pass over the columns.

    The same comparisons as pandera's `ge`/`le` checks, and a cell fails as there (null is
    ignored; NaN is above every maximum). Pandera itself, seconds to import, is asked only when
    a value fails, for its failure cases.
    """
    if not set(bounds) <= set(frame.columns):
        return True  # pandera says what is missing
    failures = []
    for name, (minimum, maximum) in bounds.items():
        if minimum is not None:
            failures.append(pl.col(name).ge(minimum).not_().any())
        if maximum is not None:
            failures.append(pl.col(name).le(maximum).not_().any())
    return bool(frame.select(pl.any_horizontal(failures)).item())


def _range_message(column: Column, value: object, bound: str) -> tuple[str, str]:
    """(rule, message) for a value outside the contract's range."""
    shown = format_value(value)
    if column.name in TIME_COLUMNS and bound == "min":
        return (
            Rule.NEGATIVE_TIME,
            f"{column.label} is {shown}: times are days since the origin and cannot be "
            "negative. Correct the value or leave it empty if unknown.",
        )
    low = format_value(column.minimum) if column.minimum is not None else None
    high = format_value(column.maximum) if column.maximum is not None else None
    if low is not None and high is not None:
        allowed = f"from {low} to {high}"
    elif low is not None:
        allowed = f"{low} or more"
    else:
        allowed = f"{high} or less"
    return (
        Rule.OUT_OF_RANGE,
        f"{column.label} is {shown}, outside the allowed range ({allowed}). Correct the value "
        "or leave it empty if unknown.",
    )


def check_ranges(parsed: ParsedTable) -> list[Problem]:
    """Values outside the contract's ranges (pandera column checks)."""
    if (
        not any(
            TABLES[parsed.table].column(c).kind in (Kind.INT, Kind.NUMBER) for c in parsed.present
        )
        or parsed.frame.height == 0
    ):
        return []
    bounds = _range_bounds(parsed.table, parsed.present)
    frame = parsed.frame
    if not bounds or not _any_out_of_range(frame, bounds):
        return []
    import pandera.errors

    schema = _pandera_schema(parsed.table, parsed.present)
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return []
    problems = []
    rows = frame.get_column(ROW)
    for case in cases.iter_rows(named=True):
        name = case["column"]
        index = case["index"]
        if name not in frame.columns or index is None:
            continue
        value = frame.get_column(name)[index]
        bound = "min" if str(case["check"]).startswith("greater") else "max"
        rule, message = _range_message(TABLES[parsed.table].column(name), value, bound)
        problems.append(parsed.problem(int(rows[index]), name, format_value(value), rule, message))
    return problems


def check_ages(parsed: ParsedTable) -> list[Problem]:
    """Ages above 90 identify people: they must be coded as 90 (shown as "90+")."""
    if "age_years" not in parsed.present:
        return []
    over = parsed.frame.filter(pl.col("age_years") > AGE_CAP)
    return [
        parsed.problem(
            row,
            "age_years",
            age,
            Rule.AGE_OVER_90,
            f"Age {age} is over {AGE_CAP}: ages over {AGE_CAP} can identify a person and must "
            f"be coded as {AGE_CAP} (shown as {AGE_CAP}+). Change it to {AGE_CAP}, or accept "
            f"the offer to code all ages over {AGE_CAP} as {AGE_CAP}.",
        )
        for row, age in over.select(ROW, "age_years").iter_rows()
    ]


# --- row rules --------------------------------------------------------------------------------


def check_required(parsed: ParsedTable) -> list[Problem]:
    """Rows without their id (or without another required value)."""
    problems: list[Problem] = []
    table = TABLES[parsed.table]
    for column in table.columns:
        if not column.required or column.name not in parsed.present:
            continue
        rows = parsed.frame.filter(pl.col(column.name).is_null()).get_column(ROW)
        if column.name.endswith("_id"):
            rule = Rule.MISSING_ID
            message = (
                f"{column.name} is empty: every row needs a {column.label.lower()} id. Fill it "
                "in or remove the row."
            )
        else:
            rule = Rule.MISSING_REQUIRED
            message = f"{column.name} is empty but required. Fill it in or remove the row."
        problems.extend(parsed.problem(r, column.name, None, rule, message) for r in rows)
    return problems


def all_distinct(frame: pl.DataFrame, keys: list[str]) -> bool:
    """Whether no two rows of `frame` share their `keys`, proved by hashes (False: maybe they do).

    Rows with the same keys hash alike, so as many distinct hashes as rows proves every row
    distinct; fewer is a repeat or, rarely, two keys hashing alike, which the caller's exact pass
    tells apart. The 64-bit hashes are sorted (NumPy) and compared with their neighbours: at 2.5 M
    rows, half the time of counting them in a hash table, itself a fraction of hashing text or a
    struct of keys.
    """
    if frame.height < 2:
        return True
    if len(keys) == 1:
        column = frame.get_column(keys[0])
        if column.null_count() == 0 and column.is_sorted():
            # Sorted ids (as registries export them): a repeat sits next to its first.
            return not bool((column == column.shift(1)).any())
    hashed = reduce(
        lambda left, right: left ^ right,
        (pl.col(key).hash(seed=number) for number, key in enumerate(keys)),
    )
    ordered = np.sort(frame.select(hashed).to_series().to_numpy())
    return not bool((ordered[1:] == ordered[:-1]).any())


def _repeats(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Rows whose keys an earlier row already has, with that first row (`__first`), by row.

    One pass finds the repeats (usually none); only their keys are looked up again.
    """
    # When every key is distinct (the usual case), no row repeats one: proved by counting
    # hashes, a fraction of marking the first of each key.
    if all_distinct(frame, keys):
        return frame.head(0).with_columns(pl.col(ROW).alias("__first"))
    if not frame.get_column(ROW).is_sorted():
        frame = frame.sort(ROW)
    key = pl.struct(keys) if len(keys) > 1 else pl.col(keys[0])
    later = frame.filter(~key.is_first_distinct())
    if later.height == 0:
        return later.with_columns(pl.col(ROW).alias("__first"))
    first = (
        frame.join(later.select(keys).unique(), on=keys)
        .group_by(keys)
        .agg(pl.col(ROW).min().alias("__first"))
    )
    return later.join(first, on=keys).sort(ROW)


def check_unique(parsed: ParsedTable) -> list[Problem]:
    """Ids that must be unique but appear on more than one row."""
    problems: list[Problem] = []
    for column in TABLES[parsed.table].columns:
        if not column.unique or column.name not in parsed.present:
            continue
        frame = parsed.frame.select(ROW, column.name).filter(pl.col(column.name).is_not_null())
        dupes = _repeats(frame, [column.name])
        for row, value, first_row in dupes.select(ROW, column.name, "__first").iter_rows():
            problems.append(
                parsed.problem(
                    row,
                    column.name,
                    value,
                    Rule.DUPLICATE_ID,
                    f"{column.name} '{value}' appears more than once (first on row "
                    f"{first_row}). Each {parsed.table[:-1]} needs exactly one row: remove or "
                    "merge the duplicate.",
                )
            )
    return problems


def check_patient_rules(parsed: ParsedTable) -> list[Problem]:
    """Survival consistency: OS >= PFS, a cause of death needs a death, death ends PFS."""
    frame = parsed.frame
    present = parsed.present
    problems: list[Problem] = []
    if {"os_days", "pfs_days"} <= present:
        bad = frame.filter(pl.col("os_days") < pl.col("pfs_days"))
        for row, os_days, pfs_days in bad.select(ROW, "os_days", "pfs_days").iter_rows():
            problems.append(
                parsed.problem(
                    row,
                    "os_days",
                    format_value(os_days),
                    Rule.OS_BEFORE_PFS,
                    f"os_days ({format_value(os_days)}) is shorter than pfs_days "
                    f"({format_value(pfs_days)}): overall survival cannot end before "
                    "progression-free survival. Check both values.",
                )
            )
    if "death_cause" in present:
        died = pl.col("os_event") if "os_event" in present else pl.lit(None, pl.Boolean)
        bad = frame.filter(pl.col("death_cause").is_not_null() & ~died.fill_null(False))
        for row, cause in bad.select(ROW, "death_cause").iter_rows():
            problems.append(
                parsed.problem(
                    row,
                    "death_cause",
                    cause,
                    Rule.DEATH_CAUSE_WITHOUT_DEATH,
                    f"death_cause is '{cause}' but os_event is not true: a cause of death "
                    "needs a recorded death. Set os_event to true, or clear death_cause if "
                    "the patient is alive.",
                )
            )
    if {"os_event", "pfs_event"} <= present:
        bad = frame.filter(_death_without_pfs_event() & ~_death_after_pfs(present))
        for row in bad.get_column(ROW):
            problems.append(
                parsed.problem(
                    row,
                    "pfs_event",
                    "false",
                    Rule.DEATH_WITHOUT_PFS_EVENT,
                    "os_event is true but pfs_event is false: death ends progression-free "
                    "survival, so pfs_event must be true when os_event is true. Correct one "
                    "of them.",
                )
            )
    return problems


def _death_without_pfs_event() -> pl.Expr:
    return pl.col("os_event") & (pl.col("pfs_event") == False)  # noqa: E712


def _death_after_pfs(present: frozenset[str]) -> pl.Expr:
    """A death later than the PFS time: PFS was censored before it (at the last adequate
    assessment or a new therapy), which is legitimate; only a death at the PFS time must end it."""
    if not {"os_days", "pfs_days"} <= present:
        return pl.lit(False)
    return (pl.col("os_days") > pl.col("pfs_days")).fill_null(False)


def patient_warnings(parsed: ParsedTable) -> list[str]:
    """Legitimate but unusual survival records, said in the report without refusing them."""
    present = parsed.present
    if parsed.table != "patients" or not {"os_event", "pfs_event"} <= present:
        return []
    later = parsed.frame.filter(_death_without_pfs_event() & _death_after_pfs(present))
    return [
        f"{parsed.file}, row {row}: os_event is true but pfs_event is false, with the death "
        f"(day {format_value(os_days)}) after the censored PFS time (day "
        f"{format_value(pfs_days)}). Accepted as PFS censored before the death (e.g. at the last "
        "adequate assessment or a new therapy); check it if the death ended PFS."
        for row, os_days, pfs_days in later.select(ROW, "os_days", "pfs_days").iter_rows()
    ]


def check_response_rules(parsed: ParsedTable) -> list[Problem]:
    """Each patient is assessed at most once per timepoint."""
    if "timepoint" not in parsed.present:
        return []
    keys = ["patient_id", "timepoint"]
    dupes = _repeats(parsed.frame.select(ROW, *keys).drop_nulls(keys), keys)
    return [
        parsed.problem(
            row,
            "timepoint",
            timepoint,
            Rule.DUPLICATE_ASSESSMENT,
            f"patient '{patient}' has two assessments at timepoint {timepoint} (first on row "
            f"{first_row}). Keep one row per patient and timepoint.",
        )
        for row, patient, timepoint, first_row in dupes.select(ROW, *keys, "__first").iter_rows()
    ]


def check_event_rules(parsed: ParsedTable) -> list[Problem]:
    """Graded events need a grade; a course cannot end before it starts; response details."""
    frame = parsed.frame
    present = parsed.present
    problems: list[Problem] = []
    if "event" in present:
        grade = pl.col("grade") if "grade" in present else pl.lit(None, pl.Int64)
        bad = frame.filter(pl.col("event").is_in(GRADED_EVENTS) & grade.is_null())
        for row, event in bad.select(ROW, "event").iter_rows():
            problems.append(
                parsed.problem(
                    row,
                    "grade",
                    None,
                    Rule.GRADE_REQUIRED,
                    f"A '{event}' event needs a grade (1 to 5), but grade is empty. Add the "
                    "grade (ASTCT for CRS/ICANS, CTCAE otherwise).",
                )
            )
    if {"day", "end_day"} <= present:
        bad = frame.filter(pl.col("end_day") < pl.col("day"))
        for row, day, end in bad.select(ROW, "day", "end_day").iter_rows():
            problems.append(
                parsed.problem(
                    row,
                    "end_day",
                    format_value(end),
                    Rule.END_BEFORE_START,
                    f"end_day ({format_value(end)}) is before day ({format_value(day)}): an "
                    "event cannot end before it starts. Check both values.",
                )
            )
    if {"event", "detail"} <= present:
        known = {c.lower() for c in RESPONSE_CODES}
        bad = frame.filter(
            (pl.col("event") == "response")
            & pl.col("detail").is_not_null()
            & ~pl.col("detail").str.to_lowercase().is_in(known)
        )
        for row, detail in bad.select(ROW, "detail").iter_rows():
            problems.append(
                parsed.problem(
                    row,
                    "detail",
                    detail,
                    Rule.UNKNOWN_CODE,
                    f"A 'response' event needs an IMWG code as detail, not '{detail}'. Use "
                    f"one of: {', '.join(RESPONSE_CODES)}.",
                )
            )
    return problems


def check_adverse_event_rules(parsed: ParsedTable) -> list[Problem]:
    """An adverse event cannot resolve before its onset, nor begin before its dose."""
    problems: list[Problem] = []
    pairs = (
        ("resolution_day", "onset_day", "an event cannot resolve before it begins"),
        ("onset_day", "dose_day", "an event attributed to a dose cannot begin before it"),
    )
    for later, earlier, why in pairs:
        if not {later, earlier} <= parsed.present:
            continue
        bad = parsed.frame.filter(pl.col(later) < pl.col(earlier))
        for row, late, early in bad.select(ROW, later, earlier).iter_rows():
            problems.append(
                parsed.problem(
                    row,
                    later,
                    format_value(late),
                    Rule.END_BEFORE_START,
                    f"{later} ({format_value(late)}) is before {earlier} "
                    f"({format_value(early)}): {why}. Check both values.",
                )
            )
    return problems


def check_table(parsed: ParsedTable) -> list[Problem]:
    """Every single-table rule of the contract for one parsed table."""
    problems = check_required(parsed) + check_unique(parsed) + check_ranges(parsed)
    problems += check_ages(parsed)
    if parsed.table == "patients":
        problems += check_patient_rules(parsed)
    elif parsed.table == "responses":
        problems += check_response_rules(parsed)
    elif parsed.table == "events":
        problems += check_event_rules(parsed)
    elif parsed.table == "adverse_events":
        problems += check_adverse_event_rules(parsed)
    return problems


def check_references(
    child: ParsedTable, parent_ids: pl.Series | None, parent_label: str = ""
) -> list[Problem]:
    """Rows of a child table (responses, events) whose parent id does not exist."""
    parent = TABLES[child.table].parent
    if parent is None or parent_ids is None:
        return []
    parent_table, key = parent
    frame = child.frame.filter(
        pl.col(key).is_in(unknown_ids(child.frame.get_column(key), parent_ids))
    )
    rule = Rule.UNKNOWN_PATIENT if parent_table == "patients" else Rule.UNKNOWN_CASE
    where = parent_label or parent_table
    return [
        child.problem(
            row,
            key,
            value,
            rule,
            f"{key} '{value}' has no row in {where}. Add the {parent_table[:-1]} to "
            f"{parent_table} first, or correct the id.",
        )
        for row, value in frame.select(ROW, key).iter_rows()
    ]


def unknown_ids(ids: pl.Series, known: pl.Series) -> pl.Series:
    """The distinct non-null values of `ids` that are not in `known` (usually none).

    A child table lists its parent's id on consecutive rows (a patient's assessments), so only
    the first of each run is looked up, by an anti-join: at 2.5 M responses of a million
    patients, a third to a half of the time of looking up every row in a hash table. (A binary
    search of sorted ids took as much CPU on one core: 0.105 s against the join's 0.04 s of
    wall time on two, docs/performance.md.)
    """
    ids = ids.drop_nulls()
    known = known.drop_nulls()
    if known.dtype != ids.dtype:
        known = known.cast(ids.dtype)
    runs = ids.filter((ids != ids.shift(1)).fill_null(True))
    joined = runs.to_frame("id").join(known.to_frame("id"), on="id", how="anti")
    return joined.get_column("id").unique()


#: Rules that flag a value as possibly identifying a person.
IDENTIFIER_RULES = frozenset(
    {
        Rule.CALENDAR_DATE,
        Rule.EXCEL_DATE,
        Rule.EMAIL,
        Rule.PHONE,
        Rule.URL,
        Rule.IP_ADDRESS,
        Rule.SSN,
        Rule.ZIP_CODE,
        Rule.MRN_LIKE,
        Rule.BAD_PSEUDONYM,
        Rule.PERSON_NAME,
    }
)


def mask(value: str) -> str:
    """The shape of a value without its content: letters become x, digits 9 (a@b.org: x@x.xxx)."""
    return re.sub(r"\d", "9", re.sub(r"[^\W\d_]", "x", value))


def without_identifying_values(problems: Iterable[Problem]) -> list[Problem]:
    """The problems with every value of a cell the identifier guard flagged shown only by its
    shape, whichever other rule reports that cell (a report must never echo an identifier)."""
    listed = list(problems)
    flagged = {(p.table, p.file, p.row, p.column) for p in listed if p.rule in IDENTIFIER_RULES}
    out: list[Problem] = []
    for problem in listed:
        where = (problem.table, problem.file, problem.row, problem.column)
        if where in flagged and problem.value and problem.rule not in IDENTIFIER_RULES:
            masked = mask(problem.value)
            problem = replace(
                problem, value=masked, message=problem.message.replace(problem.value, masked)
            )
        out.append(problem)
    return out


def in_reading_order(problems: Iterable[Problem]) -> list[Problem]:
    """Problems as a reader walks the files (table by table, whole-file first, then by row),
    with no identifying value echoed (see `without_identifying_values`)."""
    problems = without_identifying_values(problems)
    tables = list(TABLES)

    def key(problem: Problem) -> tuple[int, str, int, int]:
        table = TABLES.get(problem.table)
        columns = table.column_names if table else ()
        column = columns.index(problem.column) if problem.column in columns else len(columns)
        order = tables.index(problem.table) if problem.table in tables else len(tables)
        return (order, problem.file, problem.row or 0, column)

    return sorted(problems, key=key)


def cells_to_clear(problems: Iterable[Problem]) -> Mapping[str, frozenset[int]]:
    """Per column, the rows whose value broke a cell rule (so it must not be used)."""
    cell_rules = {
        Rule.NOT_BOOLEAN,
        Rule.NOT_INTEGER,
        Rule.NOT_NUMBER,
        Rule.UNKNOWN_CODE,
        Rule.OUT_OF_RANGE,
        Rule.NEGATIVE_TIME,
        Rule.AGE_OVER_90,
        Rule.FORMULA,
        Rule.HTML,
        Rule.INVISIBLE_CHARACTER,
        Rule.TEXT_TOO_LONG,
        *IDENTIFIER_RULES,
    }
    cells: dict[str, set[int]] = {}
    for p in problems:
        if p.rule in cell_rules and p.column and p.row is not None:
            cells.setdefault(p.column, set()).add(p.row)
    return {k: frozenset(v) for k, v in cells.items()}
