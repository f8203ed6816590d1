"""Views recompute live in the browser: a filter change moves the median and the bars; a case
opened by URL shows its episodes."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from bsab_explorer.analyses.recurrence import analyse_recurrence
from bsab_explorer.analyses.response import response_by_timepoint
from bsab_explorer.analyses.survival import summarise_survival
from bsab_explorer.charts.response import response_chart_data
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.filters import Cohort, CohortFilter, select_cohort
from tests.browser.waits import wait_idle


def _cohort(text: str) -> Cohort:
    dataset = load_dataset().dataset
    assert dataset is not None
    return select_cohort(dataset, CohortFilter.parse(text))


def _click_emd_yes(page) -> None:  # type: ignore[no-untyped-def]
    # Once the page's run is over: a click during a run can be lost when the radio is redrawn.
    wait_idle(page)
    group = page.get_by_test_id("stSidebar").get_by_role(
        "radiogroup", name="Extramedullary disease (EMD)"
    )
    group.get_by_role("radio", name="Yes").click()


def _median_cell(page) -> str:  # type: ignore[no-untyped-def]
    table = page.get_by_test_id("stTable").first
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    column = next(i for i, h in enumerate(headers) if h.startswith("Median"))
    row = table.locator("tbody tr", has_text="All patients").first
    cells = row.locator("th, td").all_inner_texts()
    return cells[column].strip()


def test_filter_change_moves_the_median(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    everyone = summarise_survival(_cohort("").patients, "pfs").groups[0].median.text(1)
    with_emd = summarise_survival(_cohort("emd=true").patients, "pfs").groups[0].median.text(1)
    assert everyone != with_emd
    page.goto(f"{app_url}/survival?endpoint=pfs")
    page.get_by_test_id("stTable").first.wait_for()
    wait_idle(page)
    assert _median_cell(page) == everyone
    _click_emd_yes(page)
    n = _cohort("emd=true").n
    page.get_by_text(re.compile(rf"^{n} of 44 patients")).first.wait_for()
    page.wait_for_function(
        "([text]) => [...document.querySelectorAll('[data-testid=stTable] td')]"
        ".some(td => td.innerText === text)",
        arg=[with_emd],
    )
    # The table of the last run is read, once the run is over and no earlier table is left.
    wait_idle(page)
    assert _median_cell(page) == with_emd


def _bars(text: str) -> int:
    cohort = _cohort(text)
    summary = response_by_timepoint(cohort.patients, cohort.responses, by="emd")
    return sum(1 for row in response_chart_data(summary) if row.get("kind") == "bar")


def test_filter_change_changes_the_bars(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    before, after = _bars(""), _bars("emd=true")
    assert after < before
    page.goto(f"{app_url}/response?by=emd")
    bars = page.locator("svg.marks g.mark-rect.role-mark path")
    page.wait_for_function(
        "([n]) => document.querySelectorAll('svg.marks g.mark-rect.role-mark path').length >= n",
        arg=[before],
    )
    wait_idle(page)
    expect(bars).to_have_count(before)
    _click_emd_yes(page)
    page.wait_for_function(
        "([n]) => document.querySelectorAll('svg.marks g.mark-rect.role-mark path').length === n",
        arg=[after],
    )
    wait_idle(page)
    expect(bars).to_have_count(after)


def test_case_opened_by_url_shows_its_episodes(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    dataset = load_dataset().dataset
    assert dataset is not None
    row = analyse_recurrence(dataset.table("cases"), dataset.table("events")).row(1, named=True)
    assert row["case_id"] == "RC2"
    page.goto(f"{app_url}/timeline?case=RC2")
    expected = f"CRS episodes: {row['n_episodes']} ({row['n_recurrent']} recurrent)"
    page.get_by_text(expected).wait_for()
    wait_idle(page)
    expect(page.get_by_text(f"Pattern: {row['pattern']}")).to_have_count(1)
    expect(page.locator("svg.marks")).to_have_count(1)
