"""What the browser tests wait for on a Streamlit page.

A Streamlit page is drawn by a script run on the server, and every widget change starts another
run. While a run is going the page is in between: elements of the last run stand (stale) beside
those of the new one, a widget may be drawn twice for a moment, and a click can be lost when the
widgets are drawn again. A test waits for what the run its action started draws, then for the
run's end (`wait_idle` alone, right after a click, can return before the server has even begun
that run), and only then reads or clicks; it reads with Playwright's `expect`, which retries
until the page agrees, rather than a value read once.
On a slow machine (CI) every step takes longer, so waits are on conditions, never on time.
"""

from __future__ import annotations

#: The run has ended: Streamlit marks the app `notRunning` (`initial` before the first run).
_IDLE = (
    "() => document.querySelector('[data-testid=stApp]')"
    "?.getAttribute('data-test-script-state') === 'notRunning'"
)
#: Every chart on the page has its drawing (Vega draws each chart on its own, after the run).
_CHARTS_DRAWN = """
() => [...document.querySelectorAll('[data-testid=stVegaLiteChart]')]
  .every(chart => chart.querySelector('canvas, svg.marks'))
"""
#: The drawn charts have kept their boxes for `frames` animation frames in a row (a chart is
#: drawn, then drawn again at its container's width; a box read in between is neither).
_STILL = """
([selector, frames]) => {
  const boxes = [...document.querySelectorAll(selector)]
    .map(e => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })
    .join('|');
  if (window.__stillBoxes !== boxes) {
    window.__stillBoxes = boxes;
    window.__stillFrames = 0;
    return false;
  }
  window.__stillFrames += 1;
  return boxes !== '' && window.__stillFrames >= frames;
}
"""


def wait_idle(page) -> None:  # type: ignore[no-untyped-def]
    """Until the page's script run has ended (Streamlit marks the app `notRunning`)."""
    page.wait_for_function(_IDLE)


def wait_still(page, selector: str, frames: int = 5) -> None:  # type: ignore[no-untyped-def]
    """Until the run has ended, every chart is drawn, and what `selector` finds keeps still."""
    wait_idle(page)
    # A chart not drawn yet has no box to find: the first one found could be the second chart.
    page.wait_for_function(_CHARTS_DRAWN)
    page.evaluate("() => { window.__stillBoxes = undefined; window.__stillFrames = 0; }")
    page.wait_for_function(_STILL, arg=[selector, frames], polling="raf")
