"""The identifier guard: column names and cell values that could identify a person.

The contract forbids direct identifiers (names, record numbers, dates, contact details) and
calendar dates of any kind. This module looks at the raw text of a file, before anything is
parsed, stored or displayed, and turns every suspicious column or value into a `Problem`.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass

import polars as pl

from bsab_explorer.data.limits import PSEUDONYM_CHARS, PSEUDONYM_COLUMNS
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
        "nombre",
        "fecha",
        "datum",
        "geb",
        "gebdat",
        "strasse",
        "ort",
        "handy",
        "versicherung",
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
    "telefon",
    "geburt",
    "naissance",
)


def identifier_column_reason(name: str) -> str | None:
    """Why column `name` looks like an identifier (None when it does not)."""
    # Accents are dropped so that "Prénom" and "Téléphone" match their plain spelling.
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    # camelCase is two words: PatientName is "patient name".
    plain = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", plain)
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
#: A spreadsheet runs a cell as a formula when it starts with = or @, or with + or - followed
#: by anything but a plain number (`-2+3+cmd|' /C calc'!A0` starts with a digit after the sign).
_FORMULA = r"^[=@]|^[+-][^0-9.\s]|^[+-]\S*[A-DF-Za-df-z|!&*/=^<>;:]|^[\t\r]"
#: Invisible characters (zero-width space, joiners, direction marks, soft hyphen) make two ids
#: that look the same different patients; they are refused wherever they occur.
_INVISIBLE = _Pattern(
    Rule.INVISIBLE_CHARACTER,
    r"\p{Cf}",
    "it holds an invisible character (zero-width space, direction mark or similar)",
)
#: Patterns searched in text columns (ids, codes, free-ish text) before the dates.
_TEXT_PATTERNS = (
    _Pattern(Rule.FORMULA, _FORMULA, "a spreadsheet formula"),
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
    _Pattern(Rule.FORMULA, _FORMULA, "a spreadsheet formula"),
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

#: Columns holding a pseudonym: letters, digits, '-' and '_', at most `PSEUDONYM_LENGTH`
#: characters, not a bare word. A space, a comma or a word (DUPONT, jean, Jean-Luc) is refused:
#: that is how names look.
PSEUDONYM_LENGTH = PSEUDONYM_CHARS
_PSEUDONYM = rf"^[A-Za-z0-9_-]{{1,{PSEUDONYM_LENGTH}}}$"
#: A bare word (or hyphenated words) of three letters or more, in any case: DUPONT, jean.
_WORD = r"^[A-Za-z]{3,}([-_][A-Za-z]+)*$"
#: A pseudonym no rule can refuse: letters, digits and '_' only, so none of the separators a
#: date, a phone number, a formula, an address or markup needs (space, '-', '.', '/', ':', '@',
#: '<', '+'), nor white space to strip; a digit, so not a bare word or a missing token; a letter
#: or '_', so not a record number or a ZIP code.
_PLAIN_PSEUDONYM = (
    r"^[A-Za-z0-9_]*(?:[A-Za-z_][A-Za-z0-9_]*[0-9]|[0-9][A-Za-z0-9_]*[A-Za-z_])[A-Za-z0-9_]*$"
)

#: Given names common in the studies' countries, refused in free text when capitalised. Add
#: local ones with the environment variable BSAB_EXPLORER_NAME_TOKENS (comma-separated).
NAME_TOKENS = (
    "Jean", "Marie", "Pierre", "Michel", "Philippe", "Alain", "Jacques", "Nathalie",
    "Isabelle", "Catherine", "Sylvie", "Françoise", "Monique", "Giuseppe", "Giovanni",
    "Francesco", "Antonio", "Mario", "Luigi", "Giulia", "Francesca", "Paola", "Hans",
    "Klaus", "Jürgen", "Wolfgang", "Ursula", "Helga", "Sabine", "Jose", "José", "Juan",
    "Carmen", "Manuel", "Javier", "Pilar", "Dolores", "John", "Mary", "Patricia",
)  # fmt: skip
NAME_TOKENS_VARIABLE = "BSAB_EXPLORER_NAME_TOKENS"
#: A title before a capitalised word: Mr, Mme, Dr, Prof, Sig., Herr, Frau, Dott. and others.
_TITLE = (
    r"\b(?:Mr|Mrs|Ms|Mme|Mmes|Mlle|Dr|Drs|Pr|Prof|Sig|Sigg|Sig\.ra|Sra|Sr|Herr|Frau|Dott|"
    r"Dott\.ssa)\.?\s+\p{Lu}|\bM\.\s*\p{Lu}\p{Ll}"
)
#: SURNAME Given, as names are written in French and Italian records.
_SURNAME_GIVEN = r"\b\p{Lu}{2,}(?:[-']\p{Lu}{2,})*\s+\p{Lu}\p{Ll}+\b"


def name_tokens() -> tuple[str, ...]:
    """The given names searched in free text (built-in plus BSAB_EXPLORER_NAME_TOKENS)."""
    extra = os.environ.get(NAME_TOKENS_VARIABLE, "")
    added = tuple(t.strip() for t in extra.split(",") if t.strip())
    return NAME_TOKENS + added


def plain_pseudonyms(column: str) -> pl.Expr:
    """Cells of pseudonym column `column` that no guard flags and that read as themselves (True).

    `check_values`, `check_text_cells` and the parse find nothing to say about such a cell, so a
    million of them need one regular expression each, not the dozen patterns of the guard.
    """
    cells = pl.col(column)
    return cells.str.contains(_PLAIN_PSEUDONYM) & (cells.str.len_bytes() <= PSEUDONYM_LENGTH)


def is_free_text(column: Column) -> bool:
    """Whether `column` holds free text (a string that is not a pseudonym)."""
    return column.kind == Kind.STRING and column.name not in PSEUDONYM_COLUMNS


def _name_patterns() -> tuple[_Pattern, ...]:
    tokens = "|".join(re.escape(t) for t in name_tokens())
    return (
        _Pattern(Rule.PERSON_NAME, _TITLE, "a title before a name (Mr, Mme, Dr, Prof, Sig.)"),
        _Pattern(Rule.PERSON_NAME, _SURNAME_GIVEN, "a person's name (SURNAME Given)"),
        _Pattern(Rule.PERSON_NAME, rf"\b(?:{tokens})\b", "a given name"),
    )


#: Excel stores dates as days since 1899-12-30: 1950-01-01 is 18264 and 2100-01-01 is 73051.
#: No follow-up in a study lasts 50 years, so a day count in that band is almost surely a date.
_EXCEL_SERIAL_MIN = 18_000
_EXCEL_SERIAL_MAX = 80_000


def _advice(rule: str) -> str:
    if rule == Rule.INVISIBLE_CHARACTER:
        return (
            "Invisible characters make one value look like another: retype the value without them."
        )
    if rule == Rule.PERSON_NAME:
        return (
            "Free text must not name anyone (patients, relatives, staff): remove the name. If "
            "it is not a name, write the word in lower case."
        )
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
            (_INVISIBLE, *_TEXT_PATTERNS, *_DATE_PATTERNS, *_LATE_TEXT_PATTERNS)
            if is_text
            else (_INVISIBLE, *_DATE_PATTERNS)
        )
        if is_free_text(column):
            patterns = (*patterns, *_name_patterns())
        excel = column.name in TIME_COLUMNS
        # Plain values of the column's kind (a number, a yes/no, a known code) cannot hide an
        # identifier: only the rest go through the patterns, which matters for large files.
        candidates = frame.select(ROW, column.name).filter(
            pl.col(column.name).is_not_null() & ~_plain(column)
        )
        hits = candidates.with_columns(pl.lit(None, pl.Int32).alias("__pattern"))
        if candidates.height:
            # (Skipped when every cell is plain: compiling the patterns costs milliseconds a
            # column, which the distinct values of a registry's many columns add up.)
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
            if pattern.rule == Rule.INVISIBLE_CHARACTER:
                # The shape only (the text around may be a name), with the invisible one named.
                shown = "".join(
                    f"<U+{ord(c):04X}>" if unicodedata.category(c) == "Cf" else mask(c)
                    for c in value
                )
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
        if column.name in PSEUDONYM_COLUMNS:
            problems += _check_pseudonyms(
                table, file, frame, column.name, set(hits.get_column(ROW))
            )
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    return problems


def _check_pseudonyms(
    table: str, file: str, frame: pl.DataFrame, column: str, flagged: set[int]
) -> list[Problem]:
    """Ids that do not have a pseudonym's shape (cells another rule flagged are left to it)."""
    text = pl.col(column).str.strip_chars()
    # The shape first, on every cell; the few cells of the wrong shape are then checked for
    # being empty, a missing token or flagged already (a filter evaluates all its terms).
    shape = frame.select(ROW, column).filter(
        ~text.str.contains(_PSEUDONYM) | text.str.contains(_WORD)
    )
    bad = shape.filter(
        text.is_not_null()
        & (text != "")
        & ~text.str.to_lowercase().is_in(sorted(MISSING_TOKENS))
        & ~pl.col(ROW).is_in(sorted(flagged))
    )
    return [
        Problem(
            table,
            file,
            row,
            column,
            mask(value) if len(value) <= 80 else mask(value[:77]) + "...",
            Rule.BAD_PSEUDONYM,
            f"{column} is not a pseudonym: use 1 to {PSEUDONYM_LENGTH} letters, digits, '-' or "
            "'_' (for example P001). Spaces, commas, other characters and bare words (such as a "
            "surname) are refused, as names look like that.",
        )
        for row, value in bad.iter_rows()
    ]
