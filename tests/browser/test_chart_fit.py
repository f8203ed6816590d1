"""Charts fit the screen: on a projector, a laptop and a desktop screen every chart lies inside
the window's width, and in presentation mode the page's main figure is seen whole, under the
data banner, without scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.waits import wait_idle, wait_still

SIZES = [(1280, 720), (1366, 768), (1920, 1080)]
#: Chart pages and the view each opens (the survival curves split, with their table).
PAGES = ["survival?by=emd", "response", "conversion", "timeline", "recurrence"]
#: Views whose figure grows with the groups compared (checked for width only).
SPLIT = ["response?by=emd", "recurrence?by=bsab", "survival?by=bsab&risk-table=full&median=true"]
#: The drawing of a chart, whichever renderer Streamlit picked.
DRAWN = "[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg.marks"


def _open(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.locator("h1").first.wait_for()
    wait_idle(page)
    page.locator(DRAWN).first.wait_for()
    wait_still(page, DRAWN)  # a chart redraws once at the container's width


def _drawn_boxes(page) -> list[dict[str, float]]:  # type: ignore[no-untyped-def]
    return [box for box in (c.bounding_box() for c in page.locator(DRAWN).all()) if box]


@pytest.fixture(params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def screen(request: pytest.FixtureRequest, browser: object):  # type: ignore[no-untyped-def]
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page, width, height
    context.close()


@pytest.mark.parametrize("path", PAGES + SPLIT)
def test_every_chart_lies_inside_the_window_width(screen, app_url: str, path: str) -> None:  # type: ignore[no-untyped-def]
    page, width, _ = screen
    for present in (False, True):
        _open(
            page,
            f"{app_url}/{path}" + ("&present=true" if "?" in path else "?present=true") * present,
        )
        boxes = _drawn_boxes(page)
        assert boxes, path
        for box in boxes:
            assert box["x"] >= 0, (path, present, box)
            assert box["x"] + box["width"] <= width, (path, present, box)


@pytest.mark.parametrize("path", PAGES)
def test_presentation_shows_the_main_figure_whole_above_the_fold(
    screen, app_url: str, path: str
) -> None:  # type: ignore[no-untyped-def]
    page, _, height = screen
    _open(page, f"{app_url}/{path}" + ("&" if "?" in path else "?") + "present=true")
    banner = page.get_by_text("Reconstructed from published aggregates, not real patients")
    expect(banner.first).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    # The page's first chart is its main figure: waited for until it is seen (a chart being
    # drawn again has no box for a moment), never replaced by the next chart found.
    figure = page.locator(DRAWN).first
    expect(figure).to_be_visible()
    main = figure.bounding_box()
    assert main is not None, path
    assert main["y"] >= 0, (path, main)
    assert main["y"] + main["height"] <= height, (path, main)
