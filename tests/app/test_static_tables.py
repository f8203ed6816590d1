"""Static tables (`show_table(static=True)` and every table in presentation mode): decimal
numbers written with the places their column needs, yes/no values as yes and no, missing
values as a dash, while the values stay what they are; and no more rows than a projector can
show, the rest said in words."""

from __future__ import annotations

import pyarrow as pa
from streamlit.testing.v1 import AppTest

from bsab_explorer.ui.tables import STATIC_ROWS


def _listing() -> None:
    import polars as pl

    from bsab_explorer.ui.tables import show_table

    rows = 250
    show_table(
        pl.DataFrame(
            {
                "Patient": [f"P{i:03d}" for i in range(rows)],
                "PFS (months)": [8.6 if i % 2 else 186.0 for i in range(rows)],
                "HR": [0.123456] * rows,
                "HRCA": [(True, False, None)[i % 3] for i in range(rows)],
                "Center": [None if i % 2 else "C01" for i in range(rows)],
                "OS (months)": [None if i % 2 else 1.5 for i in range(rows)],
                "Events": [None if i % 2 else 22 for i in range(rows)],
            }
        ),
        static=True,
    )


def _display_values(app: AppTest) -> list[list[str]]:
    """The cells of the page's first static table as the browser writes them."""
    styler = app.table[0].proto.arrow_data.styler
    table = pa.ipc.open_stream(styler.display_values).read_all()
    return [[str(v) for v in row.values()] for row in table.to_pylist()]


def test_a_static_table_writes_decimals_alike_yes_no_and_a_dash_for_missing() -> None:
    app = AppTest.from_function(_listing, default_timeout=60).run()
    assert not app.exception
    shown = app.table[0].value
    # The values themselves are the numbers, to the last digit.
    assert list(shown["PFS (months)"][:2]) == [186.0, 8.6]
    assert list(shown["HR"][:1]) == [0.123456]
    written = _display_values(app)
    # Each decimal column with the places its most precise value needs (up to four).
    assert written[0][1:] == ["186.0", "0.1235", "yes", "C01", "1.5", "22"]
    # A missing value reads as the report writes it, never "None" or "nan".
    assert written[1][1:] == ["8.6", "0.1235", "no", "—", "—", "—"]
    assert written[2][3] == "—"
    assert list(shown["HRCA"][:3]) == [True, False, None]
    assert not any("8.60" in c or "186.00" in c for row in written for c in row)


def test_a_static_table_shows_at_most_a_projector_of_rows_and_says_how_many_more() -> None:
    app = AppTest.from_function(_listing, default_timeout=60).run()
    assert len(app.table[0].value) == STATIC_ROWS
    assert [c.value for c in app.caption] == [
        f"The first {STATIC_ROWS} of 250 rows are shown. The table's CSV download has every row."
    ]
