"""The loading progress bar in a browser: a registry from the store shows how far its load is
(reading each table, fingerprinting, preparing the pages), then the bar goes and the KM curve is
drawn. The bar's texts are recorded as the page shows them (a MutationObserver), at 1280×720 and
1920×1080. Screenshots of the drawn page go to /tmp/shots/firstpage-*.png for a person to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import expect

from bench import registry
from bench.browser import _KM_PAINTED, server, wait_healthy
from tests.browser.waits import wait_idle

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path("/tmp/shots")
PATIENTS = 200_000
#: Every text and value the progress bar shows, in order, kept across reruns of the page.
_RECORD = """
() => {
  window.__progress = [];
  new MutationObserver(() => {
    for (const bar of document.querySelectorAll('[data-testid="stProgress"]')) {
      const text = bar.innerText.trim();
      const value = bar.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow');
      const last = window.__progress[window.__progress.length - 1];
      if (!last || last[0] !== text || last[1] !== value) window.__progress.push([text, value]);
    }
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
}
"""


@pytest.fixture(scope="module")
def registry_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the bundled data and a registry of PATIENTS patients uploaded by R1."""
    from bsab_explorer.data.store import open_store

    folder = tmp_path_factory.mktemp("registry-files")
    tables = registry.cached(PATIENTS).tables
    patients = tables["patients"].with_columns(pl.lit("R1").alias("center"))
    patients.write_parquet(folder / "patients.parquet")
    tables["responses"].write_parquet(folder / "responses.parquet")
    path = tmp_path_factory.mktemp("registry-store") / "registry.duckdb"
    store = open_store(path)
    try:
        for table in ("patients", "responses"):
            result = store.ingest_file(folder / f"{table}.parquet", table, "R1")
            assert result.stored, result.report.to_text()
    finally:
        store.close()
    return path


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def test_the_first_page_of_a_registry_shows_its_progress_then_the_curve(
    browser: object,
    registry_store: Path,
    tmp_path: Path,
    size: tuple[int, int],
) -> None:
    width, height = size
    # A copy of the store for each size, so both load the same way (the first load of a store
    # also computes and keeps its fingerprint).
    store = tmp_path / registry_store.name
    shutil.copyfile(registry_store, store)
    # A server of its own: its warm-up loads the bundled data only, so the registry loads now.
    with server(ROOT / "app.py", store, log_dir=tmp_path) as (url, process, _):
        wait_healthy(url, process, seconds=60)
        context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
        try:
            page = context.new_page()
            page.add_init_script(f"({_RECORD})()")
            page.goto(f"{url}/survival?data=Pooled")
            page.wait_for_function(_KM_PAINTED, timeout=120_000)
            page.get_by_text(f"{PATIENTS} of {PATIENTS} patients").wait_for(timeout=60_000)
            # The bar goes by the end of the run: it is looked for once the run is over.
            wait_idle(page)
            expect(page.get_by_test_id("stProgress")).to_have_count(0)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"firstpage-{width}x{height}.png"))
            shown = page.evaluate("() => window.__progress")
        finally:
            context.close()
    texts = [text for text, _ in shown]
    # The browser paints what reaches it in each frame: a step shorter than a frame may never be
    # drawn (the loaders' every step, in order, is tested in tests/data and tests/app). What is
    # drawn is a step the loaders name, never anything else, in the loaders' order.
    assert texts, "the progress bar was never drawn"
    steps = ("Reading the store: ", "Fingerprinting the data", "Data loaded", "Preparing the pages")
    assert all(t.startswith(steps) for t in texts), texts
    order = [next(i for i, step in enumerate(steps) if t.startswith(step)) for t in texts]
    assert order == sorted(order), texts
    values = [int(value) for _, value in shown]
    assert values == sorted(values)
