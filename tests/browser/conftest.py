"""Browser tests: a real Streamlit server on a free port, driven by Playwright in Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bench.browser import launch_browser, server, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
#: How long a page step may take (ms): a page's run on a CI machine two to three times slower
#: than a laptop, with other jobs beside it. Steps wait on conditions; this only bounds them.
STEP_MS = 60_000

# `expect` retries until its own timeout (5 s by default), not the page's: the same bound.
expect.set_options(timeout=STEP_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


def _warm_up(url: str, browser: object) -> None:
    """Load the app once (imports, caches), so every test measures the app, not its start."""
    page = browser.new_page()  # type: ignore[attr-defined]
    try:
        page.goto(url)
        page.get_by_text("patients").first.wait_for(timeout=180_000)
    finally:
        page.close()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory, browser: object) -> Iterator[str]:
    """Start the app on the bundled data, with a store of its own, on a free port."""
    from bsab_explorer.data.store import open_store

    store = tmp_path_factory.mktemp("store") / "browser.duckdb"
    # Create and seed the store before the server starts, so the first page is not kept waiting.
    open_store(store).close()
    with server(ROOT / "app.py", store, log_dir=tmp_path_factory.mktemp("server")) as (
        url,
        process,
        _,
    ):
        wait_healthy(url, process, seconds=60)
        _warm_up(url, browser)
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Chromium: Debian's /usr/bin/chromium when present, else Playwright's own build."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            launched = launch_browser(playwright)
        except Error as error:
            hint = (
                "No Chromium for the browser tests. Install Debian's: "
                "`sudo apt-get install chromium` (provides /usr/bin/chromium), "
                "or Playwright's: `.venv/bin/playwright install chromium`."
            )
            which = shutil.which("chromium") or "none on PATH"
            pytest.fail(f"{hint}\nLaunch error: {error}\nchromium: {which}", pytrace=False)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser page, large enough for the sidebar and a chart."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    yield page
    context.close()
