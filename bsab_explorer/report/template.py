"""HTML building blocks of the report: one self-contained page, every value escaped.

Nothing here fetches anything: styles are inline, figures are SVG embedded as data URIs, and
fonts are the reader's own (Liberation Sans, Arial or Helvetica, all metric-compatible).
Every text that reaches the page goes through `esc` (HTML-escaped, quotes included).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape

import polars as pl

#: Font stack of the page and of its figures (no web fonts: the file must open offline).
FONT_STACK = "'Liberation Sans', Arial, Helvetica, sans-serif"
#: The deepest indent level with its own step (`td.indent-N` in the CSS).
MAX_INDENT = 4

CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
* { box-sizing: border-box; }
html { font-family: %(font)s; font-size: 10.5pt; color: #1a1a1a; line-height: 1.4; }
body { max-width: 190mm; margin: 0 auto; padding: 8mm 0; }
h1 { font-size: 18pt; margin: 0 0 4pt; }
h2 { font-size: 14pt; margin: 18pt 0 6pt; border-bottom: 1.5pt solid #0072B2;
     padding-bottom: 2pt; break-after: avoid; page-break-after: avoid; }
h3 { font-size: 11.5pt; margin: 12pt 0 4pt; break-after: avoid; page-break-after: avoid; }
p { margin: 4pt 0; }
.banner { background: #fff4d6; border: 1pt solid #e0b84a; padding: 4pt 8pt; margin: 6pt 0;
          font-weight: bold; }
.meta { color: #444; }
.note { color: #444; font-size: 9.5pt; }
.warning { color: #8a1c00; font-size: 9.5pt; }
.unavailable { color: #666; font-style: italic; }
.command { font-family: 'Liberation Mono', 'DejaVu Sans Mono', monospace; font-size: 8pt;
           color: #555; word-break: break-all; margin: 2pt 0 10pt; }
nav ol { margin: 4pt 0 0 14pt; padding: 0; columns: 2; }
figure { margin: 8pt 0 12pt; break-inside: avoid; page-break-inside: avoid; text-align: center; }
figure img { max-width: 100%%; height: auto; max-height: 235mm; }
figcaption { font-size: 9.5pt; color: #333; text-align: left; margin-top: 3pt; }
.table-block { margin: 6pt 0 12pt; }
table { border-collapse: collapse; width: 100%%; font-size: 9pt; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 3pt; }
th, td { border-bottom: 0.5pt solid #ccc; padding: 2pt 4pt; text-align: left;
         vertical-align: top; }
th { background: #eef3f8; border-bottom: 1pt solid #888; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
tr.heading td { font-weight: bold; background: #f6f6f6; }
td.indent-1 { padding-left: 14pt; }
td.indent-2 { padding-left: 26pt; }
td.indent-3 { padding-left: 38pt; }
td.indent-4 { padding-left: 50pt; }
td.muted { color: #555; font-style: italic; }
.small-table { width: auto; min-width: 50%%; }
dl { margin: 4pt 0; }
dt { font-weight: bold; margin-top: 5pt; }
dd { margin: 0 0 0 12pt; }
pre { white-space: pre-wrap; word-break: break-all; font-size: 8.5pt; background: #f6f6f6;
      padding: 4pt; }
.provenance td:first-child { white-space: nowrap; width: 30%%; }
.fingerprint { font-family: 'Liberation Mono', 'DejaVu Sans Mono', monospace; font-size: 8.5pt;
               word-break: break-all; }
@media print { body { padding: 0; } a { color: inherit; text-decoration: none; } }
""" % {"font": FONT_STACK}  # noqa: UP031 (the CSS braces make str.format unreadable)


def esc(value: object) -> str:
    """Any value as HTML-escaped text (quotes escaped too, so it is safe in attributes)."""
    return escape(str(value), quote=True)


