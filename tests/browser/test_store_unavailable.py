"""A PostgreSQL store stopped under a running app, in a real browser: the page says so in
words (no trace, no password), and shows the data again once the server is back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bench.browser import server, wait_healthy
from bsab_explorer.data.store import open_store
from bsab_explorer.ui.layout import STORE_UNAVAILABLE
from tests.browser.waits import wait_idle
from tests.pg import PASSWORD, Postgres, start_postgres

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Postgres]]:
    """The app on a seeded PostgreSQL store of its own (the test stops the server)."""
    postgres = start_postgres()
    try:
        url = postgres.new_database()
        open_store(url).close()
        monkeypatch.setenv("BSAB_EXPLORER_STORE", url)
        with server(ROOT / "app.py", None, log_dir=tmp_path) as (app_url, process, _):
            wait_healthy(app_url, process, seconds=120)
            yield app_url, postgres
    finally:
        postgres.stop()


def test_a_stopped_store_is_said_in_words_and_the_page_recovers(  # type: ignore[no-untyped-def]
    page, pg_app: tuple[str, Postgres]
) -> None:
    app_url, postgres = pg_app
    page.goto(f"{app_url}/survival")
    page.get_by_text(re.compile(r"^44 of 44 patients")).wait_for(timeout=120_000)
    postgres.halt()
    try:
        page.reload()
        page.get_by_text(STORE_UNAVAILABLE).wait_for(timeout=60_000)
        # Read once the run is over: what it draws after the message is on the page by then.
        wait_idle(page)
        content = page.content()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert "Traceback" not in content
        assert PASSWORD not in content
        expect(page.get_by_text(re.compile(r"^44 of 44 patients"))).to_have_count(0)
    finally:
        postgres.resume()
    # The next rerun of the same session (here: the sidebar's dataset switch, which stays
    # while the store is down) finds the store again.
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name="Both").click()
    page.get_by_text(re.compile(r"^44 of 44 patients")).wait_for(timeout=120_000)
    wait_idle(page)
    expect(page.get_by_text(STORE_UNAVAILABLE)).to_have_count(0)
    # And a new visitor too.
    page.reload()
    page.get_by_text(re.compile(r"^44 of 44 patients")).wait_for(timeout=120_000)
