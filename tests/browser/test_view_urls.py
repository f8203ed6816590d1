"""View options in a real browser: a link with options opens them, a changed option is written
to the address bar under its command-line flag, and an old link is rewritten to the flags."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.browser.waits import wait_idle


def _query(page) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return parse_qs(urlparse(page.url).query)


def _toggle(page, label: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("switch", name=label)


def test_survival_options_open_from_the_link_and_follow_the_widgets(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/survival?endpoint=os&bands=false&risk-table=full")
    page.locator("svg.marks").first.wait_for()
    wait_idle(page)
    bands, risk = _toggle(page, "Confidence bands"), _toggle(page, "Events and censored")
    expect(bands).not_to_be_checked()
    expect(risk).to_be_checked()
    query = _query(page)
    assert query["bands"] == ["false"]
    assert query["risk-table"] == ["full"]
    assert query["endpoint"] == ["os"]
    # The Reproduce command names the same options as the link.
    page.get_by_role("button", name=re.compile("Reproduce")).first.click()
    page.get_by_text(re.compile(r"--bands false --risk-table full")).first.wait_for()
    page.keyboard.press("Escape")
    # Back to the default: the option leaves the link. The click waits for the page's run to
    # end: a click during a rerun can be lost when the widgets are drawn again.
    wait_idle(page)
    risk.click(force=True)
    page.wait_for_url(lambda url: "risk-table" not in url)
    # The address changes inside the rerun; until that run ends the old toggle may still be
    # on the page beside the new one, so the state is read once the run is over.
    wait_idle(page)
    expect(risk).to_have_count(1)
    expect(risk).not_to_be_checked()
    assert _query(page)["bands"] == ["false"]


def test_an_old_link_is_rewritten_to_the_flags(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/survival?ci_bands=false&risk_extra=true")
    page.locator("svg.marks").first.wait_for()
    page.wait_for_url(re.compile(r"bands=false"))
    query = _query(page)
    assert query["bands"] == ["false"]
    assert query["risk-table"] == ["full"]
    assert "ci_bands" not in query
    assert "risk_extra" not in query
    wait_idle(page)
    expect(_toggle(page, "Confidence bands")).not_to_be_checked()


def test_audit_filters_live_in_the_link(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/audit?study=recurrent_crs&status=reproduced")
    page.get_by_test_id("stDataFrame").first.wait_for()
    wait_idle(page)
    status = page.get_by_test_id("stMultiSelect")
    expect(status.get_by_text("reproduced", exact=True)).to_have_count(1)
    expect(status.get_by_text("differs", exact=True)).to_have_count(0)
    query = _query(page)
    assert query["study"] == ["recurrent_crs"]
    assert query["status"] == ["reproduced"]
