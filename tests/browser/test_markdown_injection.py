"""Markdown injection, tried in a real browser from each source of untrusted text: a stored
cell, the `?filter=` of a link and an uploaded file's name. Links, images, emphasis and code
spans in them show as their characters; no element is made of them and no request leaves the
server's host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from bench.browser import server, wait_healthy
from tests.browser.waits import wait_idle
from tests.hostile_text import CASES, CODE, EMPHASIS, EVENTS, IMAGE, LINK, STRONG

ROOT = Path(__file__).resolve().parents[2]

#: Elements the payloads would make, each recognisable by the payload's own text.
MADE = (
    "a:has-text('Re-enter'), a[href*='evil'], img[src*='evil'], img[alt='tracker'], "
    "em:has-text('emtoken'), strong:has-text('strongtoken'), code:has-text('codetoken'), "
    "b:has-text('strongtoken'), i:has-text('emtoken')"
)


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory, browser: object) -> Iterator[str]:
    """The app on a store holding a hostile cases.csv and events.csv, stored as any upload is."""
    from bsab_explorer.data.store import open_store

    store_path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    store = open_store(store_path)
    try:
        for table, text in (("cases", CASES), ("events", EVENTS)):
            result = store.ingest_bytes(text.encode(), f"{table}.csv", table, "C77")
            assert result.stored, result.report.to_text()
    finally:
        store.close()
    log_dir = tmp_path_factory.mktemp("hostile-server")
    with server(ROOT / "app.py", store_path, log_dir=log_dir) as (url, process, _):
        wait_healthy(url, process, seconds=60)
        warm = browser.new_page()  # type: ignore[attr-defined]
        try:  # the first page pays for the imports and caches
            warm.goto(url)
            warm.get_by_text("patients").first.wait_for(timeout=180_000)
        finally:
            warm.close()
        yield url


def _record_requests(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Every request the page makes to another host (answered with an error, never sent)."""
    outside: list[str] = []

    def route(route) -> None:  # type: ignore[no-untyped-def]
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return outside


def _made(page, more: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    """Elements made of a payload, each with the start of its parent's HTML (to say where)."""
    return list(
        page.locator(MADE + more).evaluate_all(
            "found => found.map(e => e.parentElement.outerHTML.slice(0, 300))"
        )
    )


def _visible_text(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.evaluate("document.body.innerText")).replace("\u200b", "")


def test_a_stored_cell_shows_as_text(page, hostile_url: str) -> None:  # type: ignore[no-untyped-def]
    outside = _record_requests(page)
    # Pooled cases are named by center and case.
    page.goto(f"{hostile_url}/timeline?data=Pooled&case={quote('C77:X1')}")
    page.get_by_text(re.compile(r"^Case C77:X1$")).wait_for()
    page.get_by_text(re.compile(r"^Premedication")).first.wait_for()
    # Read once the run is over: every cell drawn, and no element of it still to come.
    wait_idle(page)
    shown = _visible_text(page)
    for payload in (LINK, IMAGE, EMPHASIS, STRONG, CODE, "[p]: //evil.test/login"):
        assert payload in shown, payload
    assert _made(page) == []
    assert outside == []


def test_a_stored_cell_shows_as_text_in_a_static_table(page, hostile_url: str) -> None:  # type: ignore[no-untyped-def]
    """On a projector every table is a static table: st.table renders markdown in its cells and
    writes them from a styler (`ui.text.escape_table`); the payloads still show as text."""
    outside = _record_requests(page)
    page.goto(f"{hostile_url}/cases?data=Pooled&present=true")
    page.get_by_test_id("stTable").nth(1).wait_for()
    wait_idle(page)
    shown = _visible_text(page)
    for payload in (LINK, IMAGE, EMPHASIS, STRONG, CODE, "[p]: //evil.test/login"):
        assert payload in shown, payload
    assert _made(page) == []
    assert outside == []


@pytest.mark.parametrize(
    ("clause", "where"),
    [
        # A valid clause: the header and the filter's description show it.
        ("bsab", "header"),
        # An invalid one: the sidebar's error quotes it.
        ("emd", "sidebar"),
    ],
)
def test_the_filter_in_the_link_shows_as_text(
    page,  # type: ignore[no-untyped-def]
    hostile_url: str,
    clause: str,
    where: str,
) -> None:
    outside = _record_requests(page)
    value = (
        f"[Session expired: sign in again](http://evil.test/login) ![x](http://evil.test/p.png) "
        f"{EMPHASIS} {STRONG} {CODE}"
    )
    page.goto(f"{hostile_url}/survival?filter={quote(f'{clause}={value}')}")
    if where == "header":
        page.get_by_text(re.compile(r"^0 of 44 patients")).wait_for()
    else:
        # Said twice: under the sidebar's box and in the main area.
        page.get_by_text(re.compile(r"^Filter not applied")).first.wait_for()
    wait_idle(page)
    shown = _visible_text(page).lower()  # the filter writes codes in lower case
    for payload in (
        "[session expired: sign in again](http://evil.test/login)",
        EMPHASIS,
        STRONG,
        CODE,
    ):
        assert payload in shown, payload
    made = page.locator(MADE + ", a:has-text('Session expired')")
    assert (
        made.evaluate_all(
            "es => es.map(e => e.tagName + ' < ' + e.parentElement.outerHTML.slice(0, 300))"
        )
        == []
    )
    assert outside == []


def test_an_uploaded_file_name_shows_as_text(page, hostile_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outside = _record_requests(page)
    name = f"cases [Re-enter your password](evil.test) ![x](evil.test) {EMPHASIS} {CODE}.csv"
    path = tmp_path / name
    path.write_text(CASES.replace("X1", "X9"), encoding="utf-8")
    page.goto(f"{hostile_url}/upload")
    page.get_by_text("Stored batches").wait_for()
    wait_idle(page)
    page.locator('input[type="file"]').set_input_files(str(path))
    box = page.get_by_role("textbox", name="Center pseudonym")
    box.fill("C77")
    box.press("Enter")
    page.get_by_text("No problems found.").wait_for()
    # The button is clicked once drawn for good: a click during the run can be lost.
    wait_idle(page)
    page.get_by_role("button", name="Store 1 rows as a new batch").click()
    page.get_by_text(re.compile(r"^Stored as batch \d+: 1 rows of cases for center C77")).wait_for()
    wait_idle(page)
    assert name in _visible_text(page)
    assert _made(page) == []
    assert outside == []