def format_number(value: float, digits: int = 1) -> str:
    """A float with `digits` decimals; very small values keep 2 significant digits."""
    if math.isnan(value):
        return "NE"
    if value != 0 and abs(value) < 10 ** (-digits):
        return f"{value:.2g}"
    return f"{value:.{digits}f}"


def format_cell(value: object, digits: int = 1) -> str:
    """One cell as display text (None as an em dash, lists joined)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format_number(value, digits)
    if isinstance(value, list | tuple):
        return "; ".join(format_cell(v, digits) for v in value)
    return str(value)


def paragraph(text: str, cls: str | None = None) -> str:
    """A paragraph of escaped text."""
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<p{attr}>{esc(text)}</p>\n"


def paragraphs(texts: Iterable[str], cls: str | None = None) -> str:
    """Several paragraphs of escaped text."""
    return "".join(paragraph(t, cls) for t in texts)


def table_html(
    frame: pl.DataFrame,
    *,
    caption: str | None = None,
    labels: Mapping[str, str] | None = None,
    digits: Mapping[str, int] | None = None,
    hide: Sequence[str] = (),
    indent_column: str | None = None,
    label_column: str | None = None,
    muted_labels: Sequence[str] = (),
    small: bool = False,
) -> str:
    """A frame as an HTML table (headers relabelled, numbers right-aligned, all escaped).

    With `indent_column`, the `label_column` cell of each row is indented by its level, and
    shown muted when its text is one of `muted_labels` (Table 1's "Not recorded" rows).
    """
    labels = labels or {}
    digits = digits or {}
    shown = [c for c in frame.columns if c not in hide and c != indent_column]
    numeric = {c for c in shown if frame.schema[c].is_numeric()}
    head = "".join(f'<th scope="col">{esc(labels.get(c, c))}</th>' for c in shown)
    rows: list[str] = []
    for row in frame.iter_rows(named=True):
        indent = int(row[indent_column]) if indent_column and row[indent_column] is not None else 1
        cells = []
        for column in shown:
            text = esc(format_cell(row[column], digits.get(column, 1)))
            classes = []
            if column in numeric:
                classes.append("num")
            if column == label_column and indent_column:
                # Table 1 nests up to level 3 (a sub-variable's own "Not recorded" row): each
                # level has its step, so a row never sits left of the variable it belongs to.
                classes.append(f"indent-{min(indent, MAX_INDENT)}")
                if row[column] in muted_labels:
                    classes.append("muted")
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{cls}>{text}</td>")
        row_cls = ' class="heading"' if indent_column and indent == 0 else ""
        rows.append(f"<tr{row_cls}>{''.join(cells)}</tr>\n")
    if not rows:
        body = f'<tr><td colspan="{max(len(shown), 1)}">No rows for this selection.</td></tr>'
    else:
        body = "".join(rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    cls = ' class="small-table"' if small else ""
    return (
        f'<div class="table-block"><table{cls}>{cap}<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}</tbody></table></div>\n"
    )


def figure_html(svg: str, caption: str, alt: str) -> str:
    """An SVG figure embedded as a data URI (isolated, so ids of two figures never clash)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{esc(alt)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>\n"
    )


def definition_list(pairs: Iterable[tuple[str, str]]) -> str:
    """Terms and their definitions."""
    items = "".join(f"<dt>{esc(term)}</dt><dd>{esc(text)}</dd>\n" for term, text in pairs)
    return f"<dl>\n{items}</dl>\n"


def key_value_table(pairs: Iterable[tuple[str, str]], cls: str = "provenance") -> str:
    """A two-column table of labels and values."""
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>\n" for k, v in pairs)
    return f'<div class="table-block"><table class="{esc(cls)}"><tbody>{rows}</tbody></table></div>'


def section(anchor: str, title: str, body: str) -> str:
    """A numbered report section with an anchor for the contents list."""
    return f'<section id="{esc(anchor)}">\n<h2>{esc(title)}</h2>\n{body}</section>\n'


def page(title: str, body: str) -> str:
    """The whole HTML document."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
