"""The loading progress bar: shown with a fraction and words while the data load, then removed."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from bsab_explorer.data.loading import TABLE_ORDER
from bsab_explorer.ui.progress import ProgressBar
from bsab_explorer.ui.text import escape_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_loading_shows_how_far_it_is_then_removes_the_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store of its own and no prepared data kept from other tests: this run loads it all.
    monkeypatch.setenv("BSAB_EXPLORER_STORE", str(tmp_path / "store.duckdb"))
    st.cache_resource.clear()
    shown: list[tuple[float, str]] = []
    draw = ProgressBar.__call__

    def record(bar: ProgressBar, fraction: float, words: str) -> None:
        shown.append((fraction, words))
        draw(bar, fraction, words)

    monkeypatch.setattr(ProgressBar, "__call__", record)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]

    words = [w for _, w in shown]
    reads = [f"Reading the store: {t} ({n} of 5)" for n, t in enumerate(TABLE_ORDER, start=1)]
    assert words[:5] == reads
    assert words[5:] == [
        "Fingerprinting the data",
        "Data loaded",
        "Preparing the pages: the patient of each response",
        "Preparing the pages: responses by timepoint",
        "Preparing the pages: patients in pseudonym order",
        "Preparing the pages: done",
    ]
    fractions = [f for f, _ in shown]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    # The page is drawn and the bar is gone.
    assert app.get("progress") == []
    assert [t.value for t in app.title] == ["Debulking cohort"]

    # A rerun finds the data loaded: no bar at all.
    shown.clear()
    app.run()
    assert shown == []
    assert app.get("progress") == []


def _bar_left_on_the_page() -> None:
    from bsab_explorer.ui.progress import ProgressBar

    bar = ProgressBar()
    bar(0.25, "Reading the files: [patients](https://x.test) **1** of 2")
    bar(0.5, "Reading the files: [responses](https://x.test) **2** of 2")


def test_the_bar_shows_the_fraction_and_escaped_words() -> None:
    app = AppTest.from_function(_bar_left_on_the_page, default_timeout=60).run()
    (bar,) = app.get("progress")
    assert bar.proto.value == 50
    # Words may name a file: the bar renders them as exactly these characters, never as a link.
    assert bar.proto.text == escape_markdown(
        "Reading the files: [responses](https://x.test) **2** of 2"
    )


def _bar_in_a_block() -> None:
    import streamlit as st

    from bsab_explorer.ui.progress import progress_bar

    with progress_bar() as bar:
        bar(1.5, "Preparing the pages: done")
    st.write("after")


def test_the_bar_is_removed_when_its_block_ends() -> None:
    app = AppTest.from_function(_bar_in_a_block, default_timeout=60).run()
    assert app.get("progress") == []
    assert app.markdown[0].value == "after"
