"""The Safety page in a browser at 1280×720: the adverse-event table and the CRS course of an
uploaded contract 1.1 dataset, readable without horizontal scrolling; and, on the bundled data,
the message naming what the CRS course needs.

Screenshots go to /tmp/shots/endwire-*.png for a person to look at (they assert nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bench.browser import server, wait_healthy
from tests.browser.waits import wait_idle
from tests.fixtures.endpoint_dataset import write_endpoint_dataset

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def endpoint_url(tmp_path_factory: pytest.TempPathFactory, browser: object) -> Iterator[str]:
    """The app on a store holding the bundled data and the 1.1 dataset uploaded by center E1."""
    from bsab_explorer.data.store import open_store

    folder = write_endpoint_dataset(tmp_path_factory.mktemp("endpoint-files"))
    store_path = tmp_path_factory.mktemp("endpoint-store") / "endpoints.duckdb"
    store = open_store(store_path)
    try:
        for table in ("patients", "responses", "adverse_events"):
            result = store.ingest_file(folder / f"{table}.csv", table, "E1")
            assert result.stored, result.report.to_text()
    finally:
        store.close()
    log_dir = tmp_path_factory.mktemp("endpoint-server")
    with server(ROOT / "app.py", store_path, log_dir=log_dir) as (url, process, _):
        wait_healthy(url, process, seconds=60)
        warm = browser.new_page()  # type: ignore[attr-defined]
        try:
            warm.goto(url)
            warm.get_by_text("patients").first.wait_for(timeout=180_000)
        finally:
            warm.close()
        yield url


@pytest.fixture
def small_page(browser: object) -> Iterator[object]:
    """A laptop-sized page (1280×720)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def test_safety_page_shows_the_uploaded_safety_data(small_page, endpoint_url: str) -> None:  # type: ignore[no-untyped-def]
    page = small_page
    page.goto(f"{endpoint_url}/safety?data=Pooled")
    page.get_by_role("heading", name="CRS course").wait_for()
    wait_idle(page)
    main = page.get_by_test_id("stMain")
    tables = main.get_by_test_id("stTable")
    tables.nth(1).wait_for()
    expect(tables).to_have_count(2)
    events = tables.nth(0)
    expect(events.get_by_text("All patients (n = 19): any grade")).to_have_count(1)
    assert events.get_by_role("row").filter(has_text="CRS").first.inner_text().split() == [
        "CRS", "4", "(21", "%)", "1", "(5.3", "%)",
    ]  # fmt: skip
    course = tables.nth(1)
    expect(course.get_by_text("Step-up dose 1")).to_have_count(1)
    recurrent = main.get_by_text("More than one CRS episode: 2/4 (50 %; 95 % CI 7–93 %)")
    expect(recurrent).to_have_count(1)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # The table fits the page: nothing to scroll sideways at 1280 px.
    overflow = events.evaluate("e => e.scrollWidth - e.clientWidth")
    assert overflow <= 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "endwire-safety.png"), full_page=True)
    course.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "endwire-safety-crs.png"))


def test_safety_page_on_the_bundled_data_says_what_is_missing(
    small_page, endpoint_url: str
) -> None:  # type: ignore[no-untyped-def]
    page = small_page
    page.goto(f"{endpoint_url}/safety")
    page.get_by_role("heading", name="CRS course").wait_for()
    wait_idle(page)
    main = page.get_by_test_id("stMain")
    main.get_by_test_id("stTable").first.wait_for()
    main.get_by_test_id("stAlert").first.wait_for()
    expect(main.get_by_text("28 (64 %)")).to_have_count(1)
    expect(main.get_by_text("The CRS course needs the adverse_events table")).to_have_count(1)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "endwire-safety-bundled.png"), full_page=True)
    main.get_by_text("The CRS course needs the adverse_events table").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "endwire-safety-bundled-crs.png"))


def test_response_page_draws_the_duration_of_response(small_page, endpoint_url: str) -> None:  # type: ignore[no-untyped-def]
    page = small_page
    page.goto(f"{endpoint_url}/response?data=Pooled&by=emd")
    heading = page.get_by_role("heading", name="Duration of response")
    heading.wait_for()
    wait_idle(page)
    main = page.get_by_test_id("stMain")
    table = main.get_by_test_id("stTable").first
    table.wait_for()
    assert table.get_by_role("row").filter(has_text="No").first.inner_text().split() == [
        "No", "8", "6", "5.4", "(3.3–NR)",
    ]  # fmt: skip
    charts = main.locator("[data-testid=stVegaLiteChart]")
    # The response figure split by EMD (its title and legend, then one view per group: yes,
    # no, not recorded), then the duration of response.
    expect(charts).to_have_count(1 + 3 + 1)
    charts.nth(4).scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "endwire-response-dor.png"))
