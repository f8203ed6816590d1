"""From text to contract types: header names, codes, booleans, missing tokens, numbers.

A typed source's booleans and numbers are read as columns (`_typed_parse`): they are never
written out as text to be parsed back, and they obey the same rules as their text would (a
whole number where the contract wants one, a finite number, the Excel date band).

The rules are the contract's, applied exactly: codes are case-insensitive and come out in the
contract's spelling; booleans accept true/false, 1/0, yes/no, y/n in any case; the missing tokens
(empty, NA, N/A, `.`, unknown) mean "not recorded" and become null, never false. A value that
cannot be parsed becomes null and a `Problem` that says what was expected.

A registry's text repeats: a million rows of yes/no, codes or day counts hold a few hundred
values. Such a column is made plain, guarded and parsed once per distinct value, and what was
found is placed on every row holding it (`_distinct`, `_guard`, `_once_per_value`); ids, which
do not repeat, go cell by cell. Either way the problems and values are the same.

(Over 500 lines: one table goes through renaming, look-alike characters, the guards and the
parse here, in that order over the same frame and the same distinct values; kept in one module,
the order of the rules, guard before parse and one problem a cell, reads in one function.)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import polars as pl

from bsab_explorer.data.identifiers import (
    check_column_names,
    check_values,
    is_free_text,
    plain_pseudonyms,
)
from bsab_explorer.data.ingest import RawTable, cell_text
from bsab_explorer.data.limits import PSEUDONYM_COLUMNS, check_text_cells, text_limit
from bsab_explorer.data.validation import (
    ROW,
    TIME_COLUMNS,
    ParsedTable,
    Problem,
    Rule,
    cells_to_clear,
)
from bsab_explorer.dataset import polars_type
from bsab_explorer.schema import (
    AGE_CAP,
    FALSE_TOKENS,
    MISSING_TOKENS,
    TABLES,
    TIMEPOINT_CODES,
    TRUE_TOKENS,
    Column,
    Kind,
)

#: How many absent optional columns a notice names before counting the rest.
_LISTED = 8
_INT = r"^[+-]?\d{1,18}(\.0*)?$"
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_DECIMAL_COMMA = r"^[+-]?\d+,\d+$"


@dataclass(frozen=True)
class NormaliseResult:
    """A parsed table (None when it has no usable id column), its problems and notices."""

    parsed: ParsedTable | None
    problems: tuple[Problem, ...] = ()
    notices: tuple[str, ...] = ()


def header_key(name: str) -> str:
    """A header as the contract spells columns: trimmed, lower case, words joined by `_`."""
    base = name.split("\x00", 1)[0].replace("\ufeff", "")
    return re.sub(r"[\s\-]+", "_", base.strip().lower())


def _text(column: str) -> pl.Expr:
    """The cell as trimmed text, with the missing tokens as null."""
    text = pl.col(column).str.strip_chars()
    return pl.when(text.str.to_lowercase().is_in(sorted(MISSING_TOKENS))).then(None).otherwise(text)


def _parse_expr(column: Column, decimal_comma: bool) -> pl.Expr:
    """The typed value of `column` (null when missing or unparsable)."""
    text = _text(column.name)
    lower = text.str.to_lowercase()
    if column.kind == Kind.BOOL:
        return (
            pl.when(lower.is_in(sorted(TRUE_TOKENS)))
            .then(True)
            .when(lower.is_in(sorted(FALSE_TOKENS)))
            .then(False)
            .otherwise(None)
        )
    if column.kind == Kind.INT:
        return (
            pl.when(text.str.contains(_INT))
            .then(text.str.replace(r"\.0*$", "").cast(pl.Int64, strict=False))
            .otherwise(None)
        )
    if column.kind == Kind.NUMBER:
        number = text
        if decimal_comma:
            number = (
                pl.when(text.str.contains(_DECIMAL_COMMA))
                .then(text.str.replace(",", ".", literal=True))
                .otherwise(text)
            )
        value = pl.when(number.str.contains(_NUMBER)).then(number.cast(pl.Float64, strict=False))
        return pl.when(value.is_finite()).then(value).otherwise(None)
    if column.kind == Kind.CODE:
        if column.name == "timepoint":
            return (
                pl.when(lower == "post_debulking")
                .then(pl.lit("post_debulking"))
                .when(lower.str.contains(r"^c0*[1-9][0-9]{0,5}$"))
                # C01 and C1 are the same cycle: the contract spells it without zeros.
                .then(pl.lit("C") + lower.str.slice(1).str.strip_chars_start("0"))
                .otherwise(None)
            )
        mapping = {code.lower(): code for code in column.codes}
        known = lower.replace_strict(mapping, default=None, return_dtype=pl.String)
        return pl.coalesce(known, text) if column.open_codes else known
    return text


#: The largest magnitude a whole-number column takes: 18 digits, as `_INT` reads text.
_INT_LIMIT = 10**18
#: Excel date serials (days since 1900) for years 1949 to 2119, as the identifier guard reads them.
_EXCEL_BAND = (18_000, 80_000)


def _typed_parse(column: Column, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr] | None:
    """(value, unusable) of a typed column the contract reads without text, else None.

    Each result equals what the text path makes of the cell's text (`cell_text`): the same
    value, and the same cells refused.
    """
    name = column.name
    value = pl.col(name)
    if column.kind == Kind.BOOL and dtype == pl.Boolean:
        return value, pl.lit(False)
    if column.kind == Kind.INT and dtype.is_integer():
        fits = (value < _INT_LIMIT) & (value > -_INT_LIMIT)
        return pl.when(fits).then(value.cast(pl.Int64)), value.is_not_null() & ~fits
    if column.kind == Kind.INT and dtype.is_float():
        number = value.cast(pl.Float64)
        whole = number.is_finite() & (number.floor() == number) & (number.abs() < _INT_LIMIT)
        return pl.when(whole).then(number.cast(pl.Int64)), number.is_not_null() & ~whole
    if column.kind == Kind.NUMBER and dtype.is_float():
        number = value.cast(pl.Float64)
        # -0.0 reads as 0.0, as its text "0" does.
        plain = pl.when(number == 0).then(pl.lit(0.0)).otherwise(number)
        return pl.when(number.is_finite()).then(plain), number.is_not_null() & ~number.is_finite()
    if column.kind == Kind.NUMBER and dtype.is_integer():
        return value.cast(pl.Float64), pl.lit(False)
    return None


#: A text column whose values repeat this often on average (codes, yes/no, small numbers) is
#: parsed and guarded once per distinct value, then looked up: a million rows hold a few dozen
#: values. Whether they repeat is first guessed from the column's first rows, so a column of
#: ids is never hashed whole only to find that it does not.
_REPEATS = 8
_LOOKUP_FROM_ROWS = 10_000
#: A repeating column of this many distinct values at most (yes/no, a code or two, empty cells)
#: is confirmed and looked up by comparing each cell with each value: a few byte comparisons a
#: cell instead of hashing it, twice (once to find the values, once to look each cell up).
_COMPARED_VALUES = 4


def _is_one_of(name: str, values: Iterable[object]) -> pl.Expr:
    """Cells of `name` equal to one of `values` (null for a null cell)."""
    return pl.any_horizontal(pl.col(name) == value for value in values)


def _looked_up(name: str, distinct: pl.Series, results: pl.Series, default: bool | None) -> pl.Expr:
    """Each cell of `name` as the result of its value among `distinct` (`default` for a cell
    holding none of them): compared value by value when they are few, else through a table."""
    dtype = results.dtype
    if distinct.len() > _COMPARED_VALUES:
        return pl.col(name).replace_strict(distinct, results, default=default, return_dtype=dtype)
    by_result: dict[object, list[object]] = {}
    for value, result in zip(distinct, results, strict=True):
        if result != default:
            by_result.setdefault(result, []).append(value)
    looked_up = pl.lit(default, dtype)
    for result, values in reversed(by_result.items()):
        looked_up = (
            pl.when(_is_one_of(name, values)).then(pl.lit(result, dtype)).otherwise(looked_up)
        )
    return looked_up


def _distincts(
    frame: pl.DataFrame, present: list[Column], typed: dict[str, tuple[pl.Expr, pl.Expr]]
) -> dict[str, pl.Series]:
    """The distinct non-null values of every text column whose values repeat enough to be worth
    handling once each (a column left out is handled row by row).

    Whether a column repeats is first guessed from its first rows, so a column of ids is never
    hashed whole only to find that it does not. A column whose first rows hold a few values is
    then confirmed by comparing every cell with them; any other by its distinct values. Each of
    those two passes looks at every such column in one query, which Polars spreads over the
    cores.
    """
    if frame.height < _LOOKUP_FROM_ROWS:
        return {}
    heads: dict[str, pl.Series] = {}
    for column in present:
        name = column.name
        if name in typed or frame.schema[name] != pl.String:
            continue
        head = frame.get_column(name).head(_LOOKUP_FROM_ROWS)
        if head.n_unique() * _REPEATS <= head.len():
            heads[name] = head.unique().drop_nulls()
    few = {name: v for name, v in heads.items() if 0 < v.len() <= _COMPARED_VALUES}
    found: dict[str, pl.Series] = {}
    if few:
        # Every cell holds one of the first rows' values (or none).
        confirmed = frame.select(_is_one_of(name, v).all().alias(name) for name, v in few.items())
        found = {name: v for (name, v), ok in zip(few.items(), confirmed.row(0), strict=True) if ok}
    rest = [name for name in heads if name not in found]
    if rest:
        values = frame.select(pl.col(name).unique().drop_nulls().implode() for name in rest)
        for name in rest:
            distinct = values.get_column(name).explode().drop_nulls()  # [] explodes to [null]
            if distinct.len() * _REPEATS <= frame.height:
                found[name] = distinct
    return {name: found[name] for name in heads if name in found}


def _once_per_value(
    name: str, distinct: pl.Series | None, value: pl.Expr, bad: pl.Expr
) -> tuple[pl.Expr, pl.Expr]:
    """(value, bad) of a text column, computed once per distinct text when values repeat."""
    if distinct is None:
        return value, bad
    parsed = pl.DataFrame({name: distinct}).select(value.alias("value"), bad.alias("bad"))
    values = parsed.get_column("value")
    if values.dtype == pl.String and values.null_count() == 0 and (values == distinct).all():
        # Every value already reads as itself (codes in the contract's spelling): no lookup.
        lookup_value = pl.col(name)
    else:
        lookup_value = _looked_up(name, distinct, values, None)
    if not parsed.get_column("bad").any():
        return lookup_value, pl.lit(False)  # the usual case: no lookup for nothing
    return lookup_value, _looked_up(name, distinct, parsed.get_column("bad"), False)


def _parsers(
    present: list[Column],
    typed_columns: dict[str, tuple[pl.Expr, pl.Expr]],
    distinct: dict[str, pl.Series],
    decimal_comma: bool,
    plain: dict[str, pl.Series | None],
) -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """(value, unusable) of every present column: typed columns as read, text ones parsed."""
    parsers: dict[str, tuple[pl.Expr, pl.Expr]] = {}
    for column in present:
        if column.name in typed_columns:
            parsers[column.name] = typed_columns[column.name]
            continue
        if column.name in plain and plain[column.name] is None:
            # Every cell is a plain pseudonym: nothing to trim, no missing token.
            parsers[column.name] = pl.col(column.name), pl.lit(False)
            continue
        value = _parse_expr(column, decimal_comma)
        # Text is taken as it is: a cell of a text column is never unusable, only missing.
        bad = (
            pl.lit(False)
            if column.kind == Kind.STRING
            else _text(column.name).is_not_null() & value.is_null()
        )
        parsers[column.name] = _once_per_value(column.name, distinct.get(column.name), value, bad)
    return parsers


def _plain_ids(
    frame: pl.DataFrame, present: list[Column], distinct: dict[str, pl.Series]
) -> dict[str, pl.Series | None]:
    """Which cells of each pseudonym column (read as text, cell by cell) are plain pseudonyms,
    which no guard flags and which read as themselves (`plain_pseudonyms`): None when all are.

    A child table repeats its parent's id on consecutive rows (a patient's assessments): the
    first cell of each run is looked at, and every cell only when one of those is not plain.
    """
    plain: dict[str, pl.Series | None] = {}
    for column in present:
        name = column.name
        if name not in PSEUDONYM_COLUMNS or name in distinct or frame.schema[name] != pl.String:
            continue
        cells = pl.col(name)
        runs = frame.select(cells.filter((cells != cells.shift(1)).fill_null(True)))
        if runs.select(plain_pseudonyms(name).all()).item():
            plain[name] = None
        else:
            plain[name] = frame.select(plain_pseudonyms(name)).to_series()
    return plain


def _guard(
    raw: RawTable,
    view: pl.DataFrame,
    distinct: dict[str, pl.Series],
    plain: dict[str, pl.Series | None],
) -> list[Problem]:
    """The text guards of every column (cell lengths, then identifiers in cells no longer than
    their column allows), run once per distinct value of a column whose values repeat, and only
    on the cells of a pseudonym column that are not plain pseudonyms."""
    long_cells: list[Problem] = []
    identifying: list[Problem] = []
    for column in TABLES[raw.table].columns:
        name = column.name
        if name not in view.columns:
            continue
        cells = view.select(ROW, name)
        if name in plain:
            mask = plain[name]
            if mask is None:
                continue  # every cell a plain pseudonym
            cells = cells.filter(~mask)
        values = distinct.get(name)
        if values is None:
            long = check_text_cells(raw.table, raw.file, cells)
            found = check_values(raw.table, raw.file, cells)
        else:
            each = pl.DataFrame(
                {ROW: pl.int_range(values.len(), dtype=pl.Int64, eager=True), name: values}
            )
            long = _on_rows(cells, values, check_text_cells(raw.table, raw.file, each))
            found = _on_rows(cells, values, check_values(raw.table, raw.file, each))
        too_long = {p.row for p in long}
        long_cells += long
        identifying += [p for p in found if p.row not in too_long]
    identifying.sort(key=lambda p: (p.row or 0, p.column or ""))
    return long_cells + identifying


def _on_rows(cells: pl.DataFrame, values: pl.Series, problems: list[Problem]) -> list[Problem]:
    """Problems found on distinct `values` (row i: the i-th value) as problems of every row of
    `cells` holding that value, in row order; problems of the whole column stay last."""
    by_value: dict[str, list[Problem]] = {}
    whole = [p for p in problems if p.row is None]
    for problem in problems:
        if problem.row is not None:
            by_value.setdefault(values[problem.row], []).append(problem)
    if not by_value:
        return whole
    name = values.name
    rows = cells.filter(pl.col(name).is_in(pl.Series(list(by_value), dtype=pl.String).implode()))
    found = [
        replace(problem, row=row)
        for row, value in rows.select(ROW, name).iter_rows()
        for problem in by_value[value]
    ]
    return found + whole


def _guard_view(frame: pl.DataFrame, typed: set[str]) -> pl.DataFrame:
    """The frame the text guards search: a typed column only as the text of the cells a guard
    could flag (non-finite numbers; time values in the Excel date band), left out when none is."""
    if not typed:
        return frame
    shown_columns = []
    for name in sorted(typed):
        series = frame.get_column(name)
        if not series.dtype.is_numeric():
            continue  # booleans: every value is a plain yes/no
        number = series.cast(pl.Float64)
        shown = ~number.is_finite()
        if name in TIME_COLUMNS:
            shown = shown | number.is_between(*_EXCEL_BAND)
        shown = shown.fill_null(False)
        if not shown.any():
            continue
        text = pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias(name)
        shown_columns.append(text.scatter(shown.arg_true(), cell_text(series.filter(shown))))
    return frame.drop(typed).with_columns(shown_columns)


def _parse_problem(raw: RawTable, column: Column, row: int, value: str) -> Problem:
    """A problem explaining what `column` expected instead of `value`."""
    label = f"{column.name} ({column.label})"
    if column.kind == Kind.BOOL:
        rule = Rule.NOT_BOOLEAN
        message = (
            f"'{value}' is not a yes/no value for {label}. Use true/false, yes/no, y/n or 1/0; "
            "leave it empty (or NA) when not recorded."
        )
    elif column.kind == Kind.INT:
        rule = Rule.NOT_INTEGER
        message = f"'{value}' is not a whole number; {label} takes whole numbers such as 3."
    elif column.kind == Kind.NUMBER:
        rule = Rule.NOT_NUMBER
        stripped = value.strip()
        if re.fullmatch(_DECIMAL_COMMA, stripped) and not raw.decimal_comma:
            message = (
                f"'{value}' uses a decimal comma, which is only read in semicolon-separated "
                f"files. Write it with a decimal point ({stripped.replace(',', '.')})."
            )
        elif stripped.lower().lstrip("+-") in {"inf", "infinity", "nan"} or re.fullmatch(
            _NUMBER, stripped
        ):
            message = (
                f"'{value}' is not a finite number; {label} needs a real number of days. "
                "Correct it or leave it empty if unknown."
            )
        else:
            message = f"'{value}' is not a number; {label} takes numbers such as 12.5."
    else:
        rule = Rule.UNKNOWN_CODE
        if column.name == "timepoint":
            allowed = f"{', '.join(TIMEPOINT_CODES)} (or another cycle C<n>)"
        else:
            allowed = ", ".join(column.codes)
        hint = _did_you_mean(column, value)
        message = f"'{value}' is not a known code for {label}.{hint} Use one of: {allowed}."
    return Problem(raw.table, raw.file, row, column.name, value, rule, message)


def nearest_code(column: Column, value: str) -> str | None:
    """The known code `value` is most likely a typo of (None when none is close)."""
    if not column.codes:
        return None
    lowered = {code.lower(): code for code in column.codes}
    close = difflib.get_close_matches(value.strip().lower(), list(lowered), n=1, cutoff=0.8)
    return lowered[close[0]] if close else None


def _did_you_mean(column: Column, value: str) -> str:
    code = nearest_code(column, value)
    return f" Did you mean {code}?" if code else ""


def _code_typos(
    raw: RawTable, frame: pl.DataFrame, present: list[Column], flagged: set[tuple[int, str]]
) -> list[str]:
    """Notices for new codes of open code columns that are near a known code (typos); cells
    another rule refused are never quoted."""
    notices: list[str] = []
    for column in present:
        if column.kind != Kind.CODE or not column.open_codes:
            continue
        known = {code.lower() for code in column.codes}
        refused = sorted(row for row, name in flagged if name == column.name)
        values = (
            frame.select(ROW, _text(column.name).alias("v"))
            .drop_nulls("v")
            .filter(~pl.col(ROW).is_in(refused))
        )
        new = values.filter(~pl.col("v").str.to_lowercase().is_in(sorted(known)))
        first = new.group_by("v").agg(pl.col(ROW).min(), pl.len().alias("n")).sort(ROW)
        for value, row, count in first.select("v", ROW, "n").iter_rows():
            code = nearest_code(column, value)
            if code is not None:
                notices.append(
                    f"{raw.file}: {column.name} '{value}' (row {row}, {count} row(s)) is not a "
                    f"known code and is close to {code}: it is kept as a group of its own. If it "
                    f"is a typo, correct it to {code}."
                )
    return notices


def _normalise_unicode(
    frame: pl.DataFrame, distinct: dict[str, pl.Series], plain: dict[str, pl.Series | None]
) -> tuple[pl.DataFrame, int]:
    """Text in Unicode's compatibility form (NFKC: fullwidth digits, ligatures become plain),
    so look-alike spellings of one id are one id; and how many cells changed. A column whose
    values repeat is looked at through its `distinct` values; a column of plain pseudonyms
    (ASCII) not at all."""
    columns = [c for c in frame.columns if c != ROW and frame.schema[c] == pl.String]
    if not columns or frame.height == 0:
        return frame, 0
    # A cell is ASCII when its UTF-8 bytes are as many as its characters: two length counts,
    # several times cheaper than a regular expression per cell.
    wide = any(
        (values.str.len_bytes() != values.str.len_chars()).any()
        for values in (
            distinct[c] if c in distinct else frame.get_column(c)
            for c in columns
            if not (c in plain and plain[c] is None)
        )
    )
    if not wide:
        return frame, 0  # the common case
    normal = frame.with_columns(pl.col(c).str.normalize("NFKC") for c in columns)
    changed = sum(
        int((frame.get_column(c) != normal.get_column(c)).fill_null(False).sum()) for c in columns
    )
    return normal, changed


def _rename_columns(raw: RawTable) -> tuple[pl.DataFrame, list[Problem], list[str]]:
    """Contract names for the header, dropping (with a notice or a problem) everything else."""
    table = TABLES[raw.table]
    problems: list[Problem] = []
    notices: list[str] = []
    keep: dict[str, str] = {}
    dropped: list[str] = []
    renamed: list[str] = []
    seen: set[str] = set()
    frame = raw.frame
    for original in frame.columns:
        if original == ROW:
            continue
        key = header_key(original)
        shown = original.split("\x00", 1)[0]
        if not key:
            if cell_text(frame.get_column(original)).str.strip_chars().is_in(["", None]).all():
                notices.append(f"{raw.file}: an empty column without a header was ignored.")
            else:
                position = frame.columns.index(original) + 1
                problems.append(
                    Problem(
                        raw.table,
                        raw.file,
                        None,
                        None,
                        None,
                        Rule.UNNAMED_COLUMN,
                        f"Column {position} has values but no header. Give it a contract "
                        "column name or delete it.",
                    )
                )
            continue
        if key in seen:
            problems.append(
                Problem(
                    raw.table,
                    raw.file,
                    None,
                    key,
                    None,
                    Rule.DUPLICATE_COLUMN,
                    f"The column '{shown}' appears twice in the header. Keep one of them.",
                )
            )
            continue
        seen.add(key)
        if key in table.by_name:
            keep[original] = key
            if shown != key:
                renamed.append(f"'{shown}' as {key}")
        else:
            dropped.append(shown)
    problems += check_column_names(raw.table, raw.file, dropped)
    identifying = {p.column for p in problems if p.rule == Rule.IDENTIFIER_COLUMN}
    unknown = [d for d in dropped if d not in identifying]
    if unknown:
        listed = ", ".join(unknown[:_LISTED])
        more = f" and {len(unknown) - _LISTED:,} more" if len(unknown) > _LISTED else ""
        notices.append(f"{raw.file}: columns outside the contract were not kept: {listed}{more}.")
    if renamed:
        notices.append(f"{raw.file}: read column {', '.join(renamed)}.")
    return frame.select(ROW, *(pl.col(o).alias(k) for o, k in keep.items())), problems, notices


def normalise_table(raw: RawTable, *, cap_ages: bool = False) -> NormaliseResult:
    """Parse a text table into contract types; unparsable cells become null plus a problem."""
    table = TABLES[raw.table]
    frame, problems, notices = _rename_columns(raw)
    present = [c for c in table.columns if c.name in frame.columns]
    missing_required = [c for c in table.columns if c.required and c.name not in frame.columns]
    for column in missing_required:
        problems.append(
            Problem(
                raw.table,
                raw.file,
                None,
                column.name,
                None,
                Rule.MISSING_ID_COLUMN if column.name.endswith("_id") else Rule.MISSING_REQUIRED,
                f"The file has no {column.name} column, which every {raw.table} table needs. "
                f"Add it (or check the header spelling: expected '{column.name}').",
            )
        )
    if any(c.name == table.key for c in missing_required):
        return NormaliseResult(None, tuple(problems), tuple(notices))
    absent = [c.name for c in table.columns if c.name not in frame.columns]
    if absent:
        listed = ", ".join(absent[:_LISTED])
        more = f" and {len(absent) - _LISTED} more" if len(absent) > _LISTED else ""
        notices.append(
            f"{raw.file}: {len(absent)} optional column(s) not in the file ({listed}{more}). "
            "Analyses that need them will say so."
        )
    typed_columns: dict[str, tuple[pl.Expr, pl.Expr]] = {}
    as_text: list[pl.Series] = []
    for column in present:
        dtype = frame.schema[column.name]
        if dtype == pl.String:
            continue
        reading = _typed_parse(column, dtype)
        if reading is None:
            as_text.append(cell_text(frame.get_column(column.name)))
        else:
            typed_columns[column.name] = reading
    if as_text:
        frame = frame.with_columns(as_text)
    distinct = _distincts(frame, present, typed_columns)
    plain = _plain_ids(frame, present, distinct)
    frame, changed = _normalise_unicode(frame, distinct, plain)
    if changed:
        notices.append(
            f"{raw.file}: {changed} cell(s) written with look-alike characters (such as fullwidth "
            "digits) were read in their plain form."
        )
    free_text = [c for c in present if is_free_text(c)]
    if free_text:
        names = ", ".join(c.name for c in free_text)
        notices.append(
            f"{raw.file}: free-text column(s), checked for names, dates and contact details, "
            f"at most {text_limit(free_text[0])} characters a cell: {names}."
        )
    if changed:
        distinct = _distincts(frame, present, typed_columns)
        plain = _plain_ids(frame, present, distinct)
    guarded = _guard(raw, _guard_view(frame, set(typed_columns)), distinct, plain)
    problems += guarded
    # A cell the guard rejected gets that one problem, not a second one quoting its value.
    flagged = {(p.row, p.column) for p in guarded}
    notices += _code_typos(
        raw, frame, present, {(r, c) for r, c in flagged if r is not None and c is not None}
    )

    # Every column is parsed in one (parallel) pass; unparsable cells are flagged alongside.
    # Only the results are kept, not the text beside them: a frame whose columns are cut into
    # different chunks (the text as read, a lookup's result) is copied whole into one chunk by
    # the next query on it, and the text is the largest part of it.
    parsers = _parsers(present, typed_columns, distinct, raw.decimal_comma, plain)
    typed = frame.select(
        ROW,
        *(
            expr.alias(f"__{part}_{name}")
            for name, pair in parsers.items()
            for part, expr in zip(("typed", "bad"), pair, strict=True)
        ),
    )
    # One pass says which columns hold an unusable cell; only those are filtered.
    any_bad = typed.select(pl.col(f"__bad_{c.name}").any() for c in present).row(0)
    for column, has_bad in zip(present, any_bad, strict=True):
        if not has_bad:
            continue
        bad = frame.select(ROW, column.name).filter(typed.get_column(f"__bad_{column.name}"))
        texts = cell_text(bad.get_column(column.name))
        problems.extend(
            _parse_problem(raw, column, r, v)
            for r, v in zip(bad.get_column(ROW), texts, strict=True)
            if (r, column.name) not in flagged
        )
    typed = typed.select(
        ROW,
        *(pl.col(f"__typed_{c.name}").cast(polars_type(c.kind)).alias(c.name) for c in present),
    )
    if cap_ages and "age_years" in typed.columns:
        capped = typed.filter(pl.col("age_years") > AGE_CAP).height
        if capped:
            typed = typed.with_columns(
                pl.when(pl.col("age_years") > AGE_CAP)
                .then(AGE_CAP)
                .otherwise(pl.col("age_years"))
                .alias("age_years")
            )
            notices.append(f"{raw.file}: {capped} age(s) over {AGE_CAP} were coded as {AGE_CAP}.")
    full = typed.with_columns(
        pl.lit(None, polars_type(c.kind)).alias(c.name)
        for c in table.columns
        if c.name not in typed.columns
    ).select(ROW, *table.column_names)
    parsed = ParsedTable(raw.table, raw.file, full, frozenset(c.name for c in present))
    return NormaliseResult(parsed, tuple(problems), tuple(notices))


def clear_cells(frame: pl.DataFrame, problems: list[Problem]) -> pl.DataFrame:
    """Null every cell a problem rejected, so no invalid or identifying value is ever used."""
    cells = cells_to_clear(problems)
    return frame.with_columns(
        pl.when(pl.col(ROW).is_in(sorted(rows))).then(None).otherwise(pl.col(name)).alias(name)
        for name, rows in cells.items()
        if name in frame.columns
    )
