"""Download buttons and Reproduce boxes: what the buttons make, and what a page shows."""

from __future__ import annotations

import re
import struct
from dataclasses import replace
from datetime import UTC, datetime

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from bsab_explorer.analyses.conversion import alluvial_flows
from bsab_explorer.analyses.response import response_by_timepoint
from bsab_explorer.charts.conversion import alluvial_chart
from bsab_explorer.charts.response import response_chart
from bsab_explorer.charts.survival import km_chart
from bsab_explorer.data.loading import load_dataset
from bsab_explorer.dataset import Dataset
from bsab_explorer.exports import (
    ExportRequest,
    make_export,
    read_table_csv,
    read_table_zip,
    reproduce_command,
    reproduce_python,
    survival_summary,
)
from bsab_explorer.filters import CohortFilter, select_cohort
from bsab_explorer.ui.downloads import (
    _export_zip,
    _key,
    chart_downloads,
    print_file_name,
    table_downloads,
)

KM = ExportRequest("figure", "km", CohortFilter.parse("emd=true"), endpoint="pfs", ci="plain")
OS_PLAIN = ExportRequest(
    "figure", "km", endpoint="os", options=(("bands", "false"), ("risk-table", "none"))
)
MEDIANS = ExportRequest("table", "survival-medians", endpoint="os")


