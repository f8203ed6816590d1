"""The mapping flow in a real browser at 1280 x 720: upload a workbook with dates, see the
proposal, pick the date order, preview, store, and see the pooled patients count grow. No
calendar date reaches the store, the server's log or any file the page offers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bench.browser import server, wait_healthy
from tests.browser.conftest import ROOT, _warm_up
from tests.browser.waits import wait_idle
from tests.data.convert.export import export_xlsx

SHOTS = Path("/tmp/shots")
#: Calendar dates as the forms the files of these tests write them.
DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}|\d{2}\.\d{2}\.\d{4}")
COUNT = re.compile(r"^(\d+) of (\d+) patients")
#: The time stamp the server's log starts each of its own lines with (the clock, not data).
LOG_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} ", re.MULTILINE)


def _pooled_patients(page, app_url: str) -> int:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/?data=Pooled")
    shown = page.get_by_text(re.compile(r"^\d+ of \d+ patients|^No data could be loaded"))
    shown.first.wait_for()
    wait_idle(page)
    match = COUNT.match(shown.first.inner_text())
    return int(match[2]) if match else 0


def _no_date(path: Path) -> None:
    text = path.read_bytes().decode("latin-1")
    if path.suffix == ".log":
        text = LOG_STAMP.sub("", text)
    assert not DATE.search(text), (path.name, DATE.search(text))


@pytest.fixture(scope="module")
def own_app(tmp_path_factory: pytest.TempPathFactory, browser: object):  # type: ignore[no-untyped-def]
    """The app on a store and a log of its own: the pooled count is this test's alone, and the
    files to search for dates are known."""
    from bsab_explorer.data.store import open_store

    store = tmp_path_factory.mktemp("mapping-store") / "browser.duckdb"
    logs = tmp_path_factory.mktemp("mapping-server")
    open_store(store).close()
    with server(ROOT / "app.py", store, log_dir=logs) as (url, process, _):
        wait_healthy(url, process, seconds=60)
        _warm_up(url, browser)
        yield url, store, logs


@pytest.fixture
def small_page(browser: object):  # type: ignore[no-untyped-def]
    """A page of the size of a laptop screen."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def test_map_a_workbook_with_dates_and_store_it(  # type: ignore[no-untyped-def]
    small_page, own_app, tmp_path: Path
) -> None:
    page = small_page
    app_url, store_file, log_dir = own_app
    SHOTS.mkdir(exist_ok=True)
    before = _pooled_patients(page, app_url)
    workbook = tmp_path / "centre.xlsx"
    workbook.write_bytes(export_xlsx())

    page.goto(f"{app_url}/upload")
    page.get_by_text("Stored batches").wait_for()
    # Each click waits for the run before it to end (a click during a run can be lost), and
    # the next step for what the run the click starts draws, then for that run's end.
    wait_idle(page)
    page.get_by_text("Our own export (map it to the contract)").click()
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Your export")
    uploader.wait_for()
    wait_idle(page)
    uploader.locator('input[type="file"]').set_input_files(str(workbook))
    question = page.get_by_text("How does the file write its dates?")
    question.wait_for()
    wait_idle(page)
    expect(page.get_by_text("4. Result")).to_have_count(0)
    page.get_by_text("1. Your columns").scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "convwire-1-proposal.png")

    question.scroll_into_view_if_needed()
    page.get_by_text("day first: dd/mm/yyyy").click()
    page.get_by_text("4. Result").wait_for()
    page.get_by_text("No problems found.").wait_for()
    wait_idle(page)
    page.get_by_text("4. Result").scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "convwire-2-result.png")

    # The mapping's button also reruns the page; the center's box is typed in whatever that
    # run's state, and the Store button it brings is waited for, then the end of its run.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download this mapping (TOML)").click()
    mapping = tmp_path / "mapping.toml"
    download.value.save_as(mapping)
    text = mapping.read_text(encoding="utf-8")
    assert 'origin = "date_debut_bsab"' in text
    assert 'format = "dd/mm/yyyy"' in text
    assert '"tec" = "teclistamab"' in text or 'tec = "teclistamab"' in text
    _no_date(mapping)

    center = page.get_by_role("textbox", name="Center pseudonym")
    center.fill("C41")
    center.press("Enter")
    store = page.get_by_role("button", name="Store 3 rows of patients as a new batch")
    store.wait_for()
    wait_idle(page)
    store.click()
    stored = page.get_by_text(
        re.compile(r"^Stored as batch \d+: 3 rows of patients for center C41")
    )
    stored.wait_for()
    wait_idle(page)
    stored.scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "convwire-3-stored.png")

    assert before == 0
    assert _pooled_patients(page, app_url) == 3
    page.screenshot(path=SHOTS / "convwire-4-pooled.png")

    # Every file the page offered, the store and the server's log hold no calendar date.
    page.goto(f"{app_url}/upload")
    page.get_by_text("Stored batches").wait_for()
    wait_idle(page)
    page.get_by_text("Nothing yet: a template").click()
    for name in ("Template (CSV)", "Template with a sheet of codes (XLSX)"):
        button = page.get_by_role("button", name=name)
        button.wait_for()
        wait_idle(page)
        with page.expect_download() as download:
            button.click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        _no_date(saved)
    stores = sorted(store_file.parent.glob(store_file.name + "*"))
    logs = sorted(log_dir.glob("*.log"))
    assert stores
    assert logs
    for path in [*stores, *logs]:
        _no_date(path)
