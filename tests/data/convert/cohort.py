"""One small cohort, kept as centers keep it (dates) and as the contract wants it (days).

Every source the conversion tests build (spreadsheets in each date format, a REDCap export, an
ADaM set) is written from these records, so each converted table can be checked cell by cell
against `CONTRACT_CSV`, the same patients typed by hand as contract days.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """One patient with the days from the first dose at which things happened."""

    patient_id: str
    sex: str
    bsab: str
    emd: bool
    origin: dt.date
    progression: int | None
    death: int | None
    last_contact: int | None
    last_assessment: int | None = None

    def date(self, days: int | None) -> dt.date | None:
        """The calendar date `days` after the origin."""
        return None if days is None else self.origin + dt.timedelta(days=days)


#: Origins chosen so that every date's day of month is at most 12 only in `AMBIGUOUS`; here some
#: days are over 12, which proves a slashed file's order.
RECORDS = (
    Record("P01", "F", "teclistamab", True, dt.date(2023, 1, 10), 120, 200, None),
    Record("P02", "M", "elranatamab", False, dt.date(2023, 2, 28), None, 90, None),
    Record("P03", "F", "teclistamab", True, dt.date(2023, 3, 15), 60, None, 400),
    Record("P04", "M", "talquetamab", False, dt.date(2023, 4, 1), None, None, 365),
    Record("P05", "M", "teclistamab", False, dt.date(2023, 5, 20), None, None, 300, 150),
    Record("P06", "F", "elranatamab", True, dt.date(2024, 12, 28), 3, 40, None),
)

#: The same patients as contract days, typed by hand from the records above.
CONTRACT_CSV = (
    "patient_id,sex,bsab,emd,pfs_days,pfs_event,os_days,os_event\n"
    "P01,F,teclistamab,true,120,true,200,true\n"
    "P02,M,elranatamab,false,90,true,90,true\n"
    "P03,F,teclistamab,true,60,true,400,false\n"
    "P04,M,talquetamab,false,365,false,365,false\n"
    "P05,M,teclistamab,false,150,false,300,false\n"
    "P06,F,elranatamab,true,3,true,40,true\n"
)

#: Source column names as a French center writes them, and the mapping they need.
HEADER = (
    "Sujet",
    "Sexe",
    "Traitement",
    "EMD",
    "date_debut_bsab",
    "pd_date",
    "date_deces",
    "last_fu_date",
    "last_assessment_date",
)
SEX_CODES = {"F": "2", "M": "1"}
BSAB_NAMES = {"teclistamab": "Tecvayli", "elranatamab": "Elrexfio", "talquetamab": "talvey"}
MAPPING_TOML = """\
table = "patients"
[columns]
patient_id = "Sujet"
sex = "Sexe"
bsab = "Traitement"
emd = "EMD"
[values.sex]
"1" = "M"
"2" = "F"
[values.bsab]
Tecvayli = "teclistamab"
Elrexfio = "elranatamab"
talvey = "talquetamab"
[values.emd]
oui = "true"
non = "false"
[dates]
origin = "date_debut_bsab"
progression = "pd_date"
death = "date_deces"
last_contact = "last_fu_date"
last_assessment = "last_assessment_date"
"""


def rows(write_date: object) -> list[list[object]]:
    """The header and one row per record, dates written by `write_date(date)`."""
    assert callable(write_date)
    out: list[list[object]] = [list(HEADER)]
    for r in RECORDS:
        dates = (r.origin, *(r.date(d) for d in (r.progression, r.death, r.last_contact)))
        dates = (*dates, r.date(r.last_assessment))
        out.append(
            [
                r.patient_id,
                SEX_CODES[r.sex],
                BSAB_NAMES[r.bsab],
                "oui" if r.emd else "non",
                *(None if d is None else write_date(d) for d in dates),
            ]
        )
    return out


def csv_text(table: list[list[object]]) -> str:
    """Rows as CSV text (empty cells for None)."""
    return "".join(",".join("" if v is None else str(v) for v in row) + "\n" for row in table)


def every_date_text() -> list[str]:
    """Every date of the cohort in each way a test source writes it (for the leak check)."""
    texts: list[str] = []
    for r in RECORDS:
        for days in (0, r.progression, r.death, r.last_contact, r.last_assessment):
            d = r.date(days)
            if d is None:
                continue
            texts += [
                d.isoformat(),
                d.strftime("%d/%m/%Y"),
                d.strftime("%m/%d/%Y"),
                d.strftime("%d.%m.%Y"),
                str((d - dt.date(1899, 12, 30)).days),
            ]
    return texts


#: A calendar date in any of the forms a source may write (months 1-12, years 1900-2099).
DATE_PATTERN = re.compile(
    r"\b(19|20)\d\d[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12]\d|3[01])\b"
    r"|\b(0?[1-9]|[12]\d|3[01])[-/.](0?[1-9]|[12]\d|3[01])[-/.](19|20)\d\d\b"
)


def assert_no_date(text: str) -> None:
    """Fail when `text` holds a calendar date or any date of the cohort as a source wrote it."""
    assert not DATE_PATTERN.search(text), DATE_PATTERN.search(text)
    leaked = [d for d in every_date_text() if d in text]
    assert leaked == []
