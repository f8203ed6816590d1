"""The identifier guard: column names and cell values that could identify a person.

The contract forbids direct identifiers (names, record numbers, dates, contact details) and
calendar dates of any kind. This module looks at the raw text of a file, before anything is
parsed, stored or displayed, and turns every suspicious column or value into a `Problem`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import polars as pl

from bsab_explorer.data.validation import (
    IDENTIFIER_RULES,
    ROW,
    TIME_COLUMNS,
    Problem,
    Rule,
    mask,
)
from bsab_explorer.schema import FALSE_TOKENS, MISSING_TOKENS, TABLES, TRUE_TOKENS, Column, Kind

#: Whole words in a column name that suggest an identifier (the name is split on non-letters).
_IDENTIFIER_WORDS = frozenset(
    {
        "name",
        "names",
        "firstname",
        "lastname",
        "surname",
        "forename",
        "fullname",
        "initials",
        "initial",
        "mrn",
        "dob",
        "birth",
        "birthday",
        "birthdate",
        "address",
        "street",
        "city",
        "zip",
        "zipcode",
        "postal",
        "postcode",
        "phone",
        "telephone",
        "tel",
        "mobile",
        "fax",
        "email",
        "mail",
        "ip",
        "url",
        "website",
        "insurance",
        "ssn",
        "nhs",
        "notes",
        "note",
        "comment",
        "comments",
        "remarks",
        "freetext",
        "date",
        # The studies' languages: French, Italian, German, Spanish exports.
        "nom",
        "prenom",
        "initiales",
        "naissance",
        "ddn",
        "adresse",
        "courriel",
        "commentaire",
        "commentaires",
        "remarque",
        "remarques",
        "ipp",
        "nir",
        "dossier",
        "nome",
        "cognome",
        "nascita",
        "indirizzo",
        "telefono",
        "commento",
        "commenti",
        "cartella",
        "fiscale",
        "vorname",
        "nachname",
        "geburt",
        "geburtsdatum",
        "anschrift",
        "kommentar",
        "bemerkung",
        "apellido",
        "apellidos",
        "nacimiento",
        "direccion",
        "comentario",
        "comentarios",
    }
)
#: Fragments that suggest an identifier wherever they occur in a column name.
_IDENTIFIER_FRAGMENTS = (
    "birth",
    "record_number",
    "recordnumber",
    "record_no",
    "medical_record",
    "e_mail",
    "free_text",
    "firstname",
    "lastname",
    "surname",
    "initials",
    "address",
    "phone",
    "insurance",
    "postcode",
    "zipcode",
)


def identifier_column_reason(name: str) -> str | None:
    """Why column `name` looks like an identifier (None when it does not)."""
    # Accents are dropped so that "Prénom" and "Téléphone" match their plain spelling.
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    lowered = plain.strip().lower()
    flat = re.sub(r"[^a-z0-9]+", "_", lowered).strip("_")
    words = set(flat.split("_"))
    hits = sorted(words & _IDENTIFIER_WORDS)
    if hits:
        return hits[0]
    for fragment in _IDENTIFIER_FRAGMENTS:
        if fragment in flat:
            return fragment
    return None


@dataclass(frozen=True)
class _Pattern:
    rule: str
    regex: str
    what: str


_DATE_WORDS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
#: Patterns searched in every contract column's raw text (dates are forbidden everywhere).
_DATE_PATTERNS = (
    _Pattern(
        Rule.CALENDAR_DATE,
        r"\b(19|20)\d\d[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12]\d|3[01])(\D|$)",
        "a calendar date",
    ),
    _Pattern(Rule.CALENDAR_DATE, r"\b\d{1,2}[/.-]\d{1,2}[/.-](\d{4}|\d{2})\b", "a calendar date"),
    _Pattern(
        Rule.CALENDAR_DATE,
        rf"(?i)\b\d{{1,2}}[ -]{_DATE_WORDS}[ ,-]*(\d{{4}}|\d{{2}})\b",
        "a calendar date",
    ),
    _Pattern(Rule.CALENDAR_DATE, rf"(?i)\b{_DATE_WORDS} \d{{1,2}},? \d{{4}}\b", "a calendar date"),
)
#: Patterns searched in text columns (ids, codes, free-ish text) before the dates.
_TEXT_PATTERNS = (
    _Pattern(Rule.FORMULA, r"^[=@]|^[+-][^0-9.\s]|^[\t\r]", "a spreadsheet formula"),
    _Pattern(
        Rule.HTML,
        r"<[A-Za-z!/][^<>]*>|(?i:<(script|img|iframe|svg|a|style|object)\b)",
        "HTML markup",
    ),
    _Pattern(Rule.EMAIL, r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", "an e-mail address"),
    _Pattern(
        Rule.URL,
        r"(?i)\b(https?://|ftp://|www\.|javascript:|data:)\S*|\[[^\]]*\]\([^)]*\)",
        "a web address (URL)",
    ),
    _Pattern(Rule.IP_ADDRESS, r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", "an IP address"),
    _Pattern(Rule.SSN, r"\b\d{3}-\d{2}-\d{4}\b", "a social security number"),
)
#: Searched after the dates, which these would otherwise swallow (12.03.2021 is no phone number).
_LATE_TEXT_PATTERNS = (
    _Pattern(Rule.FORMULA, r"^[=@]|^[+-][^0-9.\s]|^[\t\r]", "a spreadsheet formula"),
    _Pattern(
        Rule.HTML,
        r"<[A-Za-z!/][^<>]*>|(?i:<(script|img|iframe|svg|a|style|object)\b)",
        "HTML markup",
    ),
    _Pattern(
        Rule.PHONE,
        r"(\+\d[\d ().-]{6,}\d"
        r"|\(\d{2,4}\)[ .-]?\d[\d .-]{4,}\d"
        r"|\b\d{2,4}[ .-]\d{2,4}[ .-]\d{2,4}([ .-]\d{2,4})*\b)",
        "a phone number",
    ),
    _Pattern(Rule.MRN_LIKE, r"^\d{6,10}$", "a medical record number (6 to 10 digits)"),
    _Pattern(Rule.ZIP_CODE, r"^\d{5}(-\d{4})?$", "a ZIP code"),
)

#: Excel stores dates as days since 1899-12-30: 1950-01-01 is 18264 and 2100-01-01 is 73051.
#: No follow-up in a study lasts 50 years, so a day count in that band is almost surely a date.
_EXCEL_SERIAL_MIN = 18_000
_EXCEL_SERIAL_MAX = 80_000


def _advice(rule: str) -> str:
    if rule in (Rule.CALENDAR_DATE, Rule.EXCEL_DATE):
        return (
            "The contract allows no calendar dates: give the time as days since the study "
            "origin instead."
        )
    if rule == Rule.FORMULA:
        return (
            "Cells starting with =, +, - or @ are run as formulas by spreadsheets. Remove the "
            "leading sign or type the value as plain text."
        )
    if rule == Rule.HTML:
        return "Cells must hold plain values, not markup. Remove the tags."
    return (
        "It could identify a person, and nothing identifying may be uploaded. Replace it by a "
        "pseudonym or remove it."
    )


#: Rules whose offending value must not be shown back in full (the report is displayed).
_IDENTIFYING_RULES = IDENTIFIER_RULES


def check_column_names(table: str, file: str, columns: list[str]) -> list[Problem]:
    """Columns outside the contract whose names suggest identifiers."""
    known = set(TABLES[table].column_names)
    problems = []
    for name in columns:
        if name in known or name == ROW:
            continue
        reason = identifier_column_reason(name)
        if reason is not None:
            problems.append(
                Problem(
                    table,
                    file,
                    None,
                    name,
                    None,
                    Rule.IDENTIFIER_COLUMN,
                    f"Column '{name}' looks like it holds identifying data ('{reason}'). "
                    "Identifying columns are not accepted: delete the column from the file "
                    "and upload again.",
                )
            )
    return problems


_EXCEL_SERIAL = _Pattern(
    Rule.EXCEL_DATE,
    "",
    "an Excel date serial number (days since 1900), not a number of days since the study origin",
)


def _excel_serial(column: str) -> pl.Expr:
    """Cells holding a number in the band of Excel date serials."""
    text = pl.col(column).str.strip_chars().str.replace(",", ".", literal=True)
    return text.cast(pl.Float64, strict=False).is_between(_EXCEL_SERIAL_MIN, _EXCEL_SERIAL_MAX)


def _first_match(column: str, patterns: tuple[_Pattern, ...], excel: bool) -> pl.Expr:
    """Index of the first pattern the cell matches (len(patterns) for an Excel serial), or null."""
    text = pl.col(column).str.strip_chars()
    flags = [
        pl.when(text.str.contains(pattern.regex)).then(pl.lit(index, pl.Int32))
        for index, pattern in enumerate(patterns)
    ]
    if excel:
        flags.append(pl.when(_excel_serial(column)).then(pl.lit(len(patterns), pl.Int32)))
    return pl.coalesce(flags)


_PLAIN_NUMBER = r"^[+-]?\d*([.,]\d*)?([eE][+-]?\d+)?$"


def _plain(column: Column) -> pl.Expr:
    """Cells that are ordinary values of the column's kind (True) and need no pattern search."""
    text = pl.col(column.name).str.strip_chars()
    lower = text.str.to_lowercase()
    if column.kind == Kind.BOOL:
        return lower.is_in(sorted(TRUE_TOKENS | FALSE_TOKENS | MISSING_TOKENS))
    if column.kind in (Kind.INT, Kind.NUMBER):
        return text.str.contains(_PLAIN_NUMBER) | lower.is_in(sorted(MISSING_TOKENS))
    if column.kind == Kind.CODE and not column.open_codes and column.name != "timepoint":
        known = {code.lower() for code in column.codes} | MISSING_TOKENS
        return lower.is_in(sorted(known))
    return pl.lit(False)


