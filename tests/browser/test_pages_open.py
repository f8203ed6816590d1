"""Every registered page opens by its URL in a browser, inside the shell, without errors."""

from __future__ import annotations

import pytest

from bsab_explorer.ui.pages import all_screens

DEEP_LINKED = [s for s in all_screens() if s is not all_screens()[0]]


@pytest.mark.parametrize("screen", DEEP_LINKED, ids=[s.url_path for s in DEEP_LINKED])
def test_page_opens_by_url(page, app_url: str, screen) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/{screen.url_path}")
    page.locator("h1").first.wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
    )
    assert page.get_by_test_id("stDialog").count() == 0
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stSidebar").get_by_text("Cohort filter").count() == 1
    active = page.get_by_test_id("stSidebarNavLink").filter(has_text=screen.title)
    assert active.count() == 1
