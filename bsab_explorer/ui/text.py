"""Text from data, the URL or a file name, made safe to hand to Streamlit's markdown.

`st.markdown`, `st.caption`, `st.error`, headers, widget labels and `st.table` cells all render
GitHub-flavoured markdown with Streamlit's extensions (math, emoji and Material icon shortcodes,
`:red[...]` colour directives): a cell of an uploaded file or a `?filter=` value would otherwise
show a link, fetch an image from another host for every viewer or style itself as a message of
the app. This module is the one boundary: every non-constant text reaching those calls passes
through `escape_markdown` (tests/test_text_boundary.py checks the pages and `ui/` for it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

#: Characters that open a construct anywhere in a line: emphasis and strikethrough, code spans,
#: links and images (`[`; a `(` or `!` alone opens nothing), HTML tags and autolinks, entities,
#: math, GFM tables, e-mail autolinks, directives (`:red[...]`), `http:` autolinks and the
#: backslash itself. Backslash-escaped, each renders as itself.
_ALWAYS = frozenset("\\`*_~[]<>&$|@:")
#: Shortcodes (`:smile:`, `:material/lock:`) and GFM's bare autolinks (`http://`, `www.`,
#: `a@b.org`) are found in the parsed text, after escapes are gone: an invisible zero-width space
#: after the colon, before the dot or after the `@` keeps them from reading as one.
_ZERO_WIDTH_SPACE = "\u200b"
_AFTER_COLON = re.compile(r"[\w+-]+:|material/|//")
_WWW = re.compile(r"(?i)\b(www)\.")
#: Block markers at the start of the text: a heading, a list item, a quote or a thematic break.
_BLOCK_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)|^([#+=-])(?=[\s#+=-]|$)")
#: Line breaks (a new line may start a block) and the hard break of trailing spaces.
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def escape_markdown(text: object) -> str:
    """`text` as markdown that renders as exactly these characters, on one line.

    >>> print(escape_markdown("**bold** [sign in](x.test) `code` <b>"))
    \\*\\*bold\\*\\* \\[sign in\\](x.test) \\`code\\` \\<b\\>
    >>> print(escape_markdown("# 65 / M (11 recurrent), p = 0.057"))
    \\# 65 / M (11 recurrent), p = 0.057
    """
    # One line, without the leading spaces of an indented code block.
    flat = re.sub(r" {2,}", " ", _LINE_BREAKS.sub(" ", str(text))).lstrip()
    out: list[str] = []
    for index, character in enumerate(flat):
        if character in _ALWAYS:
            out.append("\\" + character)
            if character == "@" or (character == ":" and _AFTER_COLON.match(flat, index + 1)):
                out.append(_ZERO_WIDTH_SPACE)
        else:
            out.append(character)
    escaped = _WWW.sub(rf"\1{_ZERO_WIDTH_SPACE}.", "".join(out))
    return _BLOCK_START.sub(_escape_block_marker, escaped)


def _escape_block_marker(match: re.Match[str]) -> str:
    number, delimiter, marker = match.groups()
    return f"{number}\\{delimiter}" if number else f"\\{marker}"


def escape_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with its column names and text cells escaped, for `st.table` (which renders
    markdown in every cell)."""
    escaped = frame.with_columns(
        pl.Series(name, [None if v is None else escape_markdown(v) for v in frame[name]])
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )
    return escaped.rename({name: escape_markdown(name) for name in frame.columns})


#: Most decimals a static table shows (as a data grid does, without trailing zeros).
STATIC_DECIMALS = 4
#: A missing value in a static table, as the report writes it (`report.template.format_cell`).
MISSING_TEXT = "—"


def decimal_text(value: object, decimals: int = STATIC_DECIMALS) -> str:
    """A decimal number as a static table shows it, with `decimals` places (8.6; 186.0 with
    one; 0.1235 with four); a missing value as `MISSING_TEXT`.

    >>> [decimal_text(v, 1) for v in (8.6, 186.0, -0.01, float("nan"), None)]
    ['8.6', '186.0', '0.0', '—', '—']
    """
    if value is None or (isinstance(value, float) and value != value):  # NaN: missing
        return MISSING_TEXT
    if not isinstance(value, float):
        return str(value)
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def column_decimals(values: Iterable[object]) -> int:
    """The places a column of decimal numbers needs: as many as its most precise value has,
    up to `STATIC_DECIMALS`, so that a column reads alike (8.6 and 10.3, not 8.6000 and
    10.3000; 4.3790 beside 4.7831, not 4.379).

    >>> [column_decimals(c) for c in ([8.6, 10.3, 186.0], [4.379, 4.78312], [2.0, None])]
    [1, 4, 0]
    """
    needed = 0
    for value in values:
        if isinstance(value, float) and value == value:
            fraction = f"{value:.{STATIC_DECIMALS}f}".split(".")[1].rstrip("0")
            needed = max(needed, len(fraction))
    return needed


def whole_text(value: object) -> str:
    """A whole number as a static table shows it (22, even when pandas holds it as 22.0 beside
    a missing value), a missing value as `MISSING_TEXT`.

    >>> [whole_text(v) for v in (22, 22.0, float("nan"), None)]
    ['22', '22', '—', '—']
    """
    if value is None or (isinstance(value, float) and value != value):
        return MISSING_TEXT
    return str(int(value)) if isinstance(value, int | float) else str(value)


def yes_no_text(value: object) -> str:
    """A yes/no value as a static table shows it, as the report writes it: "yes", "no", or
    `MISSING_TEXT` ("True" and "None" read as words of their own on a projector: "None" in a
    column of cytogenetic risk reads as "no abnormality").

    >>> [yes_no_text(v) for v in (True, False, None)]
    ['yes', 'no', '—']
    """
    if value is None or (isinstance(value, float) and value != value):
        return MISSING_TEXT
    return "yes" if value else "no"


def escape_table(frame: pl.DataFrame) -> Styler:
    """`escape_frame(frame)` styled for `st.table`: decimal columns written by `decimal_text`
    with the places each needs (`column_decimals`; st.table would write every decimal number
    with four, 8.6 as 8.6000), yes/no columns by `yes_no_text`, and a missing value anywhere as
    `MISSING_TEXT`. The table's values stay what they are; only how they are written changes."""
    escaped = escape_frame(frame)
    schema = escaped.schema
    written: dict[Any, str | Callable[[object], str] | None] = {
        name: partial(decimal_text, decimals=column_decimals(escaped[name]))
        for name, dtype in schema.items()
        if dtype.is_float()
    }
    written |= {name: yes_no_text for name, dtype in schema.items() if dtype == pl.Boolean}
    # Whole numbers with a missing value become decimals in pandas: written whole again.
    written |= {name: whole_text for name, dtype in schema.items() if dtype.is_integer()}
    return (
        escaped.to_pandas().style.format(na_rep=MISSING_TEXT).format(written, na_rep=MISSING_TEXT)
    )
