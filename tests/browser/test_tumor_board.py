"""Ready for the tumour board: on a projector, a laptop and a desktop screen the split response
figure is seen whole in presentation mode, Table 1 shows every row in large type, and a filter
that does not parse is said in the main area (the sidebar is hidden there).

Each view is saved as a screenshot in /tmp/shots (tumorboard-<view>-<size>.png) for a person to
look at: a bounding box says the figure fits, not that it reads well.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from bsab_explorer.analyses.table1 import build_table1
from bsab_explorer.data.loading import load_dataset
from tests.browser.waits import wait_idle, wait_still

SIZES = [(1280, 720), (1366, 768), (1920, 1080)]
SHOTS = Path("/tmp/shots")
DRAWN = "[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg.marks"


def _open(page, url: str, *, ready: str = DRAWN) -> None:  # type: ignore[no-untyped-def]
    """Open `url` and wait for the element `ready` names (a deep link may run twice: the first
    run leaves Streamlit's legacy pages mode)."""
    page.goto(url)
    page.locator("h1").first.wait_for()
    page.locator(ready).first.wait_for()
    wait_idle(page)
    # A chart redraws once at the container's width: boxes are read once they keep still.
    wait_still(page, f"{ready}, {DRAWN}")


def _shot(page, name: str, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"tumorboard-{name}-{width}x{height}.png"))


@pytest.fixture(params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def screen(request: pytest.FixtureRequest, browser: object):  # type: ignore[no-untyped-def]
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page, width, height
    context.close()


def test_split_response_figure_is_seen_whole_in_presentation_mode(screen, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page, width, height = screen
    _open(page, f"{app_url}/response?by=emd&present=true")
    _shot(page, "response-by-emd-present", width, height)
    # The figure's title and legend, then one view per group (EMD yes, EMD no), side by side.
    heading, yes, no = (page.locator(DRAWN).nth(i).bounding_box() for i in range(3))
    for figure in (heading, yes, no):
        assert figure is not None
        assert figure["x"] >= 0, figure
        assert figure["x"] + figure["width"] <= width, figure
        assert figure["y"] >= 0, figure
        assert figure["y"] + figure["height"] <= height, figure
    assert heading is not None
    assert yes is not None
    assert no is not None
    assert yes["y"] >= heading["y"] + heading["height"] - 1
    assert abs(yes["y"] - no["y"]) <= 1
    assert no["x"] >= yes["x"] + yes["width"]
    # Each group takes its half of the page: at 1920 px the bars are not drawn at a laptop's size.
    assert yes["width"] >= 0.4 * (width - 2 * heading["x"]), (yes, heading)


def test_table1_shows_every_row_in_presentation_mode(screen, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page, width, height = screen
    _open(page, f"{app_url}/table-1?by=emd&present=true", ready="[data-testid=stTable]")
    _shot(page, "table1-by-emd-present", width, height)
    dataset = load_dataset().dataset
    assert dataset is not None
    expected = build_table1(dataset.table("patients"), by="emd")
    table = page.get_by_test_id("stTable")
    expect(table).to_have_count(1)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
    # Every row drawn, none behind a scroll box: the table is as tall as its rows.
    expect(table.locator("tbody tr")).to_have_count(expected.frame.height)
    expect(table.get_by_text("EMD: yes (N = 22)")).to_have_count(1)
    box = table.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= width
    # Large type: the cells are set at the projector's size, not the grid's 14 px.
    size = table.locator("tbody td").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 20


@pytest.mark.parametrize("present", [False, True], ids=["screen", "present"])
def test_a_filter_that_does_not_parse_is_said_in_the_main_area(  # type: ignore[no-untyped-def]
    screen, app_url: str, present: bool
) -> None:
    page, width, height = screen
    _open(page, f"{app_url}/survival?filter=emd%3Dmaybe" + "&present=true" * present)
    if present:
        _shot(page, "survival-bad-filter-present", width, height)
    said = page.get_by_test_id("stMain").get_by_text("Filter not applied")
    expect(said.first).to_be_visible()
    box = said.first.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= height
    if present:
        expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    else:
        expect(page.get_by_test_id("stSidebar")).to_be_visible()


@pytest.mark.parametrize("path", ["audit", "upload"])
def test_no_cohort_filter_where_it_does_not_apply(page, app_url: str, path: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, f"{app_url}/{path}?filter=emd%3Dtrue", ready="[data-testid=stSidebar] h2")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Dataset").first).to_be_visible()
    expect(sidebar.get_by_text("Cohort filter").first).to_be_hidden()
    # The filter stays in the link, for the next page it applies to.
    assert "filter=emd%3Dtrue" in page.url or "filter=emd=true" in page.url


def test_case_overview_reads_as_the_paper_summary(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1366, "height": 768})
    _open(page, f"{app_url}/cases", ready="[data-testid=stDataFrame]")
    _shot(page, "cases", 1366, 768)
    _open(page, f"{app_url}/cases?present=true", ready="[data-testid=stTable]")
    _shot(page, "cases-present", 1366, 768)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Timeline events")).to_have_count(0)
    expect(main.get_by_text("Dose reduced").first).to_be_visible()
    expect(main.get_by_text("dose_reduced")).to_have_count(0)