def check_values(table: str, file: str, frame: pl.DataFrame) -> list[Problem]:
    """Cells of contract columns that look like dates, contact details or record numbers."""
    problems: list[Problem] = []
    for column in TABLES[table].columns:
        if column.name not in frame.columns:
            continue
        is_text = column.kind in (Kind.STRING, Kind.CODE)
        patterns = (
            _TEXT_PATTERNS + _DATE_PATTERNS + _LATE_TEXT_PATTERNS if is_text else _DATE_PATTERNS
        )
        excel = column.name in TIME_COLUMNS
        # Plain values of the column's kind (a number, a yes/no, a known code) cannot hide an
        # identifier: only the rest go through the patterns, which matters for large files.
        candidates = frame.select(ROW, column.name).filter(
            pl.col(column.name).is_not_null() & ~_plain(column)
        )
        # One combined search finds the few suspicious cells; only those are classified.
        anything = "|".join(f"(?:{pattern.regex})" for pattern in patterns)
        suspicious = pl.col(column.name).str.strip_chars().str.contains(anything)
        if excel:
            suspicious = suspicious | _excel_serial(column.name)
        candidates = candidates.filter(suspicious)
        # The first matching pattern wins, so each cell gets one problem.
        hits = candidates.with_columns(
            _first_match(column.name, patterns, excel).alias("__pattern")
        ).filter(pl.col("__pattern").is_not_null())
        if excel:
            serials = frame.select(ROW, column.name).filter(
                pl.col(column.name).is_not_null() & _plain(column) & _excel_serial(column.name)
            )
            hits = pl.concat(
                [hits, serials.with_columns(pl.lit(len(patterns), pl.Int32).alias("__pattern"))]
            ).sort(ROW)
        for row, value, index in hits.iter_rows():
            pattern = patterns[index] if index < len(patterns) else _EXCEL_SERIAL
            shown = mask(value) if pattern.rule in _IDENTIFYING_RULES else value
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            problems.append(
                Problem(
                    table,
                    file,
                    row,
                    column.name,
                    shown,
                    pattern.rule,
                    f"The value looks like {pattern.what}. {_advice(pattern.rule)}",
                )
            )
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    return problems
