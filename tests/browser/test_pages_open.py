"""Every registered page opens by its URL in a browser, inside the shell, without errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bsab_explorer.ui.pages import all_screens
from tests.browser.waits import wait_idle

DEEP_LINKED = [s for s in all_screens() if s is not all_screens()[0]]


def _open(page, url: str) -> None:  # type: ignore[no-untyped-def]
    """Open `url` and wait until its page is drawn and its script has ended."""
    page.goto(url)
    page.locator("h1").first.wait_for()
    wait_idle(page)


@pytest.mark.parametrize("screen", DEEP_LINKED, ids=[s.url_path for s in DEEP_LINKED])
def test_page_opens_by_url(page, app_url: str, screen) -> None:  # type: ignore[no-untyped-def]
    _open(page, f"{app_url}/{screen.url_path}")
    expect(page.get_by_test_id("stDialog")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stSidebar").get_by_text("Cohort filter")).to_have_count(1)
    active = page.get_by_test_id("stSidebarNavLink").filter(has_text=screen.title)
    expect(active).to_have_count(1)


def test_no_page_asks_anything_of_another_host(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    # A clinical deployment may have no way out, and must not tell anyone else who looks at what:
    # the page icon used to be a Material icon, which the browser fetched from a font CDN on every
    # rerun. Every page is opened, then the filter is changed (a rerun sets the icon again).
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith((app_url, "data:")) else elsewhere.append(request.url)
        ),
    )
    for screen in all_screens():
        _open(page, f"{app_url}/{screen.url_path}")
    _open(page, f"{app_url}/survival")
    box = page.get_by_test_id("stSidebar").get_by_role("textbox", name="Filter")
    box.fill("emd=true")
    box.press("Enter")
    page.get_by_test_id("stMain").get_by_text("emd=true").first.wait_for()  # the rerun's header
    wait_idle(page)
    # Two frames drawn after the run (styles applied, so every font the page uses asked for),
    # then those fonts loaded or failed: a request for them has been made by then.
    page.evaluate(
        "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
        ".then(() => document.fonts.ready).then(() => document.fonts.status)"
    )
    # The page's icon, set again by the rerun, is one the app serves.
    icons = page.eval_on_selector_all("link[rel~=icon]", "links => links.map(l => l.href)")
    assert all(icon.startswith((app_url, "data:")) for icon in icons), icons
    assert elsewhere == []
