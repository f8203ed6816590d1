"""Browser tests: a real Streamlit server on a free port, driven by Playwright in Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"streamlit did not answer on {url} within {seconds} s")


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

    port = _free_port()
    store = tmp_path_factory.mktemp("store") / "browser.duckdb"
    # Create and seed the store before the server starts, so the first page is not kept waiting.
    open_store(store).close()
    env = {**os.environ, "BSAB_EXPLORER_STORE": str(store)}
    log = (tmp_path_factory.mktemp("server") / "streamlit.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        _warm_up(url, browser)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Chromium: Debian's /usr/bin/chromium when present, else Playwright's own build."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        executable = str(SYSTEM_CHROMIUM) if SYSTEM_CHROMIUM.exists() else None
        try:
            launched = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_FLAGS, headless=True
            )
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
    page.set_default_timeout(30_000)
    yield page
    context.close()
