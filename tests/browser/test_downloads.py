"""Downloads in the browser: a figure as PNG, a table as a ZIP whose CSV reads back, the report."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import polars as pl

from bsab_explorer.exports import read_table_csv, read_table_zip
from tests.browser.waits import wait_idle


def test_km_png_and_medians_csv(page, app_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/survival?by=emd&filter=bsab%3Dteclistamab")
    page.get_by_text("Medians and landmarks").wait_for()
    # A button clicked while the page is still drawn can be drawn again under the click.
    wait_idle(page)
    with page.expect_download() as png_info:
        page.get_by_role("button", name="PNG", exact=True).click()
    png = png_info.value
    assert png.suggested_filename == "km-pfs_by-emd_filter-bsab=teclistamab.png"
    target = tmp_path / png.suggested_filename
    png.save_as(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    with page.expect_download() as zip_info:
        page.get_by_role("button", name="Medians", exact=True).click()
    zipped = zip_info.value
    assert re.match(
        r"^survival-medians-pfs_by-emd_filter-bsab=teclistamab\.zip$", zipped.suggested_filename
    )
    saved = tmp_path / zipped.suggested_filename
    zipped.save_as(saved)
    csv, provenance = read_table_zip(saved.read_bytes())
    frame = read_table_csv(csv)
    assert isinstance(frame, pl.DataFrame)
    assert frame["group"].to_list() == ["No", "Yes"]
    # The CSV reads with pandas' defaults as the rows shown; the provenance is beside it.
    read = pd.read_csv(io.BytesIO(csv))
    assert read["group"].tolist() == ["No", "Yes"]
    assert read["ci_upper_status"].tolist() == ["not reached", "not reached"]
    assert "Filter: bsab=teclistamab" in provenance

    # The tables' commands, all in the row's one Reproduce popover.
    page.get_by_role("button", name="Reproduce").last.click()
    popover = page.get_by_test_id("stPopoverBody")
    for table in ("survival-medians", "survival-landmarks", "logrank", "cox"):
        popover.get_by_text(f"bsab-explorer table {table} --endpoint pfs --by emd").first.wait_for()


def test_report_downloads_from_the_sidebar(page, app_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/")
    page.get_by_text(re.compile(r"of 44 patients")).first.wait_for()
    button = page.get_by_test_id("stSidebar").get_by_role("button", name="Report (HTML)")
    button.wait_for()
    # Let the script run end: the page is inert while Streamlit is still drawing it.
    wait_idle(page)
    with page.expect_download(timeout=180_000) as info:
        button.click()
    report = info.value
    assert report.suggested_filename.endswith(".html")
    path = tmp_path / report.suggested_filename
    report.save_as(path)
    html = path.read_text(encoding="utf-8")
    assert "Reconstructed from published aggregates, not real patients" in html
    assert html.count('<img src="data:image/svg+xml;base64,') >= 5
    assert 'src="http' not in html
    assert 'href="http' not in html
