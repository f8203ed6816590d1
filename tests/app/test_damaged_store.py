"""A damaged store file under AppTest: the pages say so and show the bundled data instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT

FALLBACK = "The data store is damaged: the bundled data are shown from the package."
NO_UPLOADS = "The data store is damaged: nothing can be stored or retracted."


@pytest.fixture
def damaged_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A text file where the store should be (the folder's name holds markdown on purpose)."""
    folder = tmp_path / "store_*bold*_[link](x)"
    folder.mkdir()
    path = folder / "damaged.duckdb"
    path.write_text("patient_id,sex\nP1,F\n", encoding="utf-8")
    monkeypatch.setenv("BSAB_EXPLORER_STORE", str(path))
    return path


def _says_what_is_wrong(app: AppTest, headline: str, path: Path) -> None:
    assert [e.value for e in app.error] == [headline]
    # The file's name is shown as code, never as markdown.
    (message,) = [c.value for c in app.code]
    assert message.startswith(
        f"The store {path.resolve()} is damaged: the file is not a DuckDB database"
    )
    assert "Restore it from your backup" in message


def test_pages_show_the_bundled_data_and_name_the_damaged_store(damaged_store: Path) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    _says_what_is_wrong(app, FALLBACK, damaged_store)
    assert app.title[0].value == "Debulking cohort"
    assert "**44 of 44 patients** · no filter" in "\n".join(m.value for m in app.markdown)
    assert len(app.dataframe[0].value) == 44
    # Pooled uploads live in the store: the switch still shows the bundled data, and says why.
    app.selectbox(key="data").set_value("Pooled").run()
    assert not app.exception
    _says_what_is_wrong(app, FALLBACK, damaged_store)
    assert len(app.dataframe[0].value) == 44
    assert damaged_store.read_text(encoding="utf-8") == "patient_id,sex\nP1,F\n"


def test_the_upload_page_stores_nothing_in_a_damaged_store(damaged_store: Path) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("pages/upload.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    _says_what_is_wrong(app, NO_UPLOADS, damaged_store)
    assert not app.button
    assert damaged_store.read_text(encoding="utf-8") == "patient_id,sex\nP1,F\n"
    assert sorted(p.name for p in damaged_store.parent.iterdir()) == ["damaged.duckdb"]
