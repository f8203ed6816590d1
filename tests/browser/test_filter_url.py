"""The shared filter in a real browser: it changes the filtered N and the URL, and a copied
URL reopens the same view."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from bsab_explorer.data.loading import load_dataset
from bsab_explorer.filters import CohortFilter, select_cohort
from tests.browser.waits import wait_idle


def _expected_n(filter_text: str) -> tuple[int, int]:
    dataset = load_dataset().dataset
    assert dataset is not None
    cohort = select_cohort(dataset, CohortFilter.parse(filter_text))
    return cohort.n, cohort.total


def _wait_for_count(page, n: int, total: int) -> None:  # type: ignore[no-untyped-def]
    page.get_by_text(re.compile(rf"^{n} of {total} patients")).first.wait_for()


def test_sidebar_filter_changes_n_and_url(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url)
    total_n, total = _expected_n("")
    assert total_n == total == 44
    _wait_for_count(page, total, total)
    # The radio is clicked once the first run is over: a click during a run can be lost.
    wait_idle(page)
    assert "Reconstructed from published aggregates, not real patients" in page.content()

    sidebar = page.get_by_test_id("stSidebar")
    emd = sidebar.get_by_role("radiogroup", name="Extramedullary disease (EMD)")
    emd.get_by_role("radio", name="Yes").click()
    n, _ = _expected_n("emd=true")
    assert 0 < n < total
    _wait_for_count(page, n, total)
    page.wait_for_url(re.compile(r"filter="))
    query = parse_qs(urlparse(page.url).query)
    assert query["filter"] == ["emd=true"]


def test_copied_url_reopens_the_same_view(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    text = "emd=true;bsab=teclistamab"
    n, total = _expected_n(text)
    page.goto(f"{app_url}/?filter=emd%3Dtrue%3Bbsab%3Dteclistamab")
    _wait_for_count(page, n, total)
    wait_idle(page)
    box = page.get_by_test_id("stSidebar").get_by_role("textbox", name="Filter")
    # Either order of the clauses: the box shows the link's text or its normal form.
    either = "|".join(re.escape(shown) for shown in ("bsab=teclistamab;emd=true", text))
    expect(box).to_have_value(re.compile(rf"^({either})$"))
    assert "Bispecific antibody is teclistamab" in page.content()
