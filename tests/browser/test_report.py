"""The HTML report in Chromium: opens offline, every section and figure shows, prints on A4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from bsab_explorer.data.loading import load_dataset
from bsab_explorer.filters import CohortFilter
from bsab_explorer.report import build_report

#: The bundled cohort: all patients, and those with EMD (the filter of the report under test).
ALL_PATIENTS, EMD_PATIENTS = 44, 22
SECTIONS = {
    "table1": "Patient characteristics (Table 1)",
    "response": "Response by timepoint",
    "conversion": "Response conversion",
    "pfs": "Progression-free survival",
    "os": "Overall survival",
    "case-table": "Recurrent CRS: case series",
    "recurrence": "Recurrent CRS: recurrence by case",
    "timelines": "Recurrent CRS: timelines",
    "audit": "Audit against the publications",
    "methods": "Methods and definitions",
    "provenance": "Provenance",
}
#: The printable area of A4 under the report's @page margins (12 mm sides, 14 + 16 mm), in
#: CSS pixels (96 per inch).
A4_WIDTH_PX = (210 - 24) / 25.4 * 96
A4_HEIGHT_PX = (297 - 30) / 25.4 * 96


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dataset = load_dataset().dataset
    assert dataset is not None
    patients = dataset.table("patients")
    assert (patients.filter(pl.col("emd")).height, patients.height) == (EMD_PATIENTS, ALL_PATIENTS)
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(build_report(dataset, CohortFilter.parse("emd=true")), encoding="utf-8")
    return path


def test_report_opens_offline_with_every_section_and_figure(
    browser: Any, report_file: Path
) -> None:
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    try:
        page.goto(report_file.as_uri())
        for anchor, title in SECTIONS.items():
            heading = page.locator(f"section#{anchor} > h2")
            assert heading.inner_text() == title
            assert heading.is_visible()
        figures = page.locator("figure img")
        assert figures.count() >= 8
        widths = page.eval_on_selector_all(
            "figure img", "images => images.map(i => i.complete ? i.naturalWidth : 0)"
        )
        assert all(width > 100 for width in widths)
        assert f"N = {EMD_PATIENTS} of {ALL_PATIENTS} patients" in page.locator("body").inner_text()
    finally:
        context.close()
    assert all(url.startswith(("file:", "data:")) for url in requested), requested


def test_report_figures_fit_an_a4_page_when_printed(browser: Any, report_file: Path) -> None:
    context = browser.new_context(offline=True)
    page = context.new_page()
    try:
        page.emulate_media(media="print")
        page.set_viewport_size({"width": round(A4_WIDTH_PX), "height": round(A4_HEIGHT_PX)})
        page.goto(report_file.as_uri())
        boxes = page.eval_on_selector_all(
            "figure",
            "figs => figs.map(f => { const r = f.getBoundingClientRect();"
            " return [r.width, r.height, f.scrollWidth]; })",
        )
        assert len(boxes) >= 8
        for width, height, scroll_width in boxes:
            assert width <= A4_WIDTH_PX + 1
            assert scroll_width <= A4_WIDTH_PX + 1
            assert height <= A4_HEIGHT_PX
        pdf = page.pdf(format="A4", print_background=True)
        assert pdf[:5] == b"%PDF-"
    finally:
        context.close()
