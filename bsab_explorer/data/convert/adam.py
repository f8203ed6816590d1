"""A CDISC ADaM set (ADSL, ADTTE, ADRS, ADAE, ADEX) as the contract's tables.

ADaM already counts time: ADTTE gives each endpoint's time (AVAL in the unit of AVALU, CNSR = 0
an event) and the other datasets give study days. ADaM study days have no day 0 (the first
dose is day 1, the day before it day -1), whereas the contract counts days since the first dose
from 0, so a study day d >= 1 is contract day d - 1 and a negative one stays as it is. Calendar
dates (`*DT`, `*DTM`, `*DTC`, and every date-typed variable) are never read. Study-specific ADSL
flags (EMD, HRCA, ...) are left beside the contract columns for the mapping file to name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from bsab_explorer.data.convert.rules import ConvertRule
from bsab_explorer.data.convert.source import SourceSet, SourceTable
from bsab_explorer.data.ingest import MAX_FILE_BYTES, cell_text, typed_table_from_frame
from bsab_explorer.data.validation import ROW, Problem
from bsab_explorer.schema import DAYS_PER_MONTH

DATASETS = ("adsl", "adtte", "adrs", "adae", "adex")
SUFFIXES = (".xpt", ".sas7bdat", ".csv", ".parquet")
#: Days in one unit of AVALU.
UNIT_DAYS = {
    "DAY": 1.0,
    "DAYS": 1.0,
    "WEEK": 7.0,
    "WEEKS": 7.0,
    "MONTH": DAYS_PER_MONTH,
    "MONTHS": DAYS_PER_MONTH,
    "YEAR": 365.25,
    "YEARS": 365.25,
}
#: ADSL variables with a contract column of their own (the first one present is used).
ADSL_COLUMNS = {
    "patient_id": ("USUBJID", "SUBJID"),
    "center": ("SITEID",),
    "age_years": ("AGE",),
    "sex": ("SEX",),
    "bsab": ("TRT01A", "TRT01P"),
}
#: ADRS parameters: overall response per visit, and best overall response.
OVERALL_RESPONSE = ("OVRLRESP", "OVR")
BEST_RESPONSE = ("BOR",)
_DATE_NAME = re.compile(r"^[A-Z0-9]*(DT|DTM|DTC|TM)$")
_CRS = ("cytokine release", "crs")
_ICANS = ("immune effector cell", "icans")


def is_adam(files: Sequence[Path]) -> bool:
    """Whether the files are an ADaM set (SAS files, or datasets named ADSL, ADTTE, ...)."""
    return any(
        f.suffix.lower() in (".xpt", ".sas7bdat")
        or (f.stem.lower() in DATASETS and f.suffix.lower() in SUFFIXES)
        for f in files
    )


def study_day_to_contract(day: pl.Expr) -> pl.Expr:
    """Contract days since the first dose from ADaM study days (which skip 0: day 1 = dose)."""
    return pl.when(day >= 1).then(day - 1).when(day < 0).then(day).otherwise(None)


def _problem(file: str, message: str, row: int | None = None, column: str | None = None) -> Problem:
    return Problem("adam", file, row, column, None, ConvertRule.ADAM_INVALID, message)


def read_dataset(path: Path) -> tuple[pl.DataFrame | None, list[Problem], list[str]]:
    """One ADaM dataset as text (with `ROW`), its calendar-date variables left unread."""
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            limit = MAX_FILE_BYTES / 1e6
            return None, [_problem(path.name, f"The dataset is over the {limit:.0f} MB limit.")], []
        if suffix in (".xpt", ".sas7bdat"):
            import pyreadstat  # deferred: only ADaM conversions need it

            reader = pyreadstat.read_xport if suffix == ".xpt" else pyreadstat.read_sas7bdat
            frame, _ = reader(str(path), output_format="polars")
        elif suffix == ".parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except Exception as error:
        kind = type(error).__name__
        return None, [_problem(path.name, f"The dataset could not be read ({kind}).")], []
    assert isinstance(frame, pl.DataFrame)
    frame = frame.rename({c: c.upper() for c in frame.columns})
    dated = [c for c in frame.columns if frame.schema[c].is_temporal() or _DATE_NAME.match(c)]
    notices = []
    if dated:
        notices.append(
            f"{path.name}: calendar-date variables were not read ({', '.join(dated)}); "
            "study days and ADTTE times are used instead."
        )
    kept = frame.drop(dated)
    # The ADaM readers parse text (one parser for XPT, sas7bdat, CSV and Parquet): every cell
    # as the text a user sees (`cell_text`), never a date.
    kept = kept.select(cell_text(kept.get_column(name)) for name in kept.columns)
    read = typed_table_from_frame(kept, path.stem.lower(), path.name)
    if read.raw is None:
        return None, list(read.problems), notices
    return read.raw.frame, list(read.problems), notices


def _number(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().cast(pl.Float64, strict=False)


def _first(frame: pl.DataFrame, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def read_adam(files: Sequence[Path]) -> SourceSet:
    """The contract tables an ADaM set holds: patients (ADSL + ADTTE, ADRS best response),
    responses (ADRS), and, with ADAE or ADEX, cases and their events."""
    data: dict[str, pl.DataFrame] = {}
    names: dict[str, str] = {}
    problems: list[Problem] = []
    notices: list[str] = []
    for path in files:
        stem = path.stem.lower()
        if stem not in DATASETS:
            notices.append(f"{path.name}: not an ADaM dataset this conversion reads; ignored.")
            continue
        frame, found, said = read_dataset(path)
        problems += found
        notices += said
        if frame is not None:
            data[stem], names[stem] = frame, path.name
    if "adsl" not in data:
        problems.append(_problem("", "An ADaM set needs ADSL (one row per subject)."))
        return SourceSet(problems=tuple(problems), notices=tuple(notices), kind="adam")
    adsl = data["adsl"]
    subject = _first(adsl, ADSL_COLUMNS["patient_id"])
    if subject is None:
        problems.append(_problem(names["adsl"], "ADSL has no USUBJID (or SUBJID) variable."))
        return SourceSet(problems=tuple(problems), notices=tuple(notices), kind="adam")
    renames = {}
    for target, candidates in ADSL_COLUMNS.items():
        found_name = _first(adsl, candidates)
        if found_name is not None and found_name not in renames:
            renames[found_name] = target
    patients = adsl.rename(renames)
    tables: dict[str, SourceTable] = {}
    for name, frame in (("adtte", data.get("adtte")), ("adrs", data.get("adrs"))):
        if frame is not None and subject not in frame.columns:
            problems.append(_problem(names[name], f"{name.upper()} has no {subject} variable."))
            data.pop(name)
    if "adtte" in data:
        survival, found = _survival(data["adtte"], subject, names["adtte"])
        problems += found
        patients = patients.join(survival, on="patient_id", how="left", maintain_order="left")
    if "adrs" in data:
        adrs = data["adrs"]
        best = adrs.filter(pl.col("PARAMCD").str.to_uppercase().is_in(BEST_RESPONSE)).select(
            pl.col(subject).alias("patient_id"), pl.col("AVALC").alias("best_response")
        )
        patients = patients.join(
            best.unique("patient_id", keep="first"),
            on="patient_id",
            how="left",
            maintain_order="left",
        )
        visits = adrs.filter(pl.col("PARAMCD").str.to_uppercase().is_in(OVERALL_RESPONSE))
        tables["responses"] = SourceTable(
            "responses",
            names["adrs"],
            visits.select(
                ROW,
                pl.col(subject).alias("patient_id"),
                pl.col("AVISIT").alias("timepoint"),
                pl.col("AVALC").alias("response"),
            ),
        )
    events: list[pl.DataFrame] = []
    event_files: list[str] = []
    if "adae" in data:
        adae, found = _adverse_events(data["adae"], subject, names["adae"])
        problems += found
        events.append(adae)
        event_files.append(names["adae"])
        grades = adae.group_by("case_id").agg(
            pl.col("grade")
            .filter(pl.col("event") == "crs")
            .cast(pl.Int64)
            .max()
            .alias("crs_grade"),
            pl.col("grade")
            .filter(pl.col("event") == "icans")
            .cast(pl.Int64)
            .max()
            .alias("icans_grade"),
        )
        patients = patients.join(
            grades.rename({"case_id": "patient_id"}),
            on="patient_id",
            how="left",
            maintain_order="left",
        ).with_columns(
            # ADAE lists every event: a subject without a CRS (ICANS) row had none (grade 0).
            pl.col("crs_grade").fill_null(0).cast(pl.String),
            pl.col("icans_grade").fill_null(0).cast(pl.String),
        )
    if "adex" in data:
        doses, found = _doses(data["adex"], subject, names["adex"])
        problems += found
        events.append(doses)
        event_files.append(names["adex"])
    tables["patients"] = SourceTable("patients", names["adsl"], patients)
    if events:
        cases = adsl.rename(renames).rename({"patient_id": "case_id"})
        tables["cases"] = SourceTable("cases", names["adsl"], cases)
        tables["events"] = SourceTable(
            "events", " + ".join(event_files), pl.concat(events, how="diagonal_relaxed")
        )
    return SourceSet(tables, tuple(problems), tuple(notices), kind="adam")


def _survival(adtte: pl.DataFrame, subject: str, file: str) -> tuple[pl.DataFrame, list[Problem]]:
    """pfs/os days and events per subject from ADTTE (AVAL in AVALU; CNSR = 0 is an event)."""
    problems: list[Problem] = []
    needed = [c for c in ("PARAMCD", "AVAL", "CNSR") if c not in adtte.columns]
    if needed:
        problems.append(_problem(file, f"ADTTE has no {', '.join(needed)} variable."))
        return pl.DataFrame(schema={"patient_id": pl.String}), problems
    unit = (
        pl.col("AVALU").str.strip_chars().str.to_uppercase()
        if "AVALU" in adtte.columns
        else pl.lit("DAYS")
    )
    rows = adtte.with_columns(
        pl.col("PARAMCD").str.strip_chars().str.to_uppercase().alias("__param"),
        unit.alias("__unit"),
    ).filter(pl.col("__param").is_in(["PFS", "OS"]))
    for row, value in (
        rows.filter(~pl.col("__unit").is_in(list(UNIT_DAYS))).select(ROW, "__unit").iter_rows()
    ):
        problems.append(
            _problem(
                file,
                f"AVALU '{value}' is not a unit of time this conversion knows (days, weeks, "
                "months, years).",
                row,
                "AVALU",
            )
        )
    rows = rows.with_columns(
        (_number("AVAL") * pl.col("__unit").replace_strict(UNIT_DAYS, default=None)).alias(
            "__days"
        ),
        pl.when(_number("CNSR") == 0)
        .then(pl.lit("true"))
        .when(_number("CNSR").is_not_null())
        .then(pl.lit("false"))
        .alias("__event"),
    )
    duplicated = rows.filter(pl.struct(subject, "__param").is_duplicated())
    for row, param in duplicated.select(ROW, "__param").iter_rows():
        problems.append(
            _problem(file, f"{param} appears more than once for this subject.", row, "PARAMCD")
        )
    out = adtte.select(pl.col(subject).alias("patient_id")).unique(maintain_order=True)
    for param, prefix in (("PFS", "pfs"), ("OS", "os")):
        one = rows.filter(pl.col("__param") == param).unique(subject, keep="first")
        out = out.join(
            one.select(
                pl.col(subject).alias("patient_id"),
                pl.col("__days").cast(pl.String).alias(f"{prefix}_days"),
                pl.col("__event").alias(f"{prefix}_event"),
            ),
            on="patient_id",
            how="left",
        )
    return out, problems


def _grade(column: str) -> pl.Expr:
    """An ADaM toxicity grade ("3", "GRADE 3") as its number in text."""
    return pl.col(column).str.extract(r"(\d+)", 1)


def _contract_day(frame: pl.DataFrame, column: str | None) -> pl.Expr:
    if column is None:
        return pl.lit(None, pl.String)
    day = study_day_to_contract(_number(column))
    return day.cast(pl.Int64).cast(pl.String)


def _day_zero(frame: pl.DataFrame, columns: Sequence[str | None], file: str) -> list[Problem]:
    problems: list[Problem] = []
    for column in columns:
        if column is None:
            continue
        for row in frame.filter(_number(column) == 0).get_column(ROW):
            problems.append(
                _problem(
                    file,
                    f"{column} is 0, which ADaM study days never are (the first dose is day 1, "
                    "the day before it day -1). Check the derivation.",
                    row,
                    column,
                )
            )
    return problems


def _adverse_events(
    adae: pl.DataFrame, subject: str, file: str
) -> tuple[pl.DataFrame, list[Problem]]:
    """CRS and ICANS rows of ADAE as timeline events (grade AETOXGR, days from ASTDY/AENDY)."""
    term = _first(adae, ("AEDECOD", "AETERM", "PARAM"))
    if term is None:
        return pl.DataFrame(
            schema={"case_id": pl.String, "event": pl.String, "grade": pl.String}
        ), [_problem(file, "ADAE has no AEDECOD or AETERM variable.")]
    lowered = pl.col(term).str.to_lowercase()
    event = (
        pl.when(pl.any_horizontal(lowered.str.starts_with(t) for t in _CRS))
        .then(pl.lit("crs"))
        .when(pl.any_horizontal(lowered.str.starts_with(t) for t in _ICANS))
        .then(pl.lit("icans"))
    )
    start = _first(adae, ("ASTDY", "AESTDY"))
    end = _first(adae, ("AENDY", "AEENDY"))
    problems = _day_zero(adae, (start, end), file)
    grade = _first(adae, ("AETOXGR", "ATOXGR"))
    rows = adae.with_columns(event.alias("event")).filter(pl.col("event").is_not_null())
    out = rows.select(
        ROW,
        pl.col(subject).alias("case_id"),
        "event",
        (_grade(grade) if grade else pl.lit(None, pl.String)).alias("grade"),
        _contract_day(rows, start).alias("day"),
        _contract_day(rows, end).alias("end_day"),
    )
    return out, problems


def _doses(adex: pl.DataFrame, subject: str, file: str) -> tuple[pl.DataFrame, list[Problem]]:
    """ADEX rows as bsab_dose events (day from ASTDY or EXSTDY)."""
    start = _first(adex, ("ASTDY", "EXSTDY"))
    problems = _day_zero(adex, (start,), file)
    out = adex.select(
        ROW,
        pl.col(subject).alias("case_id"),
        pl.lit("bsab_dose").alias("event"),
        _contract_day(adex, start).alias("day"),
    )
    return out, problems
