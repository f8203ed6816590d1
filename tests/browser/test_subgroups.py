"""The Subgroups page in a browser at a laptop's size: the forest plots and their downloads."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from playwright.sync_api import expect

from bsab_explorer.exports import read_table_zip
from tests.analyses.r_reference import reference
from tests.browser.conftest import STEP_MS
from tests.browser.waits import wait_idle

SHOTS = Path("/tmp/shots")


def test_subgroups_page_draws_and_downloads_the_forest(  # type: ignore[no-untyped-def]
    browser, app_url: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    try:
        page.goto(f"{app_url}/subgroups?by=emd&subgroups=sex&subgroups=iss_stage")
        page.get_by_text("Cumulative incidence of progression").first.wait_for(timeout=120_000)
        wait_idle(page)
        # Two forests and the cumulative incidence's two panels (one under the other).
        page.wait_for_function("() => document.querySelectorAll('svg.marks').length === 4")
        # The forest's symbols: an invisible point keeps each of its 8 rows (overall, 2 headings,
        # 5 levels) on the axis, and a square marks each of the 6 hazard ratios.
        symbols = page.locator("svg.marks").first.locator("g.mark-symbol.role-mark path")
        expect(symbols).to_have_count(8 + 6)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "survwire-subgroups.png"), full_page=True)

        with page.expect_download() as csv_info:
            page.get_by_role("button", name="Data (CSV)", exact=True).first.click()
        csv = csv_info.value
        assert csv.suggested_filename == "forest-pfs_subgroups-sex-iss_stage_by-emd.csv"
        saved = tmp_path / csv.suggested_filename
        csv.save_as(saved)
        forest = pd.read_csv(saved)
        # R: coxph(Surv(pfs_days, pfs_event) ~ emd, subset = sex == "M"): HR 1.085545
        r = reference("forest", "cohort_pfs_emd", "subgroups", "sex", "levels", "M")
        male = forest[(forest["variable"] == "sex") & (forest["level"] == "M")]
        assert abs(male["hazard_ratio"].item() - r["hr"][0]) < 1e-6 * r["hr"][0]
        assert forest["level"].iloc[0] == "All patients"

        with page.expect_download() as zip_info:
            page.get_by_role("button", name="Data (ZIP)", exact=True).first.click()
        zipped = tmp_path / zip_info.value.suggested_filename
        zip_info.value.save_as(zipped)
        data, provenance = read_table_zip(zipped.read_bytes())
        assert len(pd.read_csv(io.BytesIO(data))) == len(forest)
        assert "Subgroups: sex,iss_stage" in provenance
        assert "interaction_p:" in provenance

        with page.expect_download() as png_info:
            page.get_by_role("button", name="PNG", exact=True).first.click()
        png = tmp_path / png_info.value.suggested_filename
        png_info.value.save_as(png)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        context.close()
