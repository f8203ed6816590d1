"""Calendar dates as days since each patient's origin, and the survival columns they imply.

Centers record dates; the contract stores none. Every date column of a source is read here,
turned into days since the row's origin (the first full bispecific dose), and then dropped: no
calendar date leaves this module. A day/month order that the values cannot prove is never
guessed: it must be given (`DateOrder`), and a column that stays ambiguous is a problem naming
the column. Problems locate the row and column and show a value only by its shape (`mask`), so
no date is ever echoed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from bsab_explorer.data.convert.rules import ConvertRule
from bsab_explorer.data.validation import ROW, Problem, mask

#: Excel's day zero in its 1900 date system (serial 1 = 1900-01-01, counting its 1900-02-29).
EXCEL_EPOCH = dt.date(1899, 12, 30)
#: Serial numbers read as Excel dates: 1950-01-01 to 2099-12-31. A smaller number in a date
#: column is far likelier a count of days typed by hand than a date before 1950.
EXCEL_SERIAL_RANGE = (18_264, 73_050)

_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SLASHED = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_SERIAL = re.compile(r"^\d{1,7}(?:\.\d+)?$")


class DateOrder(StrEnum):
    """How a source writes its dates; only the slashed forms need the user to say which."""

    ISO = "yyyy-mm-dd"
    DMY = "dd/mm/yyyy"
    MDY = "mm/dd/yyyy"
    DOTTED = "dd.mm.yyyy"


_ORDER_ALIASES = {
    "iso": DateOrder.ISO,
    "ymd": DateOrder.ISO,
    "date_ymd": DateOrder.ISO,
    "dmy": DateOrder.DMY,
    "date_dmy": DateOrder.DMY,
    "dd-mm-yyyy": DateOrder.DMY,
    "mdy": DateOrder.MDY,
    "date_mdy": DateOrder.MDY,
    "mm-dd-yyyy": DateOrder.MDY,
}


def parse_date_order(text: str) -> DateOrder | None:
    """The order named by `text` ("dd/mm/yyyy", "dmy", "date_dmy", ...), or None if unknown."""
    key = text.strip().lower()
    for order in DateOrder:
        if key == order.value:
            return order
    if key in _ORDER_ALIASES:
        return _ORDER_ALIASES[key]
    # REDCap's datetime validations (datetime_dmy, datetime_seconds_mdy, ...) carry the order last.
    if key.startswith("datetime_"):
        return _ORDER_ALIASES.get(key.rsplit("_", 1)[-1])
    return None


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def read_date(value: object, order: DateOrder | None) -> dt.date | None:
    """The date written as `value` (None when it is not one, or its order is not known)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _excel_serial(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if match := _ISO.match(text):
        return _date(int(match[1]), int(match[2]), int(match[3]))
    if match := _DOTTED.match(text):
        return _date(int(match[3]), int(match[2]), int(match[1]))
    if match := _SLASHED.match(text):
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        if order == DateOrder.DMY:
            return _date(year, second, first)
        if order == DateOrder.MDY:
            return _date(year, first, second)
        return None
    if _SERIAL.match(text):
        return _excel_serial(float(text))
    return None


def _excel_serial(serial: float) -> dt.date | None:
    low, high = EXCEL_SERIAL_RANGE
    if not low <= serial <= high:
        return None
    return EXCEL_EPOCH + dt.timedelta(days=int(serial))


def proven_order(values: Sequence[str]) -> tuple[DateOrder | None, bool]:
    """The slashed order the values prove (a first part over 12 proves day first), and whether
    they contradict each other (one proves day first, another month first)."""
    day_first = month_first = False
    for value in values:
        if match := _SLASHED.match(value.strip()):
            first, second = int(match[1]), int(match[2])
            day_first |= first > 12 >= second
            month_first |= second > 12 >= first
    if day_first and month_first:
        return None, True
    if day_first:
        return DateOrder.DMY, False
    if month_first:
        return DateOrder.MDY, False
    return None, False


def needs_order(values: Sequence[str]) -> bool:
    """Whether `values` hold slashed dates whose day/month order they do not prove (so the
    user must say it)."""
    if not any(_SLASHED.match(v.strip()) for v in values):
        return False
    proven, contradictory = proven_order(values)
    return proven is None or contradictory


@dataclass(frozen=True)
class DateColumn:
    """One source column read as dates (a `pl.Date` series, null where not a date)."""

    column: str
    dates: pl.Series
    problems: tuple[Problem, ...] = ()
    notices: tuple[str, ...] = ()


def read_date_column(
    frame: pl.DataFrame,
    column: str,
    *,
    table: str,
    file: str,
    order: DateOrder | None,
) -> DateColumn:
    """Read `column` of a text frame (with `ROW`) as dates, listing every value that is not one."""
    series = frame.get_column(column)
    values: list[object] = series.to_list()
    texts = [v.strip() for v in values if isinstance(v, str) and v.strip()]
    notices: list[str] = []
    problems: list[Problem] = []
    slashed = [t for t in texts if _SLASHED.match(t)]
    if order not in (DateOrder.DMY, DateOrder.MDY) and slashed:
        proven, contradictory = proven_order(slashed)
        if contradictory:
            problems.append(
                Problem(
                    table,
                    file,
                    None,
                    column,
                    None,
                    ConvertRule.MIXED_DATE_ORDER,
                    f"Column {column} mixes day-first and month-first dates. Write all its "
                    "dates in one order (or as yyyy-mm-dd).",
                )
            )
            return DateColumn(
                column, pl.Series(column, [None] * len(values), pl.Date), (*problems,)
            )
        if proven is None:
            problems.append(
                Problem(
                    table,
                    file,
                    None,
                    column,
                    None,
                    ConvertRule.AMBIGUOUS_DATE_ORDER,
                    f"Column {column} has dates like 99/99/9999 whose day and month order "
                    "cannot be told from the values. Say which order the file uses: "
                    "dd/mm/yyyy or mm/dd/yyyy (the mapping's [dates] format).",
                )
            )
            return DateColumn(
                column, pl.Series(column, [None] * len(values), pl.Date), (*problems,)
            )
        order = proven
        notices.append(f"{file}: {column} read as {proven.value}, the only order it allows.")
    rows = frame.get_column(ROW).to_list()
    dates: list[dt.date | None] = []
    for row, value in zip(rows, values, strict=True):
        missing = value is None or (isinstance(value, str) and not value.strip())
        date = None if missing else read_date(value, order)
        if date is None and not missing:
            shown = mask(str(value).strip())
            problems.append(
                Problem(
                    table,
                    file,
                    row,
                    column,
                    shown,
                    ConvertRule.NOT_A_DATE,
                    f"'{shown}' in {column} is not a date. Write dates as yyyy-mm-dd, "
                    "dd/mm/yyyy, mm/dd/yyyy, dd.mm.yyyy or as Excel dates, with four-digit years.",
                )
            )
        dates.append(date)
    return DateColumn(column, pl.Series(column, dates, pl.Date), (*problems,), (*notices,))


#: Anything in free text that may be a date (a file name, a header), masked before it is shown.
_DATE_LIKE = re.compile(r"\d{4}[-/._]\d{1,2}[-/._]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def mask_dates(text: str) -> str:
    """`text` with every date-like part shown by its shape only ("2024-03-05" -> "9999-99-99")."""
    return _DATE_LIKE.sub(lambda match: mask(match.group()), text)


def days_between(origin: pl.Expr, date: pl.Expr) -> pl.Expr:
    """Whole days from `origin` to `date` (negative when the date comes first)."""
    return (date - origin).dt.total_days().cast(pl.Float64)


# --- survival ---------------------------------------------------------------------------------

#: Date roles of the patients table, as the mapping's [dates] section names them.
PATIENT_ROLES = ("origin", "progression", "death", "last_contact", "last_assessment", "last_chemo")
#: What each role means, for messages.
ROLE_LABELS = {
    "origin": "origin (first full bispecific dose)",
    "progression": "progression",
    "death": "death",
    "last_contact": "last contact",
    "last_assessment": "last adequate assessment",
    "last_chemo": "last debulking chemotherapy",
    "day": "event",
    "end_day": "event end",
}

#: (earlier role, later role, message) for the sequences a patient's dates cannot have.
_SEQUENCES = (
    ("origin", "death", "The death date is before the origin date"),
    ("origin", "progression", "The progression date is before the origin date"),
    ("origin", "last_contact", "The last-contact date is before the origin date"),
    ("origin", "last_assessment", "The last-assessment date is before the origin date"),
    ("progression", "death", "The progression date is after the death date"),
    ("last_contact", "death", "The last-contact date is after the death date"),
    ("last_assessment", "death", "The last-assessment date is after the death date"),
    ("last_chemo", "origin", "The last chemotherapy date is after the origin date"),
)


def derive_patient_days(
    dates: pl.DataFrame, columns: Mapping[str, str], *, table: str, file: str
) -> tuple[pl.DataFrame, list[Problem]]:
    """Survival and timing columns of patients from dated roles (a frame of `ROW` + role dates).

    PFS ends at progression or death, whichever comes first, else it is censored at the last
    adequate assessment when given, else at the last contact; OS ends at death, else at the last
    contact. The result has `ROW` and pfs_days, pfs_event, os_days, os_event (and
    days_chemo_to_bsab when the last chemotherapy is dated); impossible sequences null the
    derived values of their row and are listed.
    """
    roles = set(dates.columns) - {ROW}
    problems = check_sequences(dates, columns, table=table, file=file)
    bad_rows = sorted({p.row for p in problems if p.row is not None})

    def date(role: str) -> pl.Expr:
        return pl.col(role) if role in roles else pl.lit(None, pl.Date)

    origin = date("origin")
    first_event = pl.min_horizontal(date("progression"), date("death"))
    censor = pl.coalesce(date("last_assessment"), date("last_contact"))
    pfs_end = pl.coalesce(first_event, censor)
    os_end = pl.coalesce(date("death"), date("last_contact"))
    # Survival is derived only when follow-up is dated (a file may date only the chemotherapy).
    follow_up = bool(roles & {"progression", "death", "last_contact", "last_assessment"})
    derived = []
    if follow_up:
        derived += [
            days_between(origin, pfs_end).alias("pfs_days"),
            pl.when(pfs_end.is_null())
            .then(None)
            .otherwise(first_event.is_not_null())
            .alias("pfs_event"),
            days_between(origin, os_end).alias("os_days"),
            pl.when(os_end.is_null())
            .then(None)
            .otherwise(date("death").is_not_null())
            .alias("os_event"),
        ]
    if "last_chemo" in roles:
        derived.append(
            days_between(date("last_chemo"), origin).cast(pl.Int64).alias("days_chemo_to_bsab")
        )
    out = dates.select(ROW, *derived)
    names = [c for c in out.columns if c != ROW]
    out = out.with_columns(
        pl.when(pl.col(ROW).is_in(bad_rows)).then(None).otherwise(pl.col(n)).alias(n) for n in names
    )
    origin_column = columns.get("origin", "origin")
    for row in dates.filter(origin.is_null()).get_column(ROW):
        problems.append(
            Problem(
                table,
                file,
                row,
                origin_column,
                None,
                ConvertRule.MISSING_ORIGIN,
                f"{origin_column} is empty: every patient needs the date of the first full "
                "bispecific dose, from which all times are counted. Fill it in.",
            )
        )
    ended = origin.is_not_null() & os_end.is_null() & pl.lit(follow_up)
    no_end = dates.filter(ended).get_column(ROW)
    for row in no_end:
        where = columns.get("last_contact") or columns.get("death") or origin_column
        problems.append(
            Problem(
                table,
                file,
                row,
                where,
                None,
                ConvertRule.MISSING_FOLLOW_UP,
                "Neither a death nor a last-contact date is recorded, so survival cannot be "
                "counted. Add the last-contact date.",
            )
        )
    return out, problems


def check_sequences(
    dates: pl.DataFrame, columns: Mapping[str, str], *, table: str, file: str
) -> list[Problem]:
    """Rows whose dates are in an impossible order (never quoting a date)."""
    problems: list[Problem] = []
    for earlier, later, what in _SEQUENCES:
        if earlier not in dates.columns or later not in dates.columns:
            continue
        bad = dates.filter(pl.col(later) < pl.col(earlier)).get_column(ROW)
        column = columns.get(later if earlier == "origin" else earlier, later)
        for row in bad:
            problems.append(
                Problem(
                    table,
                    file,
                    row,
                    column,
                    None,
                    ConvertRule.DATE_SEQUENCE,
                    f"{what} ({columns.get(earlier, earlier)}, {columns.get(later, later)}). "
                    "Check both dates.",
                )
            )
    return problems


def derive_event_days(
    events: pl.DataFrame,
    dates: pl.DataFrame,
    columns: Mapping[str, str],
    origins: pl.DataFrame | None,
    *,
    file: str,
    table: str = "events",
) -> tuple[pl.DataFrame, list[Problem]]:
    """`ROW` plus the day columns of a long table (events: day, end_day; responses: day),
    counted from the row's own origin date or else from its parent's (`origins`: key ->
    origin, from cases or patients); a date before the first dose gets no day."""
    problems: list[Problem] = []
    key = _PARENT_KEYS[table]
    owner = "case" if key == "case_id" else "patient"
    parent = "cases" if key == "case_id" else "patients"
    roles = [r for r in ("day", "end_day") if r in dates.columns]
    if "origin" in dates.columns:
        origin = dates.get_column("origin")
    elif origins is not None and key in events.columns:
        keyed = events.select(ROW, pl.col(key).str.strip_chars()).join(
            origins, on=key, how="left", maintain_order="left"
        )
        origin = keyed.get_column("origin")
    else:
        if roles:
            problems.append(
                Problem(
                    table,
                    file,
                    None,
                    columns[roles[0]],
                    None,
                    ConvertRule.MISSING_ORIGIN,
                    f"{_ROW_LABELS[table].capitalize()} dates need each {owner}'s first-dose "
                    f"date: give it as the {parent} table's [dates] origin (or the {table} "
                    "table's own origin column).",
                )
            )
        return dates.select(ROW), problems
    frame = dates.with_columns(origin.alias("__origin"))
    start = pl.col("__origin")
    for role in roles:
        date = pl.col(role)
        label = "assessment" if table == "responses" else ROLE_LABELS[role]
        before = frame.filter(date < start).get_column(ROW)
        problems += [
            Problem(
                table,
                file,
                row,
                columns[role],
                None,
                ConvertRule.DATE_SEQUENCE,
                f"The {label} date is before the {owner}'s first bispecific dose. Check the date.",
            )
            for row in before
        ]
        no_origin = frame.filter(date.is_not_null() & start.is_null()).get_column(ROW)
        problems += [
            Problem(
                table,
                file,
                row,
                columns[role],
                None,
                ConvertRule.MISSING_ORIGIN,
                f"This {_ROW_LABELS[table]}'s {owner} has no first-dose date, "
                "so its day cannot be counted.",
            )
            for row in no_origin
        ]
    # A date before the first dose is listed once, as a sequence problem, and gets no day.
    days = frame.select(
        ROW,
        *(pl.when(pl.col(r) >= start).then(days_between(start, pl.col(r))).alias(r) for r in roles),
    )
    return days, problems


#: The column that ties a long table's rows to the table holding their origin.
_PARENT_KEYS = {"events": "case_id", "responses": "patient_id"}
#: What a row of a long table is, for messages.
_ROW_LABELS = {"events": "event", "responses": "assessment"}
