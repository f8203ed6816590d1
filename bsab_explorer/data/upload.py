"""The rules a center's file must pass before it is stored, beside the contract's own rules.

Validation (`validation.py`) says whether a table is right on its own; these rules say whether
it may join the store: a known table, a usable center pseudonym, not a file already stored,
ids unique within the center, children whose parents the center has stored, one assessment per
patient and timepoint. They read the store through the connection they are given and never
write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import polars as pl

from bsab_explorer.data.ingest import MAX_FILE_BYTES, read_table_bytes
from bsab_explorer.data.loading import TABLE_ORDER, parse_reads
from bsab_explorer.data.normalise import clear_cells
from bsab_explorer.data.storefile import UPLOAD, Batch, read_active_rows, read_batches
from bsab_explorer.data.validation import (
    ROW,
    ParsedTable,
    Problem,
    Rule,
    ValidationReport,
    check_references,
    in_reading_order,
)
from bsab_explorer.schema import TABLES

if TYPE_CHECKING:
    import duckdb  # imported where a DuckDB file is opened: reading Parquet needs none

_CENTER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
#: What an uploaded file is called when its name has nothing left once folders are removed.
UNNAMED = "upload"


@dataclass(frozen=True)
class UploadCheck:
    """What storing a file would do: the report, the normalised rows, and whether it is new."""

    report: ValidationReport
    table: str
    center: str
    sha256: str
    rows: pl.DataFrame | None = None
    #: The batch already holding this very file (then storing it again is a no-op).
    duplicate_of: Batch | None = None

    @property
    def preview(self) -> pl.DataFrame | None:
        """The parsed rows with their file row number first (rejected cells are blank)."""
        if self.rows is None:
            return None
        return self.rows.rename({ROW: "file_row"})

    @property
    def storable(self) -> bool:
        """True when the file is valid, new, and has rows."""
        return (
            self.report.ok
            and self.duplicate_of is None
            and self.rows is not None
            and self.rows.height > 0
        )


def base_name(file_name: str) -> str:
    """The file's own name, without any folder a browser or a command line passed along.

    >>> base_name("../../../../tmp/pwned.csv")
    'pwned.csv'
    >>> base_name("C:\\\\exports\\\\patients.csv")
    'patients.csv'
    >>> base_name("..")
    'upload'
    """
    name = re.split(r"[\\/]", file_name)[-1].strip()
    return name if name not in ("", ".", "..") else UNNAMED


def check_upload(
    connection: duckdb.DuckDBPyConnection,
    data: bytes,
    file_name: str,
    table: str,
    center: str,
    sha256: str,
    *,
    cap_ages: bool = False,
    max_bytes: int = MAX_FILE_BYTES,
) -> UploadCheck:
    """Check a file (named by its base name) against the contract and the store open on
    `connection`."""
    file_name = base_name(file_name)
    table = table.strip().lower()
    center = center.strip()
    if table not in TABLES:
        return _refuse(
            table,
            center,
            sha256,
            file_name,
            Rule.WRONG_FORMAT,
            f"'{table}' is not a contract table. Choose one of: {', '.join(TABLE_ORDER)}.",
        )
    if not _CENTER_PATTERN.fullmatch(center):
        return _refuse(
            table,
            center,
            sha256,
            file_name,
            Rule.BAD_CENTER,
            f"'{center}' is not a usable center pseudonym. Use 1 to 32 letters, digits, '-' "
            "or '_' (for example C07), never the hospital's name.",
        )
    for earlier in read_batches(connection):
        if earlier.sha256 != sha256 or earlier.table != table or earlier.origin != UPLOAD:
            continue
        if earlier.center != center:
            return _refuse(
                table,
                center,
                sha256,
                file_name,
                Rule.ALREADY_STORED,
                f"This exact file is already stored as batch {earlier.batch_id} for center "
                f"{earlier.center}. A file belongs to one center; retract that batch first if "
                "the center was wrong.",
            )
        if earlier.retracted:
            return _refuse(
                table,
                center,
                sha256,
                file_name,
                Rule.ALREADY_STORED,
                f"This exact file was stored as batch {earlier.batch_id} and later retracted. "
                f"To use it again, restore batch {earlier.batch_id} instead of uploading it.",
            )
        notice = (
            f"{file_name}: this exact file is already stored as batch {earlier.batch_id} "
            f"({earlier.rows} rows, center {earlier.center}); nothing was added."
        )
        return UploadCheck(ValidationReport((), (notice,)), table, center, sha256, None, earlier)
    read = read_table_bytes(data, file_name, table, max_bytes=max_bytes)
    try:
        parsed_tables, problems, notices = parse_reads({table: read}, cap_ages=cap_ages)
    except Exception as error:  # a user's file must end as a report, never a traceback
        return _refuse(
            table, center, sha256, file_name, Rule.UNREADABLE,
            f"The file could not be checked ({type(error).__name__}). Export it again as "
            "CSV (UTF-8, comma-separated) and retry.",
        )  # fmt: skip
    parsed = parsed_tables.get(table)
    if parsed is None:
        return UploadCheck(ValidationReport(tuple(problems), tuple(notices)), table, center, sha256)
    parsed, center_problems = _apply_center(parsed, center)
    problems += center_problems
    problems += _store_problems(connection, parsed, center)
    # The preview never shows a rejected (possibly identifying) value.
    rows = clear_cells(parsed.frame, problems)
    if not problems:
        notices.append(
            f"{file_name}: {parsed.frame.height} row(s) ready to store for center {center}."
        )
    return UploadCheck(
        ValidationReport(tuple(in_reading_order(problems)), tuple(notices)),
        table,
        center,
        sha256,
        rows,
    )


def _store_problems(
    connection: duckdb.DuckDBPyConnection, parsed: ParsedTable, center: str
) -> list[Problem]:
    """Conflicts with what the store already holds for this center."""
    contract = TABLES[parsed.table]
    problems: list[Problem] = []
    if contract.parent is None:
        stored = read_active_rows(connection, parsed.table, center, [contract.key])
        clash = parsed.frame.join(stored, on=contract.key).sort(ROW)
        for row, value, batch_id in clash.select(ROW, contract.key, "_batch_id").iter_rows():
            problems.append(
                parsed.problem(
                    row,
                    contract.key,
                    value,
                    Rule.DUPLICATE_IN_STORE,
                    f"{contract.key} '{value}' is already stored for center {center} (batch "
                    f"{batch_id}). Ids must be unique within a center: retract batch "
                    f"{batch_id} first if this file replaces it, or correct the id.",
                )
            )
        return problems
    parent, key = contract.parent
    parent_ids = read_active_rows(connection, parent, center, [key]).get_column(key)
    problems += check_references(parsed, parent_ids, f"the stored {parent} of center {center}")
    if parsed.table == "responses":
        stored = read_active_rows(connection, "responses", center, [key, "timepoint"])
        clash = parsed.frame.join(stored, on=[key, "timepoint"]).sort(ROW)
        for row, patient, timepoint, batch_id in clash.select(
            ROW, key, "timepoint", "_batch_id"
        ).iter_rows():
            problems.append(
                parsed.problem(
                    row,
                    "timepoint",
                    timepoint,
                    Rule.DUPLICATE_ASSESSMENT,
                    f"patient '{patient}' already has an assessment at {timepoint} for center "
                    f"{center} (batch {batch_id}). Keep one row per patient and timepoint.",
                )
            )
    return problems


def _apply_center(parsed: ParsedTable, center: str) -> tuple[ParsedTable, list[Problem]]:
    """Fill the `center` column with the upload's center; values naming another center are wrong."""
    if "center" not in TABLES[parsed.table].by_name:
        return parsed, []
    frame = parsed.frame
    other = frame.filter(pl.col("center").is_not_null() & (pl.col("center") != center))
    problems = [
        parsed.problem(
            row,
            "center",
            value,
            Rule.CENTER_MISMATCH,
            f"This row names center '{value}' but the file is being stored for center "
            f"'{center}'. Upload each center's rows under its own pseudonym, or correct the "
            "center.",
        )
        for row, value in other.select(ROW, "center").iter_rows()
    ]
    frame = frame.with_columns(pl.lit(center, pl.String).alias("center"))
    return replace(parsed, frame=frame, present=parsed.present | {"center"}), problems


def _refuse(
    table: str, center: str, sha: str, file_name: str, rule: str, message: str
) -> UploadCheck:
    problem = Problem(table, file_name, None, None, None, rule, message)
    return UploadCheck(ValidationReport((problem,)), table, center, sha)
