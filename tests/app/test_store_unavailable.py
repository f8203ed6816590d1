"""A PostgreSQL store that cannot be reached, under AppTest: every page says so in words (no
trace, no password), and shows the data again on the next rerun once the server is back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from bsab_explorer.data.store import open_store
from bsab_explorer.ui.layout import STORE_UNAVAILABLE
from bsab_explorer.ui.pages import all_screens
from tests.app.conftest import ROOT
from tests.pg import PASSWORD, Postgres, start_postgres

DATA_SHOWN = "**44 of 44 patients** · no filter"


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    """A PostgreSQL of its own: these tests stop it."""
    started = start_postgres()
    yield started
    started.stop()


@pytest.fixture
def store_url(server: Postgres, monkeypatch: pytest.MonkeyPatch) -> str:
    """A seeded PostgreSQL store, configured for the app."""
    url = server.new_database()
    open_store(url).close()
    monkeypatch.setenv("BSAB_EXPLORER_STORE", url)
    return url


def _texts(app: AppTest) -> str:
    shown = [*app.error, *app.markdown, *app.code, *app.caption, *app.warning, *app.info]
    return "\n".join(str(element.value) for element in shown)


def _says_unavailable(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert [e.value for e in app.error] == [STORE_UNAVAILABLE]
    assert DATA_SHOWN not in _texts(app)
    assert PASSWORD not in _texts(app)
    assert "postgresql://" not in _texts(app)


def test_every_page_says_the_store_is_unreachable_then_recovers(
    server: Postgres, store_url: str
) -> None:
    server.halt()
    try:
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        app.run()
        _says_unavailable(app)
        for screen in all_screens():
            app.switch_page(f"pages/{screen.file}")
            app.run()
            _says_unavailable(app)
    finally:
        server.resume()
    app.switch_page("pages/cohort.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error
    assert DATA_SHOWN in _texts(app)


def test_a_server_stopped_mid_session_is_said_and_recovered_from(
    server: Postgres, store_url: str
) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert DATA_SHOWN in _texts(app)
    server.halt()
    try:
        app.run()
        _says_unavailable(app)
        app.run()  # still down: still said, the same way
        _says_unavailable(app)
    finally:
        server.resume()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error
    assert DATA_SHOWN in _texts(app)
