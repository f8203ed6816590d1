"""Drawing a table the same way on every page: a data grid on a screen, a static table on a
projector.

Streamlit's data grid draws its cells on a canvas, which the page's CSS cannot enlarge: in
presentation mode a table is drawn as a static table instead, whose type the projector layout
sets (`ui.layout`), whole, without a scroll box. The grid cuts a long cell at the column's edge
unless its rows are taller than 4 rem (64 px): only then does it wrap the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
import streamlit as st

from bsab_explorer.ui.layout import presentation_mode
from bsab_explorer.ui.text import escape_markdown, escape_table

#: Most rows of a static table: a projector shows a few dozen legibly, and a registry's million
#: rows in one page of HTML would stall the browser of everyone watching.
STATIC_ROWS = 100
#: Row height at which the data grid wraps long cells (it does above 4 rem, 64 px): three lines.
WRAP_ROW_HEIGHT = 72


def show_table(
    frame: pl.DataFrame,
    *,
    wrap: bool = False,
    whole: bool = False,
    static: bool = False,
    height: int | None = None,
    column_config: Mapping[str, Any] | None = None,
) -> None:
    """Draw `frame` without its index: long cells wrapped (`wrap`), every row without a scroll
    box (`whole`) or in a box `height` pixels high; a static table that fits the page's width
    (`static`, for a few rows of long text), and in presentation mode, large."""
    if static or presentation_mode():
        shown = frame.head(STATIC_ROWS)
        # st.table renders markdown in every cell: the frame is escaped first. Escaping drops
        # leading spaces (they would open a code block): an invisible character before an
        # indent keeps it.
        indented = shown.with_columns(
            pl.col(name).str.replace(r"^(\x{2003}+)", "\u200b$1")
            for name, dtype in shown.schema.items()
            if dtype == pl.String
        )
        st.table(escape_table(indented), hide_index=True)
        if frame.height > STATIC_ROWS:
            elsewhere = " Leave presentation mode to list them all." if not static else ""
            st.caption(
                escape_markdown(
                    f"The first {STATIC_ROWS} of {frame.height:,} rows are shown.{elsewhere} "
                    "The table's CSV download has every row."
                )
            )
        return
    st.dataframe(
        frame,
        hide_index=True,
        column_config=dict(column_config) if column_config else None,
        row_height=WRAP_ROW_HEIGHT if wrap else None,
        height="content" if whole else height or "auto",
    )