def fixed_clock() -> datetime:
    return datetime(2026, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    dataset = load_dataset().dataset
    assert dataset is not None
    return dataset


def _dpi(png: bytes) -> int:
    at = png.index(b"pHYs")
    return round(struct.unpack(">I", png[at + 4 : at + 8])[0] * 0.0254)


def test_chart_downloads_make_screen_and_print_pngs_and_the_data(bundled: Dataset) -> None:
    export = make_export(bundled, KM, clock=fixed_clock)
    png, print_png, zipped, csv = chart_downloads(export.chart, export.data, export.provenance, KM)
    assert (png.file_name, print_png.file_name, zipped.file_name, csv.file_name) == (
        "km-pfs_ci-plain_filter-emd=true.png",
        "km-pfs_ci-plain_filter-emd=true_print-300dpi.png",
        "km-pfs_ci-plain_filter-emd=true.zip",
        "km-pfs_ci-plain_filter-emd=true.csv",
    )
    assert print_file_name(KM) == print_png.file_name
    assert (png.mime, print_png.mime, zipped.mime, csv.mime) == (
        "image/png",
        "image/png",
        "application/zip",
        "text/csv",
    )
    screen_bytes, print_bytes = png.make(), print_png.make()
    assert screen_bytes[:8] == print_bytes[:8] == b"\x89PNG\r\n\x1a\n"
    assert (_dpi(screen_bytes), _dpi(print_bytes)) == (144, 300)
    data = csv.make()
    assert read_table_csv(data, export.file_data.schema).equals(export.file_data)
    assert data == export.csv()
    inner, provenance = read_table_zip(zipped.make())
    assert inner == data
    assert "95 % CI: plain (linear)" in provenance


def test_table_downloads_make_the_csv(bundled: Dataset) -> None:
    request = ExportRequest("table", "case-table", CohortFilter.parse("bsab=talquetamab"))
    export = make_export(bundled, request, clock=fixed_clock)
    zipped, only = table_downloads(export.data, export.provenance, request)
    assert only.file_name == "case-table_filter-bsab=talquetamab.csv"
    assert zipped.file_name == "case-table_filter-bsab=talquetamab.zip"
    assert read_table_zip(zipped.make())[0] == only.make()
    back = read_table_csv(only.make())
    assert back.height == 4
    assert set(back["Bispecific antibody"].to_list()) == {"Talquetamab"}


def _page() -> None:
    from bsab_explorer.charts.survival import km_chart
    from bsab_explorer.data.loading import load_dataset
    from bsab_explorer.exports import ExportRequest, survival_summary
    from bsab_explorer.exports.catalogue import build
    from bsab_explorer.filters import CohortFilter
    from bsab_explorer.ui.downloads import offer_chart, offer_report, offer_table
    from tests.ui.test_downloads import MEDIANS, OS_PLAIN

    dataset = load_dataset().dataset
    assert dataset is not None
    km = ExportRequest("figure", "km", CohortFilter.parse("emd=true"), endpoint="pfs", ci="plain")
    # As a page draws what the catalogue builds for a request, and offers its files.
    drawn = build(km, dataset)
    offer_chart(drawn.chart, km, dataset, data=drawn.data)
    table1 = ExportRequest("table", "table1", by="emd")
    offer_table(build(table1, dataset).data, table1, dataset, key="t1")
    # As a page does it: its own chart, described by a request with the same options.
    summary = survival_summary(dataset, OS_PLAIN)
    offer_chart(km_chart(summary, show_ci=False, risk_rows=()), OS_PLAIN, dataset)
    offer_table(summary.medians_frame(), MEDIANS, dataset)
    offer_report(dataset, CohortFilter.parse("emd=true"))


@pytest.mark.app
def test_a_page_offers_lazy_downloads_and_reproduce_commands() -> None:
    app = AppTest.from_function(_page, default_timeout=120).run()
    assert not app.exception
    buttons = app.get("download_button")
    assert [b.proto.label for b in buttons] == [
        "PNG",
        "PNG for print",
        "Data (ZIP)",
        "Data (CSV)",
        "Table (ZIP)",
        "Table (CSV)",
        "PNG",
        "PNG for print",
        "Data (ZIP)",
        "Data (CSV)",
        "Table (ZIP)",
        "Table (CSV)",
        "Report (HTML)",
    ]
    # Files are made on click only: every button holds a deferred file, none a ready URL.
    assert all(b.proto.deferred_file_id and not b.proto.url for b in buttons)
    assert all(b.proto.ignore_rerun for b in buttons)
    # Reproduce is a popover at the end of each row of buttons (drawn only when opened).
    popovers = app.get("popover")
    assert [e.proto.popover.label for e in popovers] == ["Reproduce"] * 4
    for popover in popovers:
        row = [e for e in app.get("flex_container") if popover in e.children.values()]
        assert len(row) == 1, "a Reproduce popover is not in a row of download buttons"
        assert any(child.type == "download_button" for child in row[0].children.values())
    table1 = ExportRequest("table", "table1", by="emd")
    # Each popover holds one Markdown element: the commands as code blocks, and the note.
    texts = [[child.value for child in p.children.values()] for p in popovers]
    assert all(len(text) == 1 for text in texts)
    code = [
        block
        for (text,) in texts
        for block in re.findall(r"```(?:bash|python)\n(.*?)\n```", text, re.S)
    ]
    assert all("Same data when `bsab-explorer info` reports sha256" in text for (text,) in texts)
    assert code == [
        reproduce_command(KM),
        reproduce_python(KM),
        reproduce_command(table1),
        reproduce_python(table1),
        reproduce_command(OS_PLAIN),
        reproduce_python(OS_PLAIN),
        reproduce_command(MEDIANS),
        reproduce_python(MEDIANS),
    ]
    assert code[4] == (
        "bsab-explorer figure km --endpoint os --bands false --risk-table none "
        "--out km-os_bands-false_risk-table-none.png"
    )
    assert code[0] == (
        "bsab-explorer figure km --endpoint pfs --filter emd=true --ci plain "
        "--out km-pfs_ci-plain_filter-emd=true.png"
    )


def test_a_page_chart_and_its_request_give_the_same_figure(bundled: Dataset) -> None:
    summary = survival_summary(bundled, OS_PLAIN)
    # The figure's subtitle states the median follow-up (R: reverse KM of OS, 519 days).
    follow_up = "Median follow-up 17.1 months (95 % CI 12.5–21.8) (reverse Kaplan–Meier of OS)"
    drawn = km_chart(summary, show_ci=False, risk_rows=(), follow_up=follow_up)
    assert make_export(bundled, OS_PLAIN).chart.to_dict() == drawn.to_dict()


def test_chart_data_may_be_computed_on_click(bundled: Dataset) -> None:
    export = make_export(bundled, OS_PLAIN, clock=fixed_clock)
    calls: list[int] = []

    def later() -> pl.DataFrame:
        calls.append(1)
        return export.data

    *_, csv = chart_downloads(export.chart, later, export.provenance, OS_PLAIN)
    assert calls == []  # nothing computed until the button is pressed
    assert read_table_csv(csv.make(), export.file_data.schema).equals(export.file_data)
    assert calls == [1]


def test_table_data_may_be_computed_on_click(bundled: Dataset) -> None:
    request = ExportRequest("table", "table1", by="emd")
    export = make_export(bundled, request, clock=fixed_clock)
    calls: list[int] = []

    def later() -> pl.DataFrame:
        calls.append(1)
        return export.data

    _, csv = table_downloads(later, export.provenance, request)
    assert calls == []
    assert read_table_csv(csv.make(), export.file_data.schema).equals(export.file_data)
    assert calls == [1]


def test_the_pages_charts_are_the_catalogues_charts(bundled: Dataset) -> None:
    cohort_filter = CohortFilter.parse("bsab=teclistamab")
    cohort = select_cohort(bundled, cohort_filter)
    summary = response_by_timepoint(cohort.patients, cohort.responses, "all_treated", "emd")
    request = ExportRequest(
        "figure", "response", cohort_filter, by="emd", options=(("denominator", "all_treated"),)
    )
    assert make_export(bundled, request).chart.to_dict() == response_chart(summary).to_dict()
    flows = alluvial_flows(cohort.patients, cohort.responses)
    conversion = ExportRequest("figure", "conversion", cohort_filter)
    assert make_export(bundled, conversion).chart.to_dict() == alluvial_chart(flows).to_dict()


def test_a_download_keeps_its_widget_key_when_the_filter_changes() -> None:
    # The browser then updates the row of buttons in place after a filter change.
    other = KM.with_filter(CohortFilter.parse("emd=false;age_years>=60"))
    assert _key(KM, "png", None) == _key(other, "png", None)
    assert _key(KM, "png", None) != _key(KM, "csv", None)
    assert _key(KM, "png", None) != _key(replace(KM, endpoint="os"), "png", None)
    assert _key(KM, "png", None) != _key(MEDIANS, "png", None)
    assert _key(KM, "png", "t1") == "download-t1-png"


def test_a_table_zip_carries_its_notes_and_provenance(bundled: Dataset) -> None:
    request = ExportRequest("table", "survival-medians", by="hrca")
    csv, text = read_table_zip(_export_zip(bundled, request))
    export = make_export(bundled, request)
    assert csv == export.csv()
    assert "- 6 patient(s) with High-risk cytogenetics (HRCA) not recorded excluded" in text
    assert "Grouped by: High-risk cytogenetics (HRCA)" in text
    assert "- median_status: 'estimated' or 'not reached'" in text
