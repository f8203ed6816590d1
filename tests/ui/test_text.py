"""The markdown boundary: hostile text renders as its own characters, plain text is unchanged.

Rendered with markdown-it (CommonMark with GFM tables and strikethrough, as Streamlit's
react-markdown renders them); Streamlit's own extensions (directives, shortcodes, math) are
checked on the escaped source, where they would have to start.
"""

from __future__ import annotations

import html
import re

import polars as pl
import pytest
from markdown_it import MarkdownIt

from bsab_explorer.ui.text import escape_frame, escape_markdown, escape_table

RENDERER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
#: Elements markdown makes; none may come out of escaped text (a paragraph is fine).
MARKUP = re.compile(r"<(?!/?p>)[a-z/][^>]*>")
#: GFM's bare autolinks, which Streamlit finds in the text after parsing (escapes gone).
AUTOLINK = re.compile(r"https?://|www\.|[-.\w+]+@[-\w]+\.[-\w]+", re.IGNORECASE)

PAYLOADS = {
    "link": "[Session expired: sign in again](http://evil.test/login)",
    "image": "![x](http://evil.test/pixel.png)",
    "reference link": "[here][1]\n\n[1]: http://evil.test",
    "autolink": "<http://evil.test> and http://evil.test and www.evil.test and a@evil.test",
    "emphasis": "*Re-enter* your **password** _now_ __please__",
    "strikethrough": "~~valid~~",
    "backticks": "emd=`true` and ``code``",
    "code block": "\n    indented code",
    "fenced code": "```\nfenced\n```",
    "heading": "# URGENT",
    "setext heading": "Urgent\n======",
    "list": "- one\n* two\n+ three\n1. four\n2) five",
    "quote": "> quoted",
    "thematic break": "---",
    "table": "| a | b |\n|---|---|\n| 1 | 2 |",
    "html": '<img src="http://evil.test/x.png"><script>alert(1)</script><b>bold</b>',
    "entity": "&lt;b&gt; &amp; &#60;",
    "hard break": "line  \nbreak\\\nagain",
    "backslash": "C:\\path\\*",
}


def _text_of(rendered: str) -> str:
    """The visible text of rendered HTML (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()


def _flat(text: str) -> str:
    """`text` as the escaped version shows it: one line, runs of spaces as one."""
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_hostile_markdown_renders_as_its_own_text(payload: str) -> None:
    rendered = RENDERER.render(escape_markdown(payload))
    assert MARKUP.findall(rendered) == []
    assert AUTOLINK.search(_text_of(rendered)) is None
    assert _text_of(rendered).replace("\u200b", "") == _flat(payload)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_unescaped_payloads_would_make_markup(payload: str) -> None:
    # The payloads are real attacks: unescaped, each makes markup or changes the text.
    rendered = RENDERER.render(payload)
    text = _text_of(rendered)
    assert MARKUP.findall(rendered) or AUTOLINK.search(text) or text != _flat(payload)


@pytest.mark.parametrize(
    "payload",
    [
        ":red[Your session expired]",
        ":blue-background[x]",
        ":material/lock: sign in",
        ":warning: :smile: :+1:",
        ":small[fine print]",
        "$\\frac{1}{2}$ and $$x$$",
    ],
)
def test_streamlit_extensions_never_start(payload: str) -> None:
    escaped = escape_markdown(payload)
    # A directive or shortcode needs a bare colon followed by a word; math a bare dollar.
    assert re.search(r"(?<!\\):[\w+-]", escaped) is None
    assert re.search(r"\\:[\w+-]+\\:", escaped) is None  # a zero-width space keeps them apart
    assert re.search(r"(?<!\\)\$", escaped) is None
    assert ":material/" not in escaped  # Streamlit rewrites this before parsing
    assert _text_of(RENDERER.render(escaped)).replace("\u200b", "") == payload


@pytest.mark.parametrize(
    "plain",
    [
        "65 / M",
        "11 (11 recurrent)",
        "every 7 days, 48 h after infusion; 1 longer gap (316 days)",
        "NR (13.8–NR)",
        "13.7 (5.9–NR)",
        "Among patients in PR after debulking (n = 6), 4 (67 %) responded (best response ≥ PR).",
        "Log-rank test, df = 1, p = 0.057",
        "-5",
        "#tag",
    ],
)
def test_plain_text_is_unchanged(plain: str) -> None:
    assert escape_markdown(plain) == plain


def test_a_colon_between_words_gets_no_invisible_space() -> None:
    assert escape_markdown("C77:X1") == "C77\\:X1"
    assert escape_markdown(":smile: C77:X1") == "\\:\u200bsmile\\: C77\\:X1"


def test_any_value_is_shown_as_its_text() -> None:
    assert escape_markdown(44) == "44"
    assert escape_markdown(None) == "None"


def test_escape_frame_escapes_text_cells_and_names_only() -> None:
    frame = pl.DataFrame({"Group *x*": ["[a](http://evil.test)", None], "n": [1, 2]})
    escaped = escape_frame(frame)
    assert escaped.columns == ["Group \\*x\\*", "n"]
    assert escaped.to_dicts() == [
        {"Group \\*x\\*": "\\[a\\](http\\:\u200b//evil.test)", "n": 1},
        {"Group \\*x\\*": None, "n": 2},
    ]


def test_escape_table_escapes_as_escape_frame_and_writes_decimals_short() -> None:
    frame = pl.DataFrame(
        {
            "Group *x*": ["[a](http://evil.test)", None],
            "n": [1, 2],
            "HR": [8.6, None],
            "p": [0.5, 0.1234],
        }
    )
    styled = escape_table(frame)
    # The same escaped cells and names; the numbers unchanged.
    assert pl.from_pandas(styled.data).equals(escape_frame(frame))
    assert styled.data["HR"].iloc[0] == 8.6
    written = styled.to_html()
    assert ">8.6<" in written
    assert "8.6000" not in written
    # A column's values with the same places: 0.5000 beside 0.1234.
    assert ">0.5000<" in written
    assert ">0.1234<" in written
    assert ">—<" in written
